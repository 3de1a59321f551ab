import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { injectedApi, type TestClock } from '../helpers/api.ts';
import { smallNetwork } from '../helpers/outages.ts';
import type { FieldValue } from '../../src/sample.ts';
import { alertsOf } from '../../correlators/alerts/repository.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

/**
 * Each noun's routes through `buildApi` + `inject()` over the daemon's own modules and SQLite:
 * status codes, the error code and field for bad input, roles, 404s, paged listings. What needs a
 * socket (the token before the body, streams, body limits, a client going away) stays in api.test.ts.
 */
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 12);
const CALLERS = { noc: ['noc'], wall: ['dashboard'], planner: ['maintenance'], crm: ['complaints'], billing: ['compensation'], admin: ['admin'] } as const;
type Who = keyof typeof CALLERS | undefined;
const yaml = JSON.stringify({ elements: [...smallNetwork().elements.values()] });
// A: only BS-1's cell (no service when BS-1 goes); B: BS-1 or BS-3 (degraded); C: BS-3 only.
const INVENTORY = 'id,tier,service,serving,region,plan,arpu\nA,vip,mobile,BS-1-C1,north,5G-199,199\nB,gold,mobile,BS-1-C2;BS-3-C1,north,5G-99,99\nC,standard,mobile,BS-3-C1,north,4G-29,29\n';

