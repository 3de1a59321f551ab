import type { Kernel, Module } from '../../src/module.ts';
import { module } from '../../src/module.ts';
import type { OutageService } from '../outages/service.ts';
import type { Outage } from '../outages/outage.ts';
import { ImpactService } from './service.ts';
import { impactRoutes } from './routes.ts';
import { subscriberRoutes } from '../subscribers/routes.ts';
import { outagesOf } from '../outages/repository.ts';

/**
 * Who each outage hits: every outage event's scope is written after the event itself (the store
 * writes in order); at start, what a crash between an outage write and its scope write left
 * behind is put right. `subscribersChanged` makes the scopes of active outages follow the
 * inventory (an import, a topology reload). Its routes: who an outage hits, whether a subscriber
 * is hit, and the inventory import.
 */
export function impactModule(k: Kernel, outages: OutageService, restored: () => readonly Outage[], acknowledgement: (outageId: string) => Promise<{ by: string; at: number } | undefined>) {
  const impacts = new ImpactService();
  outages.onEvent((e) => void k.recorder()?.add((s) => impacts.apply(s, e)));
  const subscribersChanged = () => k.recorder()!.add(async (s) => impacts.reconcile(s, await outagesOf(s).activeOutages(), k.clock.now()));
  const m: Module = module('impact', 'leader', async () => {
    const active = restored();
    const store = k.store();
    void k.recorder()!.add(async (s) => {
      const t0 = performance.now();
      await impacts.reconcile(s, active, k.clock.now(), await outagesOf(store).openedAt(active.map((o) => o.id)));
      k.log.info({ outages: active.length, affected: active.reduce((n, o) => n + (impacts.scope(o.id)?.current ?? 0), 0), ms: Math.round(performance.now() - t0) }, 'subscriber impacts reconciled');
    });
  }, undefined, {
    routes: (ctx) => {
      impactRoutes(ctx, { store: k.store(), topology: () => k.topology(), health: (id) => outages.health.get(id), acknowledgement });
      subscriberRoutes(ctx, { store: k.store(), topology: () => k.topology(), subscribersChanged, importLimit: k.config.api?.importLimit ?? 0 });
    },
  });
  return { module: m, impacts, subscribersChanged };
}
