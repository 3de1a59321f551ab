import type { Logger } from '../log.ts';
import type { Topology } from '../topology/topology.ts';
import type { OutageEvent } from '../../correlators/outage/outage.ts';
import type { Scope } from '../../correlators/impact/impact.ts';
import type { Store } from '../store/store.ts';
import { alertOf, type Alert } from './alert.ts';
import type { Notifier } from './notifier.ts';
import type { AlertStream } from './sse.ts';

interface Lane { notifier: Notifier; queue: Alert[]; running: boolean; failing: boolean; dropped: number }

export interface AlertStats { raised: number; duplicates: number; delivered: number; retries: number; dropped: number }

/**
 * Turns outage events into alerts: each stored once (a duplicate event is dropped), shown on the
 * SSE stream, and paged to every notifier unless the outage is planned. Each notifier has its own
 * ordered queue, retried with exponential backoff (1 s to 60 s) so a dead webhook delays no other;
 * a queue past `maxQueue` drops its oldest alert, counted and logged.
 */
export class AlertDispatcher {
  readonly stats: AlertStats = { raised: 0, duplicates: 0, delivered: 0, retries: 0, dropped: 0 };
  private readonly lanes: Lane[];
  private readonly o: { topology: () => Topology; store: () => Store; stream?: AlertStream; logger: Logger; maxQueue?: number; retryMs?: [number, number] };
  private stopped = false;

  constructor(notifiers: Notifier[], o: AlertDispatcher['o']) {
    this.lanes = notifiers.map((notifier) => ({ notifier, queue: [], running: false, failing: false, dropped: 0 }));
    this.o = o;
  }

  onOutageEvent(e: OutageEvent, scope?: Scope): Promise<Alert | undefined> {
    return this.raise(alertOf(e, this.o.topology(), scope), e.at);
  }

  /** Stores an alert once, shows it on the stream and pages it (unless planned). */
  async raise(alert: Alert, at: number): Promise<Alert | undefined> {
    const fresh = await this.o.store().saveAlert({ id: alert.id, outageId: alert.outageId, event: alert.event, raisedAt: at, body: alert as unknown as Record<string, unknown>, ackState: 'unacknowledged' });
    if (!fresh) {
      this.stats.duplicates++;
      return undefined;
    }
    this.stats.raised++;
    this.o.stream?.publish(alert);
    if (alert.plannedOutageIndicator === 'OutOfService') return alert; // planned work: recorded, shown, not paged
    for (const lane of this.lanes) {
      lane.queue.push(alert);
      if (lane.queue.length > (this.o.maxQueue ?? 10_000)) {
        lane.queue.shift();
        lane.dropped++;
        this.stats.dropped++;
        this.o.logger.error({ notifier: lane.notifier.name, dropped: lane.dropped }, 'alert queue full: oldest alert dropped');
      }
      if (!lane.running) void this.drain(lane);
    }
    return alert;
  }

  /** Records a NOC engineer's acknowledgement; false for an unknown alert. */
  ack(id: string, by: string, at = Date.now()): Promise<boolean> {
    return this.o.store().ackAlert(id, by, at);
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running = true;
    const [min, max] = this.o.retryMs ?? [1_000, 60_000];
    let delay = min;
    while (lane.queue.length > 0 && !this.stopped) {
      const alert = lane.queue[0];
      try {
        await lane.notifier.send(alert);
        lane.queue.shift();
        this.stats.delivered++;
        if (lane.failing) this.o.logger.info({ notifier: lane.notifier.name }, 'alert delivery works again');
        lane.failing = false;
        delay = min;
      } catch (err) {
        this.stats.retries++;
        if (!lane.failing) this.o.logger.warn({ notifier: lane.notifier.name, alert: alert.id, reason: (err as Error).message }, 'alert delivery failed; retrying with backoff');
        lane.failing = true;
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
        delay = Math.min(max, delay * 2);
      }
    }
    lane.running = false;
  }

  /** Gives queued alerts until the deadline, then closes the notifiers. */
  async close(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.lanes.some((l) => l.queue.length > 0 && !l.failing) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    await Promise.all(this.lanes.map((l) => l.notifier.close().catch(() => {})));
  }
}
