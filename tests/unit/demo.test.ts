import { describe, it, expect } from 'vitest';
import { script, type Cast } from '../../src/sim/story.ts';
import { simSubscribers } from '../../src/sim/inventory.ts';
import { SimNetwork } from '../../src/sim/network.ts';
import { cellRadio } from '../../src/sim/mib.ts';
import { RecentMeasurements } from '../../src/measurements/recent.ts';
import { DEMO, embeddedDefaults, validateConfig } from '../../src/config/load.ts';
import { Topology } from '../../src/topology/topology.ts';

const demoSim = () => new SimNetwork(embeddedDefaults({}).config!.sim);

describe('the demo operator', () => {
  it('embedded defaults: 4 switches, 48 base stations of 3 cells, 4 OLTs of 16 PON ports, 100,000 subscribers, the story on', () => {
    const c = embeddedDefaults({}).config!;
    expect(c.sim).toMatchObject({ switches: 4, baseStations: 48, cellsPerBaseStation: 3, olts: 4, ponPortsPerOlt: 16, subscribers: 100_000, story: { enabled: true }, dashboardToken: true });
    expect(c.api).toMatchObject({ host: '127.0.0.1', port: 8088 });
    expect(embeddedDefaults({ NETPULSE_API_HOST: '0.0.0.0' }).config!.api!.host).toBe('0.0.0.0');
    expect(c.compensation.policies).toEqual([{ policy: 'demo' }]);
    const t = Topology.build(demoSim().elements());
    expect(t.problems).toEqual([]);
    const kinds = new Map<string, number>();
    for (const e of t.topology!.elements.values()) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ core: 1, aggregation: 4, base_station: 48, cell: 144, olt: 4, access: 64 });
    // Regions follow the switches, down to the cells and ports.
    const e = t.topology!.elements;
    expect([e.get('SIM-SW-002')!.region, e.get('SIM-BS-0002')!.region, e.get('SIM-BS-0002-C3')!.region, e.get('SIM-OLT-02-P16')!.region]).toEqual(['east', 'east', 'east', 'east']);
  });

  it('generates the same 100,000 subscribers every time: tiers, services and redundancy in realistic shares', () => {
    const elements = demoSim().elements();
    const known = new Set(elements.map((e) => e.id));
    const subs = [...simSubscribers(elements, 100_000)];
    expect(subs).toHaveLength(100_000);
    expect(new Set(subs.map((s) => s.id)).size).toBe(100_000);
    expect([...simSubscribers(elements, 5)]).toEqual(subs.slice(0, 5));
    expect(subs.every((s) => s.serving.length > 0 && s.serving.every((x) => known.has(x)))).toBe(true);
    const share = (f: (s: (typeof subs)[number]) => boolean) => subs.filter(f).length / subs.length;
    expect(share((s) => s.service === 'mobile')).toBeCloseTo(0.85, 1);
    expect(share((s) => s.service === 'broadband')).toBeCloseTo(0.13, 1);
    expect(share((s) => s.tier === 'vip')).toBeGreaterThan(0.005);
    expect(share((s) => s.tier === 'gold')).toBeGreaterThan(0.08);
    expect(share((s) => s.tier === 'enterprise')).toBeGreaterThan(0.01);
    // A third of mobile subscribers have a second serving cell (another sector or a neighbouring station).
    expect(share((s) => s.service === 'mobile' && s.serving.length === 2) / share((s) => s.service === 'mobile')).toBeCloseTo(0.33, 1);
    expect(subs.every((s) => s.fee > 0 && s.usage.length > 0 && s.region)).toBe(true);
  });

  it('the story: a switch dies and is repaired, a cell degrades, a fibre flaps, planned work, a silent fault, victims rotating', () => {
    const net = demoSim();
    const els = net.elements();
    const children = new Map<string, string[]>();
    for (const e of els) for (const p of e.parents) children.set(p, [...(children.get(p) ?? []), e.id]);
    const below = (id: string): string[] => (children.get(id) ?? []).flatMap((c) => [c, ...below(c)]);
    const cast: Cast = {
      switches: els.filter((e) => e.kind === 'aggregation').map((e) => e.id),
      stations: net.devices.filter((d) => d.spec.kind === 'base-station').map((d) => ({ id: d.spec.name, cells: d.spec.rows })),
      devices: new Set(net.devices.map((d) => d.spec.name)), below,
    };
    const turn0 = script(cast, 0, 600_000);
    const says = turn0.filter((a) => a.say).map((a) => `${a.at / 1000}s ${a.say}`);
    expect(says[0]).toBe('0s SIM-SW-001 loses power: it and the 13 devices behind it go dark');
    expect(says[1]).toBe('50s SIM-SW-001 repaired: power restored');
    expect(says.some((s) => /^90s SIM-BS-0002-C1: interference/.test(s))).toBe(true);
    expect(says.filter((s) => s.includes('backhaul fibre drops'))).toHaveLength(3);
    expect(says.some((s) => s.includes('planned work on SIM-BS-0026 announced'))).toBe(true);
    expect(says.some((s) => s.startsWith('460s SIM-BS-0038-C2 stops carrying traffic') && s.includes('a sleeping cell'))).toBe(true);
    // None of the other acts' stations is behind the switch that fails in the same turn (their complaints would be its).
    const victims = says.slice(2).map((s) => /SIM-BS-\d+/.exec(s)![0]);
    expect(victims.filter((v) => below('SIM-SW-001').includes(v))).toEqual([]);
    // Down: the switch and what is behind it, all devices of the simulator.
    const down = turn0[0].effect;
    expect(down).toMatchObject({ do: 'down' });
    expect((down as { devices: string[] }).devices).toEqual(['SIM-SW-001', 'SIM-BS-0001', 'SIM-BS-0005', 'SIM-BS-0009', 'SIM-BS-0013', 'SIM-BS-0017', 'SIM-BS-0021', 'SIM-BS-0025', 'SIM-BS-0029', 'SIM-BS-0033', 'SIM-BS-0037', 'SIM-BS-0041', 'SIM-BS-0045', 'SIM-OLT-01']);
    // Everything happens inside the turn; times scale with the cycle; the next turn takes other victims.
    expect(turn0.every((a) => a.at >= 0 && a.at < 600_000)).toBe(true);
    expect(script(cast, 0, 60_000).map((a) => a.at)).toEqual(turn0.map((a) => Math.round(a.at / 10)));
    expect(script(cast, 1, 600_000)[0].say).toMatch(/^SIM-SW-002 loses power/);
  });

  it('a cell that degrades on its own: the per-cell offset only moves that cell', () => {
    const d = demoSim().device('SIM-BS-0002')!;
    const clock = { now: () => 1_795_000_000_000 };
    const before = [1, 2, 3].map((c) => cellRadio(d.state, c, clock));
    d.state.cellOffsetDb.set(1, -32);
    const after = [1, 2, 3].map((c) => cellRadio(d.state, c, clock));
    expect(after[0].rsrp - before[0].rsrp).toBeCloseTo(-32, 6);
    expect(after[0].sinr - before[0].sinr).toBeCloseTo(-32, 6);
    expect(after[0].rsrp).toBeLessThan(-110); // below the degraded threshold
    expect(after.slice(1)).toEqual(before.slice(1));
    d.state.cellOffsetDb.delete(1);
    expect(cellRadio(d.state, 1, clock)).toEqual(before[0]);
  });

  it('refuses a story cycle too short to tell', () => {
    expect(DEMO.sim.story.enabled).toBe(true);
    expect(validateConfig({ sim: { story: { cycle: '5s' } } }, {}).problems[0]).toMatchObject({ path: 'sim.story.cycle' });
  });
});

