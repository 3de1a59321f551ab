import { describe, it, expect, afterAll, vi } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import { Cluster } from '../../src/cluster/cluster.ts';
import { FencedOut } from '../../src/cluster/repository.ts';
import type { Db } from '../../src/store/db.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { startSnmpd } from '../helpers/servers.ts';
import { hashToken } from '../../src/api/auth.ts';

const TOKEN = 'noc-token-0123456789abcdef';

afterAll(() => stopDatabases());
const postgres = DATABASES.find(([kind]) => kind === 'PostgreSQL')![1];

/** A database the test can cut off (every call fails while `down`). */
function cuttable(db: Db): Db & { down: boolean } {
  const d = Object.create(db) as Db & { down: boolean };
  d.down = false;
  const guard = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => (d.down ? Promise.reject(new Error('connection refused')) : f.apply(db, a));
  d.query = guard(db.query) as Db['query'];
  d.run = guard(db.run);
  d.transaction = guard(db.transaction) as Db['transaction'];
  return d;
}

describe('a cluster of instances on PostgreSQL: membership, one leader, fencing', () => {
  it('elects one leader; a deposed leader that wakes up after its lease cannot write; it rejoins as a follower', async () => {
    const db = await postgres.open();
    await new Store(db).migrate();
    await db.exec('CREATE TABLE leader_writes (epoch BIGINT NOT NULL)');
    const log = memoryLogger().logger;
    // np-a's monotonic clock stands still while it is away, as CLOCK_MONOTONIC does across a host's suspend: only the database can tell it.
    let aClock = 0;
    const a = new Cluster(db, { member: 'np-a', address: () => 'http://a:8080', leaseMs: 400, log, monotonic: () => aClock });
    const b = new Cluster(db, { member: 'np-b', address: () => 'http://b:8080', leaseMs: 400, log });
    const seenByA: (number | undefined)[] = [];
    a.onLeadership((e) => seenByA.push(e));
    try {
      await a.tick();
      await b.tick();
      expect([a.epoch, b.epoch]).toEqual([1, undefined]);
      const status = await b.status();
      expect(status.members.map((m) => m.id)).toEqual(['np-a', 'np-b']);
      expect(status.leader).toMatchObject({ member: 'np-a', epoch: 1 });
      await a.fenced((tx) => tx.run('INSERT INTO leader_writes (epoch) VALUES (1)'));

      // np-a stops renewing (SIGSTOP, a GC stall): once its lease has run out, np-b takes over with a new epoch.
      await vi.waitFor(async () => {
        await b.tick();
        expect(b.epoch).toBe(2);
      }, { timeout: 10_000, interval: 50 });
      // np-a wakes up still believing it leads: its write is refused in the database, not made, and it steps down.
      expect(a.epoch).toBe(1);
      await expect(a.fenced((tx) => tx.run('INSERT INTO leader_writes (epoch) VALUES (1)'))).rejects.toBeInstanceOf(FencedOut);
      expect(Cluster.refusedWrites).toBeGreaterThan(0);
      expect(a.epoch).toBeUndefined();
      await b.fenced((tx) => tx.run('INSERT INTO leader_writes (epoch) VALUES (2)'));
      expect((await db.query<{ epoch: string }>('SELECT epoch FROM leader_writes ORDER BY epoch')).map((r) => Number(r.epoch))).toEqual([1, 2]);
      // Its next renewal finds it a follower.
      await a.tick();
      expect(a.epoch).toBeUndefined();
      expect(seenByA).toEqual([1, undefined]);
      expect((await a.status()).members.map((m) => m.id)).toEqual(['np-a', 'np-b']);

      // The leader leaves: the other takes over at once, without waiting for the lease.
      await b.stop();
      await a.tick();
      expect(a.epoch).toBe(3);
      expect((await a.status()).members.map((m) => m.id)).toEqual(['np-a']);
    } finally {
      await a.stop();
      await db.close();
    }
  });

  it('a leader cut off from the database stops acting past its lease by its own clock, and leads on with its epoch when nobody took over', async () => {
    const real = await postgres.open();
    await new Store(real).migrate();
    const db = cuttable(real);
    let t = 0;
    const a = new Cluster(db, { member: 'np-a', leaseMs: 3_000, heartbeatMs: 1_000, log: memoryLogger().logger, monotonic: () => t });
    try {
      await a.tick();
      expect([a.epoch, a.leads()]).toEqual([1, true]);
      db.down = true;
      t = 1_000;
      await a.tick();
      expect(a.leads()).toBe(true); // one missed renewal: still within its lease
      t = 3_000;
      await a.tick();
      expect([a.epoch, a.leads()]).toEqual([1, false]); // past its lease: nothing leaves the process, but its writes wait for the store
      // The database is back and nobody took over (the row still has epoch 1): it leads on, and its held writes go through.
      db.down = false;
      await a.tick();
      expect([a.epoch, a.leads()]).toEqual([1, true]);
      await a.fenced((tx) => tx.query('SELECT 1'));
    } finally {
      db.down = false;
      await a.stop();
      await real.close();
    }
  });

  it('splits the polled targets between two daemons, never both, none left out, and the survivor takes them all', async () => {
    const snmpd = await startSnmpd();
    const url = (await postgres.url())!;
    const targets = Array.from({ length: 6 }, (_, i) => ({ name: `sw-${i}`, host: '127.0.0.1', port: snmpd.port, profiles: ['system'] }));
    const make = (member: string) => testDaemon({
      store: { url }, cluster: { enabled: true, member, lease: '600ms' }, api: { tokens: [{ name: 'noc', hash: hashToken(TOKEN), roles: ['noc'] }] },
      snmp: { defaults: { interval: '300ms', timeout: '200ms', retries: 0 }, targets },
    }).daemon;
    const polled = { a: new Set<string>(), b: new Set<string>() };
    let since = 0;
    const a = make('np-a');
    const b = make('np-b');
    for (const [d, set] of [[a, polled.a], [b, polled.b]] as const) {
      // Only polls that started after `since` (a sample carries its poll's start time) count.
      d.pipeline.add({ name: 'test', write: (batch) => { for (const s of batch) if (s.measurement === 'reachability' && s.time > since) set.add(s.element); } });
    }
    const cluster = async (d: typeof a) => (await fetch(`http://127.0.0.1:${d.apiPort}/v1/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;
    try {
      await a.start();
      await b.start();
      // Once both split by both (the member list each polls by), the targets are split.
      await vi.waitFor(() => {
        for (const d of [a, b]) expect(d.metrics()).toContain('netpulse_cluster_members 2');
      }, { timeout: 10_000, interval: 50 });
      since = Date.now();
      const view = await cluster(a);
      expect(view.leader).toMatchObject({ member: 'np-a', epoch: 1 });
      expect(view.members.reduce((n: number, m: any) => n + m.targets, 0)).toBe(6);
      const listed = await (await fetch(`http://127.0.0.1:${a.apiPort}/v1/cluster?targets=true`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as any;
      expect(listed.members.flatMap((m: any) => m.polls).sort()).toEqual(targets.map((t) => t.name).sort());
      polled.a.clear();
      polled.b.clear();
      await vi.waitFor(() => expect(new Set([...polled.a, ...polled.b]).size).toBe(6), { timeout: 10_000, interval: 100 });
      expect([...polled.a].filter((t) => polled.b.has(t))).toEqual([]); // never polled by both
      expect(polled.a.size).toBe(view.members.find((m: any) => m.id === 'np-a').targets);

      // np-b goes: np-a polls all six.
      await b.stop();
      await vi.waitFor(() => expect(a.metrics()).toContain('netpulse_cluster_members 1'), { timeout: 10_000, interval: 50 });
      since = Date.now();
      polled.a.clear();
      await vi.waitFor(() => expect(polled.a.size).toBe(6), { timeout: 10_000, interval: 100 });
    } finally {
      await b.stop();
      await a.stop();
      snmpd.stop();
    }
  });
});
