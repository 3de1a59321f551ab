import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink } from '../../src/sinks/spooled.ts';
import { WriteError, type LineWriter } from '../../src/sinks/writer.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Sample } from '../../src/sample.ts';

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
    dir = mkdtempSync(join(tmpdir(), 'sink-'));
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
});
