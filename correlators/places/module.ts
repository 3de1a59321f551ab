import { readFileSync } from 'node:fs';
import type { Kernel, Module } from '../../src/module.ts';
import { module } from '../../src/module.ts';
import type { Db } from '../../src/store/db.ts';
import type { OutageService } from '../outages/service.ts';
import { inventoryOf } from '../subscribers/inventory-repository.ts';
import { servingOfHitNow } from '../impact/spans-repository.ts';
import { NO_REGION, PlaceIndex } from './places.ts';
import { placeRoutes } from './routes.ts';

/**
 * Health by place for the dashboard: the index follows every health transition as it happens,
 * and the subscribers hit now by site and region are counted again from the open impacts after
 * each outage event has been written with its scope (once for a burst of events). The outline
 * drawn behind the map is read once, at start (`outline`: a GeoJSON file).
 */
export function placesModule(k: Kernel, outages: OutageService, outline: string | null) {
  let index: PlaceIndex | undefined;
  let shape: unknown;
  const places = (): PlaceIndex => {
    const t = k.topology();
    if (!index || index.topology !== t) {
      const before = index;
      index = new PlaceIndex(t, (id) => outages.health.get(id)?.state);
      if (before) index.setHitNow(...before.hitNow());
    }
    return index;
  };
  outages.onTransition((t) => index?.apply(t.element, t.to));

  let queued = false;
  const recount = () => {
    if (queued) return;
    queued = true;
    // After the impact writes already queued: the recorder writes in order.
    void k.recorder()?.add(async (s) => {
      queued = false;
      const p = places();
      p.setHitNow(...(await hitNow(s.db, p, outElements())));
    });
  };
  outages.onEvent(() => recount());
  /** The elements an active outage has out (its root and those it cuts off). */
  const outElements = () => new Set(outages.outages.outages.flatMap((o) => [o.root, ...o.impacted.map((i) => i.element)]));

  const m: Module = module('places', 'leader', async () => {
    if (outline) shape = JSON.parse(readFileSync(outline, 'utf8'));
    recount();
  }, undefined, {
    routes: (ctx) => placeRoutes(ctx, {
      places, topology: () => k.topology(), subscriber: (id) => inventoryOf(k.store()).subscriber(id),
      outline: () => shape ?? (outline ? (shape = JSON.parse(readFileSync(outline, 'utf8'))) : undefined),
    }),
  });
  return { module: m, places };
}

/**
 * Distinct subscribers with an open impact, counted once per site and once per region of the
 * elements that serve them and are out (all that serve them when none is known to be out).
 */
export async function hitNow(db: Db, p: PlaceIndex, out: ReadonlySet<string>): Promise<[Map<string, number>, Map<string, number>]> {
  const rows = await servingOfHitNow(db);
  const bySite = new Map<string, number>();
  const byRegion = new Map<string, number>();
  const elements = p.topology.elements;
  for (const r of rows) {
    const sites = new Set<string>();
    const regions = new Set<string>();
    const serving = r.serving.split(';');
    const down = serving.filter((id) => out.has(id));
    for (const id of down.length > 0 ? down : serving) {
      const site = p.siteIdOf(id);
      if (site) sites.add(site);
      const region = elements.get(id)?.region;
      if (region) regions.add(region);
    }
    if (regions.size === 0) regions.add(r.region ?? NO_REGION);
    for (const s of sites) bySite.set(s, (bySite.get(s) ?? 0) + 1);
    for (const g of regions) byRegion.set(g, (byRegion.get(g) ?? 0) + 1);
  }
  return [bySite, byRegion];
}
