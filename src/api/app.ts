import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { Transform, type Readable } from 'node:stream';
import type { Store, StoredOutage, ImpactSpan } from '../store/store.ts';
import type { RecentSeries } from '../measurements/recent.ts';
import { importSubscribers } from '../../correlators/subscribers/import.ts';
import { TIERS } from '../../correlators/subscribers/parse.ts';
import type { ComplaintService, StoredComplaint } from '../../correlators/complaints/service.ts';
import { complaintSchema, parseComplaint, toComplaint } from '../../correlators/complaints/schema.ts';
import type { Topology } from '../topology/topology.ts';
import type { ElementHealth } from '../../correlators/health/tracker.ts';
import type { MaintenanceWindow, Outage } from '../../correlators/outages/outage.ts';
import type { AlertDispatcher } from '../../correlators/alerts/dispatcher.ts';
import { ApiError, parse, iso, time } from './http.ts';
import { compensationRoutes, type CompensationApiDeps } from '../../correlators/compensation/routes.ts';
import { Authenticator, FailureLimiter, RateLimiter, type Caller, type Role } from './auth.ts';
import type { AlertStream } from '../../correlators/alerts/sse.ts';
import { checkTime, describeRefusal, type TimeWindow } from '../intake/time.ts';
import { CONTROL, findNul } from '../intake/text.ts';
import { OPENAPI } from './openapi.ts';
import { ApiMetrics } from './metrics.ts';
import type { EventHub } from './events.ts';
import { staticFiles } from './static.ts';

