import { describe, it, expect, beforeEach, vi } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, writeSync, fdatasyncSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { Spool, SpoolWriteError, CURSOR_SAVE_MS } from '../../src/sinks/spool.ts';
import { tempDir } from '../helpers/temp.ts';

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m v=${from + i}i ${from + i}`).join('\n') + '\n';
const values = (body: string) => body.trim().split('\n').map((l) => Number(l.split(' ')[2]));

describe('Spool', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir('spool'); });

  it('reads lines back in append order and in whole lines, across segments', () => {
    const s = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1024 });
    s.open();
    for (let i = 0; i < 100; i++) s.append(lines(i * 10, 10), 10);
    expect(readdirSync(dir).filter((f) => f.endsWith('.lp')).length).toBeGreaterThan(1);
    const got: number[] = [];
    for (let c = s.read(37); c; c = s.read(37)) {
      got.push(...values(c.body));
      s.commit(c.end, c.lines);
    }
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(s.pendingLines).toBe(0);
  });

  it('saves the cursor at most every CURSOR_SAVE_MS: a crash in between sends the chunks since again (at least once), a close saves the last', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const cursor = () => JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')).offset as number;
      const a = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
      a.open();
      a.append(lines(0, 30), 30);
      const first = a.read(10)!;
      a.commit(first.end, first.lines); // saved at once: none for a while
      expect(cursor()).toBe(first.end.offset);
      const second = a.read(10)!;
      a.commit(second.end, second.lines); // within CURSOR_SAVE_MS: held
      expect(cursor()).toBe(first.end.offset);
      // A crash now: a new spool on the same files resumes after the first chunk, the second is sent again.
      const crashed = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
      crashed.open();
      expect(crashed.pendingLines).toBe(20);
      crashed.close();
      vi.advanceTimersByTime(CURSOR_SAVE_MS);
      expect(cursor()).toBe(second.end.offset);
      vi.advanceTimersByTime(CURSOR_SAVE_MS);
      const third = a.read(10)!;
      a.commit(third.end, third.lines);
      expect(cursor()).toBe(third.end.offset); // CURSOR_SAVE_MS since the last save: at once
      a.append(lines(30, 10), 10);
      const fourth = a.read(10)!;
      a.commit(fourth.end, fourth.lines); // held...
      expect(cursor()).toBe(third.end.offset);
      a.close(); // ...and saved by the close
      expect(cursor()).toBe(fourth.end.offset);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a deferred sync that overlapped a failed write or sync cannot vouch for its data: it fails, and the next sync covers it again', async () => {
    let full = false;
    const held: (() => void)[] = [];
    const s = new Spool(dir, {
      maxBytes: 1 << 20, segmentBytes: 1 << 16,
      io: {
        write: (fd, data, off, len) => { if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); return writeSync(fd, data, off, len); },
        sync: (fd) => fdatasyncSync(fd),
        syncAsync: (fd) => new Promise<void>((resolve) => held.push(() => { fdatasyncSync(fd); resolve(); })),
      },
    });
    s.open();
    s.append(lines(0, 5), 5, { deferSync: true });
    const first = s.sync();
    expect(held).toHaveLength(1);
    full = true;
    expect(() => s.append(lines(5, 5), 5)).toThrow(SpoolWriteError); // the flush timer's append, meanwhile
    held[0]();
    await expect(first).rejects.toThrow(/spool in .*cannot vouch for a sync: a write or sync of the file failed while it ran/);
    full = false;
    const again = s.sync(); // what the failed one was for is synced again
    expect(held).toHaveLength(2);
    held[1]();
    await again;
    expect(s.pendingLines).toBe(5);
    s.close();
  });

  it('resumes at the committed cursor after a restart', () => {
    const a = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 4096 });
    a.open();
    a.append(lines(0, 50), 50);
    const c = a.read(20)!;
    a.commit(c.end, c.lines);
    a.read(20); // read but not committed: a crash before the destination acknowledged
    a.close();
    const b = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 4096 });
    b.open();
    expect(b.pendingLines).toBe(30);
    expect(values(b.read(100)!.body)).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
  });

  it('cuts a torn last line left by a crash mid-append', () => {
    const a = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    a.open();
    a.append(lines(0, 3), 3);
    a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.lp'))!;
    appendFileSync(join(dir, seg), 'm v=3i 3\nm v=4'); // the process died here
    const b = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    b.open();
    expect(values(b.read(100)!.body)).toEqual([0, 1, 2, 3]);
  });

  it('drops the oldest data past maxBytes, counts it and says so', () => {
    const s = new Spool(dir, { maxBytes: 8 * 1024, segmentBytes: 1024 });
    const drops: number[] = [];
    s.onDrop = (n) => drops.push(n);
    s.open();
    for (let i = 0; i < 200; i++) s.append(lines(i * 10, 10), 10);
    expect(s.pendingBytes).toBeLessThanOrEqual(8 * 1024 + 1024);
    expect(s.dropped).toBe(drops.reduce((a, b) => a + b, 0));
    expect(s.dropped + s.pendingLines).toBe(2000);
    // What is left is the newest data, still in order.
    const first = values(s.read(5)!.body)[0];
    expect(first).toBe(s.dropped);
  });
});

/** Node's file operations, with a disk that can be made to fill up part way through a write. */
function failingIo() {
  const io = {
    /** Bytes the disk still takes; undefined: no limit. */
    room: undefined as number | undefined,
    failSync: false,
    failTruncate: 0,
    syncs: 0,
    write(fd: number, data: Buffer, offset: number, length: number): number {
      if (io.room === undefined) return writeSync(fd, data, offset, length);
      if (io.room === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = writeSync(fd, data, offset, Math.min(length, io.room));
      io.room -= n;
      return n;
    },
    sync(fd: number) {
      io.syncs++;
      if (io.failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      fdatasyncSync(fd);
    },
    truncate(fd: number, length: number) {
      if (io.failTruncate > 0) {
        io.failTruncate--;
        throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
      }
      ftruncateSync(fd, length);
    },
  };
  return io;
}

const segmentText = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.lp')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');

describe('Spool on a failing disk', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir('spool'); });

  it('cuts a write that failed half way (disk full) back to the last whole line, and says so by throwing', () => {
    const io = failingIo();
    const s = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16, io });
    s.open();
    s.append(lines(0, 3), 3);
    io.room = 10; // "m v=3i 3\nm" fits, the rest does not
    expect(() => s.append(lines(3, 3), 3)).toThrow(SpoolWriteError);
    expect(segmentText(dir)).toBe(lines(0, 3)); // no torn "m" waiting to be glued to the next line
    io.room = undefined;
    s.append(lines(6, 2), 2);
    expect(segmentText(dir)).toBe(lines(0, 3) + lines(6, 2));
    expect(values(s.read(100)!.body)).toEqual([0, 1, 2, 6, 7]);
    expect(s.pendingLines).toBe(5);
  });

  it('when the cut itself fails, cuts before the next append and refuses to append until it can', () => {
    const io = failingIo();
    const s = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16, io });
    s.open();
    s.append(lines(0, 2), 2);
    io.room = 5;
    io.failTruncate = 2;
    expect(() => s.append(lines(2, 2), 2)).toThrow(/ENOSPC/);
    io.room = undefined;
    expect(() => s.append(lines(4, 1), 1)).toThrow(/cannot cut a failed append/);
    s.append(lines(5, 1), 1);
    expect(segmentText(dir)).toBe(lines(0, 2) + lines(5, 1));
  });

  it('syncs every append by default and treats a failed sync as a failed append', () => {
    const io = failingIo();
    const s = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16, io });
    s.open();
    s.append(lines(0, 2), 2);
    expect(io.syncs).toBe(1);
    io.failSync = true;
    expect(() => s.append(lines(2, 2), 2)).toThrow(/EIO/);
    expect(segmentText(dir)).toBe(lines(0, 2));
    const unsynced = new Spool(tempDir('spool'), { maxBytes: 1 << 20, segmentBytes: 1 << 16, fsync: false, io });
    unsynced.open();
    unsynced.append(lines(0, 2), 2);
    expect(io.syncs).toBe(2); // the failed one above counted; none more
  });

  it('skips and counts a line longer than it reads instead of failing on it for ever', () => {
    const s = new Spool(dir, { maxBytes: 1 << 24, segmentBytes: 1 << 23 });
    s.open();
    s.append(lines(0, 2), 2);
    s.append(`m s="${'x'.repeat(5 * 1024 * 1024)}" 2\n`, 1); // past the 4 MiB the reader takes
    s.append(lines(3, 2), 2);
    const got: number[] = [];
    let skipped = 0;
    for (let c = s.read(100); c; c = s.read(100)) {
      if (c.body) got.push(...values(c.body));
      skipped += c.skipped;
      s.commit(c.end, c.lines + c.skipped);
    }
    expect(got).toEqual([0, 1, 3, 4]);
    expect(skipped).toBe(1);
    expect(s.pendingLines).toBe(0);
  });

  it('skips and counts corrupt lines (not UTF-8, NUL bytes from a crashed disk) and keeps the good ones around them', () => {
    const a = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    a.open();
    a.append(lines(0, 2), 2);
    a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.lp'))!;
    appendFileSync(join(dir, seg), Buffer.concat([Buffer.from([0, 0, 0, 0x0a]), Buffer.from('m v=\xff\xfe 9\n', 'latin1'), Buffer.from(lines(2, 1))]));
    const b = new Spool(dir, { maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    b.open();
    const c = b.read(100)!;
    expect(values(c.body)).toEqual([0, 1, 2]);
    expect(c.skipped).toBe(2);
    b.commit(c.end, c.lines + c.skipped);
    expect(b.pendingLines).toBe(0);
  });
});
