import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { openSync, writeSync, closeSync, ftruncateSync, fstatSync, unlinkSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { Pipeline } from '../../src/pipeline.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink, SpoolUnavailableError } from '../../src/sinks/spooled.ts';
import { FileSink } from '../../src/sinks/files.ts';
import { WriteError, type LineWriter } from '../../src/sinks/writer.ts';
import { parseLine } from '../../src/sinks/line-protocol.ts';
import type { Sample } from '../../src/sample.ts';

/** A destination that is down until told otherwise, so nothing leaves the spool (and frees room) early. */
class Destination implements LineWriter {
  readonly describe = 'test destination';
  up = false;
  received = new Set<number>();
  async send(body: string) {
    if (!this.up) throw new WriteError('connect ECONNREFUSED', 'retry');
    for (const line of body.split('\n')) if (line) this.received.add(Number(parseLine(line).fields.n));
  }
}

/** Fills the file system with one file; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Gives back `bytes` of the filler, so the spool has a little room left. */
function shrink(path: string, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - bytes));
  } finally {
    closeSync(fd);
  }
}

/**
 * The MQTT collector's path as a test drives it: a durable emit per message of 50 numbered points
 * (about 60 bytes each: 3 KB a message, so a 4 KiB page runs out part way through one); what
 * resolved was acknowledged, what threw was not (and the error is kept).
 */
function messages(pipeline: Pipeline) {
  const acknowledged: number[] = [];
  const unacknowledged: number[] = [];
  const errors: unknown[] = [];
  let n = 0;
  const send = async () => {
    const batch: Sample[] = Array.from({ length: 50 }, () => ({ element: 'BS-1', measurement: 'fulldisk', tags: { cell: 'C1' }, fields: { n: BigInt(n++) }, time: 1_700_000_000_000 + n }));
    try {
      await pipeline.emit(batch, { durable: true });
      for (const s of batch) acknowledged.push(Number(s.fields.n));
    } catch (err) {
      errors.push(err);
      for (const s of batch) unacknowledged.push(Number(s.fields.n));
    }
  };
  return { acknowledged, unacknowledged, errors, send, sent: () => n };
}

