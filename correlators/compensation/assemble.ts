import { join } from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import type { Policy } from './policy.ts';
import { loadPolicies, PolicyError, SHIPPED_POLICIES } from './policies.ts';
import { Ledger } from './ledger.ts';
import { CreditBook } from './credits.ts';
import { CreditPusher, WebhookCreditTarget, MqttCreditTarget, type CreditTarget } from './delivery.ts';
import { CompensationService } from './service.ts';

/** The compensation policies the config names, read and checked (throws PolicyError naming every problem). */
export function readPolicies(config: Config): Policy[] {
  const c = config.compensation;
  if (!c.enabled) return [];
  const dir = c.policiesDir ?? SHIPPED_POLICIES;
  return loadPolicies(c.policies, dir, c.calendarsDir ?? join(dir, '../calendars'));
}

/** Checks the compensation policies: every problem as `compensation.policies: <file>: <where>: <what>`. */
export function checkPolicies(config: Config): { path: string; message: string }[] {
  try {
    readPolicies(config);
    return [];
  } catch (err) {
    if (err instanceof PolicyError) return err.problems.map((message) => ({ path: 'compensation.policies', message }));
    return [{ path: 'compensation.policies', message: (err as Error).message }];
  }
}

/**
 * The compensation parts from config, for the composition root: the ledger over the store, the
 * push channel (a webhook or MQTT, when configured) and the service that decides when to settle.
 * Nothing starts here.
 */
export function assembleCompensation(config: Config, policies: readonly Policy[], store: () => Store, log: Logger, leads?: () => boolean): { service: CompensationService; book: CreditBook; pusher?: CreditPusher } {
  const c = config.compensation;
  const book = new CreditBook(() => store().db);
  const d = c.deliver;
  const push = d.webhook ?? d.mqtt;
  const direct: CreditTarget | undefined = d.webhook ? new WebhookCreditTarget(d.webhook.name, { url: d.webhook.url, secret: d.webhook.secret, timeoutMs: d.webhook.timeout })
    : d.mqtt ? new MqttCreditTarget(d.mqtt) : undefined;
  // In a cluster, no batch leaves a member whose leadership ran out by its own clock (it was paused): the new leader sends it.
  const target: CreditTarget | undefined = direct && leads ? {
    name: direct.name,
    send: (credits) => (leads() ? direct.send(credits) : Promise.reject(new Error('this member no longer leads the cluster'))),
    close: () => direct.close(),
  } : direct;
  const pusher = target && push
    ? new CreditPusher({ target, book, batchSize: push.batchSize, maxAttempts: push.maxAttempts, retryMs: [d.retry.minDelay, d.retry.maxDelay], logger: log.child({ target: target.name }) })
    : undefined;
  // Planned work counts as announced when its window in config says so (API windows: when created).
  const announced = config.outages.maintenance.map((w) => ({ elements: w.elements, sites: w.sites, start: Date.parse(w.start), end: Date.parse(w.end), announced: w.announced ? Date.parse(w.announced) : undefined }));
  const ledger = new Ledger({ policies: () => policies, chunk: c.chunk, inFlight: pusher?.inFlight, windows: () => announced });
  const service = new CompensationService({ ledger, store, policies: () => policies, settleMs: c.settle, interimMs: c.interimEvery, schedule: c.schedule, pusher, logger: log });
  log.info({ policies: policies.map((p) => `${p.id}@${p.version}`), push: target?.name ?? 'none (pull API only)', schedule: c.schedule }, 'compensation on');
  return { service, book, ...(pusher && { pusher }) };
}
