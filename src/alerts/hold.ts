import type { OutageEvent } from '../../correlators/outage/outage.ts';

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
  private readonly held = new Map<string, { events: OutageEvent[]; timer: NodeJS.Timeout }>();
  /** Outages silenced in the hold (bounded: the most recent 10,000), so their later events stay silent too. */
  private readonly silenced = new Set<string>();

  constructor(holdMs: number, send: (e: OutageEvent) => void, onSilenced: (e: OutageEvent) => void = () => {}) {
    this.holdMs = holdMs;
    this.send = send;
    this.onSilenced = onSilenced;
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
      const timer = setTimeout(() => this.release(id), this.holdMs);
      timer.unref();
      this.held.set(id, { events: [e], timer });
      return;
    }
    this.send(e);
  }

  /** Pages what is held now (at shutdown: nothing waits in memory). */
  flush(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  private release(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(id);
    for (const e of h.events) this.send(e);
  }
}