describe('the spool on a full disk (a 2 MiB tmpfs)', () => {
  let mnt: string;
  beforeAll(() => {
    mnt = tempDir('fulldisk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  });
  afterAll(() => {
    if (mnt) execFileSync('umount', ['-l', mnt]);
  });

  it('acknowledges nothing it did not keep, keeps memory bounded, loses nothing it acknowledged, and resumes when space returns', async () => {
    const { logger, lines: logs } = memoryLogger();
    const dest = new Destination();
    const spoolDir = join(mnt, 'spool');
    const maxBufferedPoints = 400;
    const sink = new SpooledSink({
      name: 'influx', writer: dest,
      spool: new Spool(spoolDir, { maxBytes: 1 << 30, segmentBytes: 64 * 1024 }), // fsync on: the default
      batchSize: 200, flushIntervalMs: 50, retry: { minDelayMs: 10, maxDelayMs: 50 },
      maxBufferedPoints, spoolRetry: { minDelayMs: 10, maxDelayMs: 100 }, logger,
    });
    sink.start();
    const pipeline = new Pipeline(100_000, logger);
    pipeline.addSink(sink);

    // The MQTT collector's path: a durable emit per message; a PUBACK only once it resolved.
    const { acknowledged, unacknowledged, errors, send: message, sent } = messages(pipeline);

    for (let i = 0; i < 20; i++) await message();
    expect(acknowledged.length).toBe(1000);

    const filler = fill(mnt);
    shrink(filler, 10 * 1024); // room for a few messages, the last of them torn by the full disk
    let maxBuffered = 0;
    for (let i = 0; i < 300; i++) {
      await message();
      maxBuffered = Math.max(maxBuffered, sink.buffered);
    }
    // Some messages still fitted, then the disk was full: every later one was refused.
    expect(acknowledged.length).toBeGreaterThan(1000);
    expect(unacknowledged.length).toBeGreaterThan(250 * 50);
    expect(acknowledged.length + unacknowledged.length).toBe(sent());
    for (const err of errors) expect(err).toBeInstanceOf(SpoolUnavailableError);
    // Memory stayed bounded: what waits for the disk never passed the bound, whatever came in.
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedPoints);
    expect(sink.stats.refused).toBeGreaterThan(0);
    expect(sink.stats.spoolErrors).toBeGreaterThan(0);
    expect(logs.filter((l) => l.msg.includes('cannot append to the spool')).length).toBe(1);

    // What is on the disk is whole lines only: the append that ran out of room half way was cut back.
    const onDisk = readdirSync(spoolDir).filter((f) => f.endsWith('.lp')).sort().map((f) => readFileSync(join(spoolDir, f), 'utf8')).join('');
    expect(onDisk.endsWith('\n')).toBe(true);
    const spooled = onDisk.split('\n').filter(Boolean).map((l) => Number(parseLine(l).fields.n));
    expect(spooled).toEqual(acknowledged); // every acknowledged point, in order, and no fragment

    // Space comes back; the destination too. Nobody restarts anything or calls flush.
    unlinkSync(filler);
    dest.up = true;
    await vi.waitFor(() => {
      for (const a of acknowledged) if (!dest.received.has(a)) throw new Error(`point ${a} not delivered yet (${dest.received.size} so far)`);
    }, { timeout: 20_000, interval: 50 });
    await vi.waitFor(() => expect(sink.buffered).toBe(0), { timeout: 10_000, interval: 50 });
    expect(logs.filter((l) => l.msg.includes('spool writable again')).length).toBe(1);

    // And it takes (and acknowledges) new messages again.
    const before = acknowledged.length;
    await message();
    expect(acknowledged.length).toBe(before + 50);
    expect(await sink.drained(10_000)).toBe(true);
    for (const a of acknowledged) expect(dest.received.has(a)).toBe(true);
    // At least once: points that waited in memory while their senders were refused are delivered
    // too (a broker would deliver them again anyway; InfluxDB keeps one point per series and time).
    expect(dest.received.size).toBe(sink.stats.accepted);
    expect(sink.stats.accepted).toBeLessThanOrEqual(acknowledged.length + maxBufferedPoints);
    const report = await sink.close(1000);
    expect(report).toEqual({ pending: 0, dropped: 0 });
  });

  it('the local series files (no InfluxDB) keep the same promise: nothing unkept acknowledged, no torn line, bounded, resuming', async () => {
    const { logger } = memoryLogger();
    const dir = join(mnt, 'series');
    const sink = new FileSink({ dir, maxFileBytes: 1 << 30, maxFiles: 10, flushIntervalMs: 50, logger, maxPendingLines: 300 });
    sink.start();
    const pipeline = new Pipeline(100_000, logger);
    pipeline.addSink(sink);
    const { acknowledged, unacknowledged, send: message } = messages(pipeline);
    for (let i = 0; i < 10; i++) await message();
    const filler = fill(mnt);
    shrink(filler, 10 * 1024);
    for (let i = 0; i < 100; i++) await message();
    expect(unacknowledged.length).toBeGreaterThan(0);
    expect(sink.stats.writeErrors).toBeGreaterThan(0);
    expect(sink.stats.refused).toBeGreaterThan(0); // memory full: write itself refused
    const read = () => readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    const onDisk = read();
    expect(onDisk.endsWith('\n')).toBe(true);
    const kept = new Set(onDisk.split('\n').filter(Boolean).map((l) => Number(parseLine(l).fields.n)));
    for (const a of acknowledged) expect(kept.has(a)).toBe(true); // every acknowledged point is on disk, whole
    unlinkSync(filler);
    await vi.waitFor(async () => {
      const before = acknowledged.length;
      await message();
      expect(acknowledged.length).toBe(before + 50);
    }, { timeout: 10_000, interval: 50 });
    const after = new Set(read().split('\n').filter(Boolean).map((l) => Number(parseLine(l).fields.n)));
    for (const a of acknowledged) expect(after.has(a)).toBe(true);
    await sink.close();
  });
});
