import { describe, it, expect } from 'vitest';
import { Topology, type Element } from '../../src/topology/topology.ts';
import { PlaceIndex } from '../../correlators/places/places.ts';

const el = (id: string, kind: Element['kind'], site: string | undefined, region: string | undefined, parents: string[] = []): Element => ({ id, kind, site, region, parents });
const topology = Topology.build([
  el('CORE', 'core', 'dc', 'north'),
  el('AGG-N', 'aggregation', 'n1', 'north', ['CORE']),
  el('BS-N1', 'base_station', 'n2', 'north', ['AGG-N']), el('BS-N1-C1', 'cell', 'n2', 'north', ['BS-N1']), el('BS-N1-C2', 'cell', 'n2', 'north', ['BS-N1']),
  el('AGG-S', 'aggregation', 's1', 'south', ['CORE']),
  el('BS-S1', 'base_station', 's2', 'south', ['AGG-S']), el('BS-S1-C1', 'cell', 's2', 'south', ['BS-S1']),
  el('LONE', 'access', undefined, undefined, ['AGG-S']),
]).topology!;

describe('health by place', () => {
  it('counts each site and region by state, from the health known when built', () => {
    const p = new PlaceIndex(topology, (id) => (id.startsWith('BS-S1') ? 'down' : id === 'LONE' ? undefined : 'up'));
    expect(p.regionSummaries().map((r) => [r.region, r.sites, r.counts, r.worst])).toEqual([
      ['south', 2, { up: 1, degraded: 0, down: 2, unknown: 0 }, 'down'],
      ['(no region)', 1, { up: 0, degraded: 0, down: 0, unknown: 1 }, 'unknown'],
      ['north', 3, { up: 5, degraded: 0, down: 0, unknown: 0 }, 'up'],
    ]);
    expect(p.site('LONE')!.summary).toMatchObject({ site: 'LONE', region: '(no region)', elements: 1 }); // an element naming no site is its own
  });

  it('follows transitions one at a time, and ignores elements it does not know', () => {
    const p = new PlaceIndex(topology, () => 'up');
    expect(p.regionSummaries().map((r) => r.worst)).toEqual(['up', 'up', 'up']); // worked out once, until something changes
    p.apply('BS-N1-C2', 'degraded');
    expect(p.regionSummaries()[0]).toMatchObject({ region: 'north', worst: 'degraded' });
    p.apply('BS-N1-C2', 'down');
    p.apply('NOT-IN-TOPOLOGY', 'down');
    expect(p.siteSummaries({ region: 'north' }).map((s) => [s.site, s.worst, s.counts.down])).toEqual([['n2', 'down', 1], ['dc', 'up', 0], ['n1', 'up', 0]]);
    p.apply('BS-N1-C2', 'up');
    expect(p.site('n2')!.summary.counts).toEqual({ up: 3, degraded: 0, down: 0, unknown: 0 });
  });

  it('filters by kind and state, and puts the sites with more subscribers hit first among equals', () => {
    const p = new PlaceIndex(topology, (id) => (id.endsWith('-C1') ? 'down' : 'up'));
    expect(p.siteSummaries({ kind: 'cell' }).map((s) => [s.site, s.elements])).toEqual([['n2', 2], ['s2', 1]]);
    expect(p.siteSummaries({ kind: 'aggregation', state: 'down' })).toEqual([]);
    p.setHitNow(new Map([['s2', 500], ['n2', 20]]), new Map([['south', 500], ['north', 20]]));
    expect(p.siteSummaries({ state: 'down' }).map((s) => [s.site, s.hitNow])).toEqual([['s2', 500], ['n2', 20]]);
    expect(p.regionSummaries({ kind: 'cell' }).map((r) => r.region)).toEqual(['south', 'north']);
  });

  it('finds elements and sites by part of their id, exact matches first', () => {
    const p = new PlaceIndex(topology, () => 'up');
    const r = p.search('bs-n1', 10);
    expect(r.elements.map((e) => e.id)).toEqual(['BS-N1', 'BS-N1-C1', 'BS-N1-C2']);
    expect(p.search('s2', 10).sites.map((s) => s.site)).toEqual(['s2']);
    expect(p.search('.*', 10)).toEqual({ elements: [], sites: [] }); // text, never a pattern
  });
});
