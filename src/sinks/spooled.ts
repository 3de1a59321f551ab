import type { Batch, Sample } from '../sample.ts';
import type { Logger } from '../log.ts';
import type { Sink, SinkCloseReport } from './sink.ts';
import { LogThrottle } from '../throttle.ts';
import { encodeLine } from './line-protocol.ts';
import type { Spool } from './spool.ts';
import type { LineWriter } from './writer.ts';
import { metric } from '../api/metrics.ts';
import { SpoolDrain } from './spool-drain.ts';

export interface SpooledSinkOptions {
  name: string;
  writer: LineWriter;
  spool: Spool;
  batchSize: number;
  /** Write requests under way at once (commits stay in order); default 4. */
  maxInFlight?: number;
  flushIntervalMs: number;
  retry: { minDelayMs: number; maxDelayMs: number };
  /**
   * While the spool cannot be written (disk full), at most this many points wait in memory
   * (default: twice `batchSize`); past it `write` throws. Appends are retried with backoff between
   * `spoolRetry.minDelayMs` and `maxDelayMs` (default 100 ms to 5 s).
   */
  maxBufferedPoints?: number;
  spoolRetry?: { minDelayMs: number; maxDelayMs: number };
  logger: Logger;
}

/** The spool cannot take points now (disk full or failing): nothing was accepted. */
export class SpoolUnavailableError extends Error {
  readonly code = 'SPOOL_UNAVAILABLE';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

export interface SpooledSinkStats {
  accepted: number;
  written: number;
  /** Lines the destination refused as bad data (dropped alone, never their batch). */
  rejected: number;
  /** Lines dropped by the spool's size bound. */
  overflowed: number;
  /** Failed sends to the destination (retried). */
  sendErrors: number;
  spoolBytes: number;
  /** Points refused by `write` while the spool could not be written and memory was full. */
  refused: number;
  /** Points that could not be encoded at all (see `encodeLine`), dropped with the reason logged. */
  invalid: number;
  /** Fields left out of points that were written (NaN, an integer outside int64, ...). */
  fieldsDropped: number;
  /** Lines the spool's reader passed over as corrupt or longer than it reads. */
  corrupt: number;
  /** Appends to the spool that failed (disk full, I/O error); the points stayed in memory. */
  spoolErrors: number;
}

/**
 * Buffers samples in memory for at most one flush interval, then appends them to the durable
 * spool: from there they count as accepted, and a `kill -9` can only take what was gathered since
 * the last flush (with the spool's `fsync`, power loss neither). `persist` appends at once: the
 * group commit behind an MQTT PUBACK. A single drain loop sends the spool to the destination in
 * order, with up to `maxInFlight` batches under way, committing each (in order) after the
 * destination acknowledged it. While the destination is down the spool grows (bounded) and the
 * loop retries with exponential backoff and jitter, logging the outage once and the recovery once.
 * A batch refused as bad data is bisected until the bad lines are alone; they are dropped and
 * counted, the rest written.
 *
 * While the spool cannot be written (disk full), `persist` throws (so nothing is acknowledged),
 * points wait in memory up to `maxBufferedPoints` and `write` throws past that: memory stays
 * bounded. Appends are retried with backoff, so the sink resumes by itself when space returns;
 * the failure and the recovery are logged once each.
 */
export class SpooledSink implements Sink {
  readonly name: string;
  readonly stats: SpooledSinkStats = {
    accepted: 0, written: 0, rejected: 0, overflowed: 0, sendErrors: 0, spoolBytes: 0,
    refused: 0, invalid: 0, fieldsDropped: 0, corrupt: 0, spoolErrors: 0,
  };
  private readonly o: SpooledSinkOptions & { maxInFlight: number; maxBufferedPoints: number; spoolRetry: { minDelayMs: number; maxDelayMs: number } };
  /** Samples since the last flush; encoded in one go when flushed (a tight loop is cheaper). */
  private pending: Sample[] = [];
  /** Lines encoded but not yet in the spool, because the last append failed. */
  private held: { text: string; lines: number } | undefined;
  /** Set while appends fail: the last error, how many in a row, and when to try again. */
  private disk: { err: unknown; failures: number; retryAt: number } | undefined;
  private diskTimer: NodeJS.Timeout | undefined;
  private readonly throttle = new LogThrottle(60_000);
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly drain: SpoolDrain;
  private readonly log: Logger;

