import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { injectedApi } from '../helpers/api.ts';

const TOPOLOGY = `elements:
  - { id: CORE-1, kind: core, site: dc1, region: north, lat: 45.1, lon: 9.2 }
  - { id: AGG-1, kind: aggregation, site: hub-1, region: north, parents: [CORE-1], lat: 45.3, lon: 9.0 }
  - { id: BS-1, kind: base_station, site: site-1, region: north, parents: [AGG-1], lat: 45.4, lon: 9.1 }
  - { id: BS-1-C1, kind: cell, site: site-1, region: north, parents: [BS-1] }
  - { id: AGG-2, kind: aggregation, site: hub-2, region: south, parents: [CORE-1], lat: 40.8, lon: 14.2 }
  - { id: BS-2, kind: base_station, site: site-2, region: south, parents: [AGG-2], lat: 40.9, lon: 14.3 }
  - { id: BS-2-C1, kind: cell, site: site-2, region: south, parents: [BS-2] }
`;

/** The summaries the dashboard reads instead of every element: by region, by site, one site, search. */
describe('health by place over the API', () => {
  let api: Awaited<ReturnType<typeof injectedApi>>;
  const get = (url: string) => api.call('noc', 'GET', url);

  beforeAll(async () => {
    api = await injectedApi({ topology: TOPOLOGY, callers: { noc: ['noc'], admin: ['admin'] }, api: { authFailures: 10_000 } });
    const r = await api.call('admin', 'POST', '/v1/subscribers/import', 'id,tier,service,serving\nSUB-1,gold,mobile,BS-2-C1\nSUB-2,standard,mobile,BS-2-C1\nSUB-3,standard,mobile,BS-1-C1\n', { 'content-type': 'text/csv' });
    expect(r.status).toBe(200);
    // Everything answers; then the south's switch stops answering.
    const t = api.clock.now();
    const check = (element: string, verdict: 'ok' | 'fail', time: number) => ({ element, source: 'snmp', time, verdict, reason: verdict === 'ok' ? 'snmp: answered' : 'snmp: Request timed out' });
    const all = ['CORE-1', 'AGG-1', 'BS-1', 'BS-1-C1', 'AGG-2', 'BS-2', 'BS-2-C1'];
    for (const dt of [0, 1000]) api.daemon.outages.ingest(all.map((e) => check(e, 'ok', t + dt)));
    for (const dt of [2000, 3000]) api.daemon.outages.ingest(['AGG-2', 'BS-2', 'BS-2-C1'].map((e) => check(e, 'fail', t + dt)));
    api.clock.t = t + 4000;
    api.daemon.outages.tick(api.clock.t);
  });
  afterAll(() => api?.stop());

  it('summarises regions worst first, with the subscribers hit now', async () => {
    await expect.poll(async () => (await get('/v1/places/regions')).body.items[0].hitNow, { timeout: 10_000 }).toBe(2);
    const { body } = await get('/v1/places/regions');
    expect(body.items.map((r: any) => [r.region, r.sites, r.worst, r.counts.down, r.counts.up])).toEqual([['south', 2, 'down', 3, 0], ['north', 3, 'up', 0, 4]]);
    expect((await get('/v1/places/regions?kind=cell&state=up')).body.items.map((r: any) => [r.region, r.elements])).toEqual([['north', 1]]);
  });

  it('lists sites worst first with their place on the map, a page at a time', async () => {
    const { body } = await get('/v1/places/sites?region=south');
    expect(body.total).toBe(2);
    expect(body.items.map((s: any) => [s.site, s.worst, s.lat, s.lon])).toEqual([['site-2', 'down', 40.9, 14.3], ['hub-2', 'down', 40.8, 14.2]]);
    expect(body.items[0].hitNow).toBe(2);
    // The map's form: every site as a row of columns, compact.
    const map = await get('/v1/places/sites?form=map&region=south');
    expect(map.body).toEqual({ columns: ['site', 'region', 'lat', 'lon', 'up', 'degraded', 'down', 'unknown', 'hitNow'], rows: [['hub-2', 'south', 40.8, 14.2, 0, 0, 1, 0, 0], ['site-2', 'south', 40.9, 14.3, 0, 0, 2, 0, 2]], total: 2 });
    const second = await get('/v1/places/sites?limit=1&offset=1');
    expect(second.body).toMatchObject({ total: 5, items: [{ site: 'hub-2' }] });
  });

  it('shows one site with its elements, and finds elements, sites and subscribers', async () => {
    const site = await get('/v1/places/sites/site-2');
    expect(site.body.elements.map((e: any) => [e.id, e.state])).toEqual([['BS-2', 'down'], ['BS-2-C1', 'down']]);
    expect((await get('/v1/places/search?q=bs-1')).body.elements.map((e: any) => e.id)).toEqual(['BS-1', 'BS-1-C1']);
    expect((await get('/v1/places/search?q=hub')).body.sites.map((s: any) => s.site)).toEqual(['hub-1', 'hub-2']);
    // A subscriber's search opens what serves them.
    const sub = await get('/v1/places/search?q=SUB-1');
    expect(sub.body.subscriber).toMatchObject({ id: 'SUB-1', tier: 'gold', serving: [{ id: 'BS-2-C1', site: 'site-2', region: 'south', state: 'down' }] });
    expect((await get('/v1/places/search?q=nobody')).body).toEqual({ elements: [], sites: [], subscriber: null });
  });

  it.each([
    ['an unknown region', '/v1/places/sites?region=atlantis', 'region'],
    ['an unknown kind', '/v1/places/regions?kind=router', 'kind'],
    ['an unknown state', '/v1/places/sites?state=burning', 'state'],
    ['a huge page', '/v1/places/sites?limit=99999999', 'limit'],
    ['a negative offset', '/v1/places/sites?offset=-1', 'offset'],
    ['an unknown form', '/v1/places/sites?form=csv', 'form'],
    ['an unknown parameter', '/v1/places/regions?order=asc', undefined],
    ['a search too long', `/v1/places/search?q=${'x'.repeat(101)}`, 'q'],
    ['an empty search', '/v1/places/search?q=%20', 'q'],
    ['a region name past 200 characters', `/v1/places/sites?region=${'r'.repeat(5000)}`, 'region'],
  ])('refuses %s with a 400 naming the field', async (_what, url, field) => {
    const r = await get(url);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_request');
    if (field) expect(r.body.error.field).toBe(field);
  });

  it('takes hostile search text as text', async () => {
    for (const q of ["'; DROP TABLE subscribers; --", '%', '_', '<script>alert(1)</script>', '\\', '(((', '*']) {
      const r = await get(`/v1/places/search?q=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(200);
      expect(r.body).toEqual({ elements: [], sites: [], subscriber: null });
    }
    expect((await get('/v1/places/search?q=%00')).status).toBe(400); // control characters never reach a route
    expect((await get('/v1/places/sites/nowhere')).status).toBe(404);
    expect((await api.call(undefined, 'GET', '/v1/places/regions')).status).toBe(401);
  });
});
