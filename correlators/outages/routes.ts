import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { StoredOutage } from './repository.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { MaintenanceWindow } from './outage.ts';
import { ApiError, iso, time, span, encodeCursor, decodeCursor, callerOf, type RouteContext } from '../../src/api/http.ts';
import { errors, ok, page, ref } from '../../src/api/openapi.ts';
import { outagesOf } from './repository.ts';

export interface OutageRouteDeps {
  store: Store;
  topology: () => Topology;
  /** Called after maintenance windows changed, so the correlator sees them. */
  maintenanceChanged: () => Promise<void>;
  /** Bounds on maintenance windows posted here. */
  maintenance?: { maxLengthMs: number; maxPastMs: number; maxAheadMs: number };
}

const period = z.strictObject({ from: time.describe('start'), to: time.describe('end') }).refine((p) => p.to > p.from, { message: 'must be after from', path: ['to'] });
const outageQuery = z.strictObject({
  state: z.enum(['open', 'cleared', 'closed', 'active']).optional().describe('active = open or cleared'),
  element: z.string().min(1).optional().describe('root or impacted'),
  region: z.string().min(1).optional().describe("the root's region"),
  from: time.optional().describe('overlapping from'),
  to: time.optional().describe('overlapping until'),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe('page size (100)'),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional().describe('nextCursor of the previous page'),
});
/** Bounded: windows still to come or ended in the last `days` (30), at most `limit` (500), by start. */
const maintenanceQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(400).default(30).describe('how far back ended windows go (30)'),
  limit: z.coerce.number().int().min(1).max(5000).default(500).describe('at most (500); `more` says whether there were more'),
});
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
export function outageView(o: StoredOutage, topology: Topology, now: number) {
  const el = (id: string) => {
    const e = topology.elements.get(id);
    return e ? { id, kind: e.kind, site: e.site, region: e.region } : { id };
  };
  return {
    id: o.id, state: o.state, severity: o.severity, planned: o.planned, flapping: o.flapping, reopened: o.reopened,
    rootCause: { ...el(o.root), reason: o.reason, inferred: o.inferred ?? false },
    firstEvidence: o.evidence ? { at: iso(o.evidence.at), reason: o.evidence.reason } : null,
    startedAt: iso(o.startedAt), clearedAt: iso(o.clearedAt), closedAt: iso(o.closedAt),
    durationSeconds: Math.round(((o.clearedAt ?? o.closedAt ?? now) - o.startedAt) / 1000),
    impactedElements: o.impacted.map((i) => ({ ...el(i.element), since: iso(i.since) })),
    affectedSubscribers: o.scope ?? null,
    mergedInto: o.mergedInto,
  };
}

/** Outages (`/v1/outages`, `/v1/outages/:id`), maintenance windows (`/v1/maintenance`), and the availability they add up to, by element and site. */
export function outageRoutes({ route, now, roles }: RouteContext, d: OutageRouteDeps): void {
  const { READ, NOC, MAINTENANCE } = roles;
  route({
    method: 'GET', url: '/v1/outages', roles: READ, query: outageQuery,
    summary: 'Active and past outages, newest first, cursor-paged', responses: ok('A page of outages', page(ref('Outage'))),
  }, async (_req, _reply, input) => {
    const q = input.query();
    const page = await outagesOf(d.store).outages({
      state: q.state, element: q.element, region: q.region, from: q.from, to: q.to, limit: q.limit + 1,
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const more = page.length > q.limit;
    const items = page.slice(0, q.limit);
    return { items: items.map((o) => outageView(o, d.topology(), now())), nextCursor: more ? encodeCursor(items.at(-1)!) : null };
  });

  route({
    method: 'GET', url: '/v1/outages/:id', roles: READ,
    summary: 'One outage: root cause, impacted elements, history', responses: ok('The outage', ref('Outage')),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await outagesOf(d.store).outage(id);
    if (!o) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const history = await outagesOf(d.store).outageHistory(id);
    return { ...outageView(o, d.topology(), now()), history: history.map((h) => ({ event: h.type, at: iso(h.at) })) };
  });

  route({
    method: 'GET', url: '/v1/maintenance', roles: NOC, query: maintenanceQuery,
    summary: 'Maintenance windows still to come or ended in the last `days` (role noc), by start', responses: ok('Windows'),
  }, async (_req, _reply, input) => {
    const q = input.query();
    const since = now() - q.days * 86_400_000;
    const all = (await outagesOf(d.store).maintenance()).filter((w) => w.end >= since);
    return { items: all.slice(0, q.limit).map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })), more: all.length > q.limit };
  });

  const bounds = d.maintenance ?? { maxLengthMs: 7 * 86_400_000, maxPastMs: 3_600_000, maxAheadMs: 366 * 86_400_000 };
  route({
    method: 'POST', url: '/v1/maintenance', roles: MAINTENANCE, body: maintenanceBody,
    summary: 'Create or replace a window (role maintenance): outages inside are planned, not paged. Bounded by api.maintenance: it may start at most maxPast (1 h) ago and maxAhead ahead, and last at most maxLength (7 d). Its announcement time is when it was created, and becomes now again when a change makes it cover more',
    responses: { 201: { description: 'Created' }, ...ok('Replaced') },
  }, async (req, reply, input) => {
    const b = input.body();
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

  route({
    method: 'DELETE', url: '/v1/maintenance/:id', roles: MAINTENANCE,
    summary: 'Remove a window (role maintenance)', responses: { 204: { description: 'Removed' }, ...errors },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await outagesOf(d.store).deleteMaintenance(id))) throw new ApiError(404, 'not_found', `no maintenance window ${id}`);
    await d.maintenanceChanged();
    return reply.code(204).send();
  });

  route({
    method: 'GET', url: '/v1/elements/:id/availability', roles: READ, query: period,
    summary: 'Availability over a period (unplanned outages)', responses: ok('Availability'),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    if (!d.topology().elements.has(id)) throw new ApiError(404, 'not_found', `no element ${id}`);
    const p = input.query();
    const a = await outagesOf(d.store).availability(id, p.from, p.to, now());
    return { element: id, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  route({
    method: 'GET', url: '/v1/sites/:site/availability', roles: READ, query: period,
    summary: "A site's availability: the mean of its elements'", responses: ok('Availability'),
  }, async (req, _reply, input) => {
    const { site } = req.params as { site: string };
    const p = input.query();
    const a = await outagesOf(d.store).siteAvailability(site, p.from, p.to, now());
    if (a.elements === 0) throw new ApiError(404, 'not_found', `no site ${site}`);
    return { site, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });
}
