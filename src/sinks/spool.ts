import {
  mkdirSync, readdirSync, openSync, closeSync, unlinkSync, renameSync, writeFileSync, readFileSync, statSync, ftruncateSync, fsyncSync,
} from 'node:fs';
import { join } from 'node:path';
import { type SpoolIo, nodeIo, SpoolWriteError, type Segment, SEGMENT_NAME, segmentName, NL, countLines } from './spool-files.ts';
import { SpoolReader, type SpoolChunk, type SpoolPosition } from './spool-reader.ts';
import { DeferredSync } from './deferred-sync.ts';

export { SpoolWriteError, type SpoolIo } from './spool-files.ts';
export type { SpoolChunk, SpoolPosition } from './spool-reader.ts';

export interface SpoolOptions {
  /** Unsent data beyond this is dropped, oldest segment first, and counted. */
  maxBytes: number;
  segmentBytes: number;
  /**
   * fdatasync each append, and the directory when a segment is created (default true): an append
   * that returned survives power loss and a kernel crash too. Without it an append survives
   * `kill -9` (it is in the page cache) but not power loss.
   */
  fsync?: boolean;
  /** The longest line the reader hands over (default 4 MiB); a longer one is skipped and counted. */
  maxLineBytes?: number;
  io?: Partial<SpoolIo>;
}

/** The cursor is saved at most this often (see `saveCursorSoon`). */
export const CURSOR_SAVE_MS = 100;

/**
 * A durable FIFO of line-protocol lines on disk: numbered segment files appended in order, and a
 * cursor file (`cursor.json`, replaced atomically) that records how far delivery has got.
 *
 * Guarantees: an append that returned is on disk (with `fsync`, the default, on stable storage:
 * power loss cannot take it; without, in the page cache: `kill -9` cannot); an append that threw
 * left nothing behind: a write that failed half way (disk full) is cut back to the last whole
 * line, so no torn line is ever followed by later data. Reads return lines in append order, whole
 * lines only; a line that cannot be handed over (not UTF-8, a NUL byte from a crashed disk, longer
 * than `maxLineBytes`) is skipped and counted, never retried for ever. After a restart, reading
 * resumes at the cursor; a torn last line (the process died mid-write) is cut off at open.
 * Delivery is at-least-once: a crash between sending and `commit` sends that chunk again
 * (InfluxDB keeps one point per series and timestamp, so a resend changes nothing); so do the
 * commits of the last CURSOR_SAVE_MS (the cursor is saved at most that often), and a cursor that
 * could not be saved (disk full), which is saved again at the next commit. When unsent
 * data exceeds `maxBytes`, whole oldest segments are dropped and their lines counted in `dropped`:
 * loud, never silent.
 */
export class Spool {
  private readonly dir: string;
  private readonly opts: SpoolOptions & { fsync: boolean };
  private readonly io: SpoolIo;
  private segments: Segment[] = [];
  private cursor: SpoolPosition = { segment: 0, offset: 0 };
  private fd: number | undefined;
  /** Bytes past the last segment's size may be on disk: a failed append could not be cut back. */
  private torn = false;
  private readonly reader: SpoolReader;
  /** Lines dropped because of the size bound since open. */
  dropped = 0;
  /** Set while the cursor could not be saved (disk full); it is saved again at the next commit. */
  cursorUnsaved = false;
  /** When the cursor was last saved, and the timer that saves a commit made sooner than CURSOR_SAVE_MS after it. */
  private cursorSavedAt = 0;
  private cursorTimer: NodeJS.Timeout | undefined;
  /** Appends whose sync is deferred (`append(…, { deferSync })`, then `sync`). */
  private readonly deferred: DeferredSync;
  /** Called when the bound drops data, with how many lines. */
  onDrop: (lines: number, bytes: number) => void = () => {};

  constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.opts = { ...opts, fsync: opts.fsync ?? true, segmentBytes: Math.max(1024, Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4))) };
    // A test's own `sync` (a failing disk) stands for the deferred one too, unless it gives that as well.
    this.io = { ...nodeIo, ...(opts.io?.sync && !opts.io.syncAsync && { syncAsync: undefined }), ...opts.io };
    this.reader = new SpoolReader(dir, opts.maxLineBytes ?? 4 * 1024 * 1024);
    const io = this.io;
    this.deferred = new DeferredSync({
      syncAsync: (fd) => (io.syncAsync ? io.syncAsync(fd) : Promise.resolve().then(() => io.sync(fd))),
      error: (message, cause) => new SpoolWriteError(`spool in ${dir}: ${message}`, cause),
    });
  }

  open(): void {
    mkdirSync(this.dir, { recursive: true });
    const ids = readdirSync(this.dir).map((f) => SEGMENT_NAME.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'cursor.json'), 'utf8'));
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset)) this.cursor = c;
    } catch { /* no cursor yet: start at the oldest segment */ }
    for (const id of ids) {
      if (id < this.cursor.segment) {
        unlinkSync(join(this.dir, segmentName(id))); // delivered before the last stop
        continue;
      }
      const path = join(this.dir, segmentName(id));
      const buf = readFileSync(path);
      let size = buf.length;
      if (size > 0 && buf[size - 1] !== NL) {
        size = buf.lastIndexOf(NL) + 1; // torn tail from a crash mid-append
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, size);
        } finally {
          closeSync(fd);
        }
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
    this.fd = openSync(join(this.dir, segmentName(this.segments.at(-1)!.id)), 'a');
    if (!last && this.opts.fsync) this.syncDir();
  }

  /**
   * Appends complete lines (each ending in "\n"). Returns once the data is in the file (and, with
   * `fsync`, on stable storage; `deferSync`: once `sync` resolves). Throws SpoolWriteError when it
   * cannot (disk full, I/O error); then nothing of `text` is in the spool.
   */
  append(text: string, lines: number, o: { deferSync?: boolean } = {}): void {
    if (this.fd === undefined) throw new Error('spool is not open');
    let seg = this.segments.at(-1)!;
    if (this.torn) this.cutBack(seg, true);
    if (seg.size >= this.opts.segmentBytes) seg = this.roll();
    const data = Buffer.from(text);
    const bytes = data.length;
    try {
      for (let done = 0; done < bytes;) {
        const n = this.io.write(this.fd, data, done, bytes - done);
        if (!(n > 0)) throw new Error(`write returned ${n}`);
        done += n;
      }
      if (this.opts.fsync && !o.deferSync) this.io.sync(this.fd);
      else if (this.opts.fsync) this.deferred.written();
    } catch (err) {
      this.deferred.failed();
      // Part of it may be in the file: cut it back to the last whole line it had.
      this.cutBack(seg, false);
      throw new SpoolWriteError(`cannot append to the spool in ${this.dir}: ${(err as Error).message}`, err);
    }
    seg.size += bytes;
    seg.lines += lines;
    this.enforceBound();
  }

  /**
   * Syncs what `append(…, { deferSync: true })` wrote, off the event loop; resolves at once when
   * nothing waits (or without `fsync`). A segment rolled meanwhile was synced as it was closed.
   */
  sync(): Promise<void> {
    return this.deferred.sync(this.fd);
  }

  /** Truncates the open segment to what is known to be whole lines; `raise` rethrows a failure. */
  private cutBack(seg: Segment, raise: boolean): void {
    try {
      this.io.truncate(this.fd!, seg.size);
      this.torn = false;
    } catch (err) {
      this.torn = true; // tried again before the next append; cut at open after a crash
      if (raise) throw new SpoolWriteError(`cannot cut a failed append out of the spool in ${this.dir}: ${(err as Error).message}`, err);
    }
  }

  private roll(): Segment {
    const seg = { id: this.segments.at(-1)!.id + 1, size: 0, lines: 0 };
    let fd: number;
    try {
      fd = openSync(join(this.dir, segmentName(seg.id)), 'a');
    } catch (err) {
      throw new SpoolWriteError(`cannot start a spool segment in ${this.dir}: ${(err as Error).message}`, err);
    }
    try {
      if (this.opts.fsync) this.syncDir();
    } catch (err) {
      closeSync(fd);
      throw new SpoolWriteError(`cannot sync the spool directory ${this.dir}: ${(err as Error).message}`, err);
    }
    if (this.deferred.pending) {
      // What a deferred sync was to cover, before the file is left behind.
      try {
        this.io.sync(this.fd!);
        this.deferred.synced();
      } catch (err) {
        this.deferred.failed();
        closeSync(fd);
        throw new SpoolWriteError(`cannot sync the spool in ${this.dir}: ${(err as Error).message}`, err);
      }
    }
    this.deferred.close(this.fd!);
    this.fd = fd;
    this.segments.push(seg);
    return seg;
  }

  /** A new segment's name must survive power loss as well as its data. */
  private syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private enforceBound(): void {
    while (this.pendingBytes > this.opts.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift()!;
      const bytes = oldest.size - (oldest.id === this.cursor.segment ? this.cursor.offset : 0);
      this.dropped += oldest.lines;
      unlinkSync(join(this.dir, segmentName(oldest.id)));
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
   * the cursor. Undefined when there is nothing more to read. A line that cannot be handed over
   * is left out of `body` and counted in `skipped`; `end` is past it all the same, so committing
   * the chunk passes over it.
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
    return this.reader.read(seg, offset, maxLines);
  }

  /** Records that everything up to `end` (from `read`) is delivered; `lines` counts skipped ones too. */
  commit(end: SpoolPosition, lines: number): void {
    // The bound may have dropped this chunk's segment while it was being sent.
    if (end.segment < this.cursor.segment || (end.segment === this.cursor.segment && end.offset <= this.cursor.offset)) return;
    while (this.segments.length > 1 && this.segments[0].id < end.segment) {
      const done = this.segments.shift()!;
      unlinkSync(join(this.dir, segmentName(done.id)));
    }
    const head = this.segments[0];
    if (head && head.id === end.segment) head.lines = Math.max(0, head.lines - lines);
    this.cursor = { ...end };
    this.saveCursorSoon();
  }

  /**
   * Saves the cursor at most every CURSOR_SAVE_MS (a write and a rename each: with small chunks
   * delivered one after another, saving each took a fifth of a trap storm's time). A crash in
   * between sends up to that much again: at least once, as always.
   */
  private saveCursorSoon(): void {
    const wait = this.cursorSavedAt + CURSOR_SAVE_MS - Date.now();
    if (wait <= 0 || wait > CURSOR_SAVE_MS) {
      this.saveCursor();
      return;
    }
    this.cursorUnsaved = true;
    this.cursorTimer ??= setTimeout(() => {
      this.cursorTimer = undefined;
      if (this.cursorUnsaved && this.fd !== undefined) this.saveCursor();
    }, wait).unref();
  }

  /**
   * Saves the cursor; on a full disk it stays unsaved until a later commit saves it (a crash
   * before then sends the delivered chunks again: at least once, never lost).
   */
  private saveCursor(): void {
    const tmp = join(this.dir, 'cursor.json.tmp');
    try {
      writeFileSync(tmp, JSON.stringify(this.cursor));
      renameSync(tmp, join(this.dir, 'cursor.json'));
      this.cursorUnsaved = false;
      this.cursorSavedAt = Date.now();
    } catch {
      this.cursorUnsaved = true;
    }
  }

  close(): void {
    clearTimeout(this.cursorTimer);
    this.cursorTimer = undefined;
    if (this.cursorUnsaved) this.saveCursor();
    if (this.fd !== undefined) {
      if (this.deferred.pending) try { this.io.sync(this.fd); } catch { /* at close: what a crash now would take, a kill -9 cannot */ }
      this.deferred.synced();
      this.deferred.close(this.fd);
    }
    this.fd = undefined;
  }

  /** Total bytes of segment files on disk (for metrics and tests). */
  diskBytes(): number {
    let total = 0;
    for (const s of this.segments) {
      try { total += statSync(join(this.dir, segmentName(s.id))).size; } catch { /* removed */ }
    }
    return total;
  }
}
