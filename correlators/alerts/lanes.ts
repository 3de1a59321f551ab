import type { Logger } from '../../src/log.ts';
import type { Message, Notifier } from './notifier.ts';
import type { Outbox } from './outbox.ts';

interface Lane { notifier: Notifier; queue: Message[]; running: boolean; failing: boolean; dropped: number }

export interface DeliveryStats { delivered: number; retries: number; dropped: number }

/**
 * Delivers messages to every notifier, each through its own ordered queue retried with
 * exponential backoff (1 s to 60 s by default), so a dead webhook delays no other; a queue past
 * `maxQueue` drops its oldest message, counted and logged. Alerts and subscriber communications
 * both go out this way. With an outbox, a message is stored before it is queued and forgotten once
 * delivered; `restore` queues what a previous run still owed.
 */
export class DeliveryLanes {
  readonly stats: DeliveryStats = { delivered: 0, retries: 0, dropped: 0 };
  private readonly lanes: Lane[];
  private readonly o: { what: string; logger: Logger; maxQueue?: number; retryMs?: [number, number]; outbox?: Outbox };
  private stopped = false;

  constructor(notifiers: Notifier[], o: DeliveryLanes['o']) {
    this.lanes = notifiers.map((notifier) => ({ notifier, queue: [], running: false, failing: false, dropped: 0 }));
    this.o = o;
  }

  /** Queues what a previous run still owed each notifier (from the outbox), before anything new. */
  async restore(): Promise<number> {
    if (!this.o.outbox) return 0;
    let n = 0;
    for (const lane of this.lanes) {
      const owed = await this.o.outbox.pending(lane.notifier.name);
      n += owed.length;
      for (const m of owed) this.enqueue(lane, m);
    }
    return n;
  }

  /** Stores the message in the outbox (when there is one), then queues it for every notifier. */
  async push(m: Message): Promise<void> {
    if (this.lanes.length === 0) return;
    await this.o.outbox?.save(this.lanes.map((l) => l.notifier.name), m);
    for (const lane of this.lanes) this.enqueue(lane, m);
  }

  private enqueue(lane: Lane, m: Message): void {
    lane.queue.push(m);
    if (lane.queue.length > (this.o.maxQueue ?? 10_000)) {
      const old = lane.queue.shift()!;
      lane.dropped++;
      this.stats.dropped++;
      this.o.logger.error({ notifier: lane.notifier.name, dropped: lane.dropped }, `${this.o.what} queue full: oldest dropped`);
      void this.o.outbox?.forget(lane.notifier.name, old.id).catch(() => {});
    }
    if (!lane.running) void this.drain(lane);
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running = true;
    const [min, max] = this.o.retryMs ?? [1_000, 60_000];
    let delay = min;
    while (lane.queue.length > 0 && !this.stopped) {
      const m = lane.queue[0];
      try {
        await lane.notifier.send(m);
        await this.o.outbox?.forget(lane.notifier.name, m.id).catch((err) => this.o.logger.warn({ err, id: m.id }, `${this.o.what} delivered but not yet crossed off; it may go again after a restart`));
        lane.queue.shift();
        this.stats.delivered++;
        if (lane.failing) this.o.logger.info({ notifier: lane.notifier.name }, `${this.o.what} delivery works again`);
        lane.failing = false;
        delay = min;
      } catch (err) {
        this.stats.retries++;
        if (!lane.failing) this.o.logger.warn({ notifier: lane.notifier.name, id: m.id, reason: (err as Error).message }, `${this.o.what} delivery failed; retrying with backoff`);
        lane.failing = true;
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
        delay = Math.min(max, delay * 2);
      }
    }
    lane.running = false;
  }

  /** Gives queued messages until the deadline, then closes the notifiers. */
  async close(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.lanes.some((l) => l.queue.length > 0 && !l.failing) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    await Promise.all(this.lanes.map((l) => l.notifier.close().catch(() => {})));
  }
}
