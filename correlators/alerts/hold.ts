import type { OutageEvent } from '../outages/outage.ts';

/**
 * Holds a new outage's alerts for `holdMs` before paging (Alertmanager's group_wait, for one
 * outage): when a switch and the base stations behind it go dark together, a station's poll may
 * time out before the switch's, and its outage opens first; a moment later the switch's outage
 * takes it in. An outage merged into another, or closed, within the hold is never paged; one still
 * active at the end is paged with everything that happened to it meanwhile, in order.
 */
export class HoldDown {
  private readonly holdMs: number;
  private readonly send: (e: OutageEvent) => void;
  private readonly onSilenced: (e: OutageEvent) => void;
  private readonly held = new Map<string, { events: OutageEvent[]; timer: NodeJS.Timeout; since: number }>();
  /** Whether an outage at the end of its hold may still be taken in by one above it (its parent failing, its siblings going). */
  private readonly pending: (e: OutageEvent) => boolean;
  private readonly maxHoldMs: number;
  /** Outages silenced in the hold (bounded: the most recent 10,000), so their later events stay silent too. */
  private readonly silenced = new Set<string>();

  /**
   * `pending`, with `maxHoldMs`: an outage whose hold ends while `pending` says it may still be
   * taken in (its root's parent has begun failing, or siblings behind a silent parent are going
   * down, as the parent inference would yet group) is held on, one hold at a time, up to
   * `maxHoldMs` in all; then it is paged whatever `pending` says.
   */
  constructor(holdMs: number, send: (e: OutageEvent) => void, onSilenced: (e: OutageEvent) => void = () => {},
    o: { pending?: (e: OutageEvent) => boolean; maxHoldMs?: number } = {}) {
    this.holdMs = holdMs;
    this.send = send;
    this.onSilenced = onSilenced;
    this.pending = o.pending ?? (() => false);
    this.maxHoldMs = o.maxHoldMs ?? holdMs;
  }

  offer(e: OutageEvent): void {
    const id = e.outage.id;
    if (this.silenced.has(id)) return;
    const h = this.held.get(id);
    if (h) {
      h.events.push(e);
      if (e.type === 'closed') {
        clearTimeout(h.timer);
        this.held.delete(id);
        this.silenced.add(id);
        if (this.silenced.size > 10_000) this.silenced.delete(this.silenced.values().next().value!);
        this.onSilenced(e);
      }
      return;
    }
    if (e.type === 'opened' && this.holdMs > 0) {
      this.held.set(id, { events: [e], timer: this.arm(id, this.holdMs), since: Date.now() });
      return;
    }
    this.send(e);
  }

  /** Pages what is held now (at shutdown: nothing waits in memory). */
  flush(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  private arm(id: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.release(id, true), ms);
    timer.unref();
    return timer;
  }

  private release(id: string, timedOut = false): void {
    const h = this.held.get(id);
    if (!h) return;
    clearTimeout(h.timer);
    const left = h.since + this.maxHoldMs - Date.now();
    if (timedOut && left > 0 && this.pending(h.events.at(-1)!)) {
      h.timer = this.arm(id, Math.min(this.holdMs, left));
      return;
    }
    this.held.delete(id);
    for (const e of h.events) this.send(e);
  }
}
