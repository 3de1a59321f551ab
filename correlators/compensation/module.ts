import type { Kernel, Module } from '../../src/module.ts';
import { bounded, module } from '../../src/module.ts';
import type { OutageService } from '../outages/service.ts';
import { readPolicies, assembleCompensation } from './assemble.ts';
import type { CompensationService } from './service.ts';
import type { CreditBook } from './credits.ts';
import type { CreditPusher } from './delivery.ts';
import type { CommunicationMessage } from '../complaints/communication.ts';
import { creditMessageOf } from './message.ts';
import { compensationRoutes } from './routes.ts';
import { metric } from '../../src/api/metrics.ts';

/**
 * Compensation, when on: the policies are read when the daemon is built (a bad file stops it
 * there); at start the ledger, the push channel and the settlement schedule come up. Every outage
 * event reaches it after its scope is written, so a close starts the settle delay.
 */
export function compensationModule(k: Kernel, outages: OutageService, tell: (m: CommunicationMessage) => void) {
  const { config, log } = k;
  const policies = readPolicies(config);
  let service: CompensationService | undefined;
  let book: CreditBook | undefined;
  let pusher: CreditPusher | undefined;
  outages.onEvent((e) => void k.recorder()?.add(async () => service?.onOutageEvent(e)));
  // Built when first needed: at start, or (on a cluster member that does not lead) for the routes that read the ledger.
  const assemble = () => {
    if (!service) ({ service, book, pusher } = assembleCompensation(config, policies, () => k.store(), log.child({ component: 'compensation' }), k.leads));
    return service;
  };
  const m: Module = module('compensation', 'leader', async () => {
    if (!config.compensation.enabled) return;
    const service = assemble();
    service.onSettled((r) => k.events.publish({ type: 'compensation', data: { outage: r.outageId, entries: r.entries } }));
    service.start();
    pusher?.start();
  }, async (deadline) => {
    if (service) await bounded(service.stop(), deadline, 'compensation', log);
    if (pusher) await bounded(pusher.close(), deadline, 'credit delivery', log);
  }, {
    metrics: () => (service ? metric('netpulse_compensation_settlements_total', 'counter', 'Compensation settlements by outcome.', [[{ outcome: 'done' }, service.stats.settlements], [{ outcome: 'failed' }, service.stats.failures]])
      + metric('netpulse_compensation_entries_total', 'counter', 'Ledger entries written (credits and corrections).', [[{}, service.stats.entries]]) : '')
      + (pusher ? metric('netpulse_credits_pushed_total', 'counter', 'Credits pushed to the compensation job by outcome.', [[{ outcome: 'delivered' }, pusher.stats.delivered], [{ outcome: 'retried' }, pusher.stats.retries], [{ outcome: 'parked' }, pusher.stats.parked]]) : ''),
    // Credits, settlements and confirmations; a credit the job confirmed as applied is told to its subscriber.
    routes: (ctx) => {
      if (config.compensation.enabled) assemble();
      if (!service || !book) return;
      compensationRoutes(ctx, {
        store: k.store(), service, book, policies,
        onApplied: (credits) => {
          if (!config.compensation.notifySubscribers) return;
          for (const c of credits) {
            const msg = creditMessageOf(c);
            if (msg) tell(msg);
          }
        },
      });
    },
  });
  return { module: m, policies, service: () => service, book: () => book, pusher: () => pusher };
}
