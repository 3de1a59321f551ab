import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { StoredOutage } from './repository.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { MaintenanceWindow } from './outage.ts';
import { ApiError, parse, iso, time, span, encodeCursor, decodeCursor, callerOf, type RouteContext } from '../../src/api/http.ts';
import { outagesOf } from './repository.ts';

export interface OutageRouteDeps {
  store: Store;
  topology: () => Topology;
  /** Called after maintenance windows changed, so the correlator sees them. */
  maintenanceChanged: () => Promise<void>;
  /** Bounds on maintenance windows posted here. */
  maintenance?: { maxLengthMs: number; maxPastMs: number; maxAheadMs: number };
}

const outageQuery = z.strictObject({
  state: z.enum(['open', 'cleared', 'closed', 'active']).optional(),
  element: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional(),
});
const period = z.strictObject({ from: time, to: time }).refine((p) => p.to > p.from, { message: 'must be after from', path: ['to'] });
const maintenanceBody = z.strictObject({
  id: z.string().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only'),
  elements: z.array(z.string().min(1)).max(10_000).optional(),
  sites: z.array(z.string().min(1)).max(10_000).optional(),
  start: z.iso.datetime({ offset: true }),
  end: z.iso.datetime({ offset: true }),
  reason: z.string().max(1000).optional(),
}).refine((w) => Date.parse(w.end) > Date.parse(w.start), { message: 'must be after start', path: ['end'] })
  .refine((w) => (w.elements?.length ?? 0) + (w.sites?.length ?? 0) > 0, { message: 'name elements or sites', path: ['elements'] });

/** An outage as the API shows it: times in ISO-8601, the root and impacted elements with their place. */
export function outageView(o: StoredOutage, topology: Topology) {
  const el = (id: string) => {
    const e = topology.elements.get(id);
    return e ? { id, kind: e.kind, site: e.site, region: e.region } : { id };
  };
  return {
    id: o.id, state: o.state, severity: o.severity, planned: o.planned, flapping: o.flapping, reopened: o.reopened,
    rootCause: { ...el(o.root), reason: o.reason, inferred: o.inferred ?? false },
    startedAt: iso(o.startedAt), clearedAt: iso(o.clearedAt), closedAt: iso(o.closedAt),
    durationSeconds: Math.round(((o.clearedAt ?? o.closedAt ?? Date.now()) - o.startedAt) / 1000),
    impactedElements: o.impacted.map((i) => ({ ...el(i.element), since: iso(i.since) })),
    affectedSubscribers: o.scope ?? null,
    mergedInto: o.mergedInto,
  };
}

/**
 * The HTTP API, built from its dependencies (no socket until `listen`; tests use `inject`).

/** Outages (`/v1/outages`, `/v1/outages/:id`), maintenance windows (`/v1/maintenance`), and the availability they add up to, by element and site. */
export function outageRoutes({ app, guard, now, roles }: RouteContext, d: OutageRouteDeps): void {
  const { READ, NOC, MAINTENANCE } = roles;
  app.get('/v1/outages', { onRequest: guard(READ) }, async (req) => {
    const q = parse(outageQuery, req.query, 'query');
    const page = await outagesOf(d.store).outages({
      state: q.state, element: q.element, region: q.region, from: q.from, to: q.to, limit: q.limit + 1,
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const more = page.length > q.limit;
    const items = page.slice(0, q.limit);
    return { items: items.map((o) => outageView(o, d.topology())), nextCursor: more ? encodeCursor(items.at(-1)!) : null };
  });

  app.get('/v1/outages/:id', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await outagesOf(d.store).outage(id);
    if (!o) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const history = await outagesOf(d.store).outageHistory(id);
    return { ...outageView(o, d.topology()), history: history.map((h) => ({ event: h.type, at: iso(h.at) })) };
  });

  app.get('/v1/maintenance', { onRequest: guard(NOC) }, async (req) => {
    // Bounded: windows still to come or ended in the last `days` (30), at most `limit` (500), by start.
    const q = parse(z.strictObject({ days: z.coerce.number().int().min(1).max(400).default(30), limit: z.coerce.number().int().min(1).max(5000).default(500) }), req.query, 'query');
    const since = now() - q.days * 86_400_000;
    const all = (await outagesOf(d.store).maintenance()).filter((w) => w.end >= since);
    return { items: all.slice(0, q.limit).map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })), more: all.length > q.limit };
  });

  const bounds = d.maintenance ?? { maxLengthMs: 7 * 86_400_000, maxPastMs: 3_600_000, maxAheadMs: 366 * 86_400_000 };
  app.post('/v1/maintenance', { onRequest: guard(MAINTENANCE) }, async (req, reply) => {
    const b = parse(maintenanceBody, req.body, 'body');
    const topology = d.topology();
    const unknown = (b.elements ?? []).filter((e) => !topology.elements.has(e));
    if (unknown.length > 0) throw new ApiError(400, 'bad_request', `elements: unknown element(s) ${unknown.slice(0, 5).join(', ')}`, 'elements');
    const w: MaintenanceWindow = { id: b.id, elements: b.elements, sites: b.sites, start: Date.parse(b.start), end: Date.parse(b.end), reason: b.reason };
    // Bounded: a window that starts long ago would make a running outage "planned" after the fact.
    // A running window may still be changed (ended early, extended, its reason fixed) as long as
    // the change reaches no earlier and no further into the past: same or later start, no new elements or sites.
    const t = now();
    const before = w.start < t - bounds.maxPastMs ? (await outagesOf(d.store).maintenance()).find((x) => x.id === w.id) : undefined;
    const sameScope = before !== undefined && w.start >= before.start
      && (w.elements ?? []).every((e) => (before.elements ?? []).includes(e)) && (w.sites ?? []).every((x) => (before.sites ?? []).includes(x));
    if (w.start < t - bounds.maxPastMs && !sameScope) {
      throw new ApiError(400, 'bad_request', `body start: more than ${span(bounds.maxPastMs)} in the past${before ? ' (a running window may change, but not start earlier or cover more)' : ''}`, 'start');
    }
    if (w.start > t + bounds.maxAheadMs) throw new ApiError(400, 'bad_request', `body start: more than ${span(bounds.maxAheadMs)} ahead`, 'start');
    if (w.end - w.start > bounds.maxLengthMs) throw new ApiError(400, 'bad_request', `body end: a window may last at most ${span(bounds.maxLengthMs)}`, 'end');
    const created = await outagesOf(d.store).saveMaintenance(w, callerOf(req).name, now());
    await d.maintenanceChanged();
    return reply.code(created ? 201 : 200).send({ ...w, start: b.start, end: b.end });
  });

  app.delete('/v1/maintenance/:id', { onRequest: guard(MAINTENANCE) }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await outagesOf(d.store).deleteMaintenance(id))) throw new ApiError(404, 'not_found', `no maintenance window ${id}`);
    await d.maintenanceChanged();
    return reply.code(204).send();
  });

  app.get('/v1/elements/:id/availability', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    if (!d.topology().elements.has(id)) throw new ApiError(404, 'not_found', `no element ${id}`);
    const p = parse(period, req.query, 'query');
    const a = await outagesOf(d.store).availability(id, p.from, p.to, now());
    return { element: id, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  app.get('/v1/sites/:site/availability', { onRequest: guard(READ) }, async (req) => {
    const { site } = req.params as { site: string };
    const p = parse(period, req.query, 'query');
    const a = await outagesOf(d.store).siteAvailability(site, p.from, p.to, now());
    if (a.elements === 0) throw new ApiError(404, 'not_found', `no site ${site}`);
    return { site, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });
}
