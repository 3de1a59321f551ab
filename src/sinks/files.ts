import { mkdirSync, readdirSync, openSync, writeSync, fstatSync, unlinkSync, fdatasyncSync, fdatasync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../sample.ts';
import type { Logger } from '../log.ts';
import type { Sample } from '../sample.ts';
import type { Sink, SinkCloseReport } from './sink.ts';
import { encodeLine } from './line-protocol.ts';
import { DeferredSync } from './deferred-sync.ts';
import { LogThrottle } from '../throttle.ts';
import { metric } from '../api/metrics.ts';

export interface FileSinkOptions {
  dir: string;
  maxFileBytes: number;
  maxFiles: number;
  flushIntervalMs: number;
  logger: Logger;
  /** fdatasync each write, as the spool does: what a PUBACK acknowledged survives a power loss (default true). */
  fsync?: boolean;
  /** Lines held in memory while the disk refuses them; past it `write` refuses (default 100,000). */
  maxPendingLines?: number;
}

const NAME = /^series-(\d{12})\.lp$/;

/**
 * Keeps series locally when no InfluxDB is configured: line protocol appended to
 * `series-NNNNNNNNNNNN.lp` files, a new file past `maxFileBytes`, the oldest deleted past
 * `maxFiles` (that is the configured retention, logged when it happens). Files can be loaded
 * into InfluxDB later with `influx write` / `curl --data-binary @file`.
 *
 * The same promise as the spool: `persist` (the group commit before an MQTT PUBACK) returns only
 * once the lines are written and synced; a write that fails half way (a full disk) is cut back to
 * the last whole line, so no file holds a torn one; while the disk refuses, at most
 * `maxPendingLines` wait in memory and `write` refuses more (counted), so nothing unpersisted is
 * acknowledged and memory stays bounded; the next flush tries again by itself.
 */
export class FileSink implements Sink {
  readonly name = 'files';
  readonly stats = {
    accepted: 0, rotatedAway: 0, refused: 0, writeErrors: 0,
    /** Points that could not be encoded at all (see `encodeLine`), dropped. */
    invalid: 0,
    /** Fields left out of points that were written (NaN, an integer outside int64, ...). */
    fieldsDropped: 0,
    /** Lines the disk never took before `close`, lost with the process. */
    lost: 0,
  };
  private readonly o: FileSinkOptions;
  private pending: string[] = [];
  private fd: number | undefined;
  private size = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A failed write left bytes past `size` that could not be cut yet. */
  private torn = false;
  private closed = false;
  private readonly throttle = new LogThrottle(60_000);
  /** Writes whose sync is deferred (`persistDeferred`). */
  private readonly deferred = new DeferredSync({
    syncAsync: (fd) => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    error: (message, cause) => new Error(`local series files in ${this.o.dir}: ${message}`, { cause }),
  });


  /** Its metrics in Prometheus text format. */
  metrics(): string {
    return metric('netpulse_sink_points_total', 'counter', 'Points by outcome.', [[{ outcome: 'written' }, this.stats.accepted], [{ outcome: 'refused' }, this.stats.refused]])
      + metric('netpulse_spool_errors_total', 'counter', 'Writes the disk refused (full, gone); nothing they held was acknowledged.', [[{}, this.stats.writeErrors]]);
  }

  constructor(o: FileSinkOptions) {
    this.o = o;
  }

  get destination(): string {
    return `line-protocol files in ${this.o.dir}`;
  }

  /** Opens the newest file and starts the flush timer. Once: again, or after `close`, it does nothing. */
  start(): void {
    if (this.fd !== undefined || this.closed) return;
    mkdirSync(this.o.dir, { recursive: true });
    const seqs = this.files();
    this.seq = seqs.at(-1) ?? 0;
    this.openCurrent();
    this.timer = setInterval(() => {
      try {
        this.flushNow();
      } catch (err) {
        // Disk full or gone: the lines stay in memory and the next tick tries again.
        this.o.logger.error({ err, points: this.pending.length }, 'cannot write local series file');
      }
    }, this.o.flushIntervalMs);
    this.timer.unref();
  }

  private files(): number[] {
    return readdirSync(this.o.dir).map((f) => NAME.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
  }

  private openCurrent(): void {
    this.fd = openSync(join(this.o.dir, `series-${String(this.seq).padStart(12, '0')}.lp`), 'a');
    this.size = fstatSync(this.fd).size;
  }

  write(batch: Batch): void {
    if (this.closed) throw new Error(`sink ${this.name} is closed`);
    if (this.pending.length + batch.length > (this.o.maxPendingLines ?? 100_000)) {
      try {
        this.flushNow();
      } catch (err) {
        this.stats.refused += batch.length;
        throw new Error(`local series files cannot be written and ${this.pending.length} lines already wait in memory`, { cause: err });
      }
    }
    for (const s of batch) {
      const line = encodeLine(s, (reason, field) => this.unwritable(s, reason, field));
      if (line !== undefined) this.pending.push(line);
    }
  }

  private unwritable(s: Sample, reason: string, field: string | undefined): void {
    if (field === undefined) this.stats.invalid++;
    else this.stats.fieldsDropped++;
    // One line a minute for points and one for fields, whatever the names; the counts are in the stats.
    const suppressed = this.throttle.allow(field === undefined ? 'unwritable point' : 'unwritable field');
    if (suppressed !== undefined) {
      this.o.logger.warn({ measurement: s.measurement.slice(0, 100), element: s.element.slice(0, 100), reason, suppressed }, field === undefined ? 'point cannot be written as line protocol; dropped' : 'field cannot be written as line protocol; left out');
    }
  }

  persist(): void {
    if (this.fd === undefined) throw new Error('file sink is not open');
    this.flushNow();
  }

  /** `persist` with the fdatasync off the event loop (see `Sink.persistDeferred`). */
  async persistDeferred(): Promise<void> {
    if (this.fd === undefined) throw new Error('file sink is not open');
    this.flushNow(true);
    try {
      await this.deferred.sync(this.fd);
    } catch (err) {
      this.stats.writeErrors++;
      throw err;
    }
  }

  private flushNow(deferSync = false): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const data = Buffer.from(this.pending.join('\n') + '\n');
    if (this.size >= this.o.maxFileBytes) this.rotate();
    const fd = this.fd!;
    if (this.torn) {
      ftruncateSync(fd, this.size); // a cut that failed before: done first, or nothing is written
      this.torn = false;
    }
    try {
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done);
      if ((this.o.fsync ?? true) && deferSync) this.deferred.written();
      else if (this.o.fsync ?? true) fdatasyncSync(fd);
    } catch (err) {
      this.deferred.failed();
      this.stats.writeErrors++;
      try {
        ftruncateSync(fd, this.size); // no torn line: the file ends at its last whole line
      } catch {
        this.torn = true; // cut before the next write
      }
      throw err;
    }
    this.stats.accepted += this.pending.length;
    this.pending = [];
    this.size += data.length;
  }

  private rotate(): void {
    if (this.deferred.pending) {
      try {
        fdatasyncSync(this.fd!); // what a deferred sync was to cover, before the file is left behind
      } catch (err) {
        this.deferred.failed();
        throw err;
      }
      this.deferred.synced();
    }
    this.deferred.close(this.fd!);
    this.seq++;
    this.openCurrent();
    const all = this.files();
    while (all.length > this.o.maxFiles) {
      const old = all.shift()!;
      unlinkSync(join(this.o.dir, `series-${String(old).padStart(12, '0')}.lp`));
      this.stats.rotatedAway++;
      this.o.logger.info({ file: old, maxFiles: this.o.maxFiles }, 'oldest local series file removed (retention)');
    }
  }

  async flush(): Promise<void> {
    this.flushNow();
  }

  /** Writes what is in memory and closes the file; what the disk still refuses is lost, and reported as dropped. */
  async close(): Promise<SinkCloseReport> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.flushNow();
    } catch (err) {
      this.stats.lost += this.pending.length;
      this.o.logger.error({ err, points: this.pending.length }, 'local series files never became writable; points in memory lost at close');
      this.pending = [];
    }
    if (this.fd !== undefined) {
      if (this.deferred.pending) try { fdatasyncSync(this.fd); } catch { /* at close: what a power loss now would take, a kill -9 cannot */ }
      this.deferred.synced();
      this.deferred.close(this.fd);
    }
    this.fd = undefined;
    return { pending: 0, dropped: this.stats.invalid + this.stats.lost };
  }
}
