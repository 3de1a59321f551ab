import type { Operation } from './route.ts';

/**
 * The API described for clients (OpenAPI 3.1), served at /openapi.json: what every document says
 * (info, security, the shared schemas) and the helpers routes write their responses with. Each
 * operation comes from its route (`ctx.route` in src/api/route.ts), parameters and bodies
 * generated from the zod schemas the route parses with.
 */
const err = { $ref: '#/components/schemas/Error' };
/** The refusals every guarded route may answer. */
export const errors = {
  400: { description: 'Bad input: `field` names it', content: { 'application/json': { schema: err } } },
  401: { description: 'No valid bearer token', content: { 'application/json': { schema: err } } },
  403: { description: 'The token lacks the role', content: { 'application/json': { schema: err } } },
  404: { description: 'Unknown id', content: { 'application/json': { schema: err } } },
  429: { description: 'Rate limit; see Retry-After', content: { 'application/json': { schema: err } } },
};
/** A 200 with a JSON body, and the refusals. */
export const ok = (description: string, schema: object = { type: 'object' }) => ({ 200: { description, content: { 'application/json': { schema } } }, ...errors });
/** A cursor-paged listing: `items`, and `nextCursor` (null on the last page). */
export const page = (items: object) => ({ type: 'object', properties: { items: { type: 'array', items }, nextCursor: { type: ['string', 'null'] } } });
/** A server-sent event stream, and the refusals. */
export const stream = { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors };
/** A shared schema, by name. */
export const ref = (name: 'Outage' | 'Scope' | 'Credit' | 'Impact' | 'Error') => ({ $ref: `#/components/schemas/${name}` });

const BASE = {
  openapi: '3.1.0',
  info: { title: 'netpulse API', version: '1', description: 'Outages, element health, availability, maintenance, alerts, subscribers, complaints, compensation and service reports. Bearer tokens with roles noc, dashboard, maintenance, complaints, compensation, manager, admin (README: roles). The token is checked before the body is read; 20 failed authentications a minute from one address make it 429 until the minute ends. Every refusal is counted in /metrics (netpulse_api_refused_total by code).' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } } },
      Outage: { type: 'object', properties: {
        id: { type: 'string' }, state: { enum: ['open', 'cleared', 'closed'] }, severity: { enum: ['outage', 'degradation'] },
        planned: { type: 'boolean' }, flapping: { type: 'boolean' },
        rootCause: { type: 'object', description: 'The root element (id, kind, site, region), why it failed, and `inferred`: true when it was not seen failing but inferred from the elements behind it (README: a silent parent)', properties: { id: { type: 'string' }, reason: { type: 'string' }, inferred: { type: 'boolean' } } },
        firstEvidence: { oneOf: [{ type: 'object', description: 'What opened the outage, kept as it was: the trap, failed poll or last will seen of the root (its reason names the source, e.g. `trap: linkDown ifIndex 3`), or the inference from the elements behind it', properties: { at: { type: 'string', format: 'date-time' }, reason: { type: 'string' } } }, { type: 'null' }] },
        startedAt: { type: 'string', format: 'date-time' }, clearedAt: { type: 'string', format: 'date-time' }, closedAt: { type: 'string', format: 'date-time' },
        impactedElements: { type: 'array', items: { type: 'object' } },
        affectedSubscribers: { oneOf: [{ $ref: '#/components/schemas/Scope' }, { type: 'null' }] },
      } },
      Scope: { type: 'object', description: 'Subscribers an outage hits: distinct so far, now, by worst impact, by tier, service and region', properties: {
        subscribers: { type: 'integer' }, current: { type: 'integer' }, noService: { type: 'integer' }, degraded: { type: 'integer' },
        byTier: { type: 'object', additionalProperties: { type: 'integer' } }, byService: { type: 'object', additionalProperties: { type: 'integer' } },
        byRegion: { type: 'object', additionalProperties: { type: 'integer' } },
      } },
      Credit: { type: 'object', description: 'A ledger entry: a first credit or a correction (signed) of what an outage owes one subscriber. Apply every entry once, by id, whatever its sign: their sum is what is owed. Once handed over (read over the API, pushed or confirmed) an entry is never reversed; a later change is a correction naming it in `corrects`', properties: {
        id: { type: 'string' }, outageId: { type: 'string' }, subscriberId: { type: 'string' }, kind: { enum: ['credit', 'correction'] }, revision: { type: 'integer' },
        sequence: { type: 'string', description: 'its place in the ledger (a counter, not a time): the cursor after it' },
        corrects: { type: ['string', 'null'], description: 'a correction: the id of the credit it corrects' },
        handedOverAt: { type: ['string', 'null'], format: 'date-time', description: 'when it first left netpulse (pulled, pushed or confirmed)' },
        amount: { type: 'object', properties: { value: { type: 'number' }, minor: { type: 'integer' }, currency: { type: 'string' } } },
        form: { enum: ['bill_credit', 'data_pack', 'free_minutes', 'service_days'] }, quantity: { type: 'integer' }, unit: { type: 'string' },
        policy: { type: 'object' }, impact: { type: 'object' }, subscriber: { type: 'object' }, explanation: { type: 'array', items: { type: 'string' } },
        state: { enum: ['computed', 'delivered', 'applied', 'failed', 'reversed'], description: 'reversed: withdrawn before it was ever handed over (never owed)' }, reason: { type: ['string', 'null'] },
      } },
      Impact: { type: 'object', description: 'One span of a subscriber\'s impact by an outage, one kind throughout', properties: {
        subscriberId: { type: 'string' }, tier: { type: 'string' }, service: { type: 'string' }, region: { type: 'string' },
        kind: { enum: ['no_service', 'degraded'] }, since: { type: 'string', format: 'date-time' }, until: { type: ['string', 'null'], format: 'date-time' },
      } },
    },
  },
  security: [{ bearer: [] }],
};

/** The document: every operation under its path, in the order the routes were registered. */
export function openApiDocument(operations: readonly Operation[]) {
  const paths: Record<string, Record<string, object>> = {};
  for (const o of operations) (paths[o.path] ??= {})[o.method] = o.operation;
  return { ...BASE, paths };
}
