import type { Kernel, Module } from '../../src/module.ts';
import { bounded, module } from '../../src/module.ts';
import type { OutageService } from './service.ts';
import type { RecentMeasurements } from '../../src/measurements/recent.ts';
import { outageRoutes } from './routes.ts';
import { metric } from '../../src/api/metrics.ts';
import { healthRoutes } from '../health/routes.ts';
import type { MaintenanceWindow, Outage } from './outage.ts';
import { healthOf } from '../health/repository.ts';
import { outagesOf } from './repository.ts';

/**
 * Health and outages, in two parts. `state` (early in the order): records every transition and
 * outage event in the store, in order, and at start takes up the outages and health a previous run
 * left. `clock` (after everything that listens to outage events is up): applies the maintenance
 * windows and starts evaluating; at stop, lets the pipeline drain into the correlators first.
 */
export function outageModules(k: Kernel, outages: OutageService, configWindows: readonly MaintenanceWindow[], recent: RecentMeasurements) {
  let restored: Outage[] = [];
  outages.setMaintenance([...configWindows]);
  outages.onEvent((e) => {
    k.events.publish({ type: 'outage', data: { outage: e.outage.id, event: e.type, at: e.at } });
    void k.recorder()?.add((s) => outagesOf(s).recordOutageEvent(e));
  });
  outages.onTransition((t) => {
    // With the element's place: a dashboard moves its counts from one state to the other without reading anything.
    const e = k.topology().elements.get(t.element);
    k.events.publish({ type: 'health', data: { element: t.element, from: t.from, to: t.to, at: t.at, reason: t.reason, kind: e?.kind, site: e?.site ?? t.element, region: e?.region } });
    void k.recorder()?.add((s) => healthOf(s).recordTransition(t));
  });
  /** The windows in force: config and API together; called again whenever the API changes one. */
  const maintenanceChanged = async () => outages.setMaintenance([...configWindows, ...(await outagesOf(k.store()).maintenance())]);

  const api = k.config.api;
  const routes = (ctx: Parameters<NonNullable<Module['routes']>>[0]) => {
    outageRoutes(ctx, {
      store: k.store(), topology: () => k.topology(), maintenanceChanged,
      ...(api && { maintenance: { maxLengthMs: api.maintenance.maxLength, maxPastMs: api.maintenance.maxPast, maxAheadMs: api.maintenance.maxAhead } }),
    });
    healthRoutes(ctx, {
      store: k.store(), topology: () => k.topology(), health: (id) => outages.health.get(id), recent: (id) => recent.of(id),
      activeOutages: (id) => outagesOf(k.store()).outages({ state: 'active', element: id, limit: 50 }),
    });
  };
  const state: Module = module('outages', 'leader', async () => {
    const store = k.store();
    restored = await outagesOf(store).activeOutages();
    outages.restore(restored);
    // Health as the last run left it, so an element last seen down is not `unknown` until it speaks again.
    const health = outages.restoreHealth(await healthOf(store).lastTransitions(), k.clock.now());
    if (health > 0) k.log.info({ elements: health }, 'element health restored from the last run');
    if (restored.length > 0) k.log.info({ outages: restored.map((o) => o.id) }, 'continuing outages open before the restart');
  }, undefined, {
    routes,
    metrics: () => {
      const active = outages.outages.outages;
      return metric('netpulse_outages_active', 'gauge', 'Open and cleared outages.', [[{ severity: 'outage' }, active.filter((o) => o.severity === 'outage').length], [{ severity: 'degradation' }, active.filter((o) => o.severity === 'degradation').length]]);
    },
  });
  const clock: Module = module('outage-evaluation', 'leader', async () => {
    await maintenanceChanged();
    outages.start();
    k.log.info({ elements: k.topology().size, store: k.store().db.kind }, 'topology loaded');
  }, async (deadline) => {
    await bounded(k.pipeline.idle(), deadline, 'pipeline', k.log);
    outages.stop();
  });
  return { state, clock, maintenanceChanged, restored: () => restored };
}
