import type { Element } from '../topology/topology.ts';

/** A generated subscriber, in the inventory's JSON Lines shape (`netpulse import-subscribers`). */
export interface SimSubscriber {
  id: string;
  tier: 'vip' | 'gold' | 'standard' | 'enterprise';
  service: 'mobile' | 'broadband' | 'enterprise_line';
  serving: string[];
  region?: string;
  plan: string;
  arpu: number;
  fee: number;
  usage: string;
}

/** A small deterministic generator (mulberry32), so every demo has the same subscribers. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const MOBILE_PLANS = [
  { plan: 'Prepaid-10', fee: 10, usage: 'prepaid' },
  { plan: 'Talk-25', fee: 25, usage: 'voice' },
  { plan: 'Data-35', fee: 35, usage: 'data' },
  { plan: 'Unlimited-55', fee: 55, usage: 'data' },
];

/**
 * The simulated operator's subscribers, spread over the simulated network: mobile subscribers
 * served by a cell of their home station, a third of them also by a second cell (another sector,
 * or a neighbouring station: redundancy), broadband and enterprise lines on PON ports. Tiers,
 * plans, fees and usage profiles in realistic shares. Pure and deterministic.
 */
export function* simSubscribers(elements: readonly Element[], count: number, seed = 20261122): Generator<SimSubscriber> {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const cells = elements.filter((e) => e.kind === 'cell');
  const stations = new Map<string, Element[]>();
  for (const c of cells) {
    const bs = c.parents[0];
    const list = stations.get(bs) ?? [];
    list.push(c);
    stations.set(bs, list);
  }
  const stationIds = [...stations.keys()];
  const ports = elements.filter((e) => e.kind === 'access');
  const width = String(count).length;
  for (let i = 1; i <= count; i++) {
    const id = `SIM-${String(i).padStart(Math.max(6, width), '0')}`;
    const x = r();
    if (ports.length > 0 && (x < 0.15 || cells.length === 0)) {
      const port = pick(ports);
      const enterprise = r() < 0.12;
      yield enterprise
        ? { id, tier: 'enterprise', service: 'enterprise_line', serving: [port.id], region: port.region, plan: 'Business-Fibre-300', arpu: 320, fee: 300, usage: 'data' }
        : { id, tier: r() < 0.1 ? 'gold' : 'standard', service: 'broadband', serving: [port.id], region: port.region, plan: 'Fibre-100', arpu: 42, fee: 40, usage: 'data' };
      continue;
    }
    if (cells.length === 0) return;
    const home = pick(stationIds);
    const sectors = stations.get(home)!;
    const cell = pick(sectors);
    const serving = [cell.id];
    const y = r();
    if (y < 0.2 && sectors.length > 1) serving.push(sectors[(sectors.indexOf(cell) + 1) % sectors.length].id);
    else if (y < 0.33 && stationIds.length > 1) serving.push(pick(stations.get(stationIds[(stationIds.indexOf(home) + 1) % stationIds.length])!).id);
    const t = r();
    const tier = t < 0.01 ? 'vip' : t < 0.13 ? 'gold' : 'standard';
    const p = tier === 'vip' ? { plan: 'Premium-120', fee: 120, usage: 'data' } : tier === 'gold' ? MOBILE_PLANS[3] : pick(MOBILE_PLANS);
    yield { id, tier, service: 'mobile', serving, region: cell.region, plan: p.plan, arpu: Math.round(p.fee * (1 + r() * 0.3) * 100) / 100, fee: p.fee, usage: p.usage };
  }
}
