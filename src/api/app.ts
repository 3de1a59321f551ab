import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { Topology } from '../topology/topology.ts';
import type { ElementHealth } from '../../correlators/health/tracker.ts';
import type { MaintenanceWindow, Outage } from '../../correlators/outage/outage.ts';
import type { AlertDispatcher } from '../alerts/dispatcher.ts';
import { formatPath } from '../config/load.ts';
import { Authenticator, RateLimiter, type Caller, type Role } from './auth.ts';
import { OPENAPI } from './openapi.ts';
import { ApiMetrics } from './metrics.ts';

export interface ApiDeps {
  store: Store;
  health: (element: string) => ElementHealth | undefined;
  topology: () => Topology;
  alerts: () => AlertDispatcher | undefined;
  /** Called after maintenance windows changed, so the correlator sees them. */
  maintenanceChanged: () => Promise<void>;
  /** The daemon's own metrics in Prometheus text format (the API adds its latencies). */
  metrics: () => string;
  auth: Authenticator;
  rateLimit: number;
  bodyLimit: number;
  logger: Logger;
  now?: () => number;
}

/** A stable error: `code` for programs, `message` for people, `field` when one input is wrong. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const time = z.union([z.coerce.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
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

function parse<T>(schema: z.ZodType<T>, input: unknown, where: 'query' | 'body'): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0];
  if (i.code === 'unrecognized_keys') {
    const key = [...(i.path as PropertyKey[]), i.keys[0]].map(String).join('.');
    throw new ApiError(400, 'bad_request', `${where} ${key}: unknown ${where === 'query' ? 'parameter' : 'field'}`, key);
  }
  const field = formatPath(i.path as PropertyKey[]) || where;
  throw new ApiError(400, 'bad_request', `${where} ${field}: ${i.message}`, field);
}

const encodeCursor = (o: Outage) => Buffer.from(`${o.startedAt}|${o.id}`).toString('base64url');
function decodeCursor(c: string): { startedAt: number; id: string } {
  const s = Buffer.from(c, 'base64url').toString('utf8');
  const bar = s.indexOf('|');
  const startedAt = Number(s.slice(0, bar));
  if (bar < 0 || !Number.isFinite(startedAt)) throw new ApiError(400, 'bad_request', 'query cursor: not a cursor from a previous page', 'cursor');
  return { startedAt, id: s.slice(bar + 1) };
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An outage as the API shows it: times in ISO-8601, the root and impacted elements with their place. */
function outageView(o: Outage, topology: Topology) {
  const el = (id: string) => {
    const e = topology.elements.get(id);
    return e ? { id, kind: e.kind, site: e.site, region: e.region } : { id };
  };
  return {
    id: o.id, state: o.state, severity: o.severity, planned: o.planned, flapping: o.flapping, reopened: o.reopened,
    rootCause: { ...el(o.root), reason: o.reason },
    startedAt: iso(o.startedAt), clearedAt: iso(o.clearedAt), closedAt: iso(o.closedAt),
    durationSeconds: Math.round(((o.clearedAt ?? Date.now()) - o.startedAt) / 1000),
    impactedElements: o.impacted.map((i) => ({ ...el(i.element), since: iso(i.since) })),
    mergedInto: o.mergedInto,
  };
}

/**
 * The HTTP API, built from its dependencies (no socket until `listen`; tests use `inject`).
 * Versioned under /v1; /openapi.json and /metrics are open, everything else needs a bearer token
 * with a role the route allows: none is 401, a wrong role 403, past the rate limit 429.
 */
