import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';
import type { Outage, OutageEvent } from '../../correlators/outages/outage.ts';
import { alertsOf } from '../../correlators/alerts/repository.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

const TOKENS = { noc: 'noc-token-0123456789abcdef', complaints: 'complaints-token-0123456789', admin: 'admin-token-0123456789ab', limited: 'limited-token-0123456789ab', planner: 'planner-token-0123456789ab' };
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

const STORES = DATABASES.map(([kind, d]) => [kind, d.url] as const);
afterAll(() => stopDatabases());

const outage = (root: string, start: number, end: number | undefined, impacted: string[]): OutageEvent[] => {
  const o: Outage = { id: `${root}@${start}`, root, severity: 'outage', state: 'open', startedAt: start, impacted: impacted.map((element) => ({ element, since: start })), planned: false, flapping: false, reopened: 0, reason: 'snmp: timeout' };
  const ev: OutageEvent[] = [{ type: 'opened', outage: o, at: start }];
  if (end !== undefined) ev.push({ type: 'cleared', outage: { ...o, state: 'cleared', clearedAt: end, impacted: [] }, at: end }, { type: 'closed', outage: { ...o, state: 'closed', clearedAt: end, closedAt: end + 120_000, impacted: [] }, at: end + 120_000 });
  return ev;
};