  get destination(): string {
    return this.o.writer.describe;
  }


  /** Its metrics in Prometheus text format. */
  metrics(): string {
    const s = this.stats;
    return metric('netpulse_sink_points_total', 'counter', 'Points by outcome.', [[{ outcome: 'accepted' }, s.accepted], [{ outcome: 'written' }, s.written], [{ outcome: 'rejected' }, s.rejected],
      [{ outcome: 'overflowed' }, s.overflowed], [{ outcome: 'refused' }, s.refused], [{ outcome: 'invalid' }, s.invalid], [{ outcome: 'corrupt' }, s.corrupt]])
      + metric('netpulse_sink_fields_dropped_total', 'counter', 'Fields left out of a point the destination could not take (a Counter64 past 2^63).', [[{}, s.fieldsDropped]])
      + metric('netpulse_sink_write_errors_total', 'counter', 'Failed writes to InfluxDB (retried).', [[{}, s.sendErrors]])
      + metric('netpulse_spool_errors_total', 'counter', 'Appends the disk refused (full, gone); nothing they held was acknowledged.', [[{}, s.spoolErrors]])
      + metric('netpulse_spool_bytes', 'gauge', 'Bytes spooled and not yet delivered.', [[{}, s.spoolBytes]]);
  }

  constructor(o: SpooledSinkOptions) {
    this.o = { maxInFlight: 4, maxBufferedPoints: 2 * o.batchSize, spoolRetry: { minDelayMs: 100, maxDelayMs: 5_000 }, ...o };
    this.name = o.name;
    this.log = o.logger;
    this.drain = new SpoolDrain({
      spool: this.o.spool, writer: this.o.writer, batchSize: this.o.batchSize, maxInFlight: this.o.maxInFlight,
      retry: this.o.retry, logger: this.log, stats: this.stats,
    });
  }

  /** Opens the spool, replays what a previous run left in it, and starts the flush timer. Once: again, or after `close`, it does nothing. */
  start(): void {
    if (this.drain.started || this.closed) return; // a second drain loop would send every point again, without end
    this.o.spool.open();
    this.o.spool.onDrop = (lines, bytes) => {
      this.stats.overflowed += lines;
      this.log.error({ lines, bytes, droppedTotal: this.o.spool.dropped }, 'spool full: oldest points dropped');
    };
    const left = this.o.spool.pendingLines;
    if (left > 0) this.log.info({ points: left, destination: this.o.writer.describe }, 'replaying spool from previous run');
    this.timer = setInterval(() => this.flushToSpool(), this.o.flushIntervalMs);
    this.timer.unref();
    this.drain.start();
  }

  /** Points in memory, not yet in the spool (bounded by `maxBufferedPoints` while the disk fails). */
  get buffered(): number {
    return this.pending.length + (this.held?.lines ?? 0);
  }

  /**
   * Takes a batch into memory until the next flush. While the spool cannot be written and
   * `maxBufferedPoints` are already waiting, throws SpoolUnavailableError and takes nothing: memory
   * stays bounded and the caller knows the batch was not accepted.
   */
  write(batch: Batch): void {
    if (this.closed) throw new Error(`sink ${this.name} is closed`);
    if (this.disk && this.buffered + batch.length > this.o.maxBufferedPoints) {
      this.stats.refused += batch.length;
      throw this.unavailable();
    }
    for (const s of batch) this.pending.push(s);
    if (this.pending.length >= this.o.batchSize) this.flushToSpool();
  }

  /**
   * Appends what is in memory to the spool (fsynced, with the spool's `fsync`): this is the group
   * commit that precedes an MQTT PUBACK. Throws SpoolUnavailableError when it cannot; the points
   * stay in memory (bounded) and are appended by a retry with backoff once the disk takes them.
   */
  persist(): void {
    this.flushToSpool(true);
  }

  /** `persist` with the spool's sync off the event loop (see `Sink.persistDeferred`). */
  persistDeferred(): Promise<void> {
    this.flushToSpool(true, true);
    return this.o.spool.sync().catch((err) => {
      this.stats.spoolErrors++;
      throw err;
    });
  }

  private unavailable(): SpoolUnavailableError {
    const reason = (this.disk?.err as Error | undefined)?.message ?? 'unknown error';
    return new SpoolUnavailableError(`spool cannot take points (${reason}); ${this.buffered} waiting in memory`, this.disk?.err);
  }

