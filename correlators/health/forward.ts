import type { Logger } from '../../src/log.ts';
import type { Batch } from '../../src/sample.ts';
import type { Consumer } from '../../src/pipeline.ts';
import { bounded, module, type Kernel } from '../../src/module.ts';
import { metric } from '../../src/api/metrics.ts';
import { healthOf } from './repository.ts';
import type { Check } from './check.ts';
import type { HealthRepository } from './repository.ts';

/**
 * How a cluster member's checks reach the one place health is judged, the leader: appended to
 * the `forwarded_check_batches` table of the shared PostgreSQL store (README: cluster). A member queues
 * what it observed and writes it in one statement every `everyMs`; while the store is
 * unreachable it holds up to `max` checks (then drops the oldest, counted: newer checks of the
 * same element speak for it anyway).
 */
export class CheckForwarder {
  private buffer: Check[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failing = false;
  private stopped = false;
  forwarded = 0;
  dropped = 0;
  private readonly o: { member: () => string; repo: () => HealthRepository; log: Logger; everyMs: number; max: number };

  constructor(o: { member: () => string; repo: () => HealthRepository; log: Logger; everyMs?: number; max?: number }) {
    this.o = { everyMs: 100, max: 200_000, ...o };
  }

  add(checks: readonly Check[]): void {
    if (checks.length === 0) return;
    this.buffer.push(...checks);
    if (this.buffer.length > this.o.max) this.dropped += this.buffer.splice(0, this.buffer.length - this.o.max).length;
    this.arm(this.o.everyMs);
  }

  /** A flush in `ms`, unless one is armed or running (a running one arms the next when it ends). */
  private arm(ms: number): void {
    if (this.timer || this.flushing || this.stopped) return;
    this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, ms);
    this.timer.unref();
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Writes what is queued; on failure it stays queued and is tried again a second later. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length > 0) this.arm(this.failing ? 1000 : this.o.everyMs);
    });
    return this.flushing;
  }

  /** Writes what is queued now (what arrives meanwhile waits for the next flush: a flush always ends). */
  private async write(): Promise<void> {
    let left = this.buffer.length;
    while (left > 0 && this.buffer.length > 0) {
      const batch = this.buffer.slice(0, Math.min(5000, left));
      left -= batch.length;
      try {
        await this.o.repo().forwardChecks(this.o.member(), batch);
      } catch (err) {
        if (!this.failing) this.o.log.error({ err, pending: this.buffer.length }, 'cannot forward health checks to the leader; holding them');
        this.failing = true;
        return;
      }
      if (this.failing) this.o.log.info({ pending: this.buffer.length }, 'forwarding health checks again');
      this.failing = false;
      this.buffer.splice(0, batch.length);
      this.forwarded += batch.length;
    }
  }

  /** Stops the timer and writes what is left, once (the caller bounds the wait). */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    this.stopped = true;
    await this.write();
  }
}

/**
 * The leader's side: reads the forwarded checks in order, has them judged, waits until what they
 * changed is recorded (`settled`), and only then deletes them, through the fencing check. A leader
 * that dies in between leaves them for the next one, which judges them again: a check judged twice
 * changes nothing the second time (an older or equal check is ignored), a check lost would.
 */
export class CheckInbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  consumed = 0;
  private readonly o: {
    repo: () => HealthRepository; ingest: (checks: readonly Check[]) => void; settled: () => Promise<void>; log: Logger; everyMs: number; batch: number;
  };

  constructor(o: { repo: () => HealthRepository; ingest: (checks: readonly Check[]) => void; settled: () => Promise<void>; log: Logger; everyMs?: number; batch?: number }) {
    this.o = { everyMs: 100, batch: 20, ...o };
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => { this.running = this.poll().finally(() => { this.running = undefined; }); }, ms);
    this.timer.unref();
  }

  /** Takes one batch (of those up to id `upTo`, when given); true when there may be more. Tests call it directly. */
  async take(upTo?: number): Promise<boolean> {
    const { batches, checks } = await this.o.repo().forwardedChecks(this.o.batch, upTo);
    if (batches.length === 0) return false;
    this.o.ingest(checks);
    await this.o.settled();
    await this.o.repo().consumeChecks(batches);
    this.consumed += checks.length;
    return batches.length === this.o.batch;
  }

  private async poll(): Promise<void> {
    let more = false;
    try {
      more = await this.take();
    } catch (err) {
      if (!this.failing) this.o.log.warn({ err }, 'cannot read the forwarded health checks; trying again every second');
      this.failing = true;
      this.schedule(1000);
      return;
    }
    if (this.failing) this.o.log.info('taking in forwarded health checks again');
    this.failing = false;
    this.schedule(more ? 0 : this.o.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * Checks in a cluster (`lk` is the leader's fenced kernel): while this member leads, what its
 * pipeline carries is judged here at once and the other members' forwarded checks are taken in
 * (`inbox`, a leader-only module); while it follows, what its pipeline carries is forwarded
 * (`forwarding`, on every member, flushes at stop).
 */
export function checkForwarding(k: Kernel, lk: Kernel, judge: { checks(b: Batch): Check[]; ingest(c: readonly Check[]): void }, member: () => string) {
  let leading = false;
  const forwarder = new CheckForwarder({ member, repo: () => healthOf(k.store()), log: k.log.child({ component: 'forward' }) });
  const inbox = new CheckInbox({
    repo: () => healthOf(lk.store()), ingest: (c) => judge.ingest(c), settled: () => lk.recorder()?.settled() ?? Promise.resolve(), log: k.log.child({ component: 'forward' }),
  });
  const consumer: Consumer = { name: 'outages', write: (batch) => (leading ? judge.ingest(judge.checks(batch)) : forwarder.add(judge.checks(batch))) };
  const forwarding = module('health-forwarding', 'every', async () => {}, async (deadline) => {
    await bounded(forwarder.stop(), deadline, 'forwarded checks', k.log);
  }, {
    metrics: () => metric('netpulse_cluster_checks_total', 'counter', 'Health checks forwarded to the leader, dropped while the store was unreachable, and taken in as the leader.', [
      [{ way: 'forwarded' }, forwarder.forwarded], [{ way: 'dropped' }, forwarder.dropped], [{ way: 'consumed' }, inbox.consumed],
    ]) + metric('netpulse_cluster_checks_pending', 'gauge', 'Health checks waiting to be forwarded.', [[{}, forwarder.pending]]),
  });
  const taking = module('health-inbox', 'leader', async () => {
    // In the order they were observed: this member's own queued checks and everything forwarded
    // before it led are judged first, then its new checks directly (a later check hides an earlier one).
    // Bounded: what was queued when it took over, not what its own polls keep adding meanwhile.
    await forwarder.flush();
    const upTo = await healthOf(lk.store()).lastForwarded().catch(() => 0);
    while (await inbox.take(upTo).catch(() => false));
    leading = true;
    inbox.start();
  }, async (deadline) => {
    await bounded(inbox.stop(), deadline, 'forwarded checks in hand', k.log);
  });
  return { consumer, forwarding, inbox: taking };
}
