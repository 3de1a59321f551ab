import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';
import type { Outage, OutageEvent } from '../../correlators/outage/outage.ts';

const TOKENS = { noc: 'noc-token-0123456789abcdef', complaints: 'complaints-token-0123456789', admin: 'admin-token-0123456789ab', limited: 'limited-token-0123456789ab' };
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
`);
    const built = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      store: { url: await storeUrl() },
      api: { rateLimit: 40, bodyLimit: '4KiB', tokens: [
        { name: 'noc-anna', hash: hashToken(TOKENS.noc), roles: ['noc'] },
        { name: 'crm', hash: hashToken(TOKENS.complaints), roles: ['complaints'] },
        { name: 'ops-admin', hash: hashToken(TOKENS.admin), roles: ['admin'] },
        { name: 'limited', hash: hashToken(TOKENS.limited), roles: ['noc'] },
      ] },
    });
    daemon = built.daemon;
    logs = built.logs;
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
    for (const e of [...outage('AGG-7', T0 + H, T0 + 2 * H, ['BS-1']), ...outage('AGG-9', T0 + 3 * H, T0 + 4 * H, ['BS-9']), ...outage('BS-1', T0 + 5 * H, undefined, [])]) {
      await daemon.store.recordOutageEvent(e);
    }
    await daemon.store.saveAlert({ id: 'BS-1@x#opened', outageId: `BS-1@${T0 + 5 * H}`, event: 'opened', raisedAt: T0 + 5 * H, body: { id: 'BS-1@x#opened', perceivedSeverity: 'major' }, ackState: 'unacknowledged' });
  });
  afterAll(() => daemon?.stop());

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
  ])('auth: %s is %i', async (_what, path, token, status) => {
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
    const w = { id: 'CHG-7', elements: ['AGG-9'], start: new Date(Date.now() - H).toISOString(), end: new Date(Date.now() + H).toISOString(), reason: 'fibre splice' };
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify(w) })).status).toBe(201);
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify(w) })).status).toBe(200);
    const listed = await json('/v1/maintenance', 'noc');
    expect(listed.body.items).toEqual([{ ...w, sites: [], createdBy: 'noc-anna' }]);
    const bad = await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify({ ...w, end: w.start, start: w.end }) });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'end', message: 'body end: must be after start' } } });
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify({ ...w, id: 'X', elements: ['AGG-99'] }) })).body.error.field).toBe('elements');
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: '{"id": ' })).status).toBe(400);
    expect((await json('/v1/maintenance', 'noc', { method: 'POST', body: JSON.stringify({ ...w, reason: 'x'.repeat(8000) }) })).status).toBe(413);
    // AGG-9 fails now: the outage is recorded, planned.
    const now = Date.now();
    daemon.outages.write([1, 2].map((i) => ({ element: 'AGG-9', measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: false, error: 'timeout' }, time: now + i })));
    const events = daemon.outages.tick(now + 10);
    expect(events.map((e) => [e.type, e.outage.root, e.outage.planned])).toEqual([['opened', 'AGG-9', true]]);
    expect((await json('/v1/maintenance/CHG-7', 'noc', { method: 'DELETE' })).status).toBe(204);
    expect((await json('/v1/maintenance/CHG-7', 'noc', { method: 'DELETE' })).status).toBe(404);
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
