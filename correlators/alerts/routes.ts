import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { AlertStream } from './sse.ts';
import { ApiError, iso, decodeCursor, callerOf, type RouteContext } from '../../src/api/http.ts';
import { ok, page, stream } from '../../src/api/openapi.ts';
import { alertsOf } from './repository.ts';

export interface AlertRouteDeps {
  store: Store;
  /** The alerts served at /v1/alerts/stream. */
  alertStream?: AlertStream;
}

const alertsQuery = z.strictObject({
  outage: z.string().min(1).optional().describe('of one outage'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('page size (100)'),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional().describe('nextCursor of the previous page: older alerts'),
});

/** Alerts (`/v1/alerts`), their live stream, and acknowledgements. */
export function alertRoutes({ route, now, roles }: RouteContext, d: AlertRouteDeps): void {
  const { NOC } = roles;
  route({
    method: 'GET', url: '/v1/alerts', roles: NOC, query: alertsQuery,
    summary: 'The newest alerts, oldest first within the page, TMF642 fields (role noc); nextCursor pages back to older ones',
    responses: ok('A page of alerts', page({ type: 'object' })),
  }, async (_req, _reply, input) => {
    const q = input.query();
    const page = await alertsOf(d.store).alerts(q.outage, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
    // Oldest first within the page; the page is the newest `limit` before the cursor.
    const more = page.length > q.limit;
    const items = more ? page.slice(1) : page;
    return {
      items: items.map((a) => ({ ...a.body, ackState: a.ackState, ackBy: a.ackBy, ackTime: iso(a.ackAt) })),
      nextCursor: more ? Buffer.from(`${items[0].raisedAt}|${items[0].id}`).toString('base64url') : null,
    };
  });

  route({
    method: 'GET', url: '/v1/alerts/stream', roles: NOC, responses: stream,
    summary: 'Alerts as server-sent events (role noc or dashboard), each with its id: a client that reconnects with Last-Event-ID gets what it missed from the last 1,000; with no id or an older one, nothing is replayed (read /v1/alerts). At most api.streamsPerToken streams per token',
    headers: [{ name: 'Last-Event-ID', description: 'the id of the last alert the client got, to get what it missed', schema: { type: 'string' } }],
  }, async (req, reply) => {
    if (!d.alertStream) throw new ApiError(404, 'not_found', 'no alert stream in this daemon');
    if (req.method === 'HEAD') return reply.type('text/event-stream').send(); // a probe, not a stream: no slot held
    const caller = callerOf(req);
    if (!d.alertStream.admits(caller.name)) throw new ApiError(429, 'too_many_streams', `${caller.name} already holds the most streams a token may open`);
    const last = req.headers['last-event-id'];
    reply.hijack();
    d.alertStream.attach(reply.raw, typeof last === 'string' ? last : undefined, caller.name);
  });

  route({
    method: 'POST', url: '/v1/alerts/:id/ack', roles: ['noc', 'dashboard'],
    summary: 'Acknowledge an alert (role noc or dashboard); recorded with the token name', responses: ok('Acknowledged'),
  }, async (req) => {
    const { id } = req.params as { id: string };
    const caller = callerOf(req);
    if (!(await alertsOf(d.store).ackAlert(id, caller.name, now()))) throw new ApiError(404, 'not_found', `no alert ${id}`);
    return { id, ackState: 'acknowledged', ackBy: caller.name, ackTime: iso(now()) };
  });
}
