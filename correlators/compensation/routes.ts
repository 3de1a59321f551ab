import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { CompensationService } from './service.ts';
import { creditView, tmf678, IdempotencyConflict, type Credit, type CreditBook } from './credits.ts';
import { LedgerConflict, type CreditState } from './ledger.ts';
import { CreditRepository } from './credits-repository.ts';
import { LedgerRepository } from './ledger-repository.ts';
import type { Policy } from './policy.ts';
import type { Role } from '../../src/api/auth.ts';
import { ApiError, iso, callerOf, type RouteContext } from '../../src/api/http.ts';
import { ok, ref } from '../../src/api/openapi.ts';
import { outagesOf } from '../outages/repository.ts';

export interface CompensationApiDeps {
  store: Store;
  service: CompensationService;
  book: CreditBook;
  policies: readonly Policy[];
  /** Credits the job just confirmed as applied (the subscriber is told). */
  onApplied: (credits: Credit[]) => void;
}

const STATES = ['computed', 'delivered', 'applied', 'failed', 'reversed'] as const;
const format = z.enum(['netpulse', 'tmf678']).default('netpulse');
const creditQuery = z.strictObject({
  state: z.string().transform((s) => s.split(',')).pipe(z.array(z.enum(STATES))).optional().describe(`comma-separated: ${STATES.join(', ')}`),
  outage: z.string().min(1).optional().describe('of one outage'),
  subscriber: z.string().min(1).optional().describe('of one subscriber'),
  format: format.describe('tmf678: AppliedCustomerBillingRate (appliedBillingCredit)'),
  limit: z.coerce.number().int().min(1).max(5000).default(500).describe('page size (500); a page may hold fewer'),
  after: z.string().regex(/^\d{0,16}$/, 'not a cursor from a previous page').transform((v) => v || undefined).optional()
    .describe('nextCursor of an earlier page (kept across runs): only entries after it; empty: from the start (a first run with nothing kept yet)'),
  cursor: z.string().regex(/^\d{1,16}$/, 'not a cursor from a previous page').optional().describe('the former name of after'),
}).refine((q) => q.after === undefined || q.cursor === undefined || q.after === q.cursor, { message: 'give after or cursor, not two different ones', path: ['after'] });
const confirmBody = z.strictObject({
  confirmations: z.array(z.strictObject({
    id: z.string().min(1).max(100),
    outcome: z.enum(['applied', 'failed']),
    reason: z.string().max(1000).optional(),
    reference: z.string().max(200).optional(),
  })).min(1).max(10_000),
});
const creditFormat = z.strictObject({ format: format.describe('shape') });
const retryBody = z.strictObject({ ids: z.array(z.string().min(1)).max(10_000).optional().describe('these failed credits; none: every failed one') });
const forceMajeureBody = z.strictObject({ reason: z.string().min(3).max(2000) });
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const totalsQuery = z.strictObject({
  by: z.enum(['outage', 'day', 'tier']).default('day').describe('grouping (day)'),
  outage: z.string().min(1).optional().describe('one outage'),
  from: day.optional().describe('first day'),
  to: day.optional().describe('last day'),
});

/**
 * Routes for the compensation jobs (pull credits, confirm them) and the NOC (preview, settle,
 * force majeure, totals). Credits are paged by their ledger sequence: every page, the last one
 * too, answers a cursor; a job that keeps it and pulls `?after=<cursor>` later sees every entry
 * once, in order, whatever the clock did. A credit read over the API counts as handed over: from
 * then on a change is a correction of its own, never a reversal.
 */