describe('the API through inject', () => {
  const clock: TestClock = { t: T0, now() { return this.t; } };
  let api: Awaited<ReturnType<typeof injectedApi>>;
  let outageId: string;
  const call = (who: Who, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers?: Record<string, string>) => api.call(who, method, url, body, headers);
  const get = (who: Who, url: string) => call(who, 'GET', url);
  /** The error a refusal carried: its status, code and field. */
  const refusal = async (r: Promise<{ status: number; body: any }>) => {
    const { status, body } = await r;
    return { status, code: body?.error?.code, field: body?.error?.field, message: body?.error?.message };
  };
  const samples = (element: string, up: boolean, at: number) => api.daemon.outages.write([1, 2].map((i) => ({
    element, measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: at + i,
  })));

  beforeAll(async () => {
    api = await injectedApi({ topology: yaml, callers: CALLERS, clock, config: { outages: { confirmRecovery: 0 } } });
    expect((await call('admin', 'POST', '/v1/subscribers/import?mode=replace', INVENTORY, { 'content-type': 'text/csv' })).body).toMatchObject({ loaded: 3 });
    // BS-1 down from T0 - 3 h to T0 - 1 h: one outage, closed at once (confirmRecovery 0); A had no service, B was degraded.
    samples('BS-1', false, T0 - 3 * H);
    const [opened] = api.daemon.outages.tick(T0 - 3 * H + 10);
    outageId = opened.outage.id;
    samples('BS-1', true, T0 - H);
    api.daemon.outages.tick(T0 - H + 10);
    api.daemon.outages.tick(T0 - H + 20);
    await vi.waitFor(async () => expect(await outagesOf(api.daemon.store).outage(outageId)).toMatchObject({ state: 'closed', scope: { subscribers: 2 } }), { timeout: 5000, interval: 20 });
  });
  afterAll(() => api?.stop());

  describe('the shell', () => {
    it.each([
      ['a control character in the URL', 'GET', '/v1/outages/a%00b', undefined, 400, 'bad_request', 'the URL carries control characters'],
      ['bad percent-encoding', 'GET', '/v1/subscribers/%E0%A4%A', undefined, 400, 'bad_request', 'the URL is not valid percent-encoding'],
      ['an id over 100 characters', 'GET', `/v1/elements/${'x'.repeat(101)}`, undefined, 414, 'uri_too_long', 'an id in the URL is over 100 characters'],
      ['a NUL in a JSON body', 'POST', '/v1/maintenance', { id: 'W', elements: ['BS-1'], start: 'a\u0000', end: 'b' }, 400, 'bad_request', 'body $.start: text with a NUL character (\\u0000) is not accepted'],
      ['a body that is not JSON', 'POST', '/v1/complaints', '{"id": ', 400, 'bad_request', undefined],
    ] as const)('refuses %s before any route runs', async (_what, method, url, body, status, code, message) => {
      const who = method === 'POST' && url === '/v1/complaints' ? 'crm' : 'planner';
      const r = await refusal(call(who, method, url, body, typeof body === 'string' ? { 'content-type': 'application/json' } : {}));
      expect(r).toMatchObject({ status, code });
      if (message) expect(r.message).toBe(message);
    });

    it.each([
      // A dashboard reads what noc may read, and acknowledges alerts; nothing else.
      ['wall', 'GET', '/v1/elements', 200],
      ['wall', 'GET', '/v1/maintenance', 200],
      ['wall', 'POST', '/v1/maintenance', 403],
      ['wall', 'POST', '/v1/alerts/nope/ack', 404],
      ['wall', 'POST', '/v1/suspected-outages/nope/dismiss', 403],
      // Admin may do everything.
      ['admin', 'DELETE', '/v1/maintenance/nope', 404],
      ['admin', 'POST', '/v1/outages/nope/compensation/settle', 404],
      // Credits: read by noc, complaints and compensation; settled by compensation; force majeure by maintenance.
      ['crm', 'GET', '/v1/credits', 200],
      ['noc', 'POST', '/v1/outages/nope/compensation/settle', 403],
      ['billing', 'PUT', '/v1/outages/nope/force-majeure', 403],
    ] as const)('%s: %s %s is %i', async (who, method, url, status) => {
      expect((await call(who, method, url)).status).toBe(status);
    });
  });

  describe('outages and maintenance windows', () => {
    it('shows the outage and finds it by element and period', async () => {
      const one = await get('crm', `/v1/outages/${encodeURIComponent(outageId)}`);
      expect(one).toMatchObject({ status: 200, body: { state: 'closed', rootCause: { id: 'BS-1', kind: 'base_station' }, affectedSubscribers: { subscribers: 2, noService: 1, degraded: 1 } } });
      expect((await get('noc', `/v1/outages?element=BS-1-C1&from=${T0 - 4 * H}&to=${new Date(T0).toISOString()}`)).body.items.map((o: any) => o.id)).toEqual([outageId]);
      expect((await get('noc', `/v1/outages?from=${T0 - 30 * 60_000}`)).body).toEqual({ items: [], nextCursor: null });
      expect(await refusal(get('noc', '/v1/outages?limit=501'))).toMatchObject({ status: 400, code: 'bad_request', field: 'limit' });
    });

    it.each([
      ['an unknown field', { colour: 'red' }, 'colour', 'body colour: unknown field'],
      ['no elements nor sites', { elements: undefined }, 'elements', 'body elements: name elements or sites'],
      ['a bad id', { id: 'a b' }, 'id', 'body id: use letters, digits and _ . : - only'],
      ['a start too far ahead', { start: new Date(T0 + 400 * 24 * H).toISOString(), end: new Date(T0 + 400 * 24 * H + H).toISOString() }, 'start', 'body start: more than 366 d ahead'],
      ['a time without offset', { start: '2026-11-02T13:00:00' }, 'start', undefined],
    ])('refuses a window with %s, naming the field', async (_what, change, field, message) => {
      const w = { id: 'CHG-1', elements: ['BS-2'], start: new Date(T0 + H).toISOString(), end: new Date(T0 + 2 * H).toISOString(), ...change };
      const r = await refusal(call('planner', 'POST', '/v1/maintenance', w));
      expect(r).toMatchObject({ status: 400, code: 'bad_request', field });
      if (message) expect(r.message).toBe(message);
    });

    it('lists windows by start, bounded by limit, and takes a site as well as elements', async () => {
      for (const [id, h] of [['W-2', 2], ['W-1', 1], ['W-3', 3]] as const) {
        const w = { id, sites: ['s2'], start: new Date(T0 + h * H).toISOString(), end: new Date(T0 + (h + 1) * H).toISOString() };
        expect((await call('planner', 'POST', '/v1/maintenance', w)).status).toBe(201);
      }
      const page = await get('noc', '/v1/maintenance?limit=2');
      expect(page.body.items.map((w: any) => [w.id, w.sites, w.createdBy])).toEqual([['W-1', ['s2'], 'planner'], ['W-2', ['s2'], 'planner']]);
      expect(page.body.more).toBe(true);
      expect((await get('noc', '/v1/maintenance')).body).toMatchObject({ more: false, items: [{ id: 'W-1' }, { id: 'W-2' }, { id: 'W-3' }] });
      expect(await refusal(get('noc', '/v1/maintenance?days=0'))).toMatchObject({ status: 400, field: 'days' });
      for (const id of ['W-1', 'W-2', 'W-3']) expect((await call('planner', 'DELETE', `/v1/maintenance/${id}`)).status).toBe(204);
    });
  });

  describe('elements', () => {
    it('filters elements by region, site, kind and state, and refuses a bad filter naming it', async () => {
      const ids = async (q: string) => (await get('noc', `/v1/elements${q}`)).body.items.map((e: any) => e.id);
      expect(await ids('?site=s3')).toEqual(['BS-3', 'BS-3-C1', 'BS-3-C2']);
      expect(await ids('?site=s3&kind=cell')).toEqual(['BS-3-C1', 'BS-3-C2']);
      expect(await ids('?state=down')).toEqual([]);
      expect(await ids('?region=south')).toEqual([]);
      expect((await get('noc', '/v1/elements?state=up')).body.items.map((e: any) => e.id)).toContain('BS-1');
      expect(await refusal(get('noc', '/v1/elements?state=broken'))).toMatchObject({ status: 400, field: 'state' });
      expect(await refusal(get('noc', '/v1/elements?kind='))).toMatchObject({ status: 400, field: 'kind' });
    });

    it("answers an element's availability over the outage, and 404 for an unknown site before a bad period", async () => {
      const a = await get('noc', `/v1/elements/BS-1/availability?from=${T0 - 4 * H}&to=${T0}`);
      expect(a.body).toMatchObject({ element: 'BS-1', downtimeMs: 2 * H, availabilityPercent: 50 });
      expect((await get('noc', `/v1/elements/nope/availability?from=x`)).status).toBe(404); // the element is looked up first
      expect(await refusal(get('noc', `/v1/sites/s1/availability?from=${T0}`))).toMatchObject({ status: 400, field: 'to' });
      expect((await get('noc', `/v1/sites/nowhere/availability?from=${T0 - H}&to=${T0}`)).status).toBe(404);
    });
  });

  describe('subscriber impact', () => {
    it('pages who the outage hit, filtered by kind and tier', async () => {
      const url = `/v1/outages/${encodeURIComponent(outageId)}/subscribers`;
      const p1 = await get('crm', `${url}?limit=1`);
      expect(p1.body.items).toEqual([{ subscriberId: 'A', tier: 'vip', service: 'mobile', region: 'north', kind: 'no_service', since: expect.any(String), until: expect.any(String) }]);
      const p2 = await get('crm', `${url}?limit=1&cursor=${p1.body.nextCursor}`);
      expect(p2.body).toMatchObject({ items: [{ subscriberId: 'B', kind: 'degraded' }], nextCursor: null });
      expect((await get('crm', `${url}?kind=degraded`)).body.items.map((i: any) => i.subscriberId)).toEqual(['B']);
      expect((await get('crm', `${url}?current=true`)).body.items).toEqual([]);
      expect(await refusal(get('crm', `${url}?current=maybe`))).toMatchObject({ status: 400, field: 'current' });
      expect(await refusal(get('crm', `${url}?limit=5001`))).toMatchObject({ status: 400, field: 'limit' });
    });

    it("shows a subscriber's recent impacts within `days`", async () => {
      expect((await get('crm', '/v1/subscribers/A')).body).toMatchObject({ affected: false, worst: null, recent: [{ outageId, kind: 'no_service', root: 'BS-1' }] });
      expect((await get('crm', '/v1/subscribers/C')).body).toMatchObject({ affected: false, recent: [] });
      expect(await refusal(get('crm', '/v1/subscribers/A?days=401'))).toMatchObject({ status: 400, field: 'days' });
    });
  });

  describe('subscriber imports', () => {
    it.each([
      ['a share over 1', '?maxRejected=2', 'maxRejected', 'query maxRejected: '],
      ['an unknown parameter', '?dryRun=true', 'dryRun', 'query dryRun: unknown parameter'],
    ])('refuses %s naming it', async (_what, query, field, message) => {
      const r = await refusal(call('admin', 'POST', `/v1/subscribers/import${query}`, 'id,tier,service,serving\n', { 'content-type': 'text/csv' }));
      expect(r).toMatchObject({ status: 400, code: 'bad_request', field });
      expect(r.message).toContain(message);
    });

    it('takes JSON Lines under each of its names, and refuses another type with 415', async () => {
      for (const type of ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines']) {
        const r = await call('admin', 'POST', '/v1/subscribers/import', '{"id":"D","tier":"standard","service":"mobile","serving":["BS-4-C1"]}\n', { 'content-type': type });
        expect(r.body, type).toMatchObject({ format: 'jsonl', loaded: 1, committed: true });
      }
      expect(await refusal(call('admin', 'POST', '/v1/subscribers/import', 'x', { 'content-type': 'text/plain' }))).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    });
  });

  describe('complaints', () => {
    const complaint = (over: object = {}) => ({ id: 'CMP-1', subscriberId: 'A', channel: 'app', category: 'no_service', reportedAt: new Date(T0 - 2 * H).toISOString(), ...over });

    it('takes a complaint once (201, then 200 duplicate), matched to the outage it fell in', async () => {
      const first = await call('crm', 'POST', '/v1/complaints', complaint());
      expect(first).toMatchObject({ status: 201, body: { id: 'CMP-1', duplicate: false, match: { outageId, impact: 'no_service' }, relatedEntity: [{ id: outageId, role: 'cause' }] } });
      expect(await call('crm', 'POST', '/v1/complaints', complaint())).toMatchObject({ status: 200, body: { duplicate: true } });
      const of = await get('noc', `/v1/outages/${encodeURIComponent(outageId)}/complaints`);
      expect(of.body).toMatchObject({ outageId, troubleTicket: [{ id: 'CMP-1', '@referredType': 'TroubleTicket' }], items: [{ id: 'CMP-1' }] });
      expect((await get('noc', '/v1/outages/nope/complaints')).status).toBe(404);
    });

    it.each([
      ['a bad location', 'location.lat', complaint({ location: { lat: 91, lon: 0 } })],
      ['a missing subscriber', 'subscriberId', { ...complaint(), subscriberId: undefined }],
      ['a control character in an id', 'id', complaint({ id: 'a\u0007b' })],
      ['escalations out of range', 'escalations', complaint({ escalations: 101 })],
    ])('refuses a complaint with %s, naming %s', async (_what, field, body) => {
      expect(await refusal(call('crm', 'POST', '/v1/complaints', body))).toMatchObject({ status: 400, code: 'bad_request', field });
    });

    it('takes a batch item by item, and refuses an empty or oversized batch', async () => {
      const r = await call('crm', 'POST', '/v1/complaints/batch', { items: [complaint({ id: 'CMP-2' }), { ...complaint({ id: 'CMP-3' }), colour: 'red' }, 'not an object'] });
      expect(r.body).toMatchObject({ accepted: 1, rejected: 2, items: [{ index: 0, duplicate: false }, { index: 1, error: { field: 'colour' } }, { index: 2, error: { code: 'bad_request' } }] });
      expect(await refusal(call('crm', 'POST', '/v1/complaints/batch', { items: [] }))).toMatchObject({ status: 400, field: 'items' });
      expect(await refusal(call('crm', 'POST', '/v1/complaints/batch', { items: Array.from({ length: 1001 }, () => ({})) }))).toMatchObject({ status: 400, field: 'items' });
    });

    it('records handling, refuses an empty or unknown change, and 404s an unknown complaint', async () => {
      const r = await call('crm', 'PATCH', '/v1/complaints/CMP-1', { firstResponseAt: new Date(T0).toISOString(), satisfied: true });
      expect(r).toMatchObject({ status: 200, body: { handling: { firstResponseAt: new Date(T0).toISOString(), satisfied: true } } });
      expect(await refusal(call('crm', 'PATCH', '/v1/complaints/CMP-1', {}))).toMatchObject({ status: 400, field: 'firstResponseAt', message: 'body firstResponseAt: name at least one field' });
      expect(await refusal(call('crm', 'PATCH', '/v1/complaints/CMP-1', { state: 'closed' }))).toMatchObject({ status: 400, field: 'state' });
      expect((await call('crm', 'PATCH', '/v1/complaints/nope', { satisfied: false })).status).toBe(404);
      expect((await get('noc', '/v1/complaints/CMP-1')).body).toMatchObject({ id: 'CMP-1', handling: { satisfied: true } });
    });

    it('lists suspected outages by state and 404s dismissing an unknown one', async () => {
      expect(await get('noc', '/v1/suspected-outages?state=dismissed')).toMatchObject({ status: 200, body: { items: [] } });
      expect(await refusal(get('noc', '/v1/suspected-outages?state=open'))).toMatchObject({ status: 400, field: 'state' });
      expect((await call('noc', 'POST', '/v1/suspected-outages/nope/dismiss')).status).toBe(404);
    });
  });

  describe('compensation', () => {
    it('settles the closed outage and pages its credits by ledger cursor', async () => {
      expect((await get('noc', `/v1/outages/${encodeURIComponent(outageId)}/compensation/preview`)).status).toBe(200);
      const settled = await call('billing', 'POST', `/v1/outages/${encodeURIComponent(outageId)}/compensation/settle`);
      expect(settled.status).toBe(200);
      const all = await get('noc', `/v1/credits?outage=${encodeURIComponent(outageId)}`); // noc only looks
      expect(all.body.items.length).toBeGreaterThan(0);
      const seen: string[] = [];
      let after = '';
      for (let i = 0; i < 10; i++) {
        const p = await get('billing', `/v1/credits?limit=1&after=${after}`);
        expect(p.status).toBe(200);
        seen.push(...p.body.items.map((c: any) => c.id));
        after = p.body.nextCursor;
        if (!p.body.hasMore) break;
      }
      expect(seen).toEqual(all.body.items.map((c: any) => c.id));
      expect((await get('billing', `/v1/credits?after=${after}`)).body).toEqual({ items: [], nextCursor: after, hasMore: false });
      const one = await get('billing', `/v1/credits/${encodeURIComponent(seen[0])}?format=tmf678`);
      expect(one).toMatchObject({ status: 200, body: { id: seen[0] } });
      const c = await get('noc', `/v1/outages/${encodeURIComponent(outageId)}/compensation`);
      expect(c.body).toMatchObject({ outageId, state: 'closed', forceMajeure: null, settlement: { final: true } });
    });

    it.each([
      ['/v1/credits?after=abc', 'after', 'query after: not a cursor from a previous page'],
      ['/v1/credits?after=5&cursor=6', 'after', 'query after: give after or cursor, not two different ones'],
      ['/v1/credits?state=computed,lost', 'state[1]', undefined],
      ['/v1/credits?format=csv', 'format', undefined],
      ['/v1/credits/x?format=csv', 'format', undefined],
      ['/v1/compensation/totals?from=2026-1-1', 'from', 'query from: expected YYYY-MM-DD'],
      ['/v1/compensation/totals?by=week', 'by', undefined],
    ])('refuses GET %s naming %s', async (url, field, message) => {
      const r = await refusal(get('billing', url));
      expect(r).toMatchObject({ status: 400, code: 'bad_request', field });
      if (message) expect(r.message).toBe(message);
    });

    it('takes confirmations only with an Idempotency-Key and a good body, and says which credits it does not know', async () => {
      const key = { 'idempotency-key': 'job-run-0001' };
      expect(await refusal(call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: 'x', outcome: 'applied' }] }))).toMatchObject({ status: 400, field: 'Idempotency-Key' });
      expect(await refusal(call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: 'x', outcome: 'lost' }] }, key))).toMatchObject({ status: 400, field: 'confirmations[0].outcome' });
      expect(await refusal(call('billing', 'POST', '/v1/credits/confirm', { confirmations: [] }, key))).toMatchObject({ status: 400, field: 'confirmations' });
      expect(await call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: 'nope', outcome: 'applied' }] }, key)).toMatchObject({ status: 200, body: { results: [{ id: 'nope', result: 'not_found' }] } });
      expect(await refusal(call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: 'nope', outcome: 'failed' }] }, key))).toMatchObject({ status: 422, code: 'idempotency_conflict' });
      expect(await call('billing', 'POST', '/v1/credits/retry', { ids: ['nope'] })).toMatchObject({ status: 200, body: { retried: 0 } });
    });

    it('answers 404 for an unknown outage or credit, and refuses force majeure without a reason', async () => {
      for (const url of ['/v1/outages/nope/compensation', '/v1/outages/nope/compensation/preview', '/v1/credits/nope', '/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/nope']) {
        expect(await refusal(get('billing', url)), url).toMatchObject({ status: 404, code: 'not_found' });
      }
      expect((await call('planner', 'DELETE', '/v1/outages/nope/force-majeure')).status).toBe(404);
      expect(await refusal(call('planner', 'PUT', `/v1/outages/${encodeURIComponent(outageId)}/force-majeure`, { reason: 'no' }))).toMatchObject({ status: 400, field: 'reason' });
    });
  });

  describe('alerts', () => {
    it('acknowledges the outage alert with the caller name, and refuses a bad page', async () => {
      const page = await get('noc', `/v1/alerts?outage=${encodeURIComponent(outageId)}`);
      expect(page.body.items.length).toBeGreaterThan(0);
      const ack = await call('wall', 'POST', `/v1/alerts/${encodeURIComponent(page.body.items[0].id)}/ack`);
      expect(ack).toMatchObject({ status: 200, body: { ackState: 'acknowledged', ackBy: 'wall', ackTime: new Date(T0).toISOString() } });
      expect(await refusal(get('noc', '/v1/alerts?outage='))).toMatchObject({ status: 400, field: 'outage' });
      expect(await refusal(get('noc', '/v1/alerts?cursor=%21%21'))).toMatchObject({ status: 400, field: 'cursor' });
      expect(await refusal(get('noc', '/v1/alerts?limit=1001'))).toMatchObject({ status: 400, field: 'limit' });
    });
  });
});