export function buildApi(d: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: d.bodyLimit, ignoreTrailingSlash: true });
  const limiter = new RateLimiter(d.rateLimit);
  const metrics = new ApiMetrics();
  const now = d.now ?? Date.now;

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.field && { field: err.field }) } });
    if (err.statusCode === 413) return reply.code(413).send({ error: { code: 'body_too_large', message: `the body is over ${d.bodyLimit} bytes` } });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: 'bad_request', message: `body: ${err.message}` } });
    }
    d.logger.error({ err, route: req.routeOptions.url }, 'api request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error (logged)' } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  /** The route's guard: a known token with one of the roles (admin may do everything), within its rate. */
  const guard = (roles: Role[]) => async (req: FastifyRequest, reply: FastifyReply) => {
    const caller = d.auth.authenticate(req.headers.authorization);
    if (!caller) {
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required');
    }
    if (!caller.roles.includes('admin') && !roles.some((r) => caller.roles.includes(r))) {
      throw new ApiError(403, 'forbidden', `this needs one of the roles ${roles.join(', ')}`);
    }
    const wait = limiter.take(caller.name, now());
    if (wait !== undefined) {
      reply.header('retry-after', String(wait));
      throw new ApiError(429, 'rate_limited', `more than ${d.rateLimit} requests per minute; retry in ${wait} s`);
    }
    (req as FastifyRequest & { caller: Caller }).caller = caller;
  };
  const READ: Role[] = ['noc', 'complaints', 'compensation'];
  const NOC: Role[] = ['noc'];

  app.get('/openapi.json', async () => OPENAPI);
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(d.metrics() + metrics.render()));

  app.get('/v1/outages', { preHandler: guard(READ) }, async (req) => {
    const q = parse(outageQuery, req.query, 'query');
    const page = await d.store.outages({
      state: q.state, element: q.element, region: q.region, from: q.from, to: q.to, limit: q.limit + 1,
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const more = page.length > q.limit;
    const items = page.slice(0, q.limit);
    return { items: items.map((o) => outageView(o, d.topology())), nextCursor: more ? encodeCursor(items.at(-1)!) : null };
  });

  app.get('/v1/outages/:id', { preHandler: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await d.store.outage(id);
    if (!o) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const history = await d.store.db.query<{ type: string; at: number }>('SELECT type, at FROM outage_events WHERE outage_id = $1 ORDER BY seq', [id]);
    return { ...outageView(o, d.topology()), history: history.map((h) => ({ event: h.type, at: iso(Number(h.at)) })) };
  });

  app.get('/v1/elements/:id', { preHandler: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const e = d.topology().elements.get(id);
    if (!e) throw new ApiError(404, 'not_found', `no element ${id}`);
    const h = d.health(id);
    const transitions = await d.store.transitions(id, now() - 7 * 86_400_000);
    const active = await d.store.outages({ state: 'active', element: id, limit: 50 });
    return {
      ...e, health: h ? { state: h.state, since: iso(h.since), reason: h.reason } : { state: 'unknown', since: null, reason: 'no data yet' },
      recentTransitions: transitions.slice(-50).map((t) => ({ from: t.from, to: t.to, at: iso(t.at), reason: t.reason })),
      activeOutages: active.map((o) => ({ id: o.id, root: o.root, severity: o.severity, state: o.state })),
    };
  });

  app.get('/v1/elements/:id/availability', { preHandler: guard([...READ]) }, async (req) => {
    const { id } = req.params as { id: string };
    if (!d.topology().elements.has(id)) throw new ApiError(404, 'not_found', `no element ${id}`);
    const p = parse(period, req.query, 'query');
    const a = await d.store.availability(id, p.from, p.to, now());
    return { element: id, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  app.get('/v1/sites/:site/availability', { preHandler: guard([...READ]) }, async (req) => {
    const { site } = req.params as { site: string };
    const p = parse(period, req.query, 'query');
    const a = await d.store.siteAvailability(site, p.from, p.to, now());
    if (a.elements === 0) throw new ApiError(404, 'not_found', `no site ${site}`);
    return { site, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  app.get('/v1/maintenance', { preHandler: guard(NOC) }, async () => ({
    items: (await d.store.maintenance()).map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })),
  }));

  app.post('/v1/maintenance', { preHandler: guard(NOC) }, async (req, reply) => {
    const b = parse(maintenanceBody, req.body, 'body');
    const topology = d.topology();
    const unknown = (b.elements ?? []).filter((e) => !topology.elements.has(e));
    if (unknown.length > 0) throw new ApiError(400, 'bad_request', `elements: unknown element(s) ${unknown.slice(0, 5).join(', ')}`, 'elements');
    const w: MaintenanceWindow = { id: b.id, elements: b.elements, sites: b.sites, start: Date.parse(b.start), end: Date.parse(b.end), reason: b.reason };
    const created = await d.store.saveMaintenance(w, (req as FastifyRequest & { caller: Caller }).caller.name, now());
    await d.maintenanceChanged();
    return reply.code(created ? 201 : 200).send({ ...w, start: b.start, end: b.end });
  });

  app.delete('/v1/maintenance/:id', { preHandler: guard(NOC) }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await d.store.deleteMaintenance(id))) throw new ApiError(404, 'not_found', `no maintenance window ${id}`);
    await d.maintenanceChanged();
    return reply.code(204).send();
  });

  app.get('/v1/alerts', { preHandler: guard(NOC) }, async (req) => {
    const q = parse(z.strictObject({ outage: z.string().min(1).optional() }), req.query, 'query');
    return { items: (await d.store.alerts(q.outage)).map((a) => ({ ...a.body, ackState: a.ackState, ackBy: a.ackBy, ackTime: iso(a.ackAt) })) };
  });

  app.post('/v1/alerts/:id/ack', { preHandler: guard(NOC) }, async (req) => {
    const { id } = req.params as { id: string };
    const caller = (req as FastifyRequest & { caller: Caller }).caller;
    if (!(await d.store.ackAlert(id, caller.name, now()))) throw new ApiError(404, 'not_found', `no alert ${id}`);
    return { id, ackState: 'acknowledged', ackBy: caller.name, ackTime: iso(now()) };
  });

  return app;
}
