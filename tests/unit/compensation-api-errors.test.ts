import { describe, it, expect } from 'vitest';
import Fastify from 'fastify';
import { join } from 'node:path';
import { compensationRoutes } from '../../correlators/compensation/routes.ts';
import { ApiError } from '../../src/api/http.ts';
import { routeContext } from '../../src/api/route.ts';
import { LedgerConflict } from '../../correlators/compensation/ledger.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';
import { tempDir } from '../helpers/servers.ts';

describe('compensation routes when a settlement races a hand-over', () => {
  it('answer 409 with what happened and what to do, never 500', async () => {
    const app = Fastify();
    app.setErrorHandler((err: Error, _req, reply) => (err instanceof ApiError ? reply.code(err.status).send({ error: { code: err.code, message: err.message } }) : reply.code(500).send({})));
    const store = new Store(new SqliteDb(join(tempDir('compensation-api-errors'), 'netpulse.db')));
    await store.migrate();
    const outage = { id: 'O-1', root: 'BS-1', severity: 'outage' as const, state: 'closed' as const, startedAt: 0, clearedAt: 1, closedAt: 2, impacted: [], planned: false, flapping: false, reopened: 0, reason: 'x' };
    await outagesOf(store).recordOutageEvent({ type: 'closed', outage, at: 2 });
    const service = { settle: async () => { throw new LedgerConflict('O-1: 2 of the entries to withdraw were handed over meanwhile; settle again'); } };
    const guard = () => async (req: object) => { Object.assign(req, { caller: { name: 'ops', roles: ['admin'] } }); };
    compensationRoutes(routeContext(app, { guard, now: () => 0 }).ctx, { store, service, book: {}, policies: [], onApplied: () => {} } as never);
    try {
      const settle = await app.inject({ method: 'POST', url: '/v1/outages/O-1/compensation/settle' });
      expect(settle.statusCode).toBe(409);
      expect(settle.json().error.message).toMatch(/handed over meanwhile.*settle again/);
      const fm = await app.inject({ method: 'PUT', url: '/v1/outages/O-1/force-majeure', payload: { reason: 'flood' } });
      expect(fm.statusCode).toBe(409);
      expect(fm.json().error.message).toMatch(/^force majeure is set, but its settlement conflicted/);
      expect((await outagesOf(store).outage('O-1'))?.forceMajeure).toMatchObject({ by: 'ops', reason: 'flood' });
    } finally {
      await store.close();
    }
  });
});
