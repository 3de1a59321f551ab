import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { SimNetwork } from '../../src/sim/network.ts';
import { SIM_OUTLINE, inside, polygonsOf } from '../../src/sim/geography.ts';
import { embeddedDefaults } from '../../src/config/load.ts';
import { Topology } from '../../src/topology/topology.ts';

const demo = (fleet = 0) => new SimNetwork({ ...embeddedDefaults({}).config!.sim, fleet: { sites: fleet, sitesPerHub: 50, interval: 30_000 } });

describe('the simulated operator on a map', () => {
  it('puts every element at a place inside the country, the same place every time, regions as bands from north to south', () => {
    const els = demo(400).elements();
    const polygons = polygonsOf(JSON.parse(readFileSync(SIM_OUTLINE, 'utf8')));
    expect(els.every((e) => e.lat !== undefined && e.lon !== undefined && inside(polygons, e.lon, e.lat))).toBe(true);
    expect(demo(400).elements()).toEqual(els);
    const meanLat = (r: string) => { const xs = els.filter((e) => e.region === r && e.kind === 'aggregation').map((e) => e.lat!); return xs.reduce((a, b) => a + b, 0) / xs.length; };
    expect(meanLat('north')).toBeGreaterThan(meanLat('west')); // north is the first band, west the last
    // A site's elements share its place.
    expect(new Set(els.filter((e) => e.site === 'SIM-BS-0002-site').map((e) => `${e.lat},${e.lon}`)).size).toBe(1);
  });

  it('scales up with a generated fleet: hubs of 50 sites, each a base station and its cells, 50,113 elements with the demo', () => {
    const net = demo(12_400);
    const t = Topology.build(net.elements());
    expect(t.problems).toEqual([]);
    expect(t.topology!.size).toBe(50_113);
    expect(net.fleet.size).toBe(248 + 12_400 * 4);
    expect(t.topology!.children.get('SIM-AGG-0001')).toHaveLength(50);
    expect(t.topology!.elements.get('SIM-FS-00001-C3')).toMatchObject({ kind: 'cell', site: 'SIM-FS-00001-site', parents: ['SIM-FS-00001'] });
    // The storyline picks its victims among the devices only: a fleet hub has no agent to stop.
    expect(net.device('SIM-AGG-0001')).toBeUndefined();
  });
});
