import { z } from 'zod';
import { ELEMENT_KINDS, type Topology } from '../../src/topology/topology.ts';
import { ApiError, type RouteContext } from '../../src/api/http.ts';
import { ok } from '../../src/api/openapi.ts';
import type { Subscriber } from '../subscribers/parse.ts';
import { STATES, type PlaceIndex } from './places.ts';

export interface PlaceRouteDeps {
  /** The index over the topology in force (rebuilt when it changes). */
  places: () => PlaceIndex;
  topology: () => Topology;
  /** A subscriber from the inventory, by id. */
  subscriber: (id: string) => Promise<Subscriber | undefined>;
  /** The map's outline (GeoJSON), when one is configured. */
  outline: () => unknown;
}

/** A region or site id in a query: printable, bounded. */
const placeName = z.string().min(1).max(200);
const filter = {
  kind: z.enum(ELEMENT_KINDS).optional().describe('count only elements of this kind'),
  state: z.enum(STATES).optional().describe('only places with an element (of that kind) in this state'),
};
const regionsQuery = z.strictObject({ ...filter });
const sitesQuery = z.strictObject({
  ...filter,
  region: placeName.optional().describe('the sites of one region (400 when it is not in the topology)'),
  limit: z.coerce.number().int().min(1).max(20_000).default(500).describe('at most this many sites, worst first (500)'),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe('skip this many (the next page)'),
  form: z.enum(['list', 'map']).default('list').describe('list: objects, worst first; map: rows of `columns`, in topology order (compact: every site of a national network in one page)'),
});
/** The columns of a site in the `map` form. */
export const MAP_COLUMNS = ['site', 'region', 'lat', 'lon', 'up', 'degraded', 'down', 'unknown', 'hitNow'] as const;
const searchQuery = z.strictObject({
  q: z.string().trim().min(1).max(100).describe('part of an element or site id, or a subscriber id (exact)'),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('at most this many of each (20)'),
});

const counts = { type: 'object', properties: Object.fromEntries(STATES.map((s) => [s, { type: 'integer' }])) };
const summary = {
  elements: { type: 'integer' }, counts, hitNow: { type: 'integer', description: 'distinct subscribers an active outage hits now' },
  worst: { enum: [...STATES] },
};
const siteSchema = { type: 'object', properties: { site: { type: 'string' }, region: { type: 'string' }, lat: { type: ['number', 'null'] }, lon: { type: ['number', 'null'] }, ...summary } };

/**
 * Health by place, what the NOC dashboard draws without loading every element: regions and sites
 * summarised (counts by state, subscribers hit now, worst first), one site's elements, a search
 * by element, site or subscriber, and the map's outline.
 */
export function placeRoutes({ route, roles }: RouteContext, d: PlaceRouteDeps): void {
  const { READ } = roles;
  // The sites' answers, serialised, while nothing changed (every site of a national network is megabytes of JSON).
  const cache = new Map<string, string>();
  let cached: { index: PlaceIndex; version: number } | undefined;
  route({
    method: 'GET', url: '/v1/places/regions', leader: true, roles: READ, query: regionsQuery,
    summary: 'Element health by region: counts by state, sites, subscribers hit now; worst first',
    responses: ok('Regions', { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { region: { type: 'string' }, sites: { type: 'integer' }, ...summary } } } } }),
  }, async (_req, _reply, input) => ({ items: d.places().regionSummaries(input.query()) }));

  route({
    method: 'GET', url: '/v1/places/sites', leader: true, roles: READ, query: sitesQuery,
    summary: 'Element health by site (of a region, or all: the map), with its latitude and longitude; worst first',
    responses: ok('Sites: `items` (list), or `columns` and `rows` (map)', { type: 'object', properties: { items: { type: 'array', items: siteSchema }, columns: { type: 'array', items: { type: 'string' } }, rows: { type: 'array', items: { type: 'array' } }, total: { type: 'integer' } } }),
  }, async (_req, reply, input) => {
    const q = input.query();
    const places = d.places();
    if (q.region && !places.hasRegion(q.region)) throw new ApiError(400, 'bad_request', `query region: no region "${q.region}" in the topology`, 'region');
    if (cached?.index !== places || cached.version !== places.version) {
      cache.clear();
      cached = { index: places, version: places.version };
    }
    const key = JSON.stringify(q);
    let body = cache.get(key);
    if (body === undefined) {
      const all = places.siteSummaries(q, q.form === 'list');
      const items = all.slice(q.offset, q.offset + q.limit);
      body = JSON.stringify(q.form === 'list' ? { items, total: all.length }
        : { columns: MAP_COLUMNS, rows: items.map((x) => [x.site, x.region, x.lat, x.lon, x.counts.up, x.counts.degraded, x.counts.down, x.counts.unknown, x.hitNow]), total: all.length });
      if (cache.size >= 64) cache.delete(cache.keys().next().value!);
      cache.set(key, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  });

  route({
    method: 'GET', url: '/v1/places/sites/:site', leader: true, roles: READ, params: { site: 'a site id (an element naming no site is its own site)' },
    summary: "A site's summary and its elements with their health",
    responses: ok('The site', { type: 'object', properties: { ...siteSchema.properties, elements: { type: 'array', items: { type: 'object' } } } }),
  }, async (req) => {
    const { site } = req.params as { site: string };
    const places = d.places();
    const s = places.site(site);
    if (!s) throw new ApiError(404, 'not_found', `no site ${site}`);
    const topology = d.topology();
    return { ...s.summary, elements: s.members.map((id) => ({ ...topology.elements.get(id)!, state: places.stateOf(id) ?? 'unknown' })) };
  });

  route({
    method: 'GET', url: '/v1/places/search', leader: true, roles: READ, query: searchQuery,
    summary: 'Find an element or a site by part of its id, or a subscriber by id (with the elements that serve them)',
    responses: ok('Matches', { type: 'object', properties: { elements: { type: 'array' }, sites: { type: 'array', items: siteSchema }, subscriber: { type: ['object', 'null'] } } }),
  }, async (_req, _reply, input) => {
    const q = input.query();
    const places = d.places();
    const found = places.search(q.q, q.limit);
    const sub = await d.subscriber(q.q);
    const topology = d.topology();
    const place = (id: string) => {
      const e = topology.elements.get(id);
      return e ? { id, kind: e.kind, site: places.siteIdOf(id), region: e.region ?? null, state: places.stateOf(id) ?? 'unknown' } : { id, kind: null, site: null, region: null, state: 'unknown' };
    };
    return {
      elements: found.elements.map((e) => place(e.id)),
      sites: found.sites,
      subscriber: sub ? { id: sub.id, tier: sub.tier, service: sub.service, region: sub.region ?? null, serving: sub.serving.map(place) } : null,
    };
  });

  route({
    method: 'GET', url: '/v1/places/outline', roles: READ,
    summary: "The map's outline (GeoJSON: the operator's country or region), as configured in topology.outline",
    responses: ok('GeoJSON', { type: 'object' }),
  }, async () => {
    const o = d.outline();
    if (!o) throw new ApiError(404, 'not_found', 'no map outline configured (topology.outline)');
    return o;
  });
}
