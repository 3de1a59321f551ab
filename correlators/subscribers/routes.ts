import { z } from 'zod';
import { Transform, type Readable } from 'node:stream';
import type { Store } from '../../src/store/store.ts';
import type { Topology } from '../../src/topology/topology.ts';
import { importSubscribers } from './import.ts';
import { ApiError, callerOf, type RouteContext } from '../../src/api/http.ts';
import { ok } from '../../src/api/openapi.ts';

export interface SubscriberRouteDeps {
  store: Store;
  topology: () => Topology;
  /** Called after a subscriber import, so the scopes of active outages follow the inventory. */
  subscribersChanged: () => Promise<void>;
  /** The largest subscriber file the import takes, in bytes. */
  importLimit: number;
}

const importQuery = z.strictObject({
  mode: z.enum(['incremental', 'replace']).default('incremental')
    .describe('incremental upserts (default); replace makes the file the whole inventory. Either way the file is staged and goes in whole, in one short transaction at the end, or not at all'),
  maxRejected: z.coerce.number().min(0).max(1).optional()
    .describe('the share of rejected rows past which nothing is committed (default 0 for replace: any rejected row refuses it; 1 for incremental)'),
});
const IMPORT_TYPES: Record<string, 'csv' | 'jsonl'> = { 'text/csv': 'csv', 'application/x-ndjson': 'jsonl', 'application/jsonl': 'jsonl', 'application/x-jsonlines': 'jsonl' };

/** The inventory import (`POST /v1/subscribers/import`): the file is streamed through the importer, never held whole in memory. */
export function subscriberRoutes({ route, app, refuse, roles }: RouteContext, d: SubscriberRouteDeps): void {
  const { ADMIN } = roles;
  app.addContentTypeParser(Object.keys(IMPORT_TYPES), (_req, payload, done) => done(null, payload));
  let importing: string | undefined;
  route({
    method: 'POST', url: '/v1/subscribers/import', roles: ADMIN, query: importQuery,
    summary: 'Load subscribers from CSV or JSON Lines (role admin), row by row; streamed',
    requestBody: { required: true, content: Object.fromEntries(Object.keys(IMPORT_TYPES).map((t) => [t, { schema: { type: 'string' } }])) },
    responses: {
      ...ok('The import report: rows, loaded, rejected, problems (line and reason), committed'), 409: { description: 'Another import is running (one at a time)' },
      413: { description: 'Over api.importLimit' }, 415: { description: 'Not CSV or JSON Lines' },
      422: { description: 'Refused, nothing changed: a replace that loaded no row, or rejected rows past maxRejected (the report says which)' },
    },
  }, async (req, reply, input) => {
    const q = input.query();
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const format = IMPORT_TYPES[type];
    if (!format) throw new ApiError(415, 'unsupported_media_type', `send text/csv or application/x-ndjson, not ${type || 'nothing'}`);
    if (importing) throw new ApiError(409, 'import_running', `an import by ${importing} is running; one at a time`);
    importing = callerOf(req).name;
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
      if (!report.committed) refuse(reply, 'import_refused');
      if (!report.committed) return reply.code(422).send({ error: { code: 'import_refused', message: `nothing changed: ${report.refused}` }, mode: q.mode, format, ...report });
      await d.subscribersChanged();
      return { mode: q.mode, format, ...report };
    } finally {
      importing = undefined;
      req.raw.off('close', gone);
    }
  });
}
