import {
  mkdirSync, readdirSync, openSync, closeSync, writeSync, readSync, ftruncateSync,
  unlinkSync, renameSync, writeFileSync, readFileSync, statSync, fsyncSync,
} from 'node:fs';
import { join } from 'node:path';

export interface SpoolOptions {
  /** Unsent data beyond this is dropped, oldest segment first, and counted. */
  maxBytes: number;
  segmentBytes: number;
  /** fsync each append: survives power loss too, at a cost. kill -9 is survived either way. */
  fsync?: boolean;
}

export interface SpoolPosition { segment: number; offset: number }

export interface SpoolChunk {
  body: string;
  lines: number;
  end: SpoolPosition;
}

interface Segment { id: number; size: number; lines: number }

const NAME = /^(\d{12})\.lp$/;
const name = (id: number) => `${String(id).padStart(12, '0')}.lp`;
const NL = 0x0a;

function countLines(buf: Buffer, end = buf.length): number {
  let n = 0;
  for (let i = buf.indexOf(NL); i !== -1 && i < end; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}

/**
 * A durable FIFO of line-protocol lines on disk: numbered segment files appended in order, and a
 * cursor file (`cursor.json`, replaced atomically) that records how far delivery has got.
 *
 * Guarantees: an append that returned is on disk (in the page cache at least, so `kill -9` cannot
 * take it; with `fsync`, power loss cannot either); reads return lines in append order, whole
 * lines only; after a restart, reading resumes at the cursor. A torn last line (the process died
 * mid-write) is cut off at open. Delivery is at-least-once: a crash between sending and
 * `commit` sends that chunk again (InfluxDB keeps one point per series and timestamp, so a resend
 * changes nothing). When unsent data exceeds `maxBytes`, whole oldest segments are dropped and
 * their lines counted in `dropped`: loud, never silent.
 */
export class Spool {
  private readonly dir: string;
  private readonly opts: SpoolOptions;
  private segments: Segment[] = [];
  private cursor: SpoolPosition = { segment: 0, offset: 0 };
  private fd: number | undefined;
  private readonly readBuf: Buffer;
  /** Lines dropped because of the size bound since open. */
  dropped = 0;
  /** Called when the bound drops data, with how many lines. */
  onDrop: (lines: number, bytes: number) => void = () => {};

  constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.opts = { ...opts, segmentBytes: Math.max(1024, Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4))) };
    this.readBuf = Buffer.allocUnsafe(4 * 1024 * 1024);
  }

  open(): void {
    mkdirSync(this.dir, { recursive: true });
    const ids = readdirSync(this.dir).map((f) => NAME.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'cursor.json'), 'utf8'));
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset)) this.cursor = c;
    } catch { /* no cursor yet: start at the oldest segment */ }
    for (const id of ids) {
      if (id < this.cursor.segment) {
        unlinkSync(join(this.dir, name(id))); // delivered before the last stop
        continue;
      }
      const path = join(this.dir, name(id));
      const buf = readFileSync(path);
      let size = buf.length;
      if (size > 0 && buf[size - 1] !== NL) {
        size = buf.lastIndexOf(NL) + 1; // torn tail from a crash mid-append
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, size);
        closeSync(fd);
      }
      const from = id === this.cursor.segment ? Math.min(this.cursor.offset, size) : 0;
      if (id === this.cursor.segment) this.cursor.offset = from;
      this.segments.push({ id, size, lines: countLines(buf.subarray(from, size)) });
    }
    if (this.segments.length === 0 || this.segments[0].id !== this.cursor.segment) {
      this.cursor = { segment: this.segments[0]?.id ?? this.cursor.segment + 1, offset: 0 };
    }
    const last = this.segments.at(-1);
    if (!last) this.segments.push({ id: this.cursor.segment, size: 0, lines: 0 });
    this.fd = openSync(join(this.dir, name(this.segments.at(-1)!.id)), 'a');
  }

  /** Appends complete lines (each ending in "\n"). Returns once the data is in the file. */
  append(text: string, lines: number): void {
    if (this.fd === undefined) throw new Error('spool is not open');
    let seg = this.segments.at(-1)!;
    if (seg.size >= this.opts.segmentBytes) seg = this.roll();
    const data = Buffer.from(text);
    const bytes = data.length;
    for (let done = 0; done < bytes;) done += writeSync(this.fd, data, done, bytes - done);
    if (this.opts.fsync) fsyncSync(this.fd);
    seg.size += bytes;
    seg.lines += lines;
    this.enforceBound();
  }

  private roll(): Segment {
    closeSync(this.fd!);
    const seg = { id: this.segments.at(-1)!.id + 1, size: 0, lines: 0 };
    this.segments.push(seg);
    this.fd = openSync(join(this.dir, name(seg.id)), 'a');
    return seg;
  }

  private enforceBound(): void {
    while (this.pendingBytes > this.opts.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift()!;
      const bytes = oldest.size - (oldest.id === this.cursor.segment ? this.cursor.offset : 0);
      this.dropped += oldest.lines;
      unlinkSync(join(this.dir, name(oldest.id)));
      this.cursor = { segment: this.segments[0].id, offset: 0 };
      this.saveCursor();
      this.onDrop(oldest.lines, bytes);
    }
  }

  /** Bytes appended and not yet committed. */
  get pendingBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total - this.cursor.offset;
  }

  /** Lines appended and not yet committed. */
  get pendingLines(): number {
    let total = 0;
    for (const s of this.segments) total += s.lines;
    return total;
  }

  /**
   * The next whole lines after the cursor (or after `from`), at most `maxLines`, without moving
   * the cursor. Undefined when there is nothing more to read.
   */
  read(maxLines: number, from?: SpoolPosition): SpoolChunk | undefined {
    // `from` (the end of a chunk still being sent) lets a caller read ahead of the cursor; a
    // position the size bound has since dropped falls back to the cursor.
    let i = from ? this.segments.findIndex((s) => s.id === from.segment) : 0;
    let offset = from && i >= 0 ? from.offset : this.cursor.offset;
    if (i < 0) i = 0;
    let seg = this.segments[i];
    while (seg && offset >= seg.size) {
      seg = this.segments[++i];
      offset = 0;
    }
    if (!seg) return undefined;
    const want = Math.min(seg.size - offset, this.readBuf.length);
    const fd = openSync(join(this.dir, name(seg.id)), 'r');
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(fd, this.readBuf, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    let end = 0;
    let lines = 0;
    for (let i = this.readBuf.indexOf(NL); i !== -1 && i < got; i = this.readBuf.indexOf(NL, i + 1)) {
      end = i + 1;
      if (++lines >= maxLines) break;
    }
    if (lines === 0) {
      // One line longer than the read buffer: cannot be sent as a whole; skip it, counted.
      throw new Error(`spool line at ${name(seg.id)}:${offset} is longer than ${this.readBuf.length} bytes`);
    }
    return { body: this.readBuf.toString('utf8', 0, end), lines, end: { segment: seg.id, offset: offset + end } };
  }

  /** Records that everything up to `end` (from `read`) is delivered. */
  commit(end: SpoolPosition, lines: number): void {
    // The bound may have dropped this chunk's segment while it was being sent.
    if (end.segment < this.cursor.segment || (end.segment === this.cursor.segment && end.offset <= this.cursor.offset)) return;
    while (this.segments.length > 1 && this.segments[0].id < end.segment) {
      const done = this.segments.shift()!;
      unlinkSync(join(this.dir, name(done.id)));
    }
    const head = this.segments[0];
    if (head && head.id === end.segment) head.lines = Math.max(0, head.lines - lines);
    this.cursor = { ...end };
    this.saveCursor();
  }

  private saveCursor(): void {
    const tmp = join(this.dir, 'cursor.json.tmp');
    writeFileSync(tmp, JSON.stringify(this.cursor));
    renameSync(tmp, join(this.dir, 'cursor.json'));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Total bytes of segment files on disk (for metrics and tests). */
  diskBytes(): number {
    let total = 0;
    for (const s of this.segments) {
      try { total += statSync(join(this.dir, name(s.id))).size; } catch { /* removed */ }
    }
    return total;
  }
}
