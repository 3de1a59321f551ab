import { openSync, closeSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { type Segment, segmentName, NL } from './spool-files.ts';

export interface SpoolPosition { segment: number; offset: number }

export interface SpoolChunk {
  /** Whole lines, each ending in "\n"; empty when the chunk is only skipped lines. */
  body: string;
  lines: number;
  /** Lines passed over as corrupt (not UTF-8, a NUL byte, longer than `maxLineBytes`). */
  skipped: number;
  end: SpoolPosition;
}

/**
 * Reads whole lines out of the spool's segment files, through one buffer of `maxLineBytes`: only
 * up to a segment's known size, so bytes of an append that failed are never read. A line that
 * cannot be handed over (not UTF-8, a NUL byte, longer than the buffer) is left out and counted.
 */
export class SpoolReader {
  private readonly dir: string;
  private readonly readBuf: Buffer;

  constructor(dir: string, maxLineBytes: number) {
    this.dir = dir;
    this.readBuf = Buffer.allocUnsafe(maxLineBytes);
  }

  /**
   * At most `maxLines` whole lines of `seg` from `offset` (which must be before its size). A line
   * that cannot be handed over is left out of `body` and counted in `skipped`; `end` is past it all
   * the same, so committing the chunk passes over it.
   */
  read(seg: Segment, offset: number, maxLines: number): SpoolChunk {
    // Only up to the segment's known size: bytes of an append that failed are never read.
    const got = this.readAt(seg, offset, Math.min(seg.size - offset, this.readBuf.length));
    const buf = this.readBuf;
    let end = 0;
    let lines = 0;
    for (let i = buf.indexOf(NL); i !== -1 && i < got; i = buf.indexOf(NL, i + 1)) {
      end = i + 1;
      if (++lines >= maxLines) break;
    }
    if (lines === 0) {
      // A line longer than the read buffer cannot be sent as a whole: pass over it, counted.
      return { body: '', lines: 0, skipped: 1, end: { segment: seg.id, offset: this.lineEnd(seg, offset + got) } };
    }
    const at = { segment: seg.id, offset: offset + end };
    const whole = buf.subarray(0, end);
    if (isUtf8(whole) && whole.indexOf(0) === -1) return { body: buf.toString('utf8', 0, end), lines, skipped: 0, end: at };
    // Corruption (a crashed disk, a hand-edited file): keep the good lines, count the others.
    let body = '';
    let good = 0;
    for (let start = 0; start < end;) {
      const stop = buf.indexOf(NL, start) + 1;
      const line = buf.subarray(start, stop);
      if (isUtf8(line) && line.indexOf(0) === -1) {
        body += line.toString('utf8');
        good++;
      }
      start = stop;
    }
    return { body, lines: good, skipped: lines - good, end: at };
  }

  /** Reads `want` bytes of a segment from `offset` into the read buffer; returns how many it got. */
  private readAt(seg: Segment, offset: number, want: number): number {
    const fd = openSync(join(this.dir, segmentName(seg.id)), 'r');
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
    return got;
  }

  /** The offset just past the newline that ends the line running on at `pos` (or the segment's end). */
  private lineEnd(seg: Segment, pos: number): number {
    while (pos < seg.size) {
      const got = this.readAt(seg, pos, Math.min(seg.size - pos, this.readBuf.length));
      if (got === 0) break;
      const nl = this.readBuf.indexOf(NL);
      if (nl !== -1 && nl < got) return pos + nl + 1;
      pos += got;
    }
    return seg.size;
  }
}