  private flushToSpool(raise = false, deferSync = false): void {
    if (this.pending.length > 0) this.encodePending();
    const held = this.held;
    if (!held) return;
    if (this.disk && Date.now() < this.disk.retryAt) {
      if (raise) throw this.unavailable();
      return;
    }
    try {
      this.o.spool.append(held.text, held.lines, { deferSync });
    } catch (err) {
      this.spoolFailed(err);
      if (raise) throw this.unavailable();
      return;
    }
    this.held = undefined;
    this.stats.accepted += held.lines;
    this.stats.spoolBytes = this.o.spool.pendingBytes;
    if (this.disk) {
      this.log.info({ failures: this.disk.failures }, 'spool writable again');
      this.disk = undefined;
      clearTimeout(this.diskTimer);
      this.diskTimer = undefined;
    }
    this.drain.kick();
  }

  /** Encodes the pending samples onto what is held for the spool; refusals are counted once. */
  private encodePending(): void {
    let text = '';
    let lines = 0;
    for (const s of this.pending) {
      const line = encodeLine(s, (reason, field) => this.unwritable(s, reason, field));
      if (line === undefined) continue;
      text += line + '\n';
      lines++;
    }
    this.pending = [];
    if (lines === 0) return;
    if (this.held) {
      this.held.text += text;
      this.held.lines += lines;
    } else {
      this.held = { text, lines };
    }
  }

  private unwritable(s: Sample, reason: string, field: string | undefined): void {
    if (field === undefined) this.stats.invalid++;
    else this.stats.fieldsDropped++;
    // One line a minute for points and one for fields, whatever the names (a hostile publisher
    // can make up any number of them); the counts are in the stats.
    const suppressed = this.throttle.allow(field === undefined ? 'unwritable point' : 'unwritable field');
    if (suppressed !== undefined) {
      this.log.warn({ measurement: s.measurement.slice(0, 100), element: s.element.slice(0, 100), reason, suppressed }, field === undefined ? 'point cannot be written as line protocol; dropped' : 'field cannot be written as line protocol; left out');
    }
  }

  /** Logs the first failure only, and schedules the retry with backoff. */
  private spoolFailed(err: unknown): void {
    this.stats.spoolErrors++;
    const failures = (this.disk?.failures ?? 0) + 1;
    const { minDelayMs, maxDelayMs } = this.o.spoolRetry;
    const delay = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures - 1, 20));
    if (!this.disk) {
      this.log.error({ err, points: this.buffered, maxBufferedPoints: this.o.maxBufferedPoints }, 'cannot append to the spool; keeping points in memory (bounded), refusing more once full, retrying');
    }
    this.disk = { err, failures, retryAt: Date.now() + delay };
    clearTimeout(this.diskTimer);
    if (this.closed) return;
    this.diskTimer = setTimeout(() => this.flushToSpool(), delay);
    this.diskTimer.unref();
  }

  async flush(): Promise<void> {
    this.flushToSpool();
  }

  /** Waits until everything accepted so far has reached the destination (for tests and shutdown). */
  async drained(timeoutMs: number): Promise<boolean> {
    this.flushToSpool();
    const deadline = Date.now() + timeoutMs;
    // Points held in memory for a failing disk count too: the retry timer appends them.
    while ((this.o.spool.pendingLines > 0 || this.buffered > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.o.spool.pendingLines === 0 && this.buffered === 0;
  }

  /**
   * Flushes to the spool, tries to deliver what is spooled until `deadlineMs`, then stops. What
   * is not delivered stays in the spool for the next start.
   */
  async close(deadlineMs = 5_000): Promise<SinkCloseReport> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.diskTimer);
    if (this.disk) this.disk.retryAt = 0; // one last try
    this.flushToSpool();
    if (!this.drain.failing) await this.drained(deadlineMs);
    this.closed = true;
    // An in-flight send is allowed to finish (bounded by the writer's own timeout).
    await this.drain.stop();
    clearTimeout(this.diskTimer);
    // Points still in memory (the disk never took them) are lost with the process: reported.
    const lost = this.buffered;
    if (lost > 0) this.log.error({ points: lost }, 'spool never became writable; points in memory lost at close');
    const report = { pending: this.o.spool.pendingLines, dropped: this.stats.rejected + this.stats.overflowed + this.stats.invalid + this.stats.corrupt + lost };
    this.o.spool.close();
    return report;
  }
}
