import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { ComplaintService, StoredComplaint } from './service.ts';
import { complaintSchema, parseComplaint, toComplaint } from './schema.ts';
import { checkTime, describeRefusal, type TimeWindow } from '../../src/intake/time.ts';
import { ApiError, iso, type RouteContext } from '../../src/api/http.ts';
import { ok } from '../../src/api/openapi.ts';
import { outagesOf } from '../outages/repository.ts';

export interface ComplaintRouteDeps {
  store: Store;
  complaints: ComplaintService;
  /** The window times from outside must fall in (complaints, handling times). */
  times?: { aheadMs: number; complaintPastMs: number };
}

/** A complaint as the API shows it; the outage link in the manner of TMF621's relatedEntity. */
function complaintView(c: StoredComplaint) {
  return {
    id: c.id, subscriberId: c.subscriberId, channel: c.channel, category: c.category, text: c.text, cell: c.cell, location: c.location,
    reportedAt: iso(c.reportedAt), receivedAt: iso(c.receivedAt), status: c.status,
    grade: c.grade, gradeReasons: c.gradeReasons, responseDue: iso(c.respondBy), resolutionDue: iso(c.resolveBy),
    customer: { tier: c.tier ?? null, arpu: c.arpuMinor === undefined ? null : c.arpuMinor / 100, plan: c.plan ?? null, complaintsLast30Days: c.previous30d, escalations: c.escalations },
    match: c.match ? { outageId: c.match.outageId, impact: c.match.kind, confidence: c.match.confidence, matchedAt: iso(c.matchedAt) } : null,
    explanation: c.reasons,
    relatedEntity: c.match ? [{ id: c.match.outageId, role: 'cause', '@referredType': 'ServiceProblem' }] : [],
    restoredAt: iso(c.restoredAt),
    handling: { firstResponseAt: iso(c.firstResponseAt) ?? null, resolvedAt: iso(c.resolvedAt) ?? null, resolution: c.resolution ?? null, satisfied: c.satisfied ?? null },
  };
}

const handlingBody = z.strictObject({
  firstResponseAt: z.iso.datetime({ offset: true }).optional(),
  resolvedAt: z.iso.datetime({ offset: true }).optional(),
  resolution: z.string().min(1).max(4000).optional(),
  satisfied: z.boolean().optional(),
  escalations: z.number().int().min(0).max(100).optional(),
}).refine((b) => Object.keys(b).length > 0, { message: 'name at least one field', path: ['firstResponseAt'] });
/** Each item is checked on its own (a bad one is reported by its index), so the batch takes anything as an item. */
const batchBody = z.strictObject({ items: z.array(z.unknown().describe('a complaint, as POST /v1/complaints takes it')).min(1).max(1000) });
const suspectedQuery = z.strictObject({ state: z.enum(['suspected', 'confirmed', 'dismissed', 'expired', 'merged']).optional().describe('only these') });

