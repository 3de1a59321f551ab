import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/sinks/spool.ts';

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m v=${from + i}i ${from + i}`).join('\n') + '\n';
const values = (body: string) => body.trim().split('\n').map((l) => Number(l.split(' ')[2]));

describe('Spool', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'spool-')); });

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