export interface ApiDeps {
  store: Store;
  health: (element: string) => ElementHealth | undefined;
  topology: () => Topology;
  alerts: () => AlertDispatcher | undefined;
  /** Called after maintenance windows changed, so the correlator sees them. */
  maintenanceChanged: () => Promise<void>;
  /** Called after a subscriber import, so the scopes of active outages follow the inventory. */
  subscribersChanged: () => Promise<void>;
  /** An element's recent measurements (kept in memory by the daemon). */
  recent: (element: string) => RecentSeries[];
  /** The largest subscriber file the import takes, in bytes. */
  importLimit: number;
  complaints: ComplaintService;
  /** Credits and settlements; absent when compensation is turned off. */
  compensation?: CompensationApiDeps;
  /** The live event stream served at /v1/events. */
  events?: EventHub;
  /** The dashboard's static files, served at /ui/ (and / redirects there). */
  webDir?: string;
  /** The daemon's own metrics in Prometheus text format (the API adds its latencies). */
  metrics: () => string;
  /** The alerts served at /v1/alerts/stream. */
  alertStream?: AlertStream;
  auth: Authenticator;
  rateLimit: number;
  /** Failed authentications per source address per minute before the address is refused. */
  authFailures?: number;
  bodyLimit: number;
  /** The windows times from outside must fall in (complaints, handling times). */
  times?: { aheadMs: number; complaintPastMs: number };
  /** Bounds on maintenance windows posted here. */
  maintenance?: { maxLengthMs: number; maxPastMs: number; maxAheadMs: number };
  logger: Logger;
  now?: () => number;
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
const impactQuery = z.strictObject({
  tier: z.enum(TIERS).optional(),
  kind: z.enum(['no_service', 'degraded']).optional(),
  current: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional(),
});
const subscriberQuery = z.strictObject({ days: z.coerce.number().int().min(1).max(400).default(30) });
const importQuery = z.strictObject({
  mode: z.enum(['incremental', 'replace']).default('incremental'),
  /** The share of rejected rows (0..1) past which nothing is committed; default 0 for a replace, 1 for incremental. */
  maxRejected: z.coerce.number().min(0).max(1).optional(),
});
const IMPORT_TYPES: Record<string, 'csv' | 'jsonl'> = { 'text/csv': 'csv', 'application/x-ndjson': 'jsonl', 'application/jsonl': 'jsonl', 'application/x-jsonlines': 'jsonl' };
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


const alertsQuery = z.strictObject({
  outage: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional(),
});
const span = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

const encodeCursor = (o: Outage) => Buffer.from(`${o.startedAt}|${o.id}`).toString('base64url');
function decodeCursor(c: string): { startedAt: number; id: string } {
  const s = Buffer.from(c, 'base64url').toString('utf8');
  const bar = s.indexOf('|');
  // A cursor comes back from the client: the time an integer ms, the id without control characters.
  const startedAt = /^-?\d{1,16}$/.test(s.slice(0, bar)) ? Number(s.slice(0, bar)) : NaN;
  const id = s.slice(bar + 1);
  if (bar < 0 || !Number.isSafeInteger(startedAt) || CONTROL.test(id) || id.length > 300) throw new ApiError(400, 'bad_request', 'query cursor: not a cursor from a previous page', 'cursor');
  return { startedAt, id };
}

const encodeImpactCursor = (i: ImpactSpan) => Buffer.from(`${i.since}|${i.subscriberId}`).toString('base64url');
function decodeImpactCursor(c: string): { subscriberId: string; since: number } {
  const { startedAt, id } = decodeCursor(c);
  return { subscriberId: id, since: startedAt };
}

const spanView = (i: ImpactSpan) => ({
  subscriberId: i.subscriberId, tier: i.tier, service: i.service, region: i.region, kind: i.kind, since: iso(i.since), until: iso(i.until) ?? null,
});

/** An outage as the API shows it: times in ISO-8601, the root and impacted elements with their place. */
function outageView(o: StoredOutage, topology: Topology) {
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
 * Versioned under /v1; /openapi.json and /metrics are open, everything else needs a bearer token
 * with a role the route allows: none is 401, a wrong role 403, past the rate limit 429.
 */
export function buildApi(d: ApiDeps): FastifyInstance {
  const metrics = new ApiMetrics();
  /** The error code each refused reply carried, for the refusal counter. */
  const refusals = new WeakMap<FastifyReply, string>();
  const app = Fastify({
    logger: false, bodyLimit: d.bodyLimit, routerOptions: { ignoreTrailingSlash: true },
    // A URL the router cannot take (bad percent-encoding, an id past 100 characters): our error shape, counted like any refusal.
    frameworkErrors: (err, _req, reply) => {
      const [status, code, message] = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? [414, 'uri_too_long', 'an id in the URL is over 100 characters'] : [400, 'bad_request', 'the URL is not valid percent-encoding'];
      metrics.refuse(code); // no route, so no onResponse hook: counted here
      return (reply as unknown as FastifyReply).code(status).send({ error: { code, message } });
    },
  });
  const limiter = new RateLimiter(d.rateLimit);
  const failures = new FailureLimiter(d.authFailures ?? 20);
  const now = d.now ?? Date.now;

  // No control characters in a URL (ids come from it) and no NUL in a JSON body: refused before any route sees them.
  app.addHook('onRequest', async (req) => {
    let url: string;
    try {
      url = decodeURIComponent(req.url);
    } catch {
      throw new ApiError(400, 'bad_request', 'the URL is not valid percent-encoding');
    }
    if (CONTROL.test(url)) throw new ApiError(400, 'bad_request', 'the URL carries control characters');
  });
  app.addHook('preValidation', async (req) => {
    if (req.body === null || typeof req.body !== 'object' || typeof (req.body as Readable).pipe === 'function') return;
    const at = findNul(req.body);
    if (at) throw new ApiError(400, 'bad_request', `body ${at}: text with a NUL character (\\u0000) is not accepted`, 'body');
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode, reply.elapsedTime / 1000);
    // Every refusal is counted once, by the code the client was told (or its status when no code was).
    if (reply.statusCode >= 400 && reply.statusCode < 500) metrics.refuse(refusals.get(reply) ?? `http_${reply.statusCode}`);
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof ApiError) {
      refusals.set(reply, err.code);
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.field && { field: err.field }) } });
    }
    if (err.statusCode === 413) {
      refusals.set(reply, 'body_too_large');
      return reply.code(413).send({ error: { code: 'body_too_large', message: `the body is over ${d.bodyLimit} bytes` } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      refusals.set(reply, 'bad_request');
      return reply.code(err.statusCode).send({ error: { code: 'bad_request', message: `body: ${err.message}` } });
    }
    d.logger.error({ err, route: req.routeOptions.url }, 'api request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error (logged)' } });
  });
  app.setNotFoundHandler((req, reply) => {
    refusals.set(reply, 'not_found');
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  /**
   * The route's guard, run when the request arrives, before its body is read: a known token with
   * one of the roles (admin may do everything; dashboard may do what noc may read), within its
   * rate, from an address that has not failed authentication too often.
   */
  const guard = (roles: Role[]) => async (req: FastifyRequest, reply: FastifyReply) => {
    const source = req.ip;
    const blocked = failures.blocked(source, now());
    if (blocked !== undefined) {
      reply.header('retry-after', String(blocked));
      throw new ApiError(429, 'too_many_failures', `too many failed authentications from this address; retry in ${blocked} s`);
    }
    const caller = d.auth.authenticate(req.headers.authorization);
    if (!caller) {
      failures.fail(source, now());
      metrics.authFailures++;
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required');
    }
    const viewing = caller.roles.includes('dashboard') && (req.method === 'GET' ? roles.includes('noc') : roles.includes('dashboard'));
    if (!caller.roles.includes('admin') && !viewing && !roles.some((r) => caller.roles.includes(r))) {
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
  const complaintWindow: TimeWindow = { aheadMs: d.times?.aheadMs ?? 5 * 60_000, pastMs: d.times?.complaintPastMs ?? 30 * 86_400_000 };
  /** Why a complaint's time (reported, responded, resolved) is refused, or undefined. */
  const complaintTime = (ms: number): string | undefined => {
    const r = checkTime(ms, now(), complaintWindow);
    return r && describeRefusal(r, ms, now(), complaintWindow);
  };
  const ADMIN: Role[] = ['admin'];

  // Subscriber files are streamed through the importer, never held whole in memory.
  app.addContentTypeParser(Object.keys(IMPORT_TYPES), (_req, payload, done) => done(null, payload));
  const NOC: Role[] = ['noc'];

  app.get('/openapi.json', async () => OPENAPI);
  if (d.webDir) {
    const files = staticFiles(d.webDir);
    app.get('/', async (_req, reply) => reply.redirect('/ui/'));
    const serve = (name: string, url: string, reply: FastifyReply) => {
      const f = files.get(name || 'index.html');
      if (!f) throw new ApiError(404, 'not_found', `no file ${url.split('?')[0]}`);
      return reply.type(f.type).header('cache-control', 'no-cache').header('content-security-policy', "default-src 'self'; style-src 'self'; img-src 'self' data:").send(f.body);
    };
    app.get('/ui', async (req, reply) => serve('index.html', req.url, reply));
    app.get('/ui/*', async (req, reply) => serve((req.params as { '*': string })['*'], req.url, reply));
  }
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(d.metrics() + metrics.render()));

  app.get('/v1/outages', { onRequest: guard(READ) }, async (req) => {
    const q = parse(outageQuery, req.query, 'query');
    const page = await d.store.outages({
      state: q.state, element: q.element, region: q.region, from: q.from, to: q.to, limit: q.limit + 1,
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const more = page.length > q.limit;
    const items = page.slice(0, q.limit);
    return { items: items.map((o) => outageView(o, d.topology())), nextCursor: more ? encodeCursor(items.at(-1)!) : null };
  });

  app.get('/v1/outages/:id', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const o = await d.store.outage(id);
    if (!o) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const history = await d.store.db.query<{ type: string; at: number }>('SELECT type, at FROM outage_events WHERE outage_id = $1 ORDER BY seq', [id]);
    return { ...outageView(o, d.topology()), history: history.map((h) => ({ event: h.type, at: iso(Number(h.at)) })) };
  });

  app.get('/v1/outages/:id/subscribers', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const q = parse(impactQuery, req.query, 'query');
    if (!(await d.store.outage(id, { impacted: false }))) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const page = await d.store.outageImpacts(id, { tier: q.tier, kind: q.kind, current: q.current, limit: q.limit + 1, after: q.cursor ? decodeImpactCursor(q.cursor) : undefined });
    const items = page.slice(0, q.limit);
    return { items: items.map(spanView), nextCursor: page.length > q.limit ? encodeImpactCursor(items.at(-1)!) : null };
  });

  app.get('/v1/subscribers/:id', { onRequest: guard(READ) }, async (req) => {
    const { id } = req.params as { id: string };
    const q = parse(subscriberQuery, req.query, 'query');
    const s = await d.store.subscriber(id);
    if (!s) throw new ApiError(404, 'not_found', `no subscriber ${id}`);
    const spans = await d.store.subscriberImpacts(id, now() - q.days * 86_400_000);
    const topology = d.topology();
    const outages = new Map<string, StoredOutage | undefined>();
    for (const sp of spans) if (!outages.has(sp.outageId)) outages.set(sp.outageId, await d.store.outage(sp.outageId, { impacted: false }));
    const current = spans.filter((sp) => sp.until === undefined);
    const impacts = [];
    for (const sp of current) {
      const o = outages.get(sp.outageId);
      const ack = await d.store.acknowledgement(sp.outageId);
      impacts.push({
        kind: sp.kind, since: iso(sp.since),
        outage: o && {
          id: o.id, state: o.state, severity: o.severity, planned: o.planned, startedAt: iso(o.startedAt),
          rootCause: { id: o.root, kind: topology.elements.get(o.root)?.kind, site: topology.elements.get(o.root)?.site, reason: o.reason },
          affectedSubscribers: o.scope?.current ?? null,
          acknowledged: ack ? { by: ack.by, at: iso(ack.at) } : null,
        },
      });
    }
    return {
      subscriber: {
        id: s.id, tier: s.tier, service: s.service, region: s.region, plan: s.plan, arpu: s.arpuMinor === undefined ? undefined : s.arpuMinor / 100,
        servingElements: s.serving.map((e) => {
          const h = d.health(e);
          return { id: e, kind: topology.elements.get(e)?.kind, site: topology.elements.get(e)?.site, health: h ? { state: h.state, since: iso(h.since) } : { state: 'unknown', since: null } };
        }),
      },
      affected: current.length > 0,
      worst: current.some((sp) => sp.kind === 'no_service') ? 'no_service' : current.length > 0 ? 'degraded' : null,
      impacts,
      recent: spans.filter((sp) => sp.until !== undefined).map((sp) => ({
        outageId: sp.outageId, kind: sp.kind, since: iso(sp.since), until: iso(sp.until), root: outages.get(sp.outageId)?.root,
      })),
    };
  });

  let importing: string | undefined;
  app.post('/v1/subscribers/import', { onRequest: guard(ADMIN) }, async (req, reply) => {
    const q = parse(importQuery, req.query, 'query');
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const format = IMPORT_TYPES[type];
    if (!format) throw new ApiError(415, 'unsupported_media_type', `send text/csv or application/x-ndjson, not ${type || 'nothing'}`);
    if (importing) throw new ApiError(409, 'import_running', `an import by ${importing} is running; one at a time`);
    importing = (req as FastifyRequest & { caller: Caller }).caller.name;
    let bytes = 0;
    const body = req.body as Readable;
    const limited = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > d.importLimit) cb(new ApiError(413, 'body_too_large', `the file is over ${d.importLimit} bytes`));
        else cb(null, chunk);
      },
    });
    // A client that goes away before the end fails the import: its staged rows are dropped, nothing changes.
    const gone = () => { if (!req.raw.complete) limited.destroy(new ApiError(400, 'aborted', 'the client went away before the end of the file')); };
    req.raw.once('close', gone);
    limited.on('error', () => {}); // the importer reads the error through its iteration; this keeps a late one from being unhandled
    body.once('error', (err) => limited.destroy(err));
    body.pipe(limited);
    const topology = d.topology();
    try {
      const report = await importSubscribers(d.store, limited, { format, mode: q.mode, known: (e) => topology.elements.has(e), maxRejected: q.maxRejected }).catch((err: Error) => {
        if (err instanceof ApiError) throw err;
        throw new ApiError(400, 'bad_request', `body: ${err.message}`, 'body');
      });
      if (!report.committed) refusals.set(reply, 'import_refused');
      if (!report.committed) return reply.code(422).send({ error: { code: 'import_refused', message: `nothing changed: ${report.refused}` }, mode: q.mode, format, ...report });
      await d.subscribersChanged();
      return { mode: q.mode, format, ...report };
    } finally {
      importing = undefined;
      req.raw.off('close', gone);
    }
  });

  const COMPLAINTS: Role[] = ['complaints'];
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
    if (!(await d.store.outage(id, { impacted: false }))) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const items = await d.complaints.ofOutage(d.store, id);
    // TMF656 Service Problem: the trouble tickets (complaints) it explains.
    return { outageId: id, troubleTicket: items.map((c) => ({ id: c.id, '@referredType': 'TroubleTicket', status: c.status, grade: c.grade, reportedAt: iso(c.reportedAt) })), items: items.map(complaintView) };
  });

  app.get('/v1/events', { onRequest: guard(READ) }, async (req, reply) => {
    if (!d.events) throw new ApiError(404, 'not_found', 'no live events in this daemon');
    if (req.method === 'HEAD') return reply.type('text/event-stream').send(); // a probe, not a stream: no slot held
    const caller = (req as FastifyRequest & { caller: Caller }).caller;
    if (!d.events.admits(caller.name)) throw new ApiError(429, 'too_many_streams', `${caller.name} already holds the most streams a token may open`);
    reply.hijack();
    d.events.attach(reply.raw, { owner: caller.name });
  });

  const elementsQuery = z.strictObject({
    region: z.string().min(1).optional(),
    site: z.string().min(1).optional(),
    kind: z.string().min(1).optional(),
    state: z.enum(['up', 'degraded', 'down', 'unknown']).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    cursor: z.string().min(1).max(300).optional(),
  });
  app.get('/v1/elements', { onRequest: guard(READ) }, async (req) => {
    const q = parse(elementsQuery, req.query, 'query');
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

  app.get('/v1/elements/:id', { onRequest: guard(READ) }, async (req) => {
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
      measurements: d.recent(id).map((m) => ({
        measurement: m.measurement, tags: m.tags, time: iso(m.time), latest: m.latest,
        history: Object.fromEntries(Object.entries(m.history).map(([f, pts]) => [f, pts.map(([t, v]) => ({ time: iso(t), value: v }))])),
        trend: Object.fromEntries(Object.entries(m.trend).map(([f, pts]) => [f, pts.map(([t, v]) => ({ time: iso(t), value: v }))])),
      })),
    };
  });

  app.get('/v1/elements/:id/availability', { onRequest: guard([...READ]) }, async (req) => {
    const { id } = req.params as { id: string };
    if (!d.topology().elements.has(id)) throw new ApiError(404, 'not_found', `no element ${id}`);
    const p = parse(period, req.query, 'query');
    const a = await d.store.availability(id, p.from, p.to, now());
    return { element: id, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  app.get('/v1/sites/:site/availability', { onRequest: guard([...READ]) }, async (req) => {
    const { site } = req.params as { site: string };
    const p = parse(period, req.query, 'query');
    const a = await d.store.siteAvailability(site, p.from, p.to, now());
    if (a.elements === 0) throw new ApiError(404, 'not_found', `no site ${site}`);
    return { site, from: iso(p.from), to: iso(p.to), ...a, availabilityPercent: Math.round(a.availability * 1e6) / 1e4 };
  });

  app.get('/v1/maintenance', { onRequest: guard(NOC) }, async (req) => {
    // Bounded: windows still to come or ended in the last `days` (30), at most `limit` (500), by start.
    const q = parse(z.strictObject({ days: z.coerce.number().int().min(1).max(400).default(30), limit: z.coerce.number().int().min(1).max(5000).default(500) }), req.query, 'query');
    const since = now() - q.days * 86_400_000;
    const all = (await d.store.maintenance()).filter((w) => w.end >= since);
    return { items: all.slice(0, q.limit).map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })), more: all.length > q.limit };
  });

  const MAINTENANCE: Role[] = ['maintenance'];
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
    const before = w.start < t - bounds.maxPastMs ? (await d.store.maintenance()).find((x) => x.id === w.id) : undefined;
    const sameScope = before !== undefined && w.start >= before.start
      && (w.elements ?? []).every((e) => (before.elements ?? []).includes(e)) && (w.sites ?? []).every((x) => (before.sites ?? []).includes(x));
    if (w.start < t - bounds.maxPastMs && !sameScope) {
      throw new ApiError(400, 'bad_request', `body start: more than ${span(bounds.maxPastMs)} in the past${before ? ' (a running window may change, but not start earlier or cover more)' : ''}`, 'start');
    }
    if (w.start > t + bounds.maxAheadMs) throw new ApiError(400, 'bad_request', `body start: more than ${span(bounds.maxAheadMs)} ahead`, 'start');
    if (w.end - w.start > bounds.maxLengthMs) throw new ApiError(400, 'bad_request', `body end: a window may last at most ${span(bounds.maxLengthMs)}`, 'end');
    const created = await d.store.saveMaintenance(w, (req as FastifyRequest & { caller: Caller }).caller.name, now());
    await d.maintenanceChanged();
    return reply.code(created ? 201 : 200).send({ ...w, start: b.start, end: b.end });
  });

  app.delete('/v1/maintenance/:id', { onRequest: guard(MAINTENANCE) }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await d.store.deleteMaintenance(id))) throw new ApiError(404, 'not_found', `no maintenance window ${id}`);
    await d.maintenanceChanged();
    return reply.code(204).send();
  });

  app.get('/v1/alerts', { onRequest: guard(NOC) }, async (req) => {
    const q = parse(alertsQuery, req.query, 'query');
    const page = await d.store.alerts(q.outage, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
    // Oldest first within the page; the page is the newest `limit` before the cursor.
    const more = page.length > q.limit;
    const items = more ? page.slice(1) : page;
    return {
      items: items.map((a) => ({ ...a.body, ackState: a.ackState, ackBy: a.ackBy, ackTime: iso(a.ackAt) })),
      nextCursor: more ? Buffer.from(`${items[0].raisedAt}|${items[0].id}`).toString('base64url') : null,
    };
  });

  app.get('/v1/alerts/stream', { onRequest: guard(NOC) }, async (req, reply) => {
    if (!d.alertStream) throw new ApiError(404, 'not_found', 'no alert stream in this daemon');
    if (req.method === 'HEAD') return reply.type('text/event-stream').send(); // a probe, not a stream: no slot held
    const caller = (req as FastifyRequest & { caller: Caller }).caller;
    if (!d.alertStream.admits(caller.name)) throw new ApiError(429, 'too_many_streams', `${caller.name} already holds the most streams a token may open`);
    const last = req.headers['last-event-id'];
    reply.hijack();
    d.alertStream.attach(reply.raw, typeof last === 'string' ? last : undefined, caller.name);
  });

  app.post('/v1/alerts/:id/ack', { onRequest: guard(['noc', 'dashboard']) }, async (req) => {
    const { id } = req.params as { id: string };
    const caller = (req as FastifyRequest & { caller: Caller }).caller;
    if (!(await d.store.ackAlert(id, caller.name, now()))) throw new ApiError(404, 'not_found', `no alert ${id}`);
    return { id, ackState: 'acknowledged', ackBy: caller.name, ackTime: iso(now()) };
  });

  if (d.compensation) compensationRoutes(app, d.store, d.compensation, guard, now);
  return app;
}
