import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { build, type Daemon } from '../../src/daemon.ts';
import { validateConfig } from '../../src/config/load.ts';
import { buildApi } from '../../src/api/app.ts';
import { WEB_DIR } from '../../src/api/module.ts';
import { Authenticator, hashToken, type Role } from '../../src/api/auth.ts';
import type { RouteContext } from '../../src/api/http.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { tempDir } from './servers.ts';

/** The bearer token of a caller named `name` in `injectedApi`. */
export const tokenOf = (name: string) => `${name}-token-0123456789abcdef`;

/** A clock the test moves. */
export interface TestClock { t: number; now(): number }

/**
 * The API as the daemon builds it (its modules' routes, the dashboard's files) over a real store
 * (SQLite in a temp dir), reached with `inject`: no socket, no live event hub. Every module but the API's and the outage evaluation's is started, so
 * nothing ticks by itself: outages happen when the test calls `daemon.outages.tick`. `callers`
 * gives each token's roles (its token is `tokenOf(name)`); `topology` is the topology file's
 * YAML. `spy` sees the RouteContext each module's routes are registered with.
 */
export async function injectedApi(o: {
  topology: string;
  callers: Record<string, readonly Role[]>;
  config?: Record<string, any>;
  api?: Record<string, any>;
  clock?: TestClock;
  spy?: (ctx: RouteContext) => RouteContext;
}) {
  const dir = tempDir('routes');
  writeFileSync(join(dir, 'topology.yaml'), o.topology);
  const tokens = Object.entries(o.callers).map(([name, roles]) => ({ name, hash: hashToken(tokenOf(name)), roles: [...roles] }));
  const { config, problems } = validateConfig({
    topology: { file: join(dir, 'topology.yaml') }, alerts: { holdDown: 0 }, ...o.config,
    api: { port: 0, tokens, ...o.api }, daemon: { dataDir: dir, shutdownTimeout: '5s' },
  }, {});
  if (!config) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const clock = o.clock ?? { t: Date.now(), now() { return this.t; } };
  const { logger, lines } = memoryLogger();
  const daemon: Daemon = build(config, { logger, clock });
  for (const m of daemon.modules) if (m.name !== 'api' && m.name !== 'outage-evaluation') await m.start();
  const spy = o.spy ?? ((ctx) => ctx);
  const app: FastifyInstance = buildApi({
    routes: daemon.modules.flatMap((m) => (m.routes ? [(ctx: RouteContext) => m.routes!(spy(ctx))] : [])),
    webDir: WEB_DIR, metrics: () => daemon.metrics(), auth: new Authenticator(tokens), rateLimit: config.api!.rateLimit, authFailures: config.api!.authFailures,
    bodyLimit: config.api!.bodyLimit, logger, now: () => clock.now(),
  });
  await app.ready();

  /** A request as `who` (no token when undefined); an object body goes as JSON, a string as it is (with the content-type given). */
  const call = async (who: string | undefined, method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await app.inject({
      method, url, ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      headers: { ...(who !== undefined && { authorization: `Bearer ${tokenOf(who)}` }), ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }), ...headers },
    });
    const json = r.body !== '' && String(r.headers['content-type'] ?? '').startsWith('application/json');
    return { status: r.statusCode, body: json ? r.json() : r.body, headers: r.headers };
  };
  return {
    app, daemon, clock, logs: lines, call,
    /** Closes the API, then stops the daemon's modules in reverse. */
    stop: async () => {
      await app.close();
      await daemon.stop();
    },
  };
}
