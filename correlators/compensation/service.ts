import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import type { OutageEvent } from '../outages/outage.ts';
import type { Policy } from './policy.ts';
import { thresholds } from './compute.ts';
import type { Ledger, SettleReport } from './ledger.ts';
import { LedgerRepository } from './ledger-repository.ts';
import type { CreditPusher } from './delivery.ts';
import { outagesOf } from '../outages/repository.ts';

export interface CompensationStats { settlements: number; entries: number; failures: number }

/**
 * When compensation is computed: an outage that closed is settled once it has stayed closed for
 * `settleMs` (a reopen in between cancels it, and the settlement after the next close pays the
 * difference); an outage still open is settled in part as each threshold of a policy is crossed
 * (at most every `interimMs`); and a scheduled batch (`schedule`, node-cron) picks up whatever a
 * restart or an unreachable database left pending. Settlements run one at a time.
 */
export class CompensationService {
  readonly stats: CompensationStats = { settlements: 0, entries: 0, failures: 0 };
  private readonly o: {
    ledger: Ledger; store: () => Store; policies: () => readonly Policy[]; settleMs: number; interimMs: number; schedule: string;
    pusher?: CreditPusher; logger: Logger; now?: () => number;
  };
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private queue: Promise<unknown> = Promise.resolve();
  private task: ScheduledTask | undefined;
  private stopped = false;
  private readonly settled: ((r: SettleReport) => void)[] = [];

  constructor(o: CompensationService['o']) {
    this.o = o;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Runs settlements one after another; a failure is logged and leaves the outage pending for the next batch. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Settles one outage now (final when closed, interim when not); used by the API and tests. */
  settle(outageId: string): Promise<SettleReport> {
    return this.enqueue(async () => {
      const o = await outagesOf(this.o.store()).outage(outageId, { impacted: false });
      return this.run(outageId, o?.state === 'closed' ? 'final' : 'interim');
    });
  }

  /** What the outage would owe if it were settled now, by tier and form; nothing is written. */
  preview(outageId: string): Promise<SettleReport> {
    return this.o.ledger.settle(this.o.store(), outageId, this.now(), 'preview');
  }

  private async run(outageId: string, mode: 'final' | 'interim'): Promise<SettleReport> {
    try {
      const r = await this.o.ledger.settle(this.o.store(), outageId, this.now(), mode);
      this.stats.settlements++;
      this.stats.entries += r.entries;
      if (r.entries > 0) {
        this.o.pusher?.wake();
        for (const l of this.settled) l(r);
      }
      if (!r.skipped) {
        this.o.logger.info({ outage: outageId, mode, subscribers: r.subscribers, eligible: r.eligible, entries: r.entries, reversed: r.reversed, added: r.addedMinor, ms: r.ms }, 'compensation settled');
      }
      return r;
    } catch (err) {
      this.stats.failures++;
      this.o.logger.error({ err, outage: outageId, mode }, 'compensation settlement failed; the next batch retries it');
      throw err;
    }
  }

  /** Called after a settlement that wrote entries. */
  onSettled(l: (r: SettleReport) => void): void {
    this.settled.push(l);
  }

  /** Credits were put back in the queue (a retry over the API): push them now. */
  wake(): void {
    this.o.pusher?.wake();
  }

  /** Called after each outage event is stored: a close starts the settle delay, a reopen cancels it. */
  onOutageEvent(e: OutageEvent): void {
    const id = e.outage.id;
    if (e.type === 'reopened' || e.type === 'opened') {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
    }
    if (e.type !== 'closed' || this.stopped) return;
    clearTimeout(this.timers.get(id));
    const t = setTimeout(() => {
      this.timers.delete(id);
      // A merged outage is settled with the outage it merged into; the ledger skips it.
      void this.enqueue(() => this.run(id, 'final')).catch(() => {});
    }, Math.max(0, e.at + this.o.settleMs - this.now()));
    t.unref();
    this.timers.set(id, t);
  }

  /**
   * The batch: every closed outage past its settle delay that was not settled since it last
   * closed, and every open outage that crossed a threshold since its last interim settlement.
   */
  runPending(): Promise<number> {
    return this.enqueue(async () => {
      const runs = new LedgerRepository(this.o.store().db);
      const now = this.now();
      const closed = await runs.closedUnsettled(now - this.o.settleMs);
      let n = 0;
      for (const id of closed) {
        if (this.stopped) break;
        await this.run(id, 'final').then(() => n++, () => {});
      }
      const open = await runs.openWithLastInterim();
      for (const o of open) {
        if (this.stopped) break;
        const last = Number(o.interim_at ?? o.started_at);
        if (o.interim_at !== null && now - last < this.o.interimMs) continue;
        const crossed = this.o.policies().some((p) => thresholds(p, Number(o.started_at), last, now).length > 0);
        if (crossed) await this.run(o.id, 'interim').then(() => n++, () => {});
      }
      return n;
    });
  }

  /** Runs the batch now (what a restart left pending) and then on the schedule. */
  start(): void {
    void this.runPending().catch((err) => this.o.logger.error({ err }, 'compensation batch failed'));
    this.task = cron.schedule(this.o.schedule, () => this.runPending().then(() => undefined), { name: 'compensation-batch', noOverlap: true });
  }

  /** Stops the schedule and the settle timers, and waits for the settlement in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.task?.stop();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.queue;
  }
}
