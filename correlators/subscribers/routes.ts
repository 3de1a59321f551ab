import { z } from 'zod';
import { Transform, type Readable } from 'node:stream';
import type { Store } from '../../src/store/store.ts';
import type { Topology } from '../../src/topology/topology.ts';
import { importSubscribers } from './import.ts';
import { ApiError, parse, callerOf, type RouteContext } from '../../src/api/http.ts';

export interface SubscriberRouteDeps {
  store: Store;
  topology: () => Topology;
  /** Called after a subscriber import, so the scopes of active outages follow the inventory. */
  subscribersChanged: () => Promise<void>;
  /** The largest subscriber file the import takes, in bytes. */
  importLimit: number;
}

const importQuery = z.strictObject({
  mode: z.enum(['incremental', 'replace']).default('incremental'),
  /** The share of rejected rows (0..1) past which nothing is committed; default 0 for a replace, 1 for incremental. */
  maxRejected: z.coerce.number().min(0).max(1).optional(),
});
const IMPORT_TYPES: Record<string, 'csv' | 'jsonl'> = { 'text/csv': 'csv', 'application/x-ndjson': 'jsonl', 'application/jsonl': 'jsonl', 'application/x-jsonlines': 'jsonl' };

/** The inventory import (`POST /v1/subscribers/import`): the file is streamed through the importer, never held whole in memory. */
export function subscriberRoutes({ app, guard, refuse, roles }: RouteContext, d: SubscriberRouteDeps): void {
  const { ADMIN } = roles;
  app.addContentTypeParser(Object.keys(IMPORT_TYPES), (_req, payload, done) => done(null, payload));
  let importing: string | undefined;
  app.post('/v1/subscribers/import', { onRequest: guard(ADMIN) }, async (req, reply) => {
    const q = parse(importQuery, req.query, 'query');
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
