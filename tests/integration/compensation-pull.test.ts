import { describe, it, expect, afterAll, vi } from 'vitest';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { tempDir } from '../helpers/servers.ts';
import { smallNetwork, subscribersOf, loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { Ledger, CREDIT_COLUMNS } from '../../correlators/compensation/ledger.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { CreditBook, type Credit } from '../../correlators/compensation/credits.ts';
import { loadPolicies } from '../../correlators/compensation/policies.ts';
import { CompensationService } from '../../correlators/compensation/service.ts';
import { compensationRoutes } from '../../correlators/compensation/routes.ts';
import { ApiError } from '../../src/api/http.ts';
import { routeContext } from '../../src/api/route.ts';
import type { Outage } from '../../correlators/outages/outage.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

afterAll(() => stopDatabases());

const H = 3_600_000;
const T0 = Date.parse('2026-05-04T08:00:00Z');
const topology = smallNetwork();
const subs = subscribersOf(10); // 40 subscribers, 10 behind each base station
const [operator] = loadPolicies([{ policy: 'operator-default' }]);

type Db = (typeof DATABASES)[number][1];

/** The compensation routes over a fresh store (no socket: `inject`), with the clock in the test's hand. */
async function harness(d: Db) {
  const url = await d.url();
  const store = new Store(url ? new PostgresDb(url) : new SqliteDb(join(tempDir('pull'), 'netpulse.db')));
  await loadNetwork(store, topology, subs);
  const clock = { now: T0 };
  const ledger = new Ledger({ policies: () => [operator] });
  const book = new CreditBook(() => store.db);
  const service = new CompensationService({
    ledger, store: () => store, policies: () => [operator], settleMs: 0, interimMs: 6 * H, schedule: '*/15 * * * *', logger: memoryLogger().logger, now: () => clock.now,
  });
  const told: Credit[] = [];
  const app = Fastify();
  app.setErrorHandler((err: Error, _req, reply) => (err instanceof ApiError
    ? reply.code(err.status).send({ error: { code: err.code, message: err.message } })
    : reply.code(500).send({ error: { code: 'internal', message: err.message } })));
  const caller = { name: 'billing', roles: ['compensation', 'noc'] };
  const guard = () => async (req: object) => { Object.assign(req, { caller: { ...caller } }); };
  compensationRoutes(routeContext(app, { guard, now: () => clock.now }).ctx, { store, service, book, policies: [operator], onApplied: (c) => told.push(...c) });
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: object, headers: Record<string, string> = {}) => {
    const r = await app.inject({ method, url: path, ...(body && { payload: body }), headers });
    return { status: r.statusCode, body: r.json() as any };
  };
  const settle = async (id: string) => {
    const r = await call('POST', `/v1/outages/${id}/compensation/settle`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { mode: string; entries: number; reversed: number };
  };
  /** What the outage owes now, per subscriber (the policy, nothing written). */
  const owed = async (id: string) => (await ledger.settle(store, id, clock.now, 'preview')).owed.reduce((a, x) => a + x.amountMinor, 0);
  /** What the ledger holds for the outage, per subscriber: every entry not withdrawn. */
  const held = async (id: string) => {
    const m = new Map<string, number>();
    for (const r of await store.db.query<{ subscriber_id: string; amount_minor: number }>(`SELECT subscriber_id, amount_minor FROM credits WHERE outage_id = $1 AND state <> 'reversed'`, [id])) {
      m.set(r.subscriber_id, (m.get(r.subscriber_id) ?? 0) + Number(r.amount_minor));
    }
    return m;
  };
  return { url, store, clock, ledger, book, call, settle, owed, held, told, caller, writer: new OutageWriter(store, topology), close: async () => { await app.close(); await store.close(); } };
}
type Harness = Awaited<ReturnType<typeof harness>>;

/**
 * The operator's billing job as the README tells it: pull after the cursor it kept (everything,
 * the first time), apply every entry once by its id, whatever its sign, confirm what it applied.
 */
function billingJob(h: Harness) {
  const applied = new Map<string, { subscriberId: string; minor: number; kind: string; corrects: string | null }>();
  let cursor: string | undefined;
  return {
    applied,
    /** One run of the job; returns the ids it applied in it. */
    async pull(): Promise<string[]> {
      const got: string[] = [];
      for (;;) {
        const r = await h.call('GET', `/v1/credits${cursor ? `?after=${cursor}` : ''}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        for (const c of r.body.items) {
          if (c.state === 'reversed' || applied.has(c.id)) continue;
          applied.set(c.id, { subscriberId: c.subscriberId, minor: c.amount.minor, kind: c.kind, corrects: c.corrects ?? null });
          got.push(c.id);
        }
        cursor = r.body.nextCursor ?? cursor;
        if (!r.body.hasMore) return got;
      }
    },
    /** What it applied, per subscriber. */
    total(): Map<string, number> {
      const m = new Map<string, number>();
      for (const c of applied.values()) m.set(c.subscriberId, (m.get(c.subscriberId) ?? 0) + c.minor);
      return m;
    },
  };
}

const sorted = (m: Map<string, number>) => [...m].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b));

/** The job was paid what is owed, nothing it was handed was withdrawn, and it can confirm every batch it pulled. */
async function expectPaidAsOwed(h: Harness, job: ReturnType<typeof billingJob>, outage: string, batches: string[][]) {
  expect([...job.total().values()].reduce((a, b) => a + b, 0), 'what the job applied in all').toBe(await h.owed(outage));
  expect(sorted(job.total())).toEqual(sorted(await h.held(outage)));
  for (const id of job.applied.keys()) expect((await h.book.get(id))!.state, id).not.toBe('reversed');
  // Each correction names the credit it corrects, one the job was given.
  for (const c of job.applied.values()) if (c.kind === 'correction') expect(job.applied.has(c.corrects!), `${c.corrects}`).toBe(true);
  for (const [i, batch] of batches.entries()) {
    if (batch.length === 0) continue;
    const r = await h.call('POST', '/v1/credits/confirm', { confirmations: batch.map((id) => ({ id, outcome: 'applied', reference: `run-${i}` })) }, { 'idempotency-key': `job-run-${outage}-${i}` });
    expect(r.status).toBe(200);
    expect(r.body.results.filter((x: any) => x.result !== 'changed'), `batch ${i}`).toEqual([]);
  }
}

describe.each(DATABASES)('a billing job pulling credits on %s', (_kind, d) => {
  it('interim then final: the final pays less, and the job gets a negative correction instead of the credit again', async () => {
    const h = await harness(d);
    try {
      const job = billingJob(h);
      const o = h.writer.outage('O-I', 'BS-1', T0);
      await h.writer.event('opened', o, T0);
      h.clock.now = T0 + 30 * H;
      expect((await h.settle('O-I')).mode).toBe('interim');
      const first = await job.pull();
      expect(first.length).toBe(12); // 10 without service, 2 degraded (also on BS-4)
      // Recovery was first seen at 20 h and confirmed later: the outage clears at 20 h, so it owes less than the interim paid.
      const cleared: Outage = { ...o, state: 'cleared', clearedAt: T0 + 20 * H };
      await h.writer.event('cleared', cleared, T0 + 20 * H);
      await h.writer.event('closed', { ...cleared, state: 'closed', closedAt: T0 + 20 * H + 120_000 }, T0 + 20 * H + 120_000);
      h.clock.now = T0 + 31 * H;
      expect((await h.settle('O-I')).mode).toBe('final');
      const second = await job.pull();
      expect(second.length).toBeGreaterThan(0);
      await expectPaidAsOwed(h, job, 'O-I', [first, second]);
      expect(second.every((id) => job.applied.get(id)!.kind === 'correction' && job.applied.get(id)!.minor < 0)).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('a reopen: corrections up while it is open again, down when it turns out to have recovered earlier', async () => {
    const h = await harness(d);
    try {
      const job = billingJob(h);
      const o = await h.writer.lasting('O-R', 'BS-2', T0, 30);
      h.clock.now = T0 + 31 * H;
      expect((await h.settle('O-R')).mode).toBe('final');
      const first = await job.pull();
      const back = T0 + 32 * H;
      const reopened: Outage = { ...o, state: 'open', clearedAt: undefined, closedAt: undefined, reopened: 1 };
      await h.writer.event('reopened', reopened, back);
      h.clock.now = T0 + 40 * H;
      expect((await h.settle('O-R')).mode).toBe('interim');
      const second = await job.pull();
      expect(second.length).toBeGreaterThan(0);
      const cleared: Outage = { ...reopened, state: 'cleared', clearedAt: T0 + 34 * H };
      await h.writer.event('cleared', cleared, T0 + 34 * H);
      await h.writer.event('closed', { ...cleared, state: 'closed', closedAt: T0 + 34 * H + 120_000 }, T0 + 34 * H + 120_000);
      h.clock.now = T0 + 41 * H;
      expect((await h.settle('O-R')).mode).toBe('final');
      const third = await job.pull();
      expect(third.length).toBeGreaterThan(0);
      await expectPaidAsOwed(h, job, 'O-R', [first, second, third]);
    } finally {
      await h.close();
    }
  });

  it('force majeure set, then withdrawn: debited, then credited again, never paid twice', async () => {
    const h = await harness(d);
    try {
      const job = billingJob(h);
      await h.writer.lasting('O-F', 'BS-3', T0, 30);
      h.clock.now = T0 + 31 * H;
      await h.settle('O-F');
      const first = await job.pull();
      const full = await h.owed('O-F');
      expect(full).toBeGreaterThan(0);
      const set = await h.call('PUT', '/v1/outages/O-F/force-majeure', { reason: 'regional flood' });
      expect(set.status).toBe(200);
      const second = await job.pull();
      const withdrawn = await h.call('DELETE', '/v1/outages/O-F/force-majeure');
      expect(withdrawn.status).toBe(200);
      const third = await job.pull();
      await expectPaidAsOwed(h, job, 'O-F', [first, second, third]);
      expect([...job.total().values()].reduce((a, b) => a + b, 0)).toBe(full);
      // Debited in full, then credited in full, each entry a correction of the first credit.
      expect(set.body.resettled).toMatchObject({ entries: first.length, reversed: 0, added: { EUR: -full } });
      expect(withdrawn.body.resettled).toMatchObject({ entries: first.length, reversed: 0, added: { EUR: full } });
      const firstOf = new Map(first.map((id) => [job.applied.get(id)!.subscriberId, id]));
      for (const id of [...second, ...third]) expect(job.applied.get(id)!.corrects).toBe(firstOf.get(job.applied.get(id)!.subscriberId));
    } finally {
      await h.close();
    }
  });

  it('force majeure after the job confirmed its credits failed: withdrawn, never a debit for money it never credited', async () => {
    const h = await harness(d);
    try {
      const job = billingJob(h);
      await h.writer.lasting('O-X', 'BS-3', T0, 30);
      h.clock.now = T0 + 31 * H;
      await h.settle('O-X');
      const first = await job.pull();
      expect(first.length).toBeGreaterThan(0);
      const failed = await h.call('POST', '/v1/credits/confirm', { confirmations: first.map((id) => ({ id, outcome: 'failed', reason: 'account locked' })) }, { 'idempotency-key': 'job-run-failed-1' });
      expect(failed.body.results.every((x: any) => x.result === 'changed')).toBe(true);
      const set = await h.call('PUT', '/v1/outages/O-X/force-majeure', { reason: 'regional flood' });
      expect(set.body.resettled).toMatchObject({ entries: 0, reversed: first.length });
      const second = await job.pull();
      expect(second).toEqual([]); // nothing to debit: nothing was applied
      for (const id of first) expect((await h.book.get(id))!.state).toBe('reversed');
    } finally {
      await h.close();
    }
  });

  it('a NOC or complaint desk reading credits only looks: nothing is handed over, a later cut still withdraws', async () => {
    const h = await harness(d);
    try {
      await h.writer.lasting('O-R', 'BS-3', T0, 30);
      h.clock.now = T0 + 31 * H;
      await h.settle('O-R');
      h.caller.roles = ['noc'];
      const read = await h.call('GET', '/v1/credits?outage=O-R');
      expect(read.body.items.length).toBeGreaterThan(0);
      for (const c of read.body.items) expect((await h.call('GET', `/v1/credits/${c.id}`)).body.handedOverAt ?? null).toBeNull();
      h.caller.roles = ['compensation'];
      await outagesOf(h.store).setForceMajeure('O-R', { by: 'ops', at: h.clock.now, reason: 'flood' });
      expect(await h.settle('O-R')).toMatchObject({ entries: 0, reversed: read.body.items.length });
    } finally {
      await h.close();
    }
  });

  it('gives a cursor to keep: later pulls get only new entries, in order, even after the clock steps back', async () => {
    const WALL = Date.parse('2026-06-01T12:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(WALL);
    const h = await harness(d);
    try {
      await h.writer.lasting('O-A', 'BS-1', T0, 30);
      h.clock.now = WALL;
      await h.ledger.settle(h.store, 'O-A', h.clock.now, 'final');
      const pages: any[] = [];
      let cursor: string | undefined;
      do {
        const r = await h.call('GET', `/v1/credits?limit=5&after=${cursor ?? ''}`); // empty the first time: from the start
        expect(r.status).toBe(200);
        pages.push(r.body);
        expect(r.body.nextCursor, 'every page, the last one too, has a cursor').toMatch(/^\d+$/);
        cursor = r.body.nextCursor;
      } while (pages.at(-1).items.length === 5);
      const seen = pages.flatMap((p) => p.items);
      expect(pages.map((p) => [p.items.length, p.hasMore])).toEqual([[5, true], [5, true], [2, false]]); // 12 entries
      expect(seen.map((c) => c.id).sort()).toEqual((await h.book.list({ outageId: 'O-A', limit: 100 })).map((c) => c.id).sort());
      const seqs = seen.map((c) => BigInt(c.sequence));
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
      expect(cursor).toBe(seen.at(-1).sequence);
      // Nothing new: nothing, and the same cursor back.
      expect((await h.call('GET', `/v1/credits?after=${cursor}`)).body).toEqual({ items: [], nextCursor: cursor, hasMore: false });

      // The wall clock steps back an hour (an NTP correction), the daemon restarts, another outage settles.
      vi.setSystemTime(WALL - H);
      h.clock.now = WALL - H;
      await h.writer.lasting('O-B', 'BS-3', T0 + 2 * H, 30);
      await new Ledger({ policies: () => [operator] }).settle(h.store, 'O-B', h.clock.now, 'final');
      const later = (await h.call('GET', `/v1/credits?after=${cursor}`)).body;
      expect(later.items.map((c: any) => c.id).sort()).toEqual((await h.book.list({ outageId: 'O-B', limit: 100 })).map((c) => c.id).sort());
      expect(later.items.length).toBe(12);
      expect(later.hasMore).toBe(false);
      expect(BigInt(later.nextCursor)).toBeGreaterThan(BigInt(cursor!));
    } finally {
      vi.useRealTimers();
      await h.close();
    }
  });

  it('an upgrade: entries from before count as handed over, and new ones are numbered after their clock-made numbers', async () => {
    const url = await d.url();
    const db = url ? new PostgresDb(url) : new SqliteDb(join(tempDir('upgrade'), 'netpulse.db'));
    // The schema as it was (steps 1 to 8), with two entries numbered the old way (ms × 1000).
    await db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 8)) {
      await db.exec(m.sql.replaceAll('WITHOUT_ROWID', db.kind === 'sqlite' ? 'WITHOUT ROWID' : ''));
      await db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, 0]);
    }
    const old = (id: string, state: string, seq: number) => [id, 'O-OLD', 'S1-00000', 0, 'credit', 'operator-default', '2026-01', 'no-service', 250, 'EUR', 'bill_credit', 250, 'EUR',
      30 * H, T0, T0 + 30 * H, 'standard', 'mobile', null, '2026-05', '2026-05-05', '[]', state, null, 0, seq, T0];
    await db.transaction((tx) => tx.insertMany('credits', CREDIT_COLUMNS, [old('cr-old.1', 'computed', 1_795_000_000_000_000), old('cr-old.2', 'reversed', 1_795_000_000_000_001)]));
    const store = new Store(db);
    try {
      await loadNetwork(store, topology, subs); // migrates the rest
      const book = new CreditBook(() => store.db);
      expect((await book.get('cr-old.1'))!.handedOverAt).toBe(T0); // it may have been pulled: only ever corrected
      expect((await book.get('cr-old.2'))!.handedOverAt).toBeUndefined();
      await new OutageWriter(store, topology).lasting('O-NEW', 'BS-1', T0, 30);
      await new Ledger({ policies: () => [operator] }).settle(store, 'O-NEW', T0 + 31 * H, 'final');
      const fresh = await book.pull({ afterSeq: 1_795_000_000_000_001, limit: 100 }, T0 + 32 * H);
      expect(fresh.items.map((c) => c.outageId)).toEqual(Array(12).fill('O-NEW'));
      expect(fresh.items[0].seq).toBe(1_795_000_000_000_002);
    } finally {
      await store.close();
    }
  });

  /**
   * Runs two calls so that both are in the middle of their work at once. On PostgreSQL a third
   * connection holds the credit's row until both wait for it, the first before the second; SQLite
   * has one writer and one of them goes first.
   */
  async function race<A, B>(h: Harness, creditId: string, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
    if (!h.url) {
      const a = first();
      const b = second();
      return [await a, await b];
    }
    const locker = new pg.Client({ connectionString: h.url });
    // Another connection watches: pg_stat_activity is read once per transaction, and the locker's stays open.
    const watcher = new pg.Client({ connectionString: h.url });
    await locker.connect();
    await watcher.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM credits WHERE id = $1 FOR UPDATE', [creditId]);
      const waiting = async () => Number((await watcher.query(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n);
      const a = first();
      a.catch(() => {});
      await vi.waitFor(async () => expect(await waiting()).toBe(1), { timeout: 10_000, interval: 20 });
      const b = second();
      b.catch(() => {});
      await vi.waitFor(async () => expect(await waiting()).toBe(2), { timeout: 10_000, interval: 20 });
      await locker.query('COMMIT');
      return [await a, await b];
    } finally {
      await locker.end();
      await watcher.end();
    }
  }

  it.each([['two job runs', 'job-run-0001', 'job-run-0002'], ['one run retried', 'job-run-0001', 'job-run-0001']])(
    'two confirmations of the same credit at once (%s): one changes it, the subscriber is told once', async (_case, k1, k2) => {
      const h = await harness(d);
      try {
        await h.writer.lasting('O-C', 'BS-1', T0, 30);
        h.clock.now = T0 + 31 * H;
        await h.settle('O-C');
        const [c] = (await h.call('GET', '/v1/credits?outage=O-C&limit=1')).body.items;
        const confirm = (key: string) => () => h.call('POST', '/v1/credits/confirm', { confirmations: [{ id: c.id, outcome: 'applied', reference: 'INV-1' }] }, { 'idempotency-key': key });
        const [a, b] = await race(h, c.id, confirm(k1), confirm(k2));
        expect([a.status, b.status]).toEqual([200, 200]);
        const results = [a.body.results[0].result, b.body.results[0].result];
        expect(results.sort()).toEqual(k1 === k2 ? ['changed', 'changed'] : ['changed', 'unchanged']); // a retry answers the same
        expect(h.told.map((x) => x.id)).toEqual([c.id]);
        expect(await h.book.get(c.id)).toMatchObject({ state: 'applied', reference: 'INV-1' });
      } finally {
        await h.close();
      }
    });

  it.each(['the confirmation', 'the settlement'])('a confirmation racing a re-settlement has exactly one outcome (%s first on PostgreSQL)', async (firstOne) => {
    const h = await harness(d);
    try {
      await h.writer.lasting('O-X', 'BS-4', T0, 30);
      h.clock.now = T0 + 31 * H;
      await h.settle('O-X');
      // The job has a credit's id without having pulled it (ids are derived); force majeure is flagged meanwhile.
      const [c] = await h.book.list({ outageId: 'O-X', limit: 1 });
      expect(c.handedOverAt).toBeUndefined();
      await outagesOf(h.store).setForceMajeure('O-X', { by: 'noc', at: h.clock.now, reason: 'flood' });
      const confirm = () => h.call('POST', '/v1/credits/confirm', { confirmations: [{ id: c.id, outcome: 'applied' }] }, { 'idempotency-key': 'job-run-0001' });
      const settle = () => h.ledger.settle(h.store, 'O-X', h.clock.now, 'final');
      const [answer] = firstOne === 'the confirmation' ? await race(h, c.id, confirm, settle) : (await race(h, c.id, settle, confirm)).reverse() as [Awaited<ReturnType<typeof confirm>>];
      const after = (await h.book.get(c.id))!;
      const mine = (await h.book.list({ subscriberId: c.subscriberId, outageId: 'O-X', limit: 100 }));
      // Force majeure: nothing is owed, and the ledger says so whichever won.
      expect(mine.filter((e) => e.state !== 'reversed').reduce((a, e) => a + e.amountMinor, 0)).toBe(0);
      if (after.state === 'applied') {
        expect(answer.body.results[0]).toMatchObject({ result: 'changed' });
        expect(mine.filter((e) => e.kind === 'correction').map((e) => [e.corrects, e.amountMinor])).toEqual([[c.id, -c.amountMinor]]);
      } else {
        expect(after.state).toBe('reversed');
        expect(answer.body.results[0]).toMatchObject({ result: 'conflict', state: 'reversed' });
        expect(h.told).toEqual([]);
      }
      if (h.url) expect(after.state).toBe(firstOne === 'the confirmation' ? 'applied' : 'reversed');
    } finally {
      await h.close();
    }
  });

  it.each(['the pull', 'the settlement'])('a pull racing a re-settlement: what was pulled is corrected, never withdrawn (%s first on PostgreSQL)', async (firstOne) => {
    const h = await harness(d);
    try {
      const job = billingJob(h);
      await h.writer.lasting('O-P', 'BS-2', T0, 30);
      h.clock.now = T0 + 31 * H;
      await h.settle('O-P');
      const [c] = await h.book.list({ outageId: 'O-P', limit: 1 });
      await outagesOf(h.store).setForceMajeure('O-P', { by: 'noc', at: h.clock.now, reason: 'flood' });
      const settle = () => h.ledger.settle(h.store, 'O-P', h.clock.now, 'final');
      const pulled = firstOne === 'the pull' ? (await race(h, c.id, () => job.pull(), settle))[0] : (await race(h, c.id, settle, () => job.pull()))[1];
      if (h.url) expect(pulled.length).toBe(firstOne === 'the pull' ? 12 : 0);
      await job.pull();
      await expectPaidAsOwed(h, job, 'O-P', [pulled]);
      expect(await h.owed('O-P')).toBe(0);
    } finally {
      await h.close();
    }
  });
});
