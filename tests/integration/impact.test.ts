import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { validateConfig } from '../../src/config/load.ts';
import { SimNetwork } from '../../src/sim/network.ts';
import { Topology } from '../../src/topology/topology.ts';
import { Store } from '../../src/store/store.ts';
import { importSubscribers } from '../../correlators/subscribers/import.ts';
import { ImpactService } from '../../correlators/impact/service.ts';
import { OutageCorrelator } from '../../correlators/outages/correlator.ts';
import type { ElementHealth } from '../../correlators/health/tracker.ts';
import type { OutageEvent } from '../../correlators/outages/outage.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';
import { spansOf } from '../../correlators/impact/spans-repository.ts';

afterAll(() => stopDatabases());

// The simulator's topology: SIM-CORE, 3 aggregation switches, 12 base stations (4 behind each
// switch, round robin), 3 cells each.
const sim = new SimNetwork(validateConfig({ sim: { enabled: true, switches: 3, baseStations: 12, cellsPerBaseStation: 3 } }, {}).config!.sim);
const topology = Topology.build(sim.elements()).topology!;
const cells = [...topology.elements.values()].filter((e) => e.kind === 'cell').map((e) => e.id);
const stations = [...topology.elements.values()].filter((e) => e.kind === 'base_station').map((e) => e.id);

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/**
 * 3,000 subscribers: mobile ones covered by 1 to 3 cells (often of different base stations:
 * redundancy), enterprise lines dual-homed on cells of two base stations.
 */
function subscribers(): { id: string; tier: string; service: string; serving: string[]; region: string }[] {
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const out = [];
  for (let i = 0; i < 3000; i++) {
    const enterprise = i % 20 === 0;
    const n = enterprise ? 2 : 1 + Math.floor(r() * 3);
    const serving = new Set<string>();
    while (serving.size < n) serving.add(enterprise ? `${pick(stations)}-C1` : pick(cells));
    out.push({ id: `S${String(i).padStart(5, '0')}`, tier: enterprise ? 'enterprise' : pick(['vip', 'gold', 'standard', 'standard']), service: enterprise ? 'enterprise_line' : 'mobile', serving: [...serving], region: i % 2 ? 'north' : 'south' });
  }
  return out;
}

/**
 * The ground truth, from the topology alone: an element is lost when it is down or every parent
 * is lost; a lost cell's cause is the topmost down element above it. A subscriber with every
 * serving cell lost has no service, with some lost or degraded a degradation, from each cause.
 */
function truth(down: Set<string>, degraded: Set<string>, subs: ReturnType<typeof subscribers>): Map<string, string> {
  const cause = new Map<string, string>();
  for (const id of topology.order) {
    const e = topology.elements.get(id)!;
    const parentCause = e.parents.map((p) => cause.get(p)).find((c) => c !== undefined);
    if (parentCause !== undefined && e.parents.every((p) => cause.has(p))) cause.set(id, parentCause);
    else if (down.has(id)) cause.set(id, id);
  }
  const out = new Map<string, string>();
  for (const s of subs) {
    const lost = s.serving.filter((c) => cause.has(c));
    const roots = new Set([...lost.map((c) => cause.get(c)!), ...s.serving.filter((c) => degraded.has(c) && !cause.has(c))]);
    const kind = lost.length === s.serving.length ? 'no_service' : 'degraded';
    for (const root of roots) out.set(`${s.id} ${root}`, kind);
  }
  return out;
}

