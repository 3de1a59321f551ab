/** The API described for clients (OpenAPI 3.1), served at /openapi.json. */
const err = { $ref: '#/components/schemas/Error' };
const errors = {
  400: { description: 'Bad input: `field` names it', content: { 'application/json': { schema: err } } },
  401: { description: 'No valid bearer token', content: { 'application/json': { schema: err } } },
  403: { description: 'The token lacks the role', content: { 'application/json': { schema: err } } },
  404: { description: 'Unknown id', content: { 'application/json': { schema: err } } },
  429: { description: 'Rate limit; see Retry-After', content: { 'application/json': { schema: err } } },
};
const ok = (description: string, schema: object = { type: 'object' }) => ({ 200: { description, content: { 'application/json': { schema } } }, ...errors });
const id = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const q = (name: string, schema: object, description: string) => ({ name, in: 'query', schema, description });
const time = { oneOf: [{ type: 'string', format: 'date-time' }, { type: 'integer', description: 'ms since the epoch' }] };

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'netpulse API', version: '1', description: 'Outages, element health, availability, maintenance and alerts. Bearer tokens with roles noc, complaints, compensation, admin.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } } },
      Outage: { type: 'object', properties: {
        id: { type: 'string' }, state: { enum: ['open', 'cleared', 'closed'] }, severity: { enum: ['outage', 'degradation'] },
        planned: { type: 'boolean' }, flapping: { type: 'boolean' }, rootCause: { type: 'object' },
        startedAt: { type: 'string', format: 'date-time' }, clearedAt: { type: 'string', format: 'date-time' }, closedAt: { type: 'string', format: 'date-time' },
        impactedElements: { type: 'array', items: { type: 'object' } },
        affectedSubscribers: { oneOf: [{ $ref: '#/components/schemas/Scope' }, { type: 'null' }] },
      } },
      Scope: { type: 'object', description: 'Subscribers an outage hits: distinct so far, now, by worst impact, by tier, service and region', properties: {
        subscribers: { type: 'integer' }, current: { type: 'integer' }, noService: { type: 'integer' }, degraded: { type: 'integer' },
        byTier: { type: 'object', additionalProperties: { type: 'integer' } }, byService: { type: 'object', additionalProperties: { type: 'integer' } },
        byRegion: { type: 'object', additionalProperties: { type: 'integer' } },
      } },
      Impact: { type: 'object', description: 'One span of a subscriber\'s impact by an outage, one kind throughout', properties: {
        subscriberId: { type: 'string' }, tier: { type: 'string' }, service: { type: 'string' }, region: { type: 'string' },
        kind: { enum: ['no_service', 'degraded'] }, since: { type: 'string', format: 'date-time' }, until: { type: ['string', 'null'], format: 'date-time' },
      } },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/outages': { get: { summary: 'Active and past outages, newest first, cursor-paged', parameters: [
      q('state', { enum: ['open', 'cleared', 'closed', 'active'] }, 'active = open or cleared'), q('element', { type: 'string' }, 'root or impacted'),
      q('region', { type: 'string' }, "the root's region"), q('from', time, 'overlapping from'), q('to', time, 'overlapping until'),
      q('limit', { type: 'integer', minimum: 1, maximum: 500 }, 'page size (100)'), q('cursor', { type: 'string' }, 'nextCursor of the previous page'),
    ], responses: ok('A page of outages', { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Outage' } }, nextCursor: { type: ['string', 'null'] } } }) } },
    '/v1/outages/{id}': { get: { summary: 'One outage: root cause, impacted elements, history', parameters: [id('id')], responses: ok('The outage', { $ref: '#/components/schemas/Outage' }) } },
    '/v1/outages/{id}/subscribers': { get: { summary: 'The subscribers an outage hits or hit, by subscriber id, cursor-paged', parameters: [id('id'),
      q('tier', { enum: ['vip', 'gold', 'standard', 'enterprise'] }, 'only this tier'), q('kind', { enum: ['no_service', 'degraded'] }, 'only this impact'),
      q('current', { enum: ['true', 'false'] }, 'only impacts still open'), q('limit', { type: 'integer', minimum: 1, maximum: 5000 }, 'page size (1000)'),
      q('cursor', { type: 'string' }, 'nextCursor of the previous page'),
    ], responses: ok('A page of impacts', { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Impact' } }, nextCursor: { type: ['string', 'null'] } } }) } },
    '/v1/subscribers/{id}': { get: { summary: 'Is this subscriber affected? Current impacts with their outage (root cause, since, NOC acknowledgement) and recent ones', parameters: [id('id'),
      q('days', { type: 'integer', minimum: 1, maximum: 400 }, 'how far back recent impacts go (30)')], responses: ok('The subscriber and their impacts', { type: 'object', properties: {
      subscriber: { type: 'object' }, affected: { type: 'boolean' }, worst: { enum: ['no_service', 'degraded', null] }, impacts: { type: 'array', items: { type: 'object' } }, recent: { type: 'array', items: { type: 'object' } } } }) } },
    '/v1/subscribers/import': { post: { summary: 'Load subscribers from CSV or JSON Lines (role admin), row by row; streamed', parameters: [
      q('mode', { enum: ['incremental', 'replace'] }, 'incremental upserts (default); replace makes the file the whole inventory, in one transaction')],
    requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
    responses: { ...ok('The import report: rows, loaded, rejected, problems (line and reason)'), 413: { description: 'Over api.importLimit' }, 415: { description: 'Not CSV or JSON Lines' } } } },
    '/v1/complaints': { post: { summary: 'Take a complaint (role complaints): graded, matched to an outage or explained, stored once per id (201 new, 200 duplicate)', requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['id', 'subscriberId', 'channel', 'category', 'reportedAt'], properties: {
      id: { type: 'string' }, subscriberId: { type: 'string' }, channel: { enum: ['hotline', 'app', 'web', 'store'] },
      category: { enum: ['no_service', 'weak_signal', 'slow_data', 'call_drop', 'broadband_down', 'wifi', 'billing', 'service_attitude', 'other'] },
      text: { type: 'string' }, reportedAt: { type: 'string', format: 'date-time' }, cell: { type: 'string' },
      location: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } } }, escalations: { type: 'integer' } } } } } },
    responses: { 201: { description: 'Taken: status, grade, deadlines, match or explanation, relatedEntity (TMF621)' }, ...ok('A duplicate: the complaint as first taken') } } },
    '/v1/complaints/batch': { post: { summary: 'Up to 1,000 complaints at once; bad items are reported by index and field, good ones taken', responses: ok('Per-item results') } },
    '/v1/suspected-outages': { get: { summary: 'Outages found by complaints (role noc): suspected, or confirmed by monitoring with its outage', parameters: [q('state', { enum: ['suspected', 'confirmed', 'dismissed', 'expired'] }, 'only these')], responses: ok('Suspected outages') } },
    '/v1/suspected-outages/{id}/dismiss': { post: { summary: 'Not an outage (role noc): the element may raise again', parameters: [id('id')], responses: ok('Dismissed') } },
    '/v1/complaints/{id}': {
      get: { summary: 'One complaint with its grade, deadlines, match, explanation and handling', parameters: [id('id')], responses: ok('The complaint') },
      patch: { summary: 'Handling (role complaints): firstResponseAt, resolvedAt, resolution, satisfied, escalations (more escalations re-grade it)', parameters: [id('id')], requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: {
        firstResponseAt: { type: 'string', format: 'date-time' }, resolvedAt: { type: 'string', format: 'date-time' }, resolution: { type: 'string' }, satisfied: { type: 'boolean' }, escalations: { type: 'integer' } } } } } },
      responses: ok('The complaint as now') },
    },
    '/v1/outages/{id}/complaints': { get: { summary: 'The complaints an outage explains (TMF656 troubleTicket[])', parameters: [id('id')], responses: ok('Complaints') } },
    '/v1/elements/{id}': { get: { summary: "An element's place, health, recent measurements, recent transitions and active outages", parameters: [id('id')], responses: ok('The element') } },
    '/v1/elements/{id}/availability': { get: { summary: 'Availability over a period (unplanned outages)', parameters: [id('id'), q('from', time, 'start'), q('to', time, 'end')], responses: ok('Availability') } },
    '/v1/sites/{site}/availability': { get: { summary: "A site's availability: the mean of its elements'", parameters: [id('site'), q('from', time, 'start'), q('to', time, 'end')], responses: ok('Availability') } },
    '/v1/maintenance': {
      get: { summary: 'Maintenance windows (role noc)', responses: ok('Windows') },
      post: { summary: 'Create or replace a window (role noc): outages inside are planned, not paged', requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['id', 'start', 'end'], properties: {
        id: { type: 'string' }, elements: { type: 'array', items: { type: 'string' } }, sites: { type: 'array', items: { type: 'string' } },
        start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' }, reason: { type: 'string' } } } } } },
      responses: { 201: { description: 'Created' }, ...ok('Replaced') } },
    },
    '/v1/maintenance/{id}': { delete: { summary: 'Remove a window (role noc)', parameters: [id('id')], responses: { 204: { description: 'Removed' }, ...errors } } },
    '/v1/alerts': { get: { summary: 'Alerts, TMF642 fields (role noc)', parameters: [q('outage', { type: 'string' }, 'of one outage')], responses: ok('Alerts') } },
    '/v1/alerts/{id}/ack': { post: { summary: 'Acknowledge an alert (role noc); recorded with the token name', parameters: [id('id')], responses: ok('Acknowledged') } },
    '/metrics': { get: { summary: 'Prometheus self metrics (no token)', security: [], responses: { 200: { description: 'text/plain' } } } },
  },
};