/** Complaints (`/v1/complaints`), an outage's complaints, and suspected outages (`/v1/suspected-outages`). */
export function complaintRoutes({ route, now, roles }: RouteContext, d: ComplaintRouteDeps): void {
  const { READ, NOC } = roles;
  const complaintWindow: TimeWindow = { aheadMs: d.times?.aheadMs ?? 5 * 60_000, pastMs: d.times?.complaintPastMs ?? 30 * 86_400_000 };
  /** Why a complaint's time (reported, responded, resolved) is refused, or undefined. */
  const complaintTime = (ms: number): string | undefined => {
    const r = checkTime(ms, now(), complaintWindow);
    return r && describeRefusal(r, ms, now(), complaintWindow);
  };
  const COMPLAINTS = roles.COMPLAINTS;
  route({
    method: 'POST', url: '/v1/complaints', roles: COMPLAINTS, body: complaintSchema,
    summary: 'Take a complaint (role complaints): graded, matched to an outage or explained, stored once per id (201 new, 200 duplicate)',
    responses: { 201: { description: 'Taken: status, grade, deadlines, match or explanation, relatedEntity (TMF621)' }, ...ok('A duplicate: the complaint as first taken') },
  }, async (_req, reply, input) => {
    const b = input.body();
    const c = toComplaint(b);
    const late = complaintTime(c.reportedAt);
    if (late) throw new ApiError(400, 'bad_request', `body reportedAt: ${late}`, 'reportedAt');
    const r = await d.complaints.submit(d.store, c, now());
    return reply.code(r.duplicate ? 200 : 201).send({ ...complaintView(r.complaint), duplicate: r.duplicate });
  });

  route({
    method: 'POST', url: '/v1/complaints/batch', roles: COMPLAINTS, body: batchBody,
    summary: 'Up to 1,000 complaints at once; bad items are reported by index and field, good ones taken', responses: ok('Per-item results'),
  }, async (_req, _reply, input) => {
    const b = input.body();
    const results = [];
    for (const [index, raw] of b.items.entries()) {
      const one = parseComplaint(raw);
      const late = 'field' in one ? undefined : complaintTime(one.complaint.reportedAt);
      if (late) {
        results.push({ index, error: { code: 'bad_request', field: 'reportedAt', message: `items[${index}].reportedAt: ${late}` } });
        continue;
      }
      if ('field' in one) {
        results.push({ index, error: { code: 'bad_request', field: one.field, message: `items[${index}].${one.field}: ${one.message}` } });
        continue;
      }
      const r = await d.complaints.submit(d.store, one.complaint, now());
      results.push({ index, duplicate: r.duplicate, complaint: complaintView(r.complaint) });
    }
    return { accepted: results.filter((r) => 'complaint' in r).length, rejected: results.filter((r) => 'error' in r).length, items: results };
  });

  route({
    method: 'PATCH', url: '/v1/complaints/:id', roles: COMPLAINTS, body: handlingBody,
    summary: 'Handling (role complaints): firstResponseAt, resolvedAt, resolution, satisfied, escalations (more escalations re-grade it)', responses: ok('The complaint as now'),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    const b = input.body();
    const ms = (v: string | undefined) => (v === undefined ? undefined : Date.parse(v));
    for (const f of ['firstResponseAt', 'resolvedAt'] as const) {
      const late = b[f] === undefined ? undefined : complaintTime(Date.parse(b[f]));
      if (late) throw new ApiError(400, 'bad_request', `body ${f}: ${late}`, f);
    }
    const c = await d.complaints.update(d.store, id, {
      ...(b.firstResponseAt && { firstResponseAt: ms(b.firstResponseAt) }), ...(b.resolvedAt && { resolvedAt: ms(b.resolvedAt) }),
      ...(b.resolution !== undefined && { resolution: b.resolution }), ...(b.satisfied !== undefined && { satisfied: b.satisfied }),
      ...(b.escalations !== undefined && { escalations: b.escalations }),
    }, now());
    if (!c) throw new ApiError(404, 'not_found', `no complaint ${id}`);
    return complaintView(c);
  });

  route({
    method: 'GET', url: '/v1/suspected-outages', roles: NOC, query: suspectedQuery,
    summary: 'Outages found by complaints (role noc): suspected, confirmed by monitoring with its outage, dismissed, expired, or merged into one above it (a rollup: mergedInto)', responses: ok('Suspected outages'),
  }, async (_req, _reply, input) => {
    const q = input.query();
    return { items: (await d.complaints.suspected(d.store, q.state)).map(({ replaces: _r, ...s }) => ({ ...s, since: iso(s.since), at: undefined, raisedAt: iso(s.at) })) };
  });

  route({
    method: 'POST', url: '/v1/suspected-outages/:id/dismiss', roles: NOC,
    summary: 'Not an outage (role noc): the element may raise again', responses: ok('Dismissed'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    if (!(await d.complaints.dismiss(d.store, id, now()))) throw new ApiError(404, 'not_found', `no open suspected outage ${id}`);
    return { id, state: 'dismissed' };
  });

  route({
    method: 'GET', url: '/v1/complaints/:id', roles: READ,
    summary: 'One complaint with its grade, deadlines, match, explanation and handling', responses: ok('The complaint'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const c = await d.complaints.get(d.store, id);
    if (!c) throw new ApiError(404, 'not_found', `no complaint ${id}`);
    return complaintView(c);
  });

  route({
    method: 'GET', url: '/v1/outages/:id/complaints', roles: READ,
    summary: 'The complaints an outage explains (TMF656 troubleTicket[])', responses: ok('Complaints'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    if (!(await outagesOf(d.store).outage(id, { impacted: false }))) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const items = await d.complaints.ofOutage(d.store, id);
    // TMF656 Service Problem: the trouble tickets (complaints) it explains.
    return { outageId: id, troubleTicket: items.map((c) => ({ id: c.id, '@referredType': 'TroubleTicket', status: c.status, grade: c.grade, reportedAt: iso(c.reportedAt) })), items: items.map(complaintView) };
  });
}