describe('paged listings through inject', () => {
  it('pages elements by cursor with a default limit', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `BS-${String(i).padStart(4, '0')}`);
    const api = await injectedApi({ topology: `elements:\n${ids.map((id) => `  - { id: ${id}, kind: base_station, site: ${id} }\n`).join('')}`, callers: { noc: ['noc'] } });
    try {
      const get = async (q: string) => (await api.call('noc', 'GET', `/v1/elements${q}`)).body as any;
      const first = await get('');
      expect(first.items).toHaveLength(1000);
      const seen = first.items.map((e: any) => e.id);
      for (let cursor = first.nextCursor; cursor;) {
        const page = await get(`?limit=700&cursor=${cursor}`);
        seen.push(...page.items.map((e: any) => e.id));
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(ids);
      expect((await get('?cursor=NOPE')).error.field).toBe('cursor');
      expect((await get('?limit=100000')).error.field).toBe('limit');
    } finally {
      await api.stop();
    }
  });

  it('pages alerts newest first by cursor instead of answering every alert ever stored', async () => {
    const api = await injectedApi({ topology: 'elements:\n  - { id: CORE-1, kind: core, site: dc1 }\n', callers: { noc: ['noc'] } });
    try {
      for (let i = 0; i < 250; i++) {
        await alertsOf(api.daemon.store).saveAlert({ id: `a${String(i).padStart(3, '0')}`, outageId: 'X@1', event: 'opened', raisedAt: T0 + i, body: { id: `a${String(i).padStart(3, '0')}` }, ackState: 'unacknowledged' });
      }
      const get = async (q: string) => (await api.call('noc', 'GET', `/v1/alerts${q}`)).body as any;
      const first = await get('');
      expect(first.items).toHaveLength(100); // the default limit
      expect(first.items.at(-1).id).toBe('a249');
      const seen = [...first.items.map((a: any) => a.id)];
      for (let cursor = first.nextCursor; cursor;) {
        const page = await get(`?cursor=${cursor}`);
        seen.unshift(...page.items.map((a: any) => a.id));
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => `a${String(i).padStart(3, '0')}`));
      expect((await get('?limit=5000')).error.field).toBe('limit');
    } finally {
      await api.stop();
    }
  });
});
