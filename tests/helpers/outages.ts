import { Topology, type Element } from '../../src/topology/topology.ts';
import type { Store } from '../../src/store/store.ts';
import { ImpactService } from '../../correlators/impact/service.ts';
import { importSubscribers } from '../../correlators/subscribers/import.ts';
import type { Outage, OutageEvent, OutageEventType } from '../../correlators/outages/outage.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

/** CORE above AGG-1 (BS-1, BS-2) and AGG-2 (BS-3, BS-4), each base station with cells C1 and C2. */
export function smallNetwork(): Topology {
  const els: Element[] = [{ id: 'CORE', kind: 'core', parents: [], site: 'dc', region: 'north' }];
  for (const a of [1, 2]) els.push({ id: `AGG-${a}`, kind: 'aggregation', parents: ['CORE'], site: `agg${a}`, region: 'north' });
  for (let b = 1; b <= 4; b++) {
    els.push({ id: `BS-${b}`, kind: 'base_station', parents: [`AGG-${b <= 2 ? 1 : 2}`], site: `s${b}`, region: 'north' });
    for (const c of [1, 2]) els.push({ id: `BS-${b}-C${c}`, kind: 'cell', parents: [`BS-${b}`], site: `s${b}`, region: 'north' });
  }
  return Topology.build(els).topology!;
}

export interface TestSubscriber { id: string; tier: string; service: string; serving: string[]; fee: number; usage?: string; region?: string }

/**
 * `n` subscribers per base station: most on one cell of it (no service when it goes), every
 * fifth also on a cell of the next station (only degraded), tiers and usage in rotation.
 */
export function subscribersOf(nPerStation: number): TestSubscriber[] {
  const out: TestSubscriber[] = [];
  const tiers = ['standard', 'gold', 'standard', 'vip', 'standard', 'enterprise'];
  const usage = ['data', 'voice', 'mixed', 'prepaid'];
  for (let b = 1; b <= 4; b++) {
    for (let i = 0; i < nPerStation; i++) {
      const serving = [`BS-${b}-C${1 + (i % 2)}`];
      if (i % 5 === 4) serving.push(`BS-${(b % 4) + 1}-C1`);
      out.push({ id: `S${b}-${String(i).padStart(5, '0')}`, tier: tiers[i % tiers.length], service: 'mobile', serving, fee: 30 + (i % 4) * 15, usage: usage[i % usage.length] });
    }
  }
  return out;
}

export async function loadNetwork(store: Store, topology: Topology, subs: TestSubscriber[]): Promise<void> {
  await store.migrate();
  await store.saveTopology([...topology.elements.values()]);
  async function* lines() { for (const s of subs) yield `${JSON.stringify(s)}\n`; }
  const r = await importSubscribers(store, lines(), { format: 'jsonl', mode: 'replace', known: (e) => topology.elements.has(e) });
  if (r.rejected > 0) throw new Error(JSON.stringify(r.problems.slice(0, 3)));
}

/** Writes outage events the way the daemon does: the outage, then its subscriber impacts. */
export class OutageWriter {
  readonly impacts = new ImpactService();
  private readonly store: Store;
  private readonly topology: Topology;

  constructor(store: Store, topology: Topology) {
    this.store = store;
    this.topology = topology;
  }

  /** The outage of `root` with everything below it impacted. */
  outage(id: string, root: string, startedAt: number, over: Partial<Outage> = {}): Outage {
    const below = [...this.topology.elements.values()].filter((e) => e.id !== root && this.topology.ancestors(e.id).includes(root)).map((e) => ({ element: e.id, since: startedAt }));
    return { id, root, severity: 'outage', state: 'open', startedAt, impacted: below, planned: false, flapping: false, reopened: 0, reason: 'unreachable', ...over };
  }

  async event(type: OutageEventType, o: Outage, at: number): Promise<OutageEvent> {
    const e: OutageEvent = { type, outage: structuredClone(o), at };
    await outagesOf(this.store).recordOutageEvent(e);
    await this.impacts.apply(this.store, e);
    return e;
  }

  /** Opens, clears and closes an outage (`hours` long, closed two minutes after). */
  async lasting(id: string, root: string, startedAt: number, hours: number, over: Partial<Outage> = {}): Promise<Outage> {
    const o = this.outage(id, root, startedAt, over);
    await this.event('opened', o, startedAt);
    const clearedAt = startedAt + hours * 3_600_000;
    await this.event('cleared', { ...o, state: 'cleared', clearedAt }, clearedAt);
    const closed = { ...o, state: 'closed' as const, clearedAt, closedAt: clearedAt + 120_000 };
    await this.event('closed', closed, clearedAt + 120_000);
    return closed;
  }
}
