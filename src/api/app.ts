import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../log.ts';
import { ApiError, callerOf, ROLE_SETS, type RouteContext } from './http.ts';
import { Authenticator, FailureLimiter, RateLimiter, type Caller, type Role } from './auth.ts';
import { CONTROL, findNul } from '../intake/text.ts';
import { openApiDocument, stream } from './openapi.ts';
import { routeContext } from './route.ts';
import { ApiMetrics } from './metrics.ts';
import type { EventHub } from '../events.ts';
import { staticFiles } from './static.ts';
import { forwardToLeader, type LeaderRoute } from './forward.ts';
import type { Readable } from 'node:stream';

/** What the API shell needs; every noun brings its own routes (registered in order). */
export interface ApiDeps {
  routes: readonly ((ctx: RouteContext) => void)[];
  /** The live event stream served at /v1/events. */
  events?: EventHub;
  /** The dashboard's static files, served at /ui/ (and / redirects there). */
  webDir?: string;
  /** The daemon's own metrics in Prometheus text format (the API adds its latencies). */
  metrics: () => string;
  /** Whether the daemon is ready to serve (started, its store answering), with each check's finding; absent: always ready. */
  ready?: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  auth: Authenticator;
  rateLimit: number;
  /** Failed authentications per source address per minute before the address is refused. */
  authFailures?: number;
  bodyLimit: number;
  /** In a cluster: where writes and reads of the leader's state go (see forward.ts). */
  leader?: LeaderRoute;
  logger: Logger;
  now?: () => number;
}

/** Every route an app answers (HEAD ones too), as fastify registered them: what /openapi.json must describe. */
const registered = new WeakMap<FastifyInstance, { method: string; url: string }[]>();
export const registeredRoutes = (app: FastifyInstance): readonly { method: string; url: string }[] => registered.get(app) ?? [];

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
  const routes: { method: string; url: string }[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (r) => { for (const method of [r.method].flat()) routes.push({ method, url: r.url ?? r.path }); });
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
  const guard = (roles: readonly Role[]) => async (req: FastifyRequest, reply: FastifyReply) => {
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
  const { ctx, operations } = routeContext(app, { guard, now, refuse: (reply, code) => refusals.set(reply, code), ...(d.leader && { forward: forwardToLeader(d.leader, d.bodyLimit) }) });
  const { READ } = ROLE_SETS;

  // Described by every route as it is registered, so built once they all are (below).
  let openapi: ReturnType<typeof openApiDocument> | undefined;
  app.get('/openapi.json', async () => openapi);
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
  ctx.route({
    method: 'GET', url: '/metrics', summary: 'Prometheus self metrics (no token)',
    responses: { 200: { description: 'text/plain', content: { 'text/plain': { schema: { type: 'string' } } } } },
  }, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(d.metrics() + metrics.render()));

  // For a load balancer or an orchestrator: alive (the process answers), and ready (started, its store answering).
  ctx.route({
    method: 'GET', url: '/healthz', summary: 'Alive: the process answers (no token)',
    responses: { 200: { description: 'alive' } },
  }, async () => ({ status: 'alive' }));
  ctx.route({
    method: 'GET', url: '/readyz', summary: 'Ready to serve: started, and its store answering (no token); 503 with the failing checks otherwise',
    responses: { 200: { description: 'ready' }, 503: { description: 'not ready: which check failed' } },
  }, async (_req, reply) => {
    const r = (await d.ready?.()) ?? { ready: true, checks: {} };
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });

  ctx.route({
    method: 'GET', url: '/v1/events', roles: READ, responses: stream,
    summary: 'Live events as server-sent events: health, outage, alert, complaint, compensation (and the demo story); nothing is replayed, read the state over the API first. At most api.streamsPerToken streams per token (429 past it); a client more than 1 MiB behind is dropped',
  }, async (req, reply) => {
    if (!d.events) throw new ApiError(404, 'not_found', 'no live events in this daemon');
    if (req.method === 'HEAD') return reply.type('text/event-stream').send(); // a probe, not a stream: no slot held
    const caller = callerOf(req);
    if (!d.events.admits(caller.name)) throw new ApiError(429, 'too_many_streams', `${caller.name} already holds the most streams a token may open`);
    reply.hijack();
    d.events.attach(reply.raw, { owner: caller.name });
  });

  // Each noun's routes, from its own folder.
  for (const register of d.routes) register(ctx);
  openapi = openApiDocument(operations);
  return app;
}