describe('recent measurements for the charts', () => {
  it('keeps one-minute means of the charted fields over the configured hours, the current minute as it stands', () => {
    const r = new RecentMeasurements(3, 1);
    const t0 = Date.UTC(2026, 10, 22, 8, 0, 0);
    const sample = (t: number, rsrp: number) => ({ element: 'BS-1', measurement: 'lte_cell', tags: { cell_name: 'BS-1-C1' }, fields: { rsrp_dbm: rsrp, connected_users: 5n }, time: t });
    for (let m = 0; m < 90; m++) r.write([sample(t0 + m * 60_000, -90), sample(t0 + m * 60_000 + 30_000, -100)]);
    const [s] = r.of('BS-1-C1');
    expect(s.history.rsrp_dbm).toHaveLength(3); // raw: the last points only
    expect(s.trend.rsrp_dbm).toHaveLength(60); // an hour of minutes
    expect(s.trend.rsrp_dbm.at(-1)).toEqual([t0 + 89 * 60_000, -95]);
    expect(s.trend.rsrp_dbm[0][0]).toBe(t0 + 30 * 60_000);
    expect(s.trend.connected_users).toBeUndefined(); // not charted: no trend kept
    r.write([sample(t0 + 90 * 60_000, -80)]);
    expect(r.of('BS-1-C1')[0].trend.rsrp_dbm.at(-1)).toEqual([t0 + 90 * 60_000, -80]);
  });
});
