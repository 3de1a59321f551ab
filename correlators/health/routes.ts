import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { RecentSeries } from '../../src/measurements/recent.ts';
import type { ElementHealth } from './tracker.ts';
import { ApiError, iso, type RouteContext } from '../../src/api/http.ts';
import { ok, page } from '../../src/api/openapi.ts';
import { healthOf } from './repository.ts';

export interface HealthRouteDeps {
  store: Store;
  topology: () => Topology;
  health: (element: string) => ElementHealth | undefined;
  /** An element's recent measurements (kept in memory by the daemon). */
  recent: (element: string) => RecentSeries[];
  /** The open and cleared outages an element is the root of or in (at most 50). */
  activeOutages: (element: string) => Promise<{ id: string; root: string; severity: string; state: string }[]>;
}

const elementsQuery = z.strictObject({
  region: z.string().min(1).optional().describe('of one region'),
  site: z.string().min(1).optional().describe('of one site'),
  kind: z.string().min(1).optional().describe('of one kind'),
  state: z.enum(['up', 'degraded', 'down', 'unknown']).optional().describe('in one state'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe('page size (1000)'),
  cursor: z.string().min(1).max(300).optional().describe('nextCursor of the previous page (an element id)'),
});

/** Elements with their health (`/v1/elements`), and one element whole. */
export function healthRoutes({ route, now, roles }: RouteContext, d: HealthRouteDeps): void {
  const { READ } = roles;
  route({
    method: 'GET', url: '/v1/elements', leader: true, roles: READ, query: elementsQuery,
    summary: 'Every element with its current health (what the dashboard colours)', responses: ok('A page of elements', page({ type: 'object' })),
  }, async (_req, _reply, input) => {
    const q = input.query();
    const items = [];
    let more = false;
    // Topology order is stable between reloads of the same file; the cursor is the last id shown.
    let skipping = q.cursor !== undefined;
    for (const e of d.topology().elements.values()) {
      if (skipping) {
        skipping = e.id !== q.cursor;
        continue;
      }
      if ((q.region && e.region !== q.region) || (q.site && e.site !== q.site) || (q.kind && e.kind !== q.kind)) continue;
      const h = d.health(e.id);
      const state = h?.state ?? 'unknown';
      if (q.state && state !== q.state) continue;
      if (items.length === q.limit) {
        more = true;
        break;
      }
      items.push({ id: e.id, kind: e.kind, site: e.site, region: e.region, parents: e.parents, state, since: iso(h?.since) ?? null, reason: h?.reason ?? null });
    }
    if (skipping) throw new ApiError(400, 'bad_request', 'query cursor: no such element (the topology changed?); start again without a cursor', 'cursor');
    return { items, nextCursor: more ? items.at(-1)!.id : null };
  });

  route({
    method: 'GET', url: '/v1/elements/:id', leader: true, roles: READ,
    summary: "An element's place, health, recent measurements, recent transitions and active outages", responses: ok('The element'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const e = d.topology().elements.get(id);
    if (!e) throw new ApiError(404, 'not_found', `no element ${id}`);
    const h = d.health(id);
    const transitions = await healthOf(d.store).transitions(id, now() - 7 * 86_400_000);
    const active = await d.activeOutages(id);
    return {
      ...e, health: h ? { state: h.state, since: iso(h.since), reason: h.reason } : { state: 'unknown', since: null, reason: 'no data yet' },
      recentTransitions: transitions.slice(-50).map((t) => ({ from: t.from, to: t.to, at: iso(t.at), reason: t.reason })),
      activeOutages: active.map((o) => ({ id: o.id, root: o.root, severity: o.severity, state: o.state })),
      measurements: d.recent(id).map((m) => ({
        measurement: m.measurement, tags: m.tags, time: iso(m.time), latest: m.latest,
        history: Object.fromEntries(Object.entries(m.history).map(([f, pts]) => [f, pts.map(([t, v]) => ({ time: iso(t), value: v }))])),
        trend: Object.fromEntries(Object.entries(m.trend).map(([f, pts]) => [f, pts.map(([t, v]) => ({ time: iso(t), value: v }))])),
      })),
    };
  });
}
