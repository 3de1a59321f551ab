import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kernel, Module } from '../module.ts';
import { module } from '../module.ts';
import { buildApi, type ApiDeps } from './app.ts';
import { Authenticator, hashToken } from './auth.ts';
import { dashboardToken } from '../sim/assemble.ts';
import { creditMessageOf } from '../../correlators/compensation/message.ts';
import type { CommunicationMessage } from '../../correlators/complaints/communication.ts';
import type { CompensationService } from '../../correlators/compensation/service.ts';
import type { CreditBook } from '../../correlators/compensation/credits.ts';
import type { Policy } from '../../correlators/compensation/policy.ts';

/** The NOC dashboard's files, served by the API at /ui/. */
export const WEB_DIR = join(import.meta.dirname, '..', 'web');

/** What the API serves that the other modules make: everything in ApiDeps but the shell's own settings. */
export type ApiParts = Omit<ApiDeps, 'auth' | 'rateLimit' | 'authFailures' | 'bodyLimit' | 'logger' | 'times' | 'maintenance' | 'importLimit' | 'compensation' | 'events' | 'webDir' | 'store'> & {
  compensation: () => { service: CompensationService; book: CreditBook; policies: readonly Policy[] } | undefined;
  tell: (m: CommunicationMessage) => void;
};

/**
 * The HTTP API (when `api` is configured): built and listening once everything it serves is up;
 * at stop, the live streams end and the server closes. With the simulator's dashboard token on,
 * that token may read the dashboard (its file is logged, never the token).
 */
export function apiModule(k: Kernel, parts: ApiParts) {
  const { config, log } = k;
  let api: FastifyInstance | undefined;
  let port: number | undefined;
  const m: Module = module('api', 'every', async () => {
    if (!config.api) return;
    const token = config.sim.enabled && config.sim.dashboardToken ? dashboardToken(k.dataDir) : undefined;
    const tokens = [...config.api.tokens, ...(token ? [{ name: 'dashboard', hash: hashToken(token), roles: ['dashboard' as const] }] : [])];
    const { compensation, tell, ...rest } = parts;
    const comp = compensation();
    api = buildApi({
      ...rest, store: k.store(), events: k.events, webDir: WEB_DIR, importLimit: config.api.importLimit,
      ...(comp && {
        compensation: {
          ...comp,
          onApplied: (credits) => {
            if (!config.compensation.notifySubscribers) return;
            for (const c of credits) {
              const msg = creditMessageOf(c);
              if (msg) tell(msg);
            }
          },
        },
      }),
      auth: new Authenticator(tokens), rateLimit: config.api.rateLimit, authFailures: config.api.authFailures,
      bodyLimit: config.api.bodyLimit, logger: log.child({ component: 'api' }), now: () => k.clock.now(),
      times: { aheadMs: config.times.maxAhead, complaintPastMs: config.times.maxComplaintAge },
      maintenance: { maxLengthMs: config.api.maintenance.maxLength, maxPastMs: config.api.maintenance.maxPast, maxAheadMs: config.api.maintenance.maxAhead },
    });
    await api.listen({ host: config.api.host, port: config.api.port });
    port = (api.server.address() as { port: number }).port;
    log.info({ url: `http://${config.api.host}:${port}`, tokens: tokens.length }, 'api listening');
    // The token itself is never logged: the address says where to find it.
    if (token) log.info({ url: `http://${config.api.host}:${port}/ui/`, tokenFile: join(k.dataDir, 'dashboard-token') }, 'NOC dashboard (its token is in tokenFile)');
  }, async () => {
    k.events.close();
    await api?.close();
  });
  return { module: m, port: () => port };
}
