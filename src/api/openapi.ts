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
  info: { title: 'netpulse API', version: '1', description: 'Outages, element health, availability, maintenance, alerts, subscribers, complaints and compensation. Bearer tokens with roles noc, dashboard, maintenance, complaints, compensation, admin (README: roles). The token is checked before the body is read; 20 failed authentications a minute from one address make it 429 until the minute ends. Every refusal is counted in /metrics (netpulse_api_refused_total by code).' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } } },
      Outage: { type: 'object', properties: {
        id: { type: 'string' }, state: { enum: ['open', 'cleared', 'closed'] }, severity: { enum: ['outage', 'degradation'] },
        planned: { type: 'boolean' }, flapping: { type: 'boolean' },
        rootCause: { type: 'object', description: 'The root element (id, kind, site, region), why it failed, and `inferred`: true when it was not seen failing but inferred from the elements behind it (README: a silent parent)', properties: { id: { type: 'string' }, reason: { type: 'string' }, inferred: { type: 'boolean' } } },
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
      q('mode', { enum: ['incremental', 'replace'] }, 'incremental upserts (default); replace makes the file the whole inventory. Either way the file is staged and goes in whole, in one short transaction at the end, or not at all'),
      q('maxRejected', { type: 'number', minimum: 0, maximum: 1 }, 'the share of rejected rows past which nothing is committed (default 0 for replace: any rejected row refuses it; 1 for incremental)')],
    requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
    responses: { ...ok('The import report: rows, loaded, rejected, problems (line and reason), committed'), 409: { description: 'Another import is running (one at a time)' }, 413: { description: 'Over api.importLimit' }, 415: { description: 'Not CSV or JSON Lines' },
      422: { description: 'Refused, nothing changed: a replace that loaded no row, or rejected rows past maxRejected (the report says which)' } } } },
    '/v1/complaints': { post: { summary: 'Take a complaint (role complaints): graded, matched to an outage or explained, stored once per id (201 new, 200 duplicate)', requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['id', 'subscriberId', 'channel', 'category', 'reportedAt'], properties: {
      id: { type: 'string' }, subscriberId: { type: 'string' }, channel: { enum: ['hotline', 'app', 'web', 'store'] },
      category: { enum: ['no_service', 'weak_signal', 'slow_data', 'call_drop', 'broadband_down', 'wifi', 'billing', 'service_attitude', 'other'] },
      text: { type: 'string' }, reportedAt: { type: 'string', format: 'date-time' }, cell: { type: 'string' },
      location: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } } }, escalations: { type: 'integer' } } } } } },
    responses: { 201: { description: 'Taken: status, grade, deadlines, match or explanation, relatedEntity (TMF621)' }, ...ok('A duplicate: the complaint as first taken') } } },
    '/v1/complaints/batch': { post: { summary: 'Up to 1,000 complaints at once; bad items are reported by index and field, good ones taken', responses: ok('Per-item results') } },
    '/v1/suspected-outages': { get: { summary: 'Outages found by complaints (role noc): suspected, confirmed by monitoring with its outage, dismissed, expired, or merged into one above it (a rollup: mergedInto)', parameters: [q('state', { enum: ['suspected', 'confirmed', 'dismissed', 'expired', 'merged'] }, 'only these')], responses: ok('Suspected outages') } },
    '/v1/suspected-outages/{id}/dismiss': { post: { summary: 'Not an outage (role noc): the element may raise again', parameters: [id('id')], responses: ok('Dismissed') } },
    '/v1/complaints/{id}': {
      get: { summary: 'One complaint with its grade, deadlines, match, explanation and handling', parameters: [id('id')], responses: ok('The complaint') },
      patch: { summary: 'Handling (role complaints): firstResponseAt, resolvedAt, resolution, satisfied, escalations (more escalations re-grade it)', parameters: [id('id')], requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: {
        firstResponseAt: { type: 'string', format: 'date-time' }, resolvedAt: { type: 'string', format: 'date-time' }, resolution: { type: 'string' }, satisfied: { type: 'boolean' }, escalations: { type: 'integer' } } } } } },
      responses: ok('The complaint as now') },
    },
    '/v1/outages/{id}/complaints': { get: { summary: 'The complaints an outage explains (TMF656 troubleTicket[])', parameters: [id('id')], responses: ok('Complaints') } },
    '/v1/elements': { get: { summary: 'Every element with its current health (what the dashboard colours)', parameters: [
      q('region', { type: 'string' }, 'of one region'), q('site', { type: 'string' }, 'of one site'), q('kind', { type: 'string' }, 'of one kind'),
      q('state', { enum: ['up', 'degraded', 'down', 'unknown'] }, 'in one state'), q('limit', { type: 'integer', minimum: 1, maximum: 10000 }, 'page size (1000)'),
      q('cursor', { type: 'string' }, 'nextCursor of the previous page (an element id)'),
    ], responses: ok('A page of elements', { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } }, nextCursor: { type: ['string', 'null'] } } }) } },
    '/v1/events': { get: { summary: 'Live events as server-sent events: health, outage, alert, complaint, compensation (and the demo story); nothing is replayed, read the state over the API first. At most api.streamsPerToken streams per token (429 past it); a client more than 1 MiB behind is dropped',
      responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors } } },
    '/v1/elements/{id}': { get: { summary: "An element's place, health, recent measurements, recent transitions and active outages", parameters: [id('id')], responses: ok('The element') } },
    '/v1/elements/{id}/availability': { get: { summary: 'Availability over a period (unplanned outages)', parameters: [id('id'), q('from', time, 'start'), q('to', time, 'end')], responses: ok('Availability') } },
    '/v1/sites/{site}/availability': { get: { summary: "A site's availability: the mean of its elements'", parameters: [id('site'), q('from', time, 'start'), q('to', time, 'end')], responses: ok('Availability') } },
    '/v1/maintenance': {
      get: { summary: 'Maintenance windows still to come or ended in the last `days` (role noc), by start', parameters: [q('days', { type: 'integer', minimum: 1, maximum: 400 }, 'how far back ended windows go (30)'),
        q('limit', { type: 'integer', minimum: 1, maximum: 5000 }, 'at most (500); `more` says whether there were more')], responses: ok('Windows') },
      post: { summary: 'Create or replace a window (role maintenance): outages inside are planned, not paged. Bounded by api.maintenance: it may start at most maxPast (1 h) ago and maxAhead ahead, and last at most maxLength (7 d). Its announcement time is when it was created, and becomes now again when a change makes it cover more', requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['id', 'start', 'end'], properties: {
        id: { type: 'string' }, elements: { type: 'array', items: { type: 'string' } }, sites: { type: 'array', items: { type: 'string' } },
        start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' }, reason: { type: 'string' } } } } } },
      responses: { 201: { description: 'Created' }, ...ok('Replaced') } },
    },
    '/v1/maintenance/{id}': { delete: { summary: 'Remove a window (role maintenance)', parameters: [id('id')], responses: { 204: { description: 'Removed' }, ...errors } } },
    '/v1/alerts': { get: { summary: 'The newest alerts, oldest first within the page, TMF642 fields (role noc); nextCursor pages back to older ones', parameters: [q('outage', { type: 'string' }, 'of one outage'),
      q('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'page size (100)'), q('cursor', { type: 'string' }, 'nextCursor of the previous page: older alerts')],
    responses: ok('A page of alerts', { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } }, nextCursor: { type: ['string', 'null'] } } }) } },
    '/v1/alerts/stream': { get: { summary: 'Alerts as server-sent events (role noc or dashboard), each with its id: a client that reconnects with Last-Event-ID gets what it missed from the last 1,000; with no id or an older one, nothing is replayed (read /v1/alerts). At most api.streamsPerToken streams per token',
      responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors } } },
    '/v1/alerts/{id}/ack': { post: { summary: 'Acknowledge an alert (role noc or dashboard); recorded with the token name', parameters: [id('id')], responses: ok('Acknowledged') } },
    '/v1/compensation/policies': { get: { summary: 'The compensation policies in force, as loaded (transparent: the rule is published)', responses: ok('Policies') } },
    '/v1/credits': { get: { summary: 'The ledger feed, in sequence order: what compensation jobs pull. Every entry returned to a compensation job (role compensation or admin) counts as handed over (from then on it is only corrected, never reversed); other roles only look. Keep nextCursor, the last page\'s too, and pull ?after=<it> later for only the new entries; a clock step never makes a cursor skip one. Entries withdrawn before anyone saw them are left out unless state asks for reversed', parameters: [
      q('after', { type: 'string', pattern: '^[0-9]+$' }, 'nextCursor of an earlier page (kept across runs): only entries after it'), q('cursor', { type: 'string' }, 'the former name of after'),
      q('state', { type: 'string' }, 'comma-separated: computed, delivered, applied, failed, reversed'), q('outage', { type: 'string' }, 'of one outage'),
      q('subscriber', { type: 'string' }, 'of one subscriber'), q('format', { enum: ['netpulse', 'tmf678'] }, 'tmf678: AppliedCustomerBillingRate (appliedBillingCredit)'),
      q('limit', { type: 'integer', minimum: 1, maximum: 5000 }, 'page size (500); a page may hold fewer'),
    ], responses: ok('A page of credits', { type: 'object', required: ['items', 'nextCursor', 'hasMore'], properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/Credit' } },
      nextCursor: { type: 'string', description: 'where the next pull starts: the last entry looked at, or the cursor given when there was nothing new' },
      hasMore: { type: 'boolean', description: 'entries after nextCursor exist already: pull again now' },
    } }) } },
    '/v1/credits/{id}': { get: { summary: 'One credit with its explanation; reading it counts as handing it over', parameters: [id('id'), q('format', { enum: ['netpulse', 'tmf678'] }, 'shape')], responses: ok('The credit', { $ref: '#/components/schemas/Credit' }) } },
    '/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/{id}': { get: { summary: 'A credit as TMF678 AppliedCustomerBillingRate of type appliedBillingCredit (characteristics entryKind, corrects, sequence); reading it counts as handing it over', parameters: [id('id')], responses: ok('The applied billing credit') } },
    '/v1/credits/confirm': { post: { summary: 'The job confirms credits applied or failed (role compensation); needs an Idempotency-Key header: a retry with the same key and body answers the same, another body is 422. A credit corrected since it was handed over is still confirmed (changed): the correction is an entry of its own. Concurrent confirmations of one credit: one changes it, the other answers unchanged or conflict',
      parameters: [{ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 8 } }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['confirmations'], properties: { confirmations: { type: 'array', maxItems: 10000, items: { type: 'object', required: ['id', 'outcome'], properties: {
        id: { type: 'string' }, outcome: { enum: ['applied', 'failed'] }, reason: { type: 'string' }, reference: { type: 'string' } } } } } } } } },
      responses: { ...ok('Per credit: changed, unchanged, conflict or not_found'), 422: { description: 'The key was used with another body' } } } },
    '/v1/credits/retry': { post: { summary: 'Put failed credits (these ids, or all) back in the push queue (role compensation)', responses: ok('How many') } },
    '/v1/outages/{id}/compensation': { get: { summary: "An outage's compensation: settlement state, force majeure, totals by tier, form and state", parameters: [id('id')], responses: ok('Compensation') } },
    '/v1/outages/{id}/compensation/preview': { get: { summary: 'What the outage would owe if settled now, by currency, tier and form; nothing is written', parameters: [id('id')], responses: ok('Preview') } },
    '/v1/outages/{id}/compensation/settle': { post: { summary: 'Settle now (role compensation): final when closed, interim when open; only differences are written', parameters: [id('id')], responses: ok('Settlement report') } },
    '/v1/outages/{id}/force-majeure': {
      put: { summary: 'Flag force majeure (role maintenance) with a reason; a closed outage is settled again (credits never handed over are reversed, handed-over ones debited by a correction)', parameters: [id('id')], responses: ok('Flagged') },
      delete: { summary: 'Withdraw the flag (role maintenance); a closed outage is settled again', parameters: [id('id')], responses: ok('Withdrawn') },
    },
    '/v1/compensation/totals': { get: { summary: 'Totals by outage, day or tier, per currency and state', parameters: [q('by', { enum: ['outage', 'day', 'tier'] }, 'grouping (day)'),
      q('outage', { type: 'string' }, 'one outage'), q('from', { type: 'string', format: 'date' }, 'first day'), q('to', { type: 'string', format: 'date' }, 'last day')], responses: ok('Totals') } },
    '/metrics': { get: { summary: 'Prometheus self metrics (no token)', security: [], responses: { 200: { description: 'text/plain' } } } },
  },
};
