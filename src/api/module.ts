import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kernel, Module } from '../module.ts';
import { module } from '../module.ts';
import { buildApi } from './app.ts';
import { metric } from './metrics.ts';
import { Authenticator, type Role } from './auth.ts';
import type { LeaderRoute } from './forward.ts';

/** The NOC dashboard's files, served by the API at /ui/. */
export const WEB_DIR = join(import.meta.dirname, '..', 'web');

/**
 * The HTTP API (when `api` is configured): built and listening once everything it serves is up,
 * with the routes of every module before it; at stop, the live streams end and the server closes.
 * `extraTokens` adds tokens the config does not list (the simulator's dashboard token).
 */
export function apiModule(k: Kernel, o: { modules: () => readonly Module[]; metrics: () => string; started: () => boolean; extraTokens?: () => { name: string; hash: string; roles: Role[] }[]; onListening?: (url: string) => void; leader?: LeaderRoute }) {
  const { config, log } = k;
  let api: FastifyInstance | undefined;
  let port: number | undefined;
  // Ready once every module started and while the store answers.
  const ready = async () => {
    const store = await k.store().db.query('SELECT 1').then(() => 'ok', (err: Error) => `unreachable: ${err.message}`);
    return { ready: o.started() && store === 'ok', checks: { started: o.started() ? 'ok' : 'starting', store } };
  };
  const m: Module = module('api', 'every', async () => {
    if (!config.api) return;
    const tokens = [...config.api.tokens, ...(o.extraTokens?.() ?? [])];
    api = buildApi({
      routes: o.modules().flatMap((x) => (x.routes ? [x.routes] : [])), events: k.events, webDir: WEB_DIR, metrics: o.metrics, ready,
      auth: new Authenticator(tokens), rateLimit: config.api.rateLimit, authFailures: config.api.authFailures,
      bodyLimit: config.api.bodyLimit, ...(o.leader && { leader: o.leader }), logger: log.child({ component: 'api' }), now: () => k.clock.now(),
    });
    await api.listen({ host: config.api.host, port: config.api.port });
    port = (api.server.address() as { port: number }).port;
    log.info({ url: `http://${config.api.host}:${port}`, tokens: tokens.length }, 'api listening');
    o.onListening?.(`http://${config.api.host}:${port}`);
  }, async () => {
    k.events.close();
    await api?.close();
  }, { metrics: () => metric('netpulse_live_listeners', 'gauge', 'Clients following the live event stream.', [[{}, k.events.listeners]]) });
  return { module: m, port: () => port };
}
