import { describe, it, expect } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { GroupCommit } from '../../src/store/group.ts';

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
