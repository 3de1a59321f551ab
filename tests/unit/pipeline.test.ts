import { describe, it, expect, vi } from 'vitest';
import { Pipeline } from '../../src/pipeline.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import type { Batch } from '../../src/sample.ts';
import { memoryLogger } from '../fakes/logger.ts';

class MemorySink implements Sink {
  readonly name = 'mem';
  readonly destination = 'memory';
  buffered: Batch[] = [];
  persisted: Batch[] = [];
  failPersist = false;
  write(b: Batch) { this.buffered.push(b); }
  persist() {
    if (this.failPersist) throw new Error('ENOSPC: no space left on device');
    this.persisted.push(...this.buffered);
    this.buffered = [];
  }
  async flush() { this.persist(); }
  async close() { return { pending: 0, dropped: 0 }; }
}

const s = (v: number) => ({ element: 'e', measurement: 'm', tags: {}, fields: { v }, time: v });

describe('Pipeline', () => {
  it('persists durable batches in every sink, one persist per turn, before the emits resolve, and still feeds consumers', async () => {
    const p = new Pipeline(100, memoryLogger().logger);
    const sink = new MemorySink();
    const seen: Batch[] = [];
    let persists = 0;
    const persist = sink.persist.bind(sink);
    sink.persist = () => { persists++; persist(); };
    p.addSink(sink);
    p.add({ name: 'correlator', write: (b) => { seen.push(b); } });
    const first = p.emit([s(1)], { durable: true });
    const second = p.emit([s(2)], { durable: true });
    let resolved = false;
    void first.then(() => { resolved = true; });
    await Promise.resolve();
    expect(resolved).toBe(false); // not before the persist
    await Promise.all([first, second]);
    expect(sink.persisted).toEqual([[s(1)], [s(2)]]);
    expect(persists).toBe(1); // a group commit
    await p.idle();
    expect(seen).toEqual([[s(1)], [s(2)]]);
    expect(sink.buffered).toEqual([]); // not written a second time by the queue
  });

  it('rejects a durable emit the sinks cannot persist, so the source does not acknowledge it', async () => {
    const p = new Pipeline(100, memoryLogger().logger);
    const sink = new MemorySink();
    sink.failPersist = true;
    p.addSink(sink);
    await expect(p.emit([s(1)], { durable: true })).rejects.toThrow(/ENOSPC/);
  });

  it('holds emitters back while the queue is full, and a failing consumer spoils nothing for the others', async () => {
    const { logger, lines } = memoryLogger();
    const p = new Pipeline(2, logger);
    const sink = new MemorySink();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    p.addSink(sink);
    let slowHolds = false;
    p.add({ name: 'slow', write: () => { slowHolds = true; return gate; } });
    p.add({ name: 'broken', write: () => { throw new Error('bug'); } });
    await p.emit([s(1), s(2)]);
    let second = false;
    const waiting = p.emit([s(3)]).then(() => { second = true; });
    // The queue has reached the slow consumer and stays full until it lets go: nothing frees room.
    await vi.waitFor(() => expect(slowHolds).toBe(true));
    expect(second).toBe(false);
    expect(p.stats.waits).toBe(1);
    release();
    await waiting;
    await p.idle();
    expect(sink.buffered.flat().map((x) => x.time)).toEqual([1, 2, 3]);
    expect(p.stats.consumerErrors).toBe(2);
    expect(lines.filter((l) => l.msg === 'consumer failed a batch')).toHaveLength(1); // throttled
  });
});
