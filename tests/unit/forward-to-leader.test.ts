import { describe, it, expect, afterEach } from 'vitest';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { Authenticator, hashToken } from '../../src/api/auth.ts';
import type { LeaderRoute } from '../../src/api/forward.ts';
import type { RouteContext } from '../../src/api/http.ts';
import { ok } from '../../src/api/openapi.ts';
import { memoryLogger } from '../fakes/logger.ts';

const TOKEN = 'noc-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

/** One member's API with three routes: a write, a plain read, and a read of the leader's state. */
function memberApi(name: string, leader?: LeaderRoute): FastifyInstance {
  const routes = ({ route, roles }: RouteContext) => {
    route({ method: 'POST', url: '/v1/things', roles: roles.NOC, body: z.strictObject({ n: z.number() }), summary: 'a write', responses: ok('made') },
      async (_req, reply, input) => reply.code(201).send({ madeBy: name, n: input.body().n }));
    route({ method: 'GET', url: '/v1/things', roles: roles.READ, summary: 'a read from the store', responses: ok('read') }, async () => ({ readBy: name }));
    route({ method: 'GET', url: '/v1/live', roles: roles.READ, leader: true, summary: "a read of the leader's memory", responses: ok('read') }, async () => ({ readBy: name }));
    route({ method: 'POST', url: '/v1/compute', roles: roles.NOC, readsOnly: true, body: z.strictObject({ n: z.number() }), summary: 'a computation that writes nothing', responses: ok('computed') },
      async (_req, _reply, input) => ({ computedBy: name, n: input.body().n }));
  };
  return buildApi({
    routes: [routes], metrics: () => '', auth: new Authenticator([{ name: 'noc', hash: hashToken(TOKEN), roles: ['noc'] }]),
    rateLimit: 1000, bodyLimit: 1 << 20, logger: memoryLogger().logger, ...(leader && { leader }),
  });
}

const apps: FastifyInstance[] = [];
afterEach(async () => { await Promise.all(apps.splice(0).map((a) => a.close())); });

async function leaderAt(): Promise<string> {
  const app = memberApi('leader', { member: 'leader', target: () => 'self' });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

describe('a cluster member passes writes and reads of live state to the leader', () => {
  it('forwards a write with its token and body, and hands back the leader\'s answer', async () => {
    const url = await leaderAt();
    const follower = memberApi('follower', { member: 'np-b', target: () => url });
    apps.push(follower);
    const r = await follower.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json' }, payload: { n: 7 } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ madeBy: 'leader', n: 7 });
    expect(r.headers['x-netpulse-forwarded-by']).toBe('np-b');
    // A bad body is judged by the leader, with its error shape.
    const bad = await follower.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json' }, payload: { n: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('n');
  });

  it('serves reads from the store itself, and passes reads of the leader\'s memory on', async () => {
    const url = await leaderAt();
    const follower = memberApi('follower', { member: 'np-b', target: () => url });
    apps.push(follower);
    expect((await follower.inject({ method: 'GET', url: '/v1/things', headers: auth })).json()).toEqual({ readBy: 'follower' });
    expect((await follower.inject({ method: 'GET', url: '/v1/live', headers: auth })).json()).toEqual({ readBy: 'leader' });
    // A POST that writes nothing (the policy what-if) is computed where it arrives: the leader keeps its time for correlation.
    expect((await follower.inject({ method: 'POST', url: '/v1/compute', headers: { ...auth, 'content-type': 'application/json' }, payload: { n: 1 } })).json()).toEqual({ computedBy: 'follower', n: 1 });
  });

  it('checks the caller itself first: no token is 401 here, nothing goes to the leader', async () => {
    let asked = 0;
    const follower = memberApi('follower', { member: 'np-b', target: () => { asked++; return 'http://127.0.0.1:1'; } });
    apps.push(follower);
    expect((await follower.inject({ method: 'POST', url: '/v1/things', payload: { n: 1 } })).statusCode).toBe(401);
    expect(asked).toBe(0);
  });

  it('answers 503 with Retry-After while there is no leader, when the leader cannot be reached, and when a forwarded request reaches a member that no longer leads', async () => {
    // A port nothing listens on any more: the connection is refused.
    const { createServer } = await import('node:net');
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    const none = memberApi('a', { member: 'np-a', target: () => undefined });
    const gone = memberApi('b', { member: 'np-b', target: () => `http://127.0.0.1:${port}` });
    const other = memberApi('c', { member: 'np-c', target: () => `http://127.0.0.1:${port}` });
    apps.push(none, gone, other);
    const post = (app: FastifyInstance, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json', ...headers }, payload: { n: 1 } });
    for (const [app, code, headers] of [[none, 'no_leader', {}], [gone, 'leader_unreachable', {}], [other, 'not_leader', { 'x-netpulse-forwarded-by': 'np-a' }]] as const) {
      // (np-b's leader refuses the connection: nothing was sent, so a retry is safe.)
      const r = await post(app, headers);
      expect(r.statusCode, code).toBe(503);
      expect(r.json().error.code).toBe(code);
      expect(r.headers['retry-after']).toBe('1');
    }
  });

  it('passes a request with Expect: 100-continue, refuses an oversized body itself (413, not a retry), and says 502 without Retry-After when the leader took the request but did not answer', async () => {
    const url = await leaderAt();
    const follower = memberApi('follower', { member: 'np-b', target: () => url });
    apps.push(follower);
    const r = await follower.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json', expect: '100-continue' }, payload: { n: 3 } });
    expect(r.statusCode).toBe(201);
    const big = await follower.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ n: 1, pad: 'x'.repeat(2 << 20) }) });
    expect(big.statusCode).toBe(413);
    expect(big.headers['retry-after']).toBeUndefined();
    // A leader that takes the request and hangs up without an answer.
    const { createServer } = await import('node:net');
    const rude = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((done) => rude.listen(0, '127.0.0.1', done));
    const hung = memberApi('follower', { member: 'np-c', target: () => `http://127.0.0.1:${(rude.address() as { port: number }).port}` });
    apps.push(hung);
    try {
      const lost = await hung.inject({ method: 'POST', url: '/v1/things', headers: { ...auth, 'content-type': 'application/json' }, payload: { n: 4 } });
      expect(lost.statusCode).toBe(502);
      expect(lost.json().error.code).toBe('leader_failed');
      expect(lost.headers['retry-after']).toBeUndefined();
    } finally {
      rude.close();
    }
  });
});
