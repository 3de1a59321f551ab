import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { ComplaintService, StoredComplaint } from './service.ts';
import { complaintSchema, parseComplaint, toComplaint } from './schema.ts';
import { checkTime, describeRefusal, type TimeWindow } from '../../src/intake/time.ts';
import { ApiError, parse, iso, type RouteContext } from '../../src/api/http.ts';
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

/** Complaints (`/v1/complaints`), an outage's complaints, and suspected outages (`/v1/suspected-outages`). */
export function complaintRoutes({ app, guard, now, roles }: RouteContext, d: ComplaintRouteDeps): void {
  const { READ, NOC } = roles;
  const complaintWindow: TimeWindow = { aheadMs: d.times?.aheadMs ?? 5 * 60_000, pastMs: d.times?.complaintPastMs ?? 30 * 86_400_000 };
  /** Why a complaint's time (reported, responded, resolved) is refused, or undefined. */
  const complaintTime = (ms: number): string | undefined => {
    const r = checkTime(ms, now(), complaintWindow);
    return r && describeRefusal(r, ms, now(), complaintWindow);
  };
  const COMPLAINTS = roles.COMPLAINTS;
  app.post('/v1/complaints', { onRequest: guard(COMPLAINTS) }, async (req, reply) => {
    const b = parse(complaintSchema, req.body, 'body');
    const c = toComplaint(b);
    const late = complaintTime(c.reportedAt);
    if (late) throw new ApiError(400, 'bad_request', `body reportedAt: ${late}`, 'reportedAt');
    const r = await d.complaints.submit(d.store, c, now());
    return reply.code(r.duplicate ? 200 : 201).send({ ...complaintView(r.complaint), duplicate: r.duplicate });
  });

  app.post('/v1/complaints/batch', { onRequest: guard(COMPLAINTS) }, async (req) => {
    const b = parse(z.strictObject({ items: z.array(z.unknown()).min(1).max(1000) }), req.body, 'body');
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

  app.patch('/v1/complaints/:id', { onRequest: guard(COMPLAINTS) }, async (req) => {
    const { id } = req.params as { id: string };
    const b = parse(handlingBody, req.body, 'body');
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

  app.get('/v1/suspected-outages', { onRequest: guard(NOC) }, async (req) => {
    const q = parse(z.strictObject({ state: z.enum(['suspected', 'confirmed', 'dismissed', 'expired', 'merged']).optional() }), req.query, 'query');
    return { items: (await d.complaints.suspected(d.store, q.state)).map(({ replaces: _r, ...s }) => ({ ...s, since: iso(s.since), at: undefined, raisedAt: iso(s.at) })) };
  });

  app.post('/v1/suspected-outages/:id/dismiss', { onRequest: guard(NOC) }, async (req) => {
    const { id } = req.params as { id: string };
    if (!(await d.complaints.dismiss(d.store, id, now()))) throw new ApiError(404, 'not_found', `no open suspected outage ${id}`);
    return { id, state: 'dismissed' };
  });

  app.get('/v1/complaints/:id', { onRequest: guard([...READ]) }, async (req) => {
    const { id } = req.params as { id: string };
    const c = await d.complaints.get(d.store, id);
    if (!c) throw new ApiError(404, 'not_found', `no complaint ${id}`);
    return complaintView(c);
  });

  app.get('/v1/outages/:id/complaints', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    if (!(await outagesOf(d.store).outage(id, { impacted: false }))) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const items = await d.complaints.ofOutage(d.store, id);
    // TMF656 Service Problem: the trouble tickets (complaints) it explains.
    return { outageId: id, troubleTicket: items.map((c) => ({ id: c.id, '@referredType': 'TroubleTicket', status: c.status, grade: c.grade, reportedAt: iso(c.reportedAt) })), items: items.map(complaintView) };
  });
}