describe.each(DATABASES)('subscriber impact on the simulator topology, on %s', (_kind, d) => {
  it('matches the ground truth exactly through a cell, a site, a switch and a degradation, and back', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      await store.saveTopology([...topology.elements.values()]);
      const subs = subscribers();
      async function* lines() { for (const s of subs) yield `${JSON.stringify(s)}\n`; }
      const report = await importSubscribers(store, lines(), { format: 'jsonl', mode: 'replace', known: (e) => topology.elements.has(e) });
      expect(report.loaded).toBe(3000);

      const correlator = new OutageCorrelator(topology, { confirmRecoveryMs: 60_000 });
      const impacts = new ImpactService();
      const rootOf = new Map<string, string>(); // outage id -> root
      const health = new Map<string, ElementHealth>([...topology.elements.keys()].map((id) => [id, { state: 'up', since: 0, reason: 'ok' }]));
      const down = new Set<string>();
      const degraded = new Set<string>();
      const step = async (t: number, change: Record<string, 'down' | 'degraded' | 'up'>) => {
        for (const [id, state] of Object.entries(change)) {
          health.set(id, { state, since: t, reason: state });
          down.delete(id);
          degraded.delete(id);
          if (state === 'down') down.add(id);
          if (state === 'degraded') degraded.add(id);
        }
        const events: OutageEvent[] = correlator.evaluate(health, t);
        for (const e of events) {
          rootOf.set(e.outage.id, e.outage.root);
          await outagesOf(store).recordOutageEvent(e);
          await impacts.apply(store, e);
        }
        const open = await store.db.query<{ outage_id: string; subscriber_id: string; kind: string }>('SELECT outage_id, subscriber_id, kind FROM subscriber_impacts WHERE until IS NULL');
        const got = new Map(open.map((r) => [`${r.subscriber_id} ${rootOf.get(r.outage_id)}`, r.kind]));
        const want = truth(down, degraded, subs);
        expect([...got].sort()).toEqual([...want].sort()); // no false positives, no misses, right kind
        return { events, want };
      };

      // A single cell: its single-cell subscribers lose service, multi-cell ones are degraded.
      let r = await step(1000, { 'SIM-BS-0001-C1': 'down' });
      expect([...r.want.values()]).toContain('no_service');
      expect([...r.want.values()]).toContain('degraded');
      // A whole site: the base station down, its three cells cut off behind it.
      r = await step(2000, { 'SIM-BS-0005': 'down' });
      // An aggregation switch: four base stations and their twelve cells behind it.
      r = await step(3000, { 'SIM-SW-002': 'down' });
      const sw = r.events.find((e) => e.outage.root === 'SIM-SW-002')!.outage;
      const swTruth = [...r.want].filter(([k]) => k.endsWith(' SIM-SW-002'));
      expect(swTruth.length).toBeGreaterThan(500);
      const scope = (await outagesOf(store).outage(sw.id))!.scope!;
      expect(scope.current).toBe(swTruth.length);
      expect(scope.noService).toBe(swTruth.filter(([, k]) => k === 'no_service').length);
      expect(scope.byService.enterprise_line).toBe(swTruth.filter(([k]) => subs[Number(k.slice(1, 6))].service === 'enterprise_line').length);
      expect(impacts.scope(sw.id)).toEqual(scope);
      // A degradation on a cell elsewhere: its subscribers are degraded, never without service.
      await step(4000, { 'SIM-BS-0003-C2': 'degraded' });
      // Partial recovery: the switch comes back; subscribers of its cells that also had the lost
      // cell SIM-BS-0001-C1 go from no service to degraded (or out of scope).
      await step(5000, { 'SIM-SW-002': 'up' });
      const spans = await spansOf(store).outageImpacts(sw.id, { limit: 10_000 });
      expect(spans.length).toBeGreaterThanOrEqual(swTruth.length);
      expect(spans.every((s) => s.until === 5000)).toBe(true);
      // Everything back: nothing open, each outage's history kept.
      await step(6000, { 'SIM-BS-0001-C1': 'up', 'SIM-BS-0005': 'up', 'SIM-BS-0003-C2': 'up' });
      const after = (await outagesOf(store).outage(sw.id))!.scope!;
      expect(after).toMatchObject({ subscribers: swTruth.length, current: 0 });
    } finally {
      await store.close();
    }
  });

  it('rebuilds open impacts after a restart and follows inventory changes', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      await store.saveTopology([...topology.elements.values()]);
      async function* lines(rows: object[]) { for (const s of rows) yield `${JSON.stringify(s)}\n`; }
      const known = (e: string) => topology.elements.has(e);
      await importSubscribers(store, lines([
        { id: 'A', tier: 'vip', service: 'mobile', serving: ['SIM-BS-0002-C1'] },
        { id: 'B', tier: 'gold', service: 'mobile', serving: ['SIM-BS-0002-C1', 'SIM-BS-0003-C1'] },
      ]), { format: 'jsonl', mode: 'replace', known });
      const correlator = new OutageCorrelator(topology);
      const health = new Map<string, ElementHealth>([['SIM-BS-0002', { state: 'down', since: 100, reason: 'snmp: timeout' }]]);
      const [opened] = correlator.evaluate(health, 100);
      await outagesOf(store).recordOutageEvent(opened);
      // The daemon died after writing the outage and before its scope: a new service reconciles.
      const after = new ImpactService();
      await after.reconcile(store, await outagesOf(store).activeOutages(), 200, await outagesOf(store).openedAt([opened.outage.id]));
      const open = async () => (await store.db.query<{ subscriber_id: string; kind: string; since: number }>('SELECT subscriber_id, kind, since FROM subscriber_impacts WHERE until IS NULL ORDER BY subscriber_id'))
        .map((x) => `${x.subscriber_id}:${x.kind}@${Number(x.since)}`);
      expect(await open()).toEqual(['A:no_service@100', 'B:degraded@100']);
      // Reconciling again writes nothing new.
      await after.reconcile(store, await outagesOf(store).activeOutages(), 300);
      expect(await open()).toEqual(['A:no_service@100', 'B:degraded@100']);
      // B moves away from the lost base station; C arrives on it; A leaves the inventory.
      await importSubscribers(store, lines([
        { id: 'B', tier: 'gold', service: 'mobile', serving: ['SIM-BS-0003-C1'] },
        { id: 'C', tier: 'standard', service: 'mobile', serving: ['SIM-BS-0002-C2'] },
      ]), { format: 'jsonl', mode: 'replace', known });
      await after.reconcile(store, await outagesOf(store).activeOutages(), 400);
      expect(await open()).toEqual(['C:no_service@100']);
      const all = await spansOf(store).outageImpacts(opened.outage.id);
      expect(all.map((s) => `${s.subscriberId}:${s.until ?? 'open'}`)).toEqual(['A:400', 'B:400', 'C:open']);
      expect((await outagesOf(store).outage(opened.outage.id))!.scope).toMatchObject({ subscribers: 3, current: 1, byTier: { vip: 1, gold: 1, standard: 1 } });
    } finally {
      await store.close();
    }
  });
});
