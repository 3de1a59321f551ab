import type { Logger } from '../../src/log.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { OutageEvent } from '../outages/outage.ts';
import type { Scope } from '../impact/impact.ts';
import type { Store } from '../../src/store/store.ts';
import { alertOf, type Alert } from './alert.ts';
import type { Notifier } from './notifier.ts';
import { DeliveryLanes } from './lanes.ts';
import { Outbox } from './outbox.ts';
import { alertsOf } from './repository.ts';

export interface AlertStats { raised: number; duplicates: number; delivered: number; retries: number; dropped: number }

/**
 * Turns outage events into alerts: each stored once (a duplicate event is dropped), shown on the
 * SSE stream, and paged to every notifier unless the outage is planned, through `DeliveryLanes`.
 */
export class AlertDispatcher {
  private readonly counts = { raised: 0, duplicates: 0 };
  private readonly lanes: DeliveryLanes;
  private readonly o: { topology: () => Topology; store: () => Store; stream?: { publish(a: Alert): void }; logger: Logger; maxQueue?: number; retryMs?: [number, number] };

  constructor(notifiers: Notifier[], o: AlertDispatcher['o']) {
    this.lanes = new DeliveryLanes(notifiers, { what: 'alert', logger: o.logger, maxQueue: o.maxQueue, retryMs: o.retryMs, outbox: new Outbox('alert', () => o.store().db) });
    this.o = o;
  }

  get stats(): AlertStats {
    return { ...this.counts, ...this.lanes.stats };
  }

  onOutageEvent(e: OutageEvent, scope?: Scope): Promise<Alert | undefined> {
    return this.raise(alertOf(e, this.o.topology(), scope), e.at);
  }

  /** Stores an alert once, shows it on the stream and pages it (unless planned). */
  async raise(alert: Alert, at: number): Promise<Alert | undefined> {
    const fresh = await alertsOf(this.o.store()).saveAlert({ id: alert.id, outageId: alert.outageId, event: alert.event, raisedAt: at, body: alert as unknown as Record<string, unknown>, ackState: 'unacknowledged' });
    if (!fresh) {
      this.counts.duplicates++;
      return undefined;
    }
    this.counts.raised++;
    this.o.stream?.publish(alert);
    if (alert.plannedOutageIndicator === 'OutOfService') return alert; // planned work: recorded, shown, not paged
    await this.lanes.push(alert);
    return alert;
  }

  /** Queues the alerts a previous run stored but did not deliver; call once at start. */
  restore(): Promise<number> {
    return this.lanes.restore();
  }

  /** Records a NOC engineer's acknowledgement; false for an unknown alert. */
  ack(id: string, by: string, at = Date.now()): Promise<boolean> {
    return alertsOf(this.o.store()).ackAlert(id, by, at);
  }

  /** Gives queued alerts until the deadline, then closes the notifiers. */
  close(deadlineMs: number): Promise<void> {
    return this.lanes.close(deadlineMs);
  }
}
