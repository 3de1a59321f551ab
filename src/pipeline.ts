import type { Batch } from './sample.ts';
import type { Logger } from './log.ts';
import type { Sink } from './sinks/sink.ts';
import { LogThrottle } from './throttle.ts';

/** Anything that takes batches from the pipeline besides the sinks: correlators. */
export interface Consumer {
  readonly name: string;
  write(batch: Batch): void | Promise<void>;
}

export interface PipelineStats {
  emitted: number;
  delivered: number;
  queuedSamples: number;
  /** Times a collector had to wait for room. */
  waits: number;
  consumerErrors: number;
}

export interface EmitOptions {
  /**
   * Resolve only once every sink holds the batch durably (spooled or written locally), for
   * sources that acknowledge data to a sender. Rejects when a sink cannot persist it. Durable
   * batches emitted in the same turn of the event loop share one persist (a group commit).
   */
  durable?: boolean;
}

interface Entry { batch: Batch; sinksDone: boolean }

/**
 * Fans batches from collectors out to the sinks and every consumer, in order, through one
 * bounded queue. `emit` resolves once the batch is queued; when `maxQueuedSamples` are waiting it
 * resolves only when room frees up, so a slow consumer holds collectors back instead of growing
 * memory. A durable emit hands the batch to the sinks and persists it before it queues it for the
 * consumers. A consumer that throws is logged (throttled) and counted; the others still get the batch.
 */
export class Pipeline {
  readonly stats: PipelineStats = { emitted: 0, delivered: 0, queuedSamples: 0, waits: 0, consumerErrors: 0 };
  private readonly sinks: Sink[] = [];
  private readonly consumers: Consumer[] = [];
  private readonly queue: Entry[] = [];
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private running = false;
  private commit: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** A commit's syncs are under way (sinks with `persistDeferred`). */
  private committing = false;
  private readonly max: number;
  private readonly log: Logger;
  private readonly throttle = new LogThrottle(60_000);

  constructor(maxQueuedSamples: number, logger: Logger) {
    this.max = maxQueuedSamples;
    this.log = logger;
  }

  addSink(sink: Sink): void {
    this.sinks.push(sink);
  }

  add(consumer: Consumer): void {
    this.consumers.push(consumer);
  }

  readonly emit = async (batch: Batch, opts?: EmitOptions): Promise<void> => {
    if (batch.length === 0) return;
    const durable = opts?.durable === true;
    let persisted: Promise<void> | undefined;
    if (durable) {
      for (const s of this.sinks) s.write(batch);
      persisted = this.groupCommit();
    }
    while (this.stats.queuedSamples > 0 && this.stats.queuedSamples + batch.length > this.max) {
      this.stats.waits++;
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    this.queue.push({ batch, sinksDone: durable });
    this.stats.queuedSamples += batch.length;
    this.stats.emitted += batch.length;
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
    if (persisted) await persisted;
  };

  /**
   * One persist of every sink after this turn of the event loop, shared by its durable emits. Where
   * a sink syncs off the event loop (`persistDeferred`), one commit is under way at a time and what
   * is emitted meanwhile waits for the next: the loop keeps reading sockets while the disk syncs,
   * and one sync serves everything that came in during the last.
   */
  private groupCommit(): Promise<void> {
    if (!this.commit) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      this.commit = { promise, resolve, reject };
      if (!this.committing) setImmediate(() => void this.runCommit());
    }
    return this.commit.promise;
  }

  private async runCommit(): Promise<void> {
    const c = this.commit!;
    this.commit = undefined;
    this.committing = true;
    const synced: Promise<void>[] = [];
    try {
      for (const s of this.sinks) {
        if (s.persistDeferred) synced.push(s.persistDeferred());
        else s.persist();
      }
      await Promise.all(synced);
      c.resolve();
    } catch (err) {
      for (const p of synced) p.catch(() => {}); // one failed: the others' outcomes change nothing
      c.reject(err);
    } finally {
      this.committing = false;
      if (this.commit) setImmediate(() => void this.runCommit());
    }
  }

  private async deliver(to: Consumer | Sink, batch: Batch): Promise<void> {
    try {
      const r = to.write(batch);
      if (r) await r;
    } catch (err) {
      this.stats.consumerErrors++;
      const suppressed = this.throttle.allow(to.name);
      if (suppressed !== undefined) this.log.error({ consumer: to.name, err, suppressed }, 'consumer failed a batch');
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const { batch, sinksDone } = this.queue.shift()!;
      if (!sinksDone) for (const s of this.sinks) await this.deliver(s, batch);
      for (const c of this.consumers) await this.deliver(c, batch);
      this.stats.queuedSamples -= batch.length;
      this.stats.delivered += batch.length;
      while (this.roomWaiters.length > 0 && this.stats.queuedSamples < this.max) this.roomWaiters.shift()!();
    }
    this.running = false;
    while (this.idleWaiters.length > 0) this.idleWaiters.shift()!();
  }

  /** Resolves when every queued batch has been handed to every sink and consumer. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