describe.each(STORES)('the HTTP API on %s', (_kind, storeUrl) => {
  let daemon: Daemon;
  let logs: any[];
  let base: string;
  const call = (path: string, token?: keyof typeof TOKENS, init: RequestInit = {}) => fetch(base + path, {
    ...init, headers: { ...(token && { authorization: `Bearer ${TOKENS[token]}` }), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
  });
  const json = async (path: string, token?: keyof typeof TOKENS, init?: RequestInit) => {
    const r = await call(path, token, init);
    return { status: r.status, body: r.status === 204 ? undefined : await r.json(), headers: r.headers };
  };

  beforeAll(async () => {
    const dir = tempDir('api');
    writeFileSync(join(dir, 'topology.yaml'), `elements:
  - { id: CORE-1, kind: core, site: dc1, region: north }
  - { id: AGG-7, kind: aggregation, site: n-agg, region: north, parents: [CORE-1] }
  - { id: AGG-9, kind: aggregation, site: s-agg, region: south, parents: [CORE-1] }
  - { id: BS-1, kind: base_station, site: n-01, region: north, parents: [AGG-7] }
  - { id: BS-9, kind: base_station, site: s-09, region: south, parents: [AGG-9] }
  - { id: AGG-5, kind: aggregation, site: n-agg5, region: north, parents: [CORE-1] }
  - { id: BS-5, kind: base_station, site: n-05, region: north, parents: [AGG-5] }
  - { id: BS-2, kind: base_station, site: n-02, region: north, parents: [AGG-7] }
`);
    const built = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      store: { url: await storeUrl() },
      api: { rateLimit: 40, bodyLimit: '4KiB', importLimit: '2KiB', tokens: [
        { name: 'noc-anna', hash: hashToken(TOKENS.noc), roles: ['noc'] },
        { name: 'crm', hash: hashToken(TOKENS.complaints), roles: ['complaints'] },
        { name: 'ops-admin', hash: hashToken(TOKENS.admin), roles: ['admin'] },
        { name: 'limited', hash: hashToken(TOKENS.limited), roles: ['noc'] },
        { name: 'planner', hash: hashToken(TOKENS.planner), roles: ['maintenance', 'noc'] },
      ] },
    });
    daemon = built.daemon;
    logs = built.logs;
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
    for (const e of [...outage('AGG-7', T0 + H, T0 + 2 * H, ['BS-1']), ...outage('AGG-9', T0 + 3 * H, T0 + 4 * H, ['BS-9']), ...outage('BS-1', T0 + 5 * H, undefined, [])]) {
      await outagesOf(daemon.store).recordOutageEvent(e);
    }
    await alertsOf(daemon.store).saveAlert({ id: 'BS-1@x#opened', outageId: `BS-1@${T0 + 5 * H}`, event: 'opened', raisedAt: T0 + 5 * H, body: { id: 'BS-1@x#opened', perceivedSeverity: 'major' }, ackState: 'unacknowledged' });
  });
  afterAll(async () => {
    await daemon?.stop();
    const failed = logs.filter((l) => l.level >= 50);
    if (failed.length > 0) console.error(JSON.stringify(failed.slice(0, 3)));
  });

  it('serves its OpenAPI document and Prometheus metrics without a token', async () => {
    const doc = await json('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toContain('/v1/outages/{id}');
    const m = await call('/metrics');
    expect(m.status).toBe(200);
    const text = await m.text();
    expect(text).toContain('netpulse_pipeline_queued_samples 0');
    expect(text).toMatch(/netpulse_api_request_seconds_count\{route="\/openapi.json",method="GET",code="2xx"\} 1/);
  });

  it.each([
    ['no token', '/v1/outages', undefined, 401],
    ['an unknown token', '/v1/outages', 'bogus', 401],
    ['complaints reading outages', '/v1/outages', 'complaints', 200],
    ['complaints reading maintenance', '/v1/maintenance', 'complaints', 403],
    ['noc reading maintenance', '/v1/maintenance', 'noc', 200],
    ['admin reading maintenance', '/v1/maintenance', 'admin', 200],
    ['complaints reading alerts', '/v1/alerts', 'complaints', 403],
  ])('auth: %s on %s (%s) is %i', async (_what, path, token, status) => {
    const r = await call(path, undefined, token ? { headers: { authorization: `Bearer ${(TOKENS as any)[token] ?? 'nope'}` } } : {});
    expect(r.status).toBe(status);
    if (status === 401) expect(r.headers.get('www-authenticate')).toBe('Bearer');
    if (status >= 400) expect((await r.json()).error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
  });

  it('lists outages newest first with filters, and pages through them with cursors', async () => {
    const all = await json('/v1/outages', 'noc');
    expect(all.body.items.map((o: any) => o.rootCause.id)).toEqual(['BS-1', 'AGG-9', 'AGG-7']);
    expect(all.body.nextCursor).toBeNull();
    expect((await json('/v1/outages?state=active', 'noc')).body.items.map((o: any) => o.id)).toEqual([`BS-1@${T0 + 5 * H}`]);
    expect((await json('/v1/outages?element=BS-1', 'noc')).body.items.map((o: any) => o.rootCause.id)).toEqual(['BS-1', 'AGG-7']); // root or impacted
    expect((await json('/v1/outages?region=south', 'noc')).body.items.map((o: any) => o.rootCause.id)).toEqual(['AGG-9']);
    const window = `from=${new Date(T0 + 2.5 * H).toISOString()}&to=${T0 + 4.5 * H}`;
    expect((await json(`/v1/outages?${window}`, 'noc')).body.items.map((o: any) => o.rootCause.id)).toEqual(['AGG-9']);
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const page = await json(`/v1/outages?limit=1${cursor ? `&cursor=${cursor}` : ''}`, 'noc');
      seen.push(...page.body.items.map((o: any) => o.rootCause.id));
      if (!page.body.nextCursor) break;
      cursor = page.body.nextCursor;
    }
    expect(seen).toEqual(['BS-1', 'AGG-9', 'AGG-7']);
  });

  it.each([
    ['/v1/outages?limit=0', 'limit', 'query limit: '],
    ['/v1/outages?state=broken', 'state', 'query state: '],
    ['/v1/outages?cursor=%21%21', 'cursor', 'query cursor: '],
    // Hand-made cursors: a fractional or huge time, a control character in the id (PostgreSQL answered 500).
    ...['1.5|x', '1e20|x', '99999999999999999999|x', '1|a\u0000b'].map((c): [string, string, string] => [`/v1/outages?cursor=${Buffer.from(c).toString('base64url')}`, 'cursor', 'query cursor: not a cursor']),
    [`/v1/alerts?cursor=${Buffer.from('1.5|x').toString('base64url')}`, 'cursor', 'query cursor: not a cursor'],
    [`/v1/outages/AGG-7@${T0 + H}/subscribers?cursor=${Buffer.from('1e20|x').toString('base64url')}`, 'cursor', 'query cursor: not a cursor'],
    ['/v1/outages?colour=red', 'colour', 'query colour: unknown parameter'],
    ['/v1/outages?from=yesterday', 'from', 'query from: '],
    ['/v1/elements/BS-1/availability?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'to', 'query to: must be after from'],
    ['/v1/elements/BS-1/availability', 'from', 'query from: '],
  ])('bad query %s is a 400 naming %s', async (path, field, message) => {
    const r = await json(path, 'noc');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_request');
    expect(r.body.error.field).toBe(field);
    expect(r.body.error.message).toContain(message);
  });

  it('shows one outage with its root cause, impacted elements and history; unknown ids are 404', async () => {
    const r = await json(`/v1/outages/${encodeURIComponent(`AGG-7@${T0 + H}`)}`, 'complaints');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      state: 'closed', rootCause: { id: 'AGG-7', kind: 'aggregation', site: 'n-agg', region: 'north', reason: 'snmp: timeout' },
      startedAt: new Date(T0 + H).toISOString(), clearedAt: new Date(T0 + 2 * H).toISOString(), durationSeconds: 3600,
      history: [{ event: 'opened' }, { event: 'cleared' }, { event: 'closed' }],
    });
    expect((await json('/v1/outages/nope', 'noc')).status).toBe(404);
    expect((await json('/v1/elements/nope', 'noc')).body.error).toEqual({ code: 'not_found', message: 'no element nope' });
    expect((await json('/v1/no/such/route', 'noc')).status).toBe(404);
  });

  it("shows an element's health and availability, and a site's", async () => {
    const el = await json('/v1/elements/BS-1', 'noc');
    expect(el.body).toMatchObject({ id: 'BS-1', kind: 'base_station', parents: ['AGG-7'], health: { state: 'unknown' }, activeOutages: [{ root: 'BS-1' }] });
    const day = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 24 * H).toISOString()}`;
    const a = await json(`/v1/elements/AGG-7/availability?${day}`, 'noc');
    expect(a.body).toMatchObject({ element: 'AGG-7', downtimeMs: H, availabilityPercent: 95.8333 });
    const s = await json(`/v1/sites/s-09/availability?${day}`, 'noc');
    expect(s.body).toMatchObject({ site: 's-09', elements: 1, downtimeMs: H });
    expect((await json(`/v1/sites/nowhere/availability?${day}`, 'noc')).status).toBe(404);
  });

  it('keeps maintenance windows from the API, and outages inside them are planned', async () => {
    const w = { id: 'CHG-7', elements: ['AGG-9'], start: new Date(Date.now() - H / 2).toISOString(), end: new Date(Date.now() + H).toISOString(), reason: 'fibre splice' };
    // Maintenance silences pages and compensation: the noc role reads windows, only maintenance makes them.
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify(w) })).status).toBe(403);
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify(w) })).status).toBe(201);
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify(w) })).status).toBe(200);
    const listed = await json('/v1/maintenance', 'noc');
    expect(listed.body.items).toEqual([{ ...w, sites: [], createdBy: 'planner' }]);
    const bad = await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ ...w, end: w.start, start: w.end }) });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'end', message: 'body end: must be after start' } } });
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ ...w, id: 'X', elements: ['AGG-99'] }) })).body.error.field).toBe('elements');
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: '{"id": ' })).status).toBe(400);
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ ...w, reason: 'x'.repeat(8000) }) })).status).toBe(413);
    // Bounded: no window that starts long ago (an outage made "planned" after the fact), none too long.
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ ...w, id: 'OLD', start: iso(-3 * H), end: iso(H) }) })).body)
      .toEqual({ error: { code: 'bad_request', field: 'start', message: 'body start: more than 1 h in the past' } });
    expect((await json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ ...w, id: 'LONG', start: iso(H), end: iso(9 * 24 * H) }) })).body)
      .toEqual({ error: { code: 'bad_request', field: 'end', message: 'body end: a window may last at most 7 d' } });
    // A window running for 3 h may still be extended or ended, not started earlier nor widened.
    const running = { id: 'RUN-1', elements: ['BS-9'], start: Date.now() - 3 * H, end: Date.now() + H };
    await outagesOf(daemon.store).saveMaintenance(running, 'planner', running.start - H);
    const change = (c: object) => json('/v1/maintenance', 'planner', { method: 'POST', body: JSON.stringify({ id: 'RUN-1', elements: ['BS-9'], start: new Date(running.start).toISOString(), end: iso(2 * H), ...c }) });
    expect((await change({})).status).toBe(200);
    expect((await change({ reason: 'overran', end: iso(3 * H) })).status).toBe(200);
    expect((await change({ elements: ['BS-9', 'BS-1'] })).body.error.field).toBe('start');
    expect((await change({ start: new Date(running.start - H).toISOString() })).body.error.field).toBe('start');
    expect((await json('/v1/maintenance/RUN-1', 'planner', { method: 'DELETE' })).status).toBe(204);
    // AGG-9 fails now: the outage is recorded, planned.
    const now = Date.now();
    daemon.outages.write([1, 2].map((i) => ({ element: 'AGG-9', measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: false, error: 'timeout' }, time: now + i })));
    const events = daemon.outages.tick(now + 10);
    expect(events.map((e) => [e.type, e.outage.root, e.outage.planned])).toEqual([['opened', 'AGG-9', true]]);
    expect((await json('/v1/maintenance/CHG-7', 'noc', { method: 'DELETE' })).status).toBe(403);
    expect((await json('/v1/maintenance/CHG-7', 'planner', { method: 'DELETE' })).status).toBe(204);
    expect((await json('/v1/maintenance/CHG-7', 'planner', { method: 'DELETE' })).status).toBe(404);
  });

  it('imports subscribers over the API, row by row, for admins only', async () => {
    const csv = ['id,tier,service,serving,region,plan,arpu', 'A,vip,mobile,BS-5,north,5G-199,199', 'B,gold,mobile,BS-5;BS-2,north,5G-99,99',
      'C,standard,mobile,BS-2,north,4G-29,29', 'D,platinum,mobile,BS-5,north,x,1', 'E,standard,broadband,NOPE,north,x,1'].join('\n');
    const post = (token: keyof typeof TOKENS, body: string, type = 'text/csv', query = '') => json(`/v1/subscribers/import${query}`, token, { method: 'POST', body, headers: { 'content-type': type } });
    expect((await post('complaints', csv)).status).toBe(403);
    // A replace with rejected rows is refused by default (the file is meant to be the whole inventory).
    const refused = await post('admin', csv, 'text/csv', '?mode=replace');
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'import_refused' }, committed: false, rows: 5, loaded: 0, rejected: 2 } });
    const r = await post('admin', csv, 'text/csv', '?mode=replace&maxRejected=0.5');
    expect(r).toMatchObject({ status: 200, body: { mode: 'replace', format: 'csv', rows: 5, loaded: 3, rejected: 2, committed: true } });
    expect(r.body.problems).toEqual([{ line: 5, reason: expect.stringMatching(/^tier: /) }, { line: 6, reason: 'serving: unknown element(s) NOPE' }]);
    const jsonl = await post('admin', '{"id":"F","tier":"enterprise","service":"enterprise_line","serving":["BS-2"]}\n{"id":', 'application/x-ndjson');
    expect(jsonl.body).toMatchObject({ mode: 'incremental', loaded: 1, rejected: 1, problems: [{ line: 2 }] });
    expect((await post('admin', csv, 'application/xml')).status).toBe(415);
    expect((await post('admin', csv + '\n' + 'G,standard,mobile,BS-1,north,x,1\n'.repeat(100))).status).toBe(413);
    expect((await post('admin', csv, 'text/csv', '?mode=all')).body.error.field).toBe('mode');
    expect((await post('admin', 'id,tier,service,serving\n', 'text/csv', '?mode=replace')).body).toMatchObject({ error: { code: 'import_refused' }, refused: expect.stringMatching(/^no row loaded/) });
    expect((await json('/v1/subscribers/A', 'complaints')).status).toBe(200); // still there
  });

  it('an import whose client goes away changes nothing, holds no other write, and frees the importer', async () => {
    const { request } = await import('node:http');
    const port = Number(new URL(base).port);
    const kept = await json('/v1/subscribers/import', 'admin', { method: 'POST', body: 'id,tier,service,serving\nKEEP-1,gold,mobile,BS-2\n', headers: { 'content-type': 'text/csv' } });
    expect(kept.body).toMatchObject({ committed: true, loaded: 1 });
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/subscribers/import?mode=replace', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'text/csv', 'content-length': '1900' } });
    req.on('error', () => {});
    req.write('id,tier,service,serving\nZ1,gold,mobile,BS-5\n');
    // While the upload hangs, a complaint is answered 201 and must stand on its own.
    // The replace has begun when its tables exist (polling the database spends none of the token's rate).
    const building = () => daemon.store.db.kind === 'sqlite'
      ? daemon.store.db.query("SELECT name FROM sqlite_master WHERE name LIKE 'subscribers_next_%'")
      : daemon.store.db.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'subscribers_next_%'");
    await vi.waitFor(async () => expect(await building()).toHaveLength(1), { timeout: 10_000, interval: 50 });
    const busy = await json('/v1/subscribers/import', 'admin', { method: 'POST', body: 'x', headers: { 'content-type': 'text/csv' } });
    expect(busy.body).toMatchObject({ error: { code: 'import_running' } });
    const c = await json('/v1/complaints', 'complaints', { method: 'POST', body: JSON.stringify({ id: 'CMP-DURING-IMPORT', subscriberId: 'A', channel: 'hotline', category: 'no_service', reportedAt: new Date().toISOString() }) });
    expect(c.status).toBe(201);
    req.destroy();
    await vi.waitFor(async () => expect(await building()).toHaveLength(0), { timeout: 10_000, interval: 50 }); // dropped: the import ended
    expect((await json('/v1/subscribers/import', 'admin', { method: 'POST', body: 'id,tier,service,serving\n', headers: { 'content-type': 'text/csv' } })).status).not.toBe(409);
    expect((await json('/v1/subscribers/Z1', 'complaints')).status).toBe(404);
    expect((await json('/v1/subscribers/KEEP-1', 'complaints')).status).toBe(200);
    expect(await daemon.store.db.query('SELECT id FROM complaints WHERE id = $1', ['CMP-DURING-IMPORT'])).toHaveLength(1);
    expect(await daemon.store.db.query('SELECT import_id FROM import_subscribers')).toEqual([]);
  });

  it('answers whether a subscriber is affected, and pages through everyone an outage hits', async () => {
    // AGG-5 fails for real: BS-5 behind it is cut off. A (BS-5 only) loses service, B (BS-5 or BS-2) is degraded.
    const t = Date.now();
    daemon.outages.write([1, 2].map((i) => ({ element: 'AGG-5', measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: false, error: 'timeout' }, time: t + i })));
    const [opened] = daemon.outages.tick(t + 10);
    expect(opened.outage.root).toBe('AGG-5');
    const id = opened.outage.id;
    await expect.poll(async () => (await outagesOf(daemon.store).outage(id))?.scope?.current, { timeout: 5000 }).toBe(2);
    const a = await json('/v1/subscribers/A', 'complaints');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({
      subscriber: { id: 'A', tier: 'vip', service: 'mobile', region: 'north', plan: '5G-199', arpu: 199, servingElements: [{ id: 'BS-5', kind: 'base_station' }] },
      affected: true, worst: 'no_service',
      impacts: [{ kind: 'no_service', since: new Date(t + 1).toISOString(), outage: { id, state: 'open', rootCause: { id: 'AGG-5', kind: 'aggregation', reason: 'snmp: timeout' }, affectedSubscribers: 2, acknowledged: null } }],
    });
    expect((await json('/v1/subscribers/B', 'complaints')).body).toMatchObject({ affected: true, worst: 'degraded' });
    expect((await json('/v1/subscribers/C', 'complaints')).body).toMatchObject({ affected: false, worst: null, impacts: [], recent: [] });
    expect((await json('/v1/subscribers/nobody', 'complaints')).status).toBe(404);
    expect((await json('/v1/subscribers/A?days=0', 'complaints')).body.error.field).toBe('days');
    // The outage and its alert count them; the NOC's acknowledgement shows to the complaint system.
    const o = await json(`/v1/outages/${encodeURIComponent(id)}`, 'admin');
    expect(o.body.affectedSubscribers).toMatchObject({ subscribers: 2, current: 2, noService: 1, degraded: 1, byTier: { vip: 1, gold: 1 }, byService: { mobile: 2 } });
    const alerts = await json(`/v1/alerts?outage=${encodeURIComponent(id)}`, 'admin');
    expect(alerts.body.items[0]).toMatchObject({ affectedSubscribers: { current: 2, noService: 1 }, alarmDetails: expect.stringContaining('2 subscribers affected (1 without service, 1 VIP)') });
    await json(`/v1/alerts/${encodeURIComponent(alerts.body.items[0].id)}/ack`, 'admin', { method: 'POST' });
    expect((await json('/v1/subscribers/A', 'complaints')).body.impacts[0].outage.acknowledged).toMatchObject({ by: 'ops-admin' });
    // Paging by subscriber, filtered by tier.
    const p1 = await json(`/v1/outages/${encodeURIComponent(id)}/subscribers?limit=1`, 'complaints');
    expect(p1.body.items).toEqual([{ subscriberId: 'A', tier: 'vip', service: 'mobile', region: 'north', kind: 'no_service', since: new Date(t + 1).toISOString(), until: null }]);
    const p2 = await json(`/v1/outages/${encodeURIComponent(id)}/subscribers?limit=1&cursor=${p1.body.nextCursor}`, 'complaints');
    expect(p2.body.items.map((x: any) => [x.subscriberId, x.kind])).toEqual([['B', 'degraded']]);
    expect(p2.body.nextCursor).toBeNull();
    expect((await json(`/v1/outages/${encodeURIComponent(id)}/subscribers?tier=gold&current=true`, 'complaints')).body.items.map((x: any) => x.subscriberId)).toEqual(['B']);
    expect((await json(`/v1/outages/${encodeURIComponent(id)}/subscribers?tier=bronze`, 'complaints')).body.error).toMatchObject({ field: 'tier' });
    expect((await json('/v1/outages/nope/subscribers', 'complaints')).status).toBe(404);
    // AGG-5 recovers: the impacts end, and stay in the subscriber's recent history.
    daemon.outages.write([3, 4].map((i) => ({ element: 'AGG-5', measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: true }, time: t + i * 1000 })));
    daemon.outages.tick(t + 5000);
    await expect.poll(async () => (await outagesOf(daemon.store).outage(id))?.scope?.current, { timeout: 5000 }).toBe(0);
    const after = await json('/v1/subscribers/A', 'complaints');
    expect(after.body).toMatchObject({ affected: false, impacts: [], recent: [{ outageId: id, kind: 'no_service', root: 'AGG-5' }] });
  });

  it("shows an element's recent measurements", async () => {
    const minute = Date.now() - (Date.now() % 60_000);
    const t = minute + 1000;
    await daemon.pipeline.emit([1, 2, 3].map((i) => ({ element: 'BS-9', measurement: 'ping', tags: { url: '10.0.0.9' }, fields: { percent_packet_loss: i, average_response_ms: 10 * i, result_code: 0n }, time: t + i })));
    await daemon.pipeline.idle();
    const el = await json('/v1/elements/BS-9', 'admin');
    expect(el.body.measurements).toEqual([{
      measurement: 'ping', tags: { url: '10.0.0.9' }, time: new Date(t + 3).toISOString(), latest: { percent_packet_loss: 3, average_response_ms: 30, result_code: 0 },
      history: {
        percent_packet_loss: [1, 2, 3].map((i) => ({ time: new Date(t + i).toISOString(), value: i })),
        average_response_ms: [1, 2, 3].map((i) => ({ time: new Date(t + i).toISOString(), value: 10 * i })),
        result_code: [1, 2, 3].map((i) => ({ time: new Date(t + i).toISOString(), value: 0 })),
      },
      // The charted fields' one-minute means (what the dashboard draws over hours).
      trend: {
        percent_packet_loss: [{ time: new Date(minute).toISOString(), value: 2 }],
        average_response_ms: [{ time: new Date(minute).toISOString(), value: 20 }],
      },
    }]);
  });

  it('records an alert acknowledgement with the name behind the token', async () => {
    const r = await json('/v1/alerts/BS-1@x%23opened/ack', 'noc', { method: 'POST' });
    expect(r).toMatchObject({ status: 200, body: { ackState: 'acknowledged', ackBy: 'noc-anna' } });
    expect((await json('/v1/alerts', 'noc')).body.items[0]).toMatchObject({ perceivedSeverity: 'major', ackState: 'acknowledged', ackBy: 'noc-anna' });
    expect((await json('/v1/alerts/nope/ack', 'noc', { method: 'POST' })).status).toBe(404);
  });

  it('limits requests per token, and never logs a token', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await call('/v1/maintenance', 'limited')).status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(40);
    const limited = await call('/v1/maintenance', 'limited');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call('/v1/maintenance', 'noc')).status).toBe(200); // other tokens are not held back
    const all = JSON.stringify(logs);
    for (const t of Object.values(TOKENS)) expect(all).not.toContain(t);
  });
});

describe('the HTTP API under hostile clients', () => {
  it('checks the token before reading a body, and refuses an address that keeps failing', async () => {
    // The failure limit counts per minute: a clock that stands still keeps the test off a minute's edge.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
    const { daemon } = testDaemon({ api: { authFailures: 5, bodyLimit: '4KiB', tokens: [{ name: 'noc-anna', hash: hashToken(TOKENS.noc), roles: ['noc'] }] } }, { clock: { now: () => minute } });
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.apiPort}`;
    try {
      // A body over the limit with no token: 401 (the body is never parsed), not 413 or 400.
      const big = await fetch(`${base}/v1/complaints`, { method: 'POST', body: '{'.repeat(100_000), headers: { 'content-type': 'application/json' } });
      expect(big.status).toBe(401);
      const bogus = await fetch(`${base}/v1/complaints`, { method: 'POST', body: '{"not json', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' } });
      expect(bogus.status).toBe(401);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${base}/v1/outages`, { headers: { authorization: `Bearer guess-${i}` } })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]); // 2 failures above, 3 here: the limit of 5
      // Refused for the rest of the minute, even with a good token: guessing is not worth it.
      const good = await fetch(`${base}/v1/outages`, { headers: { authorization: `Bearer ${TOKENS.noc}` } });
      expect(good.status).toBe(429);
      expect(Number(good.headers.get('retry-after'))).toBeGreaterThan(0);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('netpulse_api_auth_failures_total 5');
      expect(metrics).toContain('netpulse_api_refused_total{code="too_many_failures"} 6');
    } finally {
      await daemon.stop();
    }
  });
});
