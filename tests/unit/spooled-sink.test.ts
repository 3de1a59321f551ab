import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink, SpoolUnavailableError } from '../../src/sinks/spooled.ts';
import { WriteError, type LineWriter } from '../../src/sinks/writer.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Sample } from '../../src/sample.ts';
import { tempDir } from '../helpers/temp.ts';

/** A destination that can be down, and refuses lines containing "bad". */
class FakeDestination implements LineWriter {
  readonly describe = 'fake';
  up = true;
  received: string[] = [];
  requests = 0;
  async send(body: string) {
    this.requests++;
    if (!this.up) throw new WriteError('connect ECONNREFUSED', 'retry');
    const lines = body.trim().split('\n');
    if (lines.some((l) => l.includes('bad'))) throw new WriteError('HTTP 400: unable to parse', 'bad-data', { status: 400 });
    this.received.push(...lines);
  }
}

const sample = (i: number, measurement = 'm'): Sample => ({ element: 'e', measurement, tags: {}, fields: { v: BigInt(i) }, time: i });

describe('SpooledSink', () => {
  let dir: string;
  let dest: FakeDestination;
  let sink: SpooledSink;
  const { logger, lines: logs } = memoryLogger();
  const make = () => new SpooledSink({
    name: 'influx', writer: dest, spool: new Spool(dir, { maxBytes: 1 << 24, segmentBytes: 1 << 16 }),
    batchSize: 100, flushIntervalMs: 20, retry: { minDelayMs: 5, maxDelayMs: 20 }, logger,
  });
  beforeEach(() => {
    dir = tempDir('sink');
    dest = new FakeDestination();
    sink = make();
    sink.start();
  });
  afterEach(async () => { await sink.close(100); });

  it('delivers everything in order', async () => {
    for (let i = 0; i < 1000; i++) sink.write([sample(i)]);
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received.map((l) => Number(l.split('=')[2].split('i')[0]))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('spools while the destination is down and replays in order when it is back, logging once each way', async () => {
    dest.up = false;
    for (let i = 0; i < 500; i++) sink.write([sample(i)]);
    await vi.waitFor(() => expect(dest.requests).toBeGreaterThan(3));
    await sink.flush();
    expect(sink.stats.accepted).toBe(500);
    dest.up = true;
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received.length).toBe(500);
    expect(dest.received[0]).toContain('v=0i');
    expect(dest.received[499]).toContain('v=499i');
    expect(logs.filter((l) => l.msg.includes('unreachable')).length).toBe(1);
    expect(logs.filter((l) => l.msg.includes('reachable again')).length).toBe(1);
  });

  it('drops a refused line alone, never its batch', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => sample(i, i === 17 ? 'bad' : 'm'));
    sink.write(batch);
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received.length).toBe(49);
    expect(sink.stats.rejected).toBe(1);
    expect(logs.some((l) => l.msg.includes('refused') && l.line.startsWith('bad'))).toBe(true);
  });

  it('keeps undelivered points in the spool across a restart', async () => {
    dest.up = false;
    for (let i = 0; i < 300; i++) sink.write([sample(i)]);
    const report = await sink.close(50);
    expect(report.pending).toBe(300);
    dest.up = true;
    sink = make();
    sink.start();
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received.length).toBe(300);
  });

  it('while the disk is full, refuses to persist, keeps memory bounded, refuses writes past the bound, and resumes by itself', async () => {
    await sink.close(10);
    const disk = { full: false };
    const io = {
      write: (fd: number, data: Buffer, offset: number, length: number) => {
        if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return writeSync(fd, data, offset, length);
      },
    };
    sink = new SpooledSink({
      name: 'influx', writer: dest, spool: new Spool(dir, { maxBytes: 1 << 24, segmentBytes: 1 << 16, io }),
      batchSize: 100, flushIntervalMs: 1_000_000, retry: { minDelayMs: 5, maxDelayMs: 20 }, logger,
      maxBufferedPoints: 50, spoolRetry: { minDelayMs: 5, maxDelayMs: 20 },
    });
    sink.start();
    sink.write([sample(0), sample(1)]);
    sink.persist();
    disk.full = true;
    sink.write([sample(2), sample(3)]);
    expect(() => sink.persist()).toThrow(SpoolUnavailableError); // the caller does not acknowledge
    const accepted = [0, 1];
    let refused = 0;
    for (let i = 4; i < 1000; i++) {
      try {
        sink.write([sample(i)]);
      } catch (err) {
        expect(err).toBeInstanceOf(SpoolUnavailableError);
        refused++;
        continue;
      }
      expect(() => sink.persist()).toThrow(SpoolUnavailableError);
      expect(sink.buffered).toBeLessThanOrEqual(50);
    }
    expect(sink.buffered).toBe(50);
    expect(refused).toBe(1000 - 4 - 48);
    expect(sink.stats.refused).toBe(refused);
    expect(logs.filter((l) => l.msg.includes('cannot append to the spool')).length).toBe(1);
    disk.full = false; // space is back: nobody calls persist or flush, the retry appends by itself
    await vi.waitFor(() => expect(sink.buffered).toBe(0));
    expect(logs.filter((l) => l.msg.includes('spool writable again')).length).toBe(1);
    sink.write([sample(1000)]);
    sink.persist();
    accepted.push(1000);
    expect(await sink.drained(5000)).toBe(true);
    const got = dest.received.map((l) => Number(/v=(\d+)i/.exec(l)![1]));
    // Everything that was persisted arrives; so do the points that waited in memory (their
    // persist failed, so their senders were never told they were kept: at least once).
    for (const n of accepted) expect(got).toContain(n);
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(got.length).toBe(2 + 50 + 1);
  });

  it('counts and logs what cannot be written as line protocol, and delivers the rest', async () => {
    sink.write([
      { element: 'e', measurement: 'm', tags: { t: 'two\nlines' }, fields: { v: 1n }, time: 1 },
      { element: 'e', measurement: 'm', tags: {}, fields: { v: 2n, c: 2n ** 64n - 1n }, time: 2 },
      sample(3),
    ]);
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received).toEqual(['m,element=e v=2i 2000000', 'm,element=e v=3i 3000000']);
    expect(sink.stats).toMatchObject({ invalid: 1, fieldsDropped: 1, accepted: 2, written: 2 });
    expect(logs.some((l) => l.msg.includes('point cannot be written') && l.reason.includes('newline'))).toBe(true);
    expect(logs.some((l) => l.msg.includes('field cannot be written') && l.reason.includes('int64'))).toBe(true);
  });

  it('passes over a line in the spool it cannot read, counted, instead of retrying it for ever', async () => {
    await sink.close(10);
    const spoolDir = tempDir('sink');
    writeFileSync(join(spoolDir, '000000000001.lp'), `m v=1i 1\nm s="${'x'.repeat(2000)}" 2\nm v=3i 3\n`);
    sink = new SpooledSink({
      name: 'influx', writer: dest, spool: new Spool(spoolDir, { maxBytes: 1 << 24, segmentBytes: 1 << 16, maxLineBytes: 1024 }),
      batchSize: 100, flushIntervalMs: 20, retry: { minDelayMs: 5, maxDelayMs: 20 }, logger,
    });
    sink.start();
    expect(await sink.drained(5000)).toBe(true);
    expect(dest.received).toEqual(['m v=1i 1', 'm v=3i 3']);
    expect(sink.stats.corrupt).toBe(1);
    expect(logs.some((l) => l.msg.includes('corrupt or over-long lines'))).toBe(true);
  });
});
