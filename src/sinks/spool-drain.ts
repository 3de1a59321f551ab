import type { Logger } from '../log.ts';
import type { Spool, SpoolChunk, SpoolPosition } from './spool.ts';
import { WriteError, type LineWriter } from './writer.ts';
import type { SpooledSinkStats } from './spooled.ts';

export interface SpoolDrainOptions {
  spool: Spool;
  writer: LineWriter;
  batchSize: number;
  /** Write requests under way at once (commits stay in order). */
  maxInFlight: number;
  retry: { minDelayMs: number; maxDelayMs: number };
  logger: Logger;
  /** The sink's stats; the drain counts written, rejected, corrupt and sendErrors, and sets spoolBytes. */
  stats: SpooledSinkStats;
}

/**
 * The single drain loop behind a SpooledSink: sends the spool to the destination in order, with up
 * to `maxInFlight` batches under way, committing each (in order) after the destination
 * acknowledged it. While the destination is down it retries with exponential backoff and jitter,
 * logging the outage once and the recovery once; a failed send is retried from the cursor, so what
 * the sends behind it delivered is sent again (at-least-once). A batch refused as bad data is
 * bisected until the bad lines are alone; they are dropped and counted, the rest written.
 */
export class SpoolDrain {
  private readonly o: SpoolDrainOptions;
  private readonly stats: SpooledSinkStats;
  private readonly log: Logger;
  /** Wakes the drain loop when it waits for data. */
  private wake: (() => void) | undefined;
  /** Ends a backoff sleep early; only `stop` uses it. */
  private interrupt: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Set from a failed send until a chunk is delivered again. */
  failing = false;
  private failures = 0;

  constructor(o: SpoolDrainOptions) {
    this.o = o;
    this.stats = o.stats;
    this.log = o.logger;
  }

  /** Starts the loop. The caller starts it once: a second loop would send every point again. */
  start(): void {
    this.draining = this.drainLoop();
  }

  /** Whether `start` has been called. */
  get started(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Ends the loop: a wait for data or a backoff sleep ends at once; an in-flight send is allowed
   * to finish (bounded by the writer's own timeout). Resolves when the loop has ended.
   */
  async stop(): Promise<void> {
    this.closed = true;
    this.kick();
    this.interrupt?.();
    await this.draining;
  }

  /** Wakes the loop when it waits for data (something was appended to the spool). */
  kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async drainLoop(): Promise<void> {
    const spool = this.o.spool;
    const inflight: { chunk: SpoolChunk; sent: Promise<number> }[] = [];
    let readFrom: SpoolPosition | undefined;
    while (!this.closed) {
      // Keep up to maxInFlight sends going; commits still happen strictly in spool order.
      try {
        while (inflight.length < this.o.maxInFlight) {
          const chunk = spool.read(this.o.batchSize, readFrom);
          if (!chunk) break;
          readFrom = chunk.end;
          const sent = chunk.lines > 0 ? this.sendAll(chunk.body, chunk.lines) : Promise.resolve(0);
          sent.catch(() => {}); // handled when it reaches the head of the queue
          inflight.push({ chunk, sent });
        }
      } catch (err) {
        this.log.error({ err }, 'spool read failed');
        await this.sleep(this.o.retry.maxDelayMs);
        continue;
      }
      if (inflight.length === 0) {
        readFrom = undefined;
        await new Promise<void>((resolve) => { this.wake = resolve; });
        continue;
      }
      const head = inflight.shift()!;
      try {
        const rejected = await head.sent;
        spool.commit(head.chunk.end, head.chunk.lines + head.chunk.skipped);
        this.stats.written += head.chunk.lines - rejected;
        this.stats.rejected += rejected;
        if (head.chunk.skipped > 0) {
          this.stats.corrupt += head.chunk.skipped;
          this.log.error({ lines: head.chunk.skipped, corruptTotal: this.stats.corrupt }, 'corrupt or over-long lines in the spool; skipped');
        }
        this.stats.spoolBytes = spool.pendingBytes;
        if (this.failing) {
          this.log.info({ destination: this.o.writer.describe, failures: this.failures, spooled: spool.pendingLines }, 'time-series destination reachable again');
        }
        this.failing = false;
        this.failures = 0;
      } catch (err) {
        // Let the sends behind it finish, then start again from the cursor: what they delivered
        // is sent again (at-least-once; InfluxDB keeps one point per series and time).
        await Promise.allSettled(inflight.map((f) => f.sent));
        inflight.length = 0;
        readFrom = undefined;
        this.stats.sendErrors++;
        this.failures++;
        if (!this.failing) {
          this.log.warn({ destination: this.o.writer.describe, reason: (err as Error).message }, 'time-series destination unreachable; spooling to disk');
        }
        this.failing = true;
        const retryAfter = err instanceof WriteError ? err.retryAfterMs ?? 0 : 0;
        await this.sleep(Math.max(retryAfter, this.backoff()));
      }
    }
    await Promise.allSettled(inflight.map((f) => f.sent));
  }

  /** Exponential backoff with full jitter between min and max delay. */
  private backoff(): number {
    const { minDelayMs, maxDelayMs } = this.o.retry;
    const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(this.failures - 1, 20));
    return minDelayMs + Math.random() * Math.max(0, ceiling - minDelayMs);
  }

  private sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return new Promise<void>((resolve) => {
      this.interrupt = resolve;
      timer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(timer);
      this.interrupt = undefined;
    });
  }

  /**
   * Sends lines; when the destination refuses them as bad data, halves the batch until the
   * refused lines stand alone, and drops only those. Returns how many were dropped. Retryable
   * failures propagate (the whole chunk is retried; InfluxDB overwrites identical points).
   */
  private async sendAll(body: string, lines: number): Promise<number> {
    try {
      await this.o.writer.send(body);
      return 0;
    } catch (err) {
      if (!(err instanceof WriteError) || err.kind !== 'bad-data') throw err;
      if (lines <= 1) {
        this.log.warn({ destination: this.o.writer.describe, reason: err.message, line: body.slice(0, 300) }, 'point refused by destination; dropped');
        return 1;
      }
      // Cut after the newline that ends the middle line: both halves stay whole lines.
      let at = -1;
      for (let i = 0, half = lines >> 1; i < half; i++) at = body.indexOf('\n', at + 1);
      const left = body.slice(0, at + 1);
      const right = body.slice(at + 1);
      const leftLines = lines >> 1;
      return (await this.sendAll(left, leftLines)) + (await this.sendAll(right, lines - leftLines));
    }
  }
}
