import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import type { Outage, OutageEvent } from '../../correlators/outages/outage.ts';
import { OutageCorrelator } from '../../correlators/outages/correlator.ts';
import { Topology, type Element } from '../../src/topology/topology.ts';
import type { ElementHealth } from '../../correlators/health/tracker.ts';
import { alertsOf } from '../../correlators/alerts/repository.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

const KINDS = DATABASES.map(([kind, d]) => [kind, d.open] as const);
afterAll(() => stopDatabases());

const TOPO: Element[] = [
  { id: 'CORE-1', kind: 'core', site: 'dc1', region: 'north', lat: 52.37, lon: 4.89, parents: [] },
  { id: 'AGG-7', kind: 'aggregation', site: 'n-agg', region: 'north', parents: ['CORE-1'] },
  { id: 'BS-1', kind: 'base_station', site: 'n-01', region: 'north', parents: ['AGG-7'] },
  { id: 'BS-2', kind: 'base_station', site: 'n-02', region: 'north', parents: ['AGG-7', 'CORE-1'] },
];
const H = 3_600_000;
const health = (m: Record<string, [ElementHealth['state'], number]>) => new Map(Object.entries(m).map(([k, [state, since]]) => [k, { state, since, reason: state }]));

describe.each(KINDS)('the store on %s', (_kind, open) => {
  it('applies its migrations once', async () => {
    const store = new Store(await open());
    try {
      expect(await store.migrate()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
      expect(await store.migrate()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('keeps the topology with sites, coordinates and redundant links, replaced whole on reload', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      await store.saveTopology(TOPO);
      expect(await store.elements()).toEqual([...TOPO].sort((a, b) => a.id.localeCompare(b.id)));
      await store.saveTopology(TOPO.slice(0, 2));
      expect((await store.elements()).map((e) => e.id)).toEqual(['AGG-7', 'CORE-1']);
    } finally {
      await store.close();
    }
  });

  it('records an outage through its life, impacted elements with their own times, idempotently', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      const c = new OutageCorrelator(Topology.build(TOPO).topology!, { confirmRecoveryMs: 60_000 });
      const events: OutageEvent[] = [];
      events.push(...c.evaluate(health({ 'AGG-7': ['down', 10 * H], 'BS-1': ['down', 10 * H] }), 10 * H + 5_000));
      events.push(...c.evaluate(health({ 'AGG-7': ['up', 11 * H], 'BS-1': ['up', 11 * H] }), 11 * H));
      events.push(...c.evaluate(health({ 'AGG-7': ['up', 11 * H], 'BS-1': ['up', 11 * H] }), 11 * H + 60_000));
      for (const e of events) await outagesOf(store).recordOutageEvent(e);
      for (const e of events) await outagesOf(store).recordOutageEvent(e); // a replay changes nothing
      const [o] = await outagesOf(store).outages();
      expect(o).toMatchObject({ id: `AGG-7@${10 * H}`, root: 'AGG-7', state: 'closed', startedAt: 10 * H, clearedAt: 11 * H, closedAt: 11 * H + 60_000, impacted: [] });
      const history = await store.db.query<{ type: string; seq: number }>('SELECT type, seq FROM outage_events ORDER BY seq');
      expect(history.map((h) => h.type)).toEqual(['opened', 'cleared', 'closed']);
      const impacts = await store.db.query<{ element: string; since: number; until: number }>('SELECT element, since, until FROM outage_impacts ORDER BY element');
      expect(impacts.map((i) => [i.element, Number(i.since), Number(i.until)])).toEqual([['BS-1', 10 * H, 11 * H]]); // BS-2 has a second uplink
      expect(await outagesOf(store).activeOutages()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('gives a restart the outages to continue: the same outage goes on, nothing duplicated', async () => {
    const db = await open();
    let store = new Store(db);
    await store.migrate();
    const before = new OutageCorrelator(Topology.build(TOPO).topology!);
    for (const e of before.evaluate(health({ 'AGG-7': ['down', 10 * H] }), 10 * H)) await outagesOf(store).recordOutageEvent(e);
    store = new Store(db); // what a restarted daemon sees
    const active = await outagesOf(store).activeOutages();
    expect(active.map((o) => [o.id, o.state, o.impacted.map((i) => i.element)])).toEqual([[`AGG-7@${10 * H}`, 'open', ['BS-1']]]);
    const after = new OutageCorrelator(Topology.build(TOPO).topology!);
    after.restore(active);
    expect(after.evaluate(health({ 'AGG-7': ['down', 10 * H] }), 12 * H)).toEqual([]);
    const cleared = after.evaluate(health({ 'AGG-7': ['up', 12 * H] }), 12 * H);
    for (const e of cleared) await outagesOf(store).recordOutageEvent(e);
    expect((await outagesOf(store).outages()).map((o) => [o.id, o.state, o.clearedAt])).toEqual([[`AGG-7@${10 * H}`, 'cleared', 12 * H]]);
    await store.close();
  });

  it('keeps an inferred outage as inferred across a restart, and its confirmation in place', async () => {
    const db = await open();
    let store = new Store(db);
    await store.migrate();
    const topo = Topology.build([...TOPO, { id: 'BS-3', kind: 'base_station', site: 'n-03', region: 'north', parents: ['AGG-7'] }]).topology!;
    const dark = { 'BS-1': ['down', 10 * H] as [ElementHealth['state'], number], 'BS-3': ['down', 10 * H + 20_000] as [ElementHealth['state'], number] };
    const before = new OutageCorrelator(topo);
    const opened = before.evaluate(health(dark), 10 * H + 30_000);
    expect(opened.map((e) => [e.type, e.outage.root, e.outage.inferred])).toEqual([['opened', 'AGG-7', true]]);
    for (const e of opened) await outagesOf(store).recordOutageEvent(e);
    store = new Store(db); // what a restarted daemon sees
    const active = await outagesOf(store).activeOutages();
    expect(active.map((o) => [o.id, o.inferred, o.reason.startsWith('inferred: 2 of 2 ')])).toEqual([[`AGG-7@${10 * H}`, true, true]]);
    const after = new OutageCorrelator(topo);
    after.restore(active);
    expect(after.evaluate(health(dark), 11 * H)).toEqual([]); // the same inference goes on: nothing new
    const confirmed = after.evaluate(health({ ...dark, 'AGG-7': ['down', 11 * H] }), 11 * H);
    expect(confirmed.map((e) => [e.type, e.outage.id, e.outage.inferred])).toEqual([['updated', `AGG-7@${10 * H}`, undefined]]);
    for (const e of confirmed) await outagesOf(store).recordOutageEvent(e);
    expect((await outagesOf(store).outages()).map((o) => [o.id, o.inferred, o.reason])).toEqual([[`AGG-7@${10 * H}`, undefined, 'down']]);
    await store.close();
  });

  it('computes availability per element from outage history, planned work and degradations apart', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      const day = Date.UTC(2026, 10, 1);
      const outage = (root: string, start: number, end: number, extra: Partial<Outage> = {}): OutageEvent[] => {
        const o: Outage = { id: `${root}@${start}`, root, severity: 'outage', state: 'open', startedAt: start, impacted: [{ element: 'BS-1', since: start }], planned: false, flapping: false, reopened: 0, reason: 'x', ...extra };
        return [{ type: 'opened', outage: o, at: start }, { type: 'cleared', outage: { ...o, state: 'cleared', clearedAt: end, impacted: [] }, at: end }];
      };
      for (const e of [
        ...outage('AGG-7', day + H, day + H + 30 * 60_000),                               // 30 min
        ...outage('AGG-7', day + 2 * H, day + 2 * H + 60 * 60_000, { planned: true }),     // planned: not counted
        ...outage('AGG-7', day + 5 * H, day + 6 * H, { severity: 'degradation' }),         // degradation: not counted
        ...outage('BS-1', day + H + 20 * 60_000, day + H + 40 * 60_000, { impacted: [] }), // overlaps the first by 10 min
      ]) await outagesOf(store).recordOutageEvent(e);
      const agg = await outagesOf(store).availability('AGG-7', day, day + 24 * H, day + 30 * H);
      expect(agg.downtimeMs).toBe(30 * 60_000);
      expect(agg.availability).toBeCloseTo(1 - 30 / 1440, 6);
      const bs = await outagesOf(store).availability('BS-1', day, day + 24 * H, day + 30 * H);
      expect(bs.downtimeMs).toBe(40 * 60_000); // 30 min impacted + 10 more as its own root, merged
      await store.saveTopology([...TOPO, { id: 'BS-1b', kind: 'cell', site: 'n-01', parents: ['BS-1'] }]);
      const site = await outagesOf(store).siteAvailability('n-01', day, day + 24 * H, day + 30 * H);
      expect(site.elements).toBe(2);
      expect(site.downtimeMs).toBe(20 * 60_000); // BS-1 down 40 min, its neighbour on the site never: the mean
    } finally {
      await store.close();
    }
  });

  it('isolates a transaction: a write from elsewhere while it waits is neither part of it nor lost when it fails', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      let release!: () => void;
      const waiting = new Promise<void>((r) => (release = r));
      const tx = store.db.transaction(async (db) => {
        await db.run('INSERT INTO elements (id, kind) VALUES ($1, $2)', ['IN-TX', 'core']);
        await waiting; // e.g. a client's next chunk
        throw new Error('the client went away');
      });
      const outside = store.db.run('INSERT INTO elements (id, kind) VALUES ($1, $2)', ['OUTSIDE', 'core']);
      const nested = store.db.transaction((db) => db.run('INSERT INTO elements (id, kind) VALUES ($1, $2)', ['OUTSIDE-TX', 'core']));
      await new Promise((r) => setImmediate(r));
      release();
      await expect(tx).rejects.toThrow('the client went away');
      expect(await outside).toBe(1);
      expect(await nested).toBe(1);
      expect((await store.db.query<{ id: string }>('SELECT id FROM elements ORDER BY id')).map((r) => r.id)).toEqual(['OUTSIDE', 'OUTSIDE-TX']);
    } finally {
      await store.close();
    }
  });

  it('announces a maintenance window when it is created, and again whenever a change makes it cover more', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      const H = 3_600_000;
      const announced = async () => Number((await store.db.query<{ created_at: number }>("SELECT created_at FROM maintenance WHERE id = 'CHG-1'"))[0].created_at);
      const w = { id: 'CHG-1', elements: ['BS-1'], start: 100 * H, end: 102 * H };
      expect(await outagesOf(store).saveMaintenance(w, 'planner', 10 * H)).toBe(true);
      expect(await announced()).toBe(10 * H);
      // Narrower, or only a new reason: the notice given stands.
      await outagesOf(store).saveMaintenance({ ...w, end: 101 * H, reason: 'shorter' }, 'planner', 50 * H);
      expect(await announced()).toBe(10 * H);
      // Wider (later end, earlier start, another element): announced now, never backdated.
      let now = { ...w, end: 101 * H };
      for (const [change, at] of [[{ end: 103 * H }, 60 * H], [{ start: 99 * H }, 70 * H], [{ elements: ['BS-1', 'BS-2'] }, 80 * H]] as const) {
        now = { ...now, ...change } as typeof now;
        await outagesOf(store).saveMaintenance(now, 'planner', at);
        expect(await announced(), JSON.stringify(change)).toBe(at);
      }
    } finally {
      await store.close();
    }
  });

  it('stores each alert once and records its acknowledgement', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      const a = { id: 'AGG-7@1:opened', outageId: 'AGG-7@1', event: 'opened', raisedAt: 1, body: { perceivedSeverity: 'major' }, ackState: 'unacknowledged' as const };
      expect(await alertsOf(store).saveAlert(a)).toBe(true);
      expect(await alertsOf(store).saveAlert(a)).toBe(false);
      expect(await alertsOf(store).ackAlert(a.id, 'noc-anna', 5)).toBe(true);
      expect(await alertsOf(store).ackAlert('nope', 'noc-anna', 5)).toBe(false);
      expect(await alertsOf(store).alerts('AGG-7@1')).toEqual([{ ...a, ackState: 'acknowledged', ackBy: 'noc-anna', ackAt: 5 }]);
    } finally {
      await store.close();
    }
  });
});

describe('the SQLite store and kill -9', () => {
  it('keeps every transaction that committed before the process was killed', async () => {
    const file = join(tempDir('sqlite-kill'), 'netpulse.db');
    const child = spawn(process.execPath, [join(import.meta.dirname, '../fixtures/store-writer.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        committed = Math.max(committed, ...d.toString().trim().split('\n').map(Number));
        if (committed >= 200) { child.kill('SIGKILL'); resolve(); }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const store = new Store(new SqliteDb(file));
    const n = (await store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outages'))[0].n;
    expect(Number(n)).toBeGreaterThanOrEqual(committed); // everything it said was committed, maybe one more
    await store.close();
  });
});
