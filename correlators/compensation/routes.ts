import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { CompensationService } from './service.ts';
import { creditView, tmf678, IdempotencyConflict, type Credit, type CreditBook } from './credits.ts';
import { LedgerConflict, type CreditState } from './ledger.ts';
import { CreditRepository } from './credits-repository.ts';
import { LedgerRepository } from './ledger-repository.ts';
import type { Policy } from './policy.ts';
import type { Caller, Role } from '../../src/api/auth.ts';
import { ApiError, parse, iso } from '../../src/api/http.ts';
import { outagesOf } from '../outages/repository.ts';

export interface CompensationApiDeps {
  service: CompensationService;
  book: CreditBook;
  policies: readonly Policy[];
  /** Credits the job just confirmed as applied (the subscriber is told). */
  onApplied: (credits: Credit[]) => void;
}

type Guard = (roles: Role[]) => (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

const STATES = ['computed', 'delivered', 'applied', 'failed', 'reversed'] as const;
const creditQuery = z.strictObject({
  state: z.string().transform((s) => s.split(',')).pipe(z.array(z.enum(STATES))).optional(),
  outage: z.string().min(1).optional(),
  subscriber: z.string().min(1).optional(),
  format: z.enum(['netpulse', 'tmf678']).default('netpulse'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  /** Empty: from the start (a job's first run, `after=$CURSOR` with nothing kept yet). */
  after: z.string().regex(/^\d{0,16}$/, 'not a cursor from a previous page').transform((v) => v || undefined).optional(),
  /** The former name of `after`. */
  cursor: z.string().regex(/^\d{1,16}$/, 'not a cursor from a previous page').optional(),
}).refine((q) => q.after === undefined || q.cursor === undefined || q.after === q.cursor, { message: 'give after or cursor, not two different ones', path: ['after'] });
const confirmBody = z.strictObject({
  confirmations: z.array(z.strictObject({
    id: z.string().min(1).max(100),
    outcome: z.enum(['applied', 'failed']),
    reason: z.string().max(1000).optional(),
    reference: z.string().max(200).optional(),
  })).min(1).max(10_000),
});

/**
 * Routes for the compensation jobs (pull credits, confirm them) and the NOC (preview, settle,
 * force majeure, totals). Credits are paged by their ledger sequence: every page, the last one
 * too, answers a cursor; a job that keeps it and pulls `?after=<cursor>` later sees every entry
 * once, in order, whatever the clock did. A credit read over the API counts as handed over: from
 * then on a change is a correction of its own, never a reversal.
 */
export function compensationRoutes(app: FastifyInstance, store: Store, d: CompensationApiDeps, guard: Guard, now: () => number): void {
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
    const roles = (req as FastifyRequest & { caller: Caller }).caller.roles;
    return roles.includes('compensation') || roles.includes('admin');
  };

  app.get('/v1/compensation/policies', { onRequest: guard(READ) }, async () => ({ items: d.policies }));

  app.get('/v1/credits', { onRequest: guard(READ) }, async (req) => {
    const q = parse(creditQuery, req.query, 'query');
    const after = q.after ?? q.cursor;
    const f = { outageId: q.outage, subscriberId: q.subscriber, states: q.state as CreditState[] | undefined, afterSeq: after === undefined ? undefined : Number(after), limit: q.limit };
    // Only a compensation job takes credits over; anyone else who may read only looks.
    const page = takesOver(req) ? await d.book.pull(f, now()) : await d.book.peek(f);
    return { items: page.items.map((c) => view(c, q.format)), nextCursor: String(page.cursor), hasMore: page.more };
  });

  app.get('/v1/credits/:id', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const q = parse(z.strictObject({ format: z.enum(['netpulse', 'tmf678']).default('netpulse') }), req.query, 'query');
    const c = takesOver(req) ? await d.book.handOver(id, now()) : await d.book.get(id);
    if (!c) throw new ApiError(404, 'not_found', `no credit ${id}`);
    return view(c, q.format);
  });

  app.get('/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/:id', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const c = takesOver(req) ? await d.book.handOver(id, now()) : await d.book.get(id);
    if (!c) throw new ApiError(404, 'not_found', `no credit ${id}`);
    return tmf678(c);
  });

  app.post('/v1/credits/confirm', { onRequest: guard(JOBS) }, async (req) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length < 8 || key.length > 200) throw new ApiError(400, 'bad_request', 'header Idempotency-Key: required, 8 to 200 characters (the same key makes a retry harmless)', 'Idempotency-Key');
    const b = parse(confirmBody, req.body, 'body');
    try {
      const r = await d.book.confirm(b.confirmations, key, now());
      if (r.applied.length > 0) d.onApplied(r.applied);
      return { results: r.results };
    } catch (err) {
      if (err instanceof IdempotencyConflict) throw new ApiError(422, 'idempotency_conflict', err.message);
      throw err;
    }
  });

  app.post('/v1/credits/retry', { onRequest: guard(JOBS) }, async (req) => {
    const b = parse(z.strictObject({ ids: z.array(z.string().min(1)).max(10_000).optional() }), req.body, 'body');
    const retried = await d.book.retry(b.ids);
    if (retried > 0) d.service.wake();
    return { retried };
  });

  app.get('/v1/outages/:id/compensation', { onRequest: guard(READ) }, async (req) => {
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

  app.get('/v1/outages/:id/compensation/preview', { onRequest: guard(READ) }, async (req) => {
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

  app.post('/v1/outages/:id/compensation/settle', { onRequest: guard(JOBS) }, async (req) => {
    const { id } = req.params as { id: string };
    await outageOr404(id);
    return settle(id);
  });

  app.put('/v1/outages/:id/force-majeure', { onRequest: guard(MAINTENANCE) }, async (req) => {
    const { id } = req.params as { id: string };
    const b = parse(z.strictObject({ reason: z.string().min(3).max(2000) }), req.body, 'body');
    const o = await outageOr404(id);
    const caller = (req as FastifyRequest & { caller: Caller }).caller;
    await outagesOf(store).setForceMajeure(id, { by: caller.name, at: now(), reason: b.reason });
    // Credits already computed are withdrawn (or corrected) by settling again.
    const r = o.state === 'closed' ? await settle(id, 'force majeure is set, but its settlement conflicted: ') : undefined;
    return { outageId: id, forceMajeure: { by: caller.name, at: iso(now()), reason: b.reason }, resettled: r ? { entries: r.entries, reversed: r.reversed, added: r.addedMinor } : null };
  });

  app.delete('/v1/outages/:id/force-majeure', { onRequest: guard(MAINTENANCE) }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await outageOr404(id);
    await outagesOf(store).setForceMajeure(id, undefined);
    const r = o.state === 'closed' ? await settle(id, 'force majeure is withdrawn, but its settlement conflicted: ') : undefined;
    return { outageId: id, forceMajeure: null, resettled: r ? { entries: r.entries, reversed: r.reversed, added: r.addedMinor } : null };
  });

  app.get('/v1/compensation/totals', { onRequest: guard(READ) }, async (req) => {
    const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
    const q = parse(z.strictObject({ by: z.enum(['outage', 'day', 'tier']).default('day'), outage: z.string().min(1).optional(), from: day.optional(), to: day.optional() }), req.query, 'query');
    return { by: q.by, items: await d.book.totals(q.by, { outageId: q.outage, from: q.from, to: q.to }) };
  });
}
