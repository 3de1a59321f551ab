import { describe, it, expect, vi } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { GroupCommit } from '../../src/store/group.ts';
import { writeSync, fdatasyncSync } from 'node:fs';
import { Pipeline } from '../../src/pipeline.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink, SpoolUnavailableError } from '../../src/sinks/spooled.ts';
import { WriteError } from '../../src/sinks/writer.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { tempDir } from '../helpers/temp.ts';

describe('group commit', () => {
  it('puts the writes of one event-loop turn in one transaction, and fails only the bad one', async () => {
    const db = new SqliteDb(':memory:');
    await db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
    let transactions = 0;
    const inner = db.transaction.bind(db);
    db.transaction = ((fn: any) => { transactions++; return inner(fn); }) as typeof db.transaction;
    const g = new GroupCommit(db);
    const ok = await Promise.all(['a', 'b', 'c'].map((id) => g.run('INSERT INTO t (id) VALUES ($1)', [id])));
    expect(ok).toEqual([1, 1, 1]);
    expect(transactions).toBe(1);
    const mixed = await Promise.allSettled([g.run('INSERT INTO t (id) VALUES ($1)', ['d']), g.run('INSERT INTO nowhere (id) VALUES ($1)', ['e']), g.run('INSERT INTO t (id) VALUES ($1) ON CONFLICT DO NOTHING', ['a'])]);
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(mixed[2]).toEqual({ status: 'fulfilled', value: 0 }); // a duplicate changes nothing
    expect((await db.query<{ id: string }>('SELECT id FROM t ORDER BY id')).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    await db.close();
  });
});

describe('the spool group commit that precedes a PUBACK', () => {
  const setup = () => {
    const io = { syncs: 0, full: false };
    const { logger } = memoryLogger();
    const sink = new SpooledSink({
      name: 'influx', writer: { describe: 'down', send: async () => { throw new WriteError('down', 'retry'); } },
      spool: new Spool(tempDir('group'), {
        maxBytes: 1 << 24, segmentBytes: 1 << 20,
        io: {
          write: (fd, data, off, len) => {
            if (io.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            return writeSync(fd, data, off, len);
          },
          sync: (fd) => { io.syncs++; fdatasyncSync(fd); },
        },
      }),
      batchSize: 1000, flushIntervalMs: 1_000_000, retry: { minDelayMs: 1000, maxDelayMs: 1000 }, logger,
    });
    sink.start();
    const pipeline = new Pipeline(10_000, logger);
    pipeline.addSink(sink);
    return { io, sink, pipeline };
  };
  const batch = (i: number) => [{ element: 'e', measurement: 'm', tags: {}, fields: { v: BigInt(i) }, time: i }];

  it('is one fdatasync for all the durable emits of one event-loop turn, done before any of them resolves', async () => {
    const { io, sink, pipeline } = setup();
    const emits = Array.from({ length: 20 }, (_, i) => pipeline.emit(batch(i), { durable: true }));
    expect(io.syncs).toBe(0);
    await Promise.all(emits);
    expect(io.syncs).toBe(1);
    expect(sink.stats.accepted).toBe(20);
    await sink.close(10);
  });

  it('syncs off the event loop, one commit at a time: what is emitted while a sync runs waits for the next, and one sync serves it all', async () => {
    const { logger } = memoryLogger();
    const syncs: { fd: number; done: () => void }[] = [];
    const spool = new Spool(tempDir('group-deferred'), {
      maxBytes: 1 << 24, segmentBytes: 1 << 20,
      io: {
        write: (fd, data, off, len) => writeSync(fd, data, off, len),
        sync: (fd) => fdatasyncSync(fd),
        syncAsync: (fd) => new Promise<void>((resolve) => syncs.push({ fd, done: () => { fdatasyncSync(fd); resolve(); } })),
      },
    });
    const sink = new SpooledSink({ name: 'influx', writer: { describe: 'down', send: async () => { throw new WriteError('down', 'retry'); } }, spool, batchSize: 1000, flushIntervalMs: 1_000_000, retry: { minDelayMs: 1000, maxDelayMs: 1000 }, logger });
    sink.start();
    const pipeline = new Pipeline(10_000, logger);
    pipeline.addSink(sink);
    const resolved: number[] = [];
    const first = Array.from({ length: 5 }, (_, i) => pipeline.emit(batch(i), { durable: true }).then(() => { resolved.push(i); }));
    await vi.waitFor(() => expect(syncs).toHaveLength(1));
    expect(sink.stats.accepted).toBe(5); // appended, the sync under way
    // Emitted in later turns while it runs: appended by the next commit, which waits for this sync.
    const later: Promise<void>[] = [];
    for (let turn = 0; turn < 3; turn++) {
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 4; i++) later.push(pipeline.emit(batch(100 + turn * 10 + i), { durable: true }).then(() => { resolved.push(100 + turn * 10 + i); }));
    }
    await new Promise((r) => setImmediate(r));
    expect(syncs).toHaveLength(1);
    expect(resolved).toEqual([]);
    syncs[0].done();
    await Promise.all(first);
    expect(resolved.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    await vi.waitFor(() => expect(syncs).toHaveLength(2));
    expect(sink.stats.accepted).toBe(17);
    syncs[1].done();
    await Promise.all(later);
    expect(resolved).toHaveLength(17);
    expect(syncs).toHaveLength(2);
    await sink.close(10);
  });

  it('fails the emits a deferred sync was for when it fails (none acknowledged), and the next commit syncs again', async () => {
    const { logger } = memoryLogger();
    let fail = true;
    const spool = new Spool(tempDir('group-eio'), {
      maxBytes: 1 << 24, segmentBytes: 1 << 20,
      io: {
        write: (fd, data, off, len) => writeSync(fd, data, off, len),
        sync: (fd) => fdatasyncSync(fd),
        syncAsync: async (fd) => { if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }); fdatasyncSync(fd); },
      },
    });
    const sink = new SpooledSink({ name: 'influx', writer: { describe: 'down', send: async () => { throw new WriteError('down', 'retry'); } }, spool, batchSize: 1000, flushIntervalMs: 1_000_000, retry: { minDelayMs: 1000, maxDelayMs: 1000 }, logger });
    sink.start();
    const pipeline = new Pipeline(10_000, logger);
    pipeline.addSink(sink);
    const failed = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => pipeline.emit(batch(i), { durable: true })));
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/spool in .*cannot sync: EIO/);
    expect(sink.stats.spoolErrors).toBe(1);
    fail = false;
    await pipeline.emit(batch(9), { durable: true });
    expect(sink.stats.accepted).toBe(4); // the three are in the spool all the same: delivered at least once
    await sink.close(10);
  });

  it('fails every emit of the turn when the disk refuses the append, so none is acknowledged', async () => {
    const { io, sink, pipeline } = setup();
    io.full = true;
    const emits = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => pipeline.emit(batch(i), { durable: true })));
    expect(emits.map((e) => e.status)).toEqual(Array(5).fill('rejected'));
    expect((emits[0] as PromiseRejectedResult).reason).toBeInstanceOf(SpoolUnavailableError);
    expect(io.syncs).toBe(0);
    expect(sink.stats.accepted).toBe(0);
    await sink.close(10);
  });
});