export function compensationRoutes({ route, now }: RouteContext, d: CompensationApiDeps): void {
  const { store } = d;
  const JOBS: Role[] = ['compensation'];
  const READ: Role[] = ['noc', 'compensation', 'complaints'];
  // Force majeure withdraws credits: the role meant for it, like maintenance windows.
  const MAINTENANCE: Role[] = ['maintenance'];
  const view = (c: Credit, format: 'netpulse' | 'tmf678') => (format === 'tmf678' ? tmf678(c) : creditView(c));
  const outageOr404 = async (id: string) => {
    const o = await outagesOf(store).outage(id, { impacted: false });
    if (!o) throw new ApiError(404, 'not_found', `no outage ${id}`);
    return o;
  };

  /** Whether a read hands credits over: by a compensation job (or an admin), not by the NOC, a dashboard or a complaint desk. */
  const takesOver = (req: FastifyRequest) => {
    const roles = callerOf(req).roles;
    return roles.includes('compensation') || roles.includes('admin');
  };

  route({
    method: 'GET', url: '/v1/compensation/policies', roles: READ,
    summary: 'The compensation policies in force, as loaded (transparent: the rule is published)', responses: ok('Policies'),
  }, async () => ({ items: d.policies }));

  route({
    method: 'GET', url: '/v1/credits', roles: READ, query: creditQuery,
    summary: 'The ledger feed, in sequence order: what compensation jobs pull. Every entry returned to a compensation job (role compensation or admin) counts as handed over (from then on it is only corrected, never reversed); other roles only look. Keep nextCursor, the last page\'s too, and pull ?after=<it> later for only the new entries; a clock step never makes a cursor skip one. Entries withdrawn before anyone saw them are left out unless state asks for reversed',
    responses: ok('A page of credits', { type: 'object', required: ['items', 'nextCursor', 'hasMore'], properties: {
      items: { type: 'array', items: ref('Credit') },
      nextCursor: { type: 'string', description: 'where the next pull starts: the last entry looked at, or the cursor given when there was nothing new' },
      hasMore: { type: 'boolean', description: 'entries after nextCursor exist already: pull again now' },
    } }),
  }, async (req, _reply, input) => {
    const q = input.query();
    const after = q.after ?? q.cursor;
    const f = { outageId: q.outage, subscriberId: q.subscriber, states: q.state as CreditState[] | undefined, afterSeq: after === undefined ? undefined : Number(after), limit: q.limit };
    // Only a compensation job takes credits over; anyone else who may read only looks.
    const page = takesOver(req) ? await d.book.pull(f, now()) : await d.book.peek(f);
    return { items: page.items.map((c) => view(c, q.format)), nextCursor: String(page.cursor), hasMore: page.more };
  });

  route({
    method: 'GET', url: '/v1/credits/:id', roles: READ, query: creditFormat,
    summary: 'One credit with its explanation; reading it counts as handing it over', responses: ok('The credit', ref('Credit')),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    const q = input.query();
    const c = takesOver(req) ? await d.book.handOver(id, now()) : await d.book.get(id);
    if (!c) throw new ApiError(404, 'not_found', `no credit ${id}`);
    return view(c, q.format);
  });

  route({
    method: 'GET', url: '/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/:id', roles: READ,
    summary: 'A credit as TMF678 AppliedCustomerBillingRate of type appliedBillingCredit (characteristics entryKind, corrects, sequence); reading it counts as handing it over',
    responses: ok('The applied billing credit'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const c = takesOver(req) ? await d.book.handOver(id, now()) : await d.book.get(id);
    if (!c) throw new ApiError(404, 'not_found', `no credit ${id}`);
    return tmf678(c);
  });

  route({
    method: 'POST', url: '/v1/credits/confirm', roles: JOBS, body: confirmBody,
    summary: 'The job confirms credits applied or failed (role compensation); needs an Idempotency-Key header: a retry with the same key and body answers the same, another body is 422. A credit corrected since it was handed over is still confirmed (changed): the correction is an entry of its own. Concurrent confirmations of one credit: one changes it, the other answers unchanged or conflict',
    headers: [{ name: 'Idempotency-Key', required: true, description: 'the same key makes a retry harmless', schema: { type: 'string', minLength: 8, maxLength: 200 } }],
    responses: { ...ok('Per credit: changed, unchanged, conflict or not_found'), 422: { description: 'The key was used with another body' } },
  }, async (req, _reply, input) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length < 8 || key.length > 200) throw new ApiError(400, 'bad_request', 'header Idempotency-Key: required, 8 to 200 characters (the same key makes a retry harmless)', 'Idempotency-Key');
    const b = input.body();
    try {
      const r = await d.book.confirm(b.confirmations, key, now());
      if (r.applied.length > 0) d.onApplied(r.applied);
      return { results: r.results };
    } catch (err) {
      if (err instanceof IdempotencyConflict) throw new ApiError(422, 'idempotency_conflict', err.message);
      throw err;
    }
  });

  route({
    method: 'POST', url: '/v1/credits/retry', roles: JOBS, body: retryBody,
    summary: 'Put failed credits (these ids, or all) back in the push queue (role compensation)', responses: ok('How many'),
  }, async (_req, _reply, input) => {
    const b = input.body();
    const retried = await d.book.retry(b.ids);
    if (retried > 0) d.service.wake();
    return { retried };
  });

  route({
    method: 'GET', url: '/v1/outages/:id/compensation', roles: READ,
    summary: "An outage's compensation: settlement state, force majeure, totals by tier, form and state", responses: ok('Compensation'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await outageOr404(id);
    const run = await new LedgerRepository(store.db).settlement(id);
    const byTier = await new CreditRepository(store.db).ofOutageByTier(id);
    return {
      outageId: id, state: o.state, mergedInto: o.mergedInto ?? null, forceMajeure: o.forceMajeure ? { ...o.forceMajeure, at: iso(o.forceMajeure.at) } : null,
      settlement: { settledAt: iso(run?.settled_at ?? undefined) ?? null, final: run?.settled_closed_at != null && Number(run.settled_closed_at) === o.closedAt, lastInterimAt: iso(run?.interim_at ?? undefined) ?? null },
      totals: byTier.map((r) => ({ tier: r.tier, form: r.form, currency: r.currency, state: r.state, entries: Number(r.entries), amountMinor: Number(r.amount), quantity: Number(r.quantity) })),
    };
  });

  route({
    method: 'GET', url: '/v1/outages/:id/compensation/preview', leader: true, roles: READ,
    summary: 'What the outage would owe if settled now, by currency, tier and form; nothing is written', responses: ok('Preview'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    await outageOr404(id);
    return d.service.preview(id);
  });

  /** Settles an outage; a hand-over that raced it (PostgreSQL) is a 409 to retry, not a 500. */
  const settle = async (id: string, done = '') => {
    try {
      return await d.service.settle(id);
    } catch (err) {
      if (err instanceof LedgerConflict) throw new ApiError(409, 'conflict', `${done}${err.message}: POST /v1/outages/{id}/compensation/settle again (the scheduled batch does too)`);
      throw err;
    }
  };

  route({
    method: 'POST', url: '/v1/outages/:id/compensation/settle', roles: JOBS,
    summary: 'Settle now (role compensation): final when closed, interim when open; only differences are written', responses: ok('Settlement report'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    await outageOr404(id);
    return settle(id);
  });

  route({
    method: 'PUT', url: '/v1/outages/:id/force-majeure', roles: MAINTENANCE, body: forceMajeureBody,
    summary: 'Flag force majeure (role maintenance) with a reason; a closed outage is settled again (credits never handed over are reversed, handed-over ones debited by a correction)', responses: ok('Flagged'),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    const b = input.body();
    const o = await outageOr404(id);
    const caller = callerOf(req);
    await outagesOf(store).setForceMajeure(id, { by: caller.name, at: now(), reason: b.reason });
    // Credits already computed are withdrawn (or corrected) by settling again.
    const r = o.state === 'closed' ? await settle(id, 'force majeure is set, but its settlement conflicted: ') : undefined;
    return { outageId: id, forceMajeure: { by: caller.name, at: iso(now()), reason: b.reason }, resettled: r ? { entries: r.entries, reversed: r.reversed, added: r.addedMinor } : null };
  });

  route({
    method: 'DELETE', url: '/v1/outages/:id/force-majeure', roles: MAINTENANCE,
    summary: 'Withdraw the flag (role maintenance); a closed outage is settled again', responses: ok('Withdrawn'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await outageOr404(id);
    await outagesOf(store).setForceMajeure(id, undefined);
    const r = o.state === 'closed' ? await settle(id, 'force majeure is withdrawn, but its settlement conflicted: ') : undefined;
    return { outageId: id, forceMajeure: null, resettled: r ? { entries: r.entries, reversed: r.reversed, added: r.addedMinor } : null };
  });

  route({
    method: 'GET', url: '/v1/compensation/totals', roles: READ, query: totalsQuery,
    summary: 'Totals by outage, day or tier, per currency and state', responses: ok('Totals'),
  }, async (_req, _reply, input) => {
    const q = input.query();
    return { by: q.by, items: await d.book.totals(q.by, { outageId: q.outage, from: q.from, to: q.to }) };
  });
}
