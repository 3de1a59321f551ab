import type { Batch, Sample } from '../sample.ts';
import type { Logger } from '../log.ts';
import type { Sink, SinkCloseReport } from './sink.ts';
import { encodeLine } from './line-protocol.ts';
import type { Spool, SpoolChunk, SpoolPosition } from './spool.ts';
import { WriteError, type LineWriter } from './writer.ts';

export interface SpooledSinkOptions {
  name: string;
  writer: LineWriter;
  spool: Spool;
  batchSize: number;
  /** Write requests under way at once (commits stay in order); default 4. */
  maxInFlight?: number;
  flushIntervalMs: number;
  retry: { minDelayMs: number; maxDelayMs: number };
  logger: Logger;
}

export interface SpooledSinkStats {
  accepted: number;
  written: number;
  /** Lines the destination refused as bad data (dropped alone, never their batch). */
  rejected: number;
  /** Lines dropped by the spool's size bound. */
  overflowed: number;
  sendErrors: number;
  spoolBytes: number;
}

/**
 * Buffers samples in memory for at most one flush interval, then appends them to the durable
 * spool: from there they count as accepted, and a `kill -9` can only take what was gathered since
 * the last flush. A single drain loop sends the spool to the destination in order, with up to
 * `maxInFlight` batches under way, committing each (in order) after the destination acknowledged it. While the destination is down the
 * spool grows (bounded) and the loop retries with exponential backoff and jitter, logging the
 * outage once and the recovery once. A batch refused as bad data is bisected until the bad lines
 * are alone; they are dropped and counted, the rest written.
 */
export class SpooledSink implements Sink {
  readonly name: string;
  readonly stats: SpooledSinkStats = { accepted: 0, written: 0, rejected: 0, overflowed: 0, sendErrors: 0, spoolBytes: 0 };
  private readonly o: SpooledSinkOptions & { maxInFlight: number };
  /** Samples since the last flush; encoded in one go when flushed (a tight loop is cheaper). */
  private pending: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Wakes the drain loop when it waits for data. */
  private wake: (() => void) | undefined;
  /** Ends a backoff sleep early; only `close` uses it. */
  private interrupt: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private failing = false;
  private failures = 0;
  private readonly log: Logger;

  get destination(): string {
    return this.o.writer.describe;
  }

  constructor(o: SpooledSinkOptions) {
    this.o = { maxInFlight: 4, ...o };
    this.name = o.name;
    this.log = o.logger;
  }

  /** Opens the spool, replays what a previous run left in it, and starts the flush timer. */
  start(): void {
    this.o.spool.open();
    this.o.spool.onDrop = (lines, bytes) => {
      this.stats.overflowed += lines;
      this.log.error({ lines, bytes, droppedTotal: this.o.spool.dropped }, 'spool full: oldest points dropped');
    };
    const left = this.o.spool.pendingLines;
    if (left > 0) this.log.info({ points: left, destination: this.o.writer.describe }, 'replaying spool from previous run');
    this.timer = setInterval(() => this.flushToSpool(), this.o.flushIntervalMs);
    this.timer.unref();
    this.draining = this.drainLoop();
  }

  write(batch: Batch): void {
    if (this.closed) throw new Error(`sink ${this.name} is closed`);
    for (const s of batch) this.pending.push(s);
    if (this.pending.length >= this.o.batchSize) this.flushToSpool();
  }

  persist(): void {
    this.flushToSpool(true);
  }

  private flushToSpool(raise = false): void {
    if (this.pending.length === 0) return;
    let text = '';
    let lines = 0;
    for (const s of this.pending) {
      const line = encodeLine(s);
      if (line === undefined) continue;
      text += line + '\n';
      lines++;
    }
    try {
      if (lines > 0) this.o.spool.append(text, lines);
    } catch (err) {
      // Disk full or gone: keep the points in memory and try again at the next flush.
      if (raise) throw err;
      this.stats.sendErrors++;
      this.log.error({ err, points: lines }, 'cannot append to spool; keeping points in memory');
      return;
    }
    this.pending = [];
    this.stats.accepted += lines;
    this.stats.spoolBytes = this.o.spool.pendingBytes;
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async flush(): Promise<void> {
    this.flushToSpool();
  }

  /** Waits until everything accepted so far has reached the destination (for tests and shutdown). */
  async drained(timeoutMs: number): Promise<boolean> {
    this.flushToSpool();
    const deadline = Date.now() + timeoutMs;
    while (this.o.spool.pendingLines > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.o.spool.pendingLines === 0;
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
          const sent = this.sendAll(chunk.body, chunk.lines);
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
        spool.commit(head.chunk.end, head.chunk.lines);
        this.stats.written += head.chunk.lines - rejected;
        this.stats.rejected += rejected;
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

  /**
   * Flushes to the spool, tries to deliver what is spooled until `deadlineMs`, then stops. What
   * is not delivered stays in the spool for the next start.
   */
  async close(deadlineMs = 5_000): Promise<SinkCloseReport> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flushToSpool();
    if (!this.failing) await this.drained(deadlineMs);
    this.closed = true;
    this.kick();
    this.interrupt?.();
    // An in-flight send is allowed to finish (bounded by the writer's own timeout).
    await this.draining;
    const report = { pending: this.o.spool.pendingLines, dropped: this.stats.rejected + this.stats.overflowed };
    this.o.spool.close();
    return report;
  }
}
