import { mkdirSync, readdirSync, openSync, writeSync, closeSync, fstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../sample.ts';
import type { Logger } from '../log.ts';
import type { Sink, SinkCloseReport } from './sink.ts';
import { encodeLine } from './line-protocol.ts';

export interface FileSinkOptions {
  dir: string;
  maxFileBytes: number;
  maxFiles: number;
  flushIntervalMs: number;
  logger: Logger;
}

const NAME = /^series-(\d{12})\.lp$/;

/**
 * Keeps series locally when no InfluxDB is configured: line protocol appended to
 * `series-NNNNNNNNNNNN.lp` files, a new file past `maxFileBytes`, the oldest deleted past
 * `maxFiles` (that is the configured retention, logged when it happens). Files can be loaded
 * into InfluxDB later with `influx write` / `curl --data-binary @file`.
 */
export class FileSink implements Sink {
  readonly name = 'files';
  readonly stats = { accepted: 0, rotatedAway: 0 };
  private readonly o: FileSinkOptions;
  private pending: string[] = [];
  private fd: number | undefined;
  private size = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(o: FileSinkOptions) {
    this.o = o;
  }

  get destination(): string {
    return `line-protocol files in ${this.o.dir}`;
  }

  start(): void {
    mkdirSync(this.o.dir, { recursive: true });
    const seqs = this.files();
    this.seq = seqs.at(-1) ?? 0;
    this.openCurrent();
    this.timer = setInterval(() => this.flushNow(), this.o.flushIntervalMs);
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
    for (const s of batch) {
      const line = encodeLine(s);
      if (line !== undefined) this.pending.push(line);
    }
  }

  private flushNow(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = this.pending.join('\n') + '\n';
    this.stats.accepted += this.pending.length;
    this.pending = [];
    if (this.size >= this.o.maxFileBytes) this.rotate();
    writeSync(this.fd, text);
    this.size += Buffer.byteLength(text);
  }

  private rotate(): void {
    closeSync(this.fd!);
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

  async close(): Promise<SinkCloseReport> {
    if (this.timer) clearInterval(this.timer);
    this.flushNow();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return { pending: 0, dropped: 0 };
  }
}
