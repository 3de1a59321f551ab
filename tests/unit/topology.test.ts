import { describe, it, expect } from 'vitest';
import { parseYamlTopology, parseCsvTopology } from '../../src/topology/load.ts';

describe('topology files', () => {
  it('loads YAML with sites, regions, coordinates and redundant parents, parents ordered first', () => {
    const { topology, problems } = parseYamlTopology(`
elements:
  - { id: BS-1, kind: base_station, site: north-07, region: north, lat: 52.1, lon: 4.3, parents: [AGG-7, AGG-8] }
  - { id: AGG-7, kind: aggregation, parents: [CORE-1] }
  - { id: AGG-8, kind: aggregation, parents: [CORE-1] }
  - { id: CORE-1, kind: core }
`);
    expect(problems).toEqual([]);
    const order = topology!.order;
    expect(order.indexOf('CORE-1')).toBeLessThan(order.indexOf('AGG-7'));
    expect(order.indexOf('AGG-8')).toBeLessThan(order.indexOf('BS-1'));
    expect(topology!.children.get('CORE-1')).toEqual(['AGG-7', 'AGG-8']);
    expect(topology!.elements.get('BS-1')).toMatchObject({ site: 'north-07', lat: 52.1 });
  });

  it.each([
    ['an unknown parent', '- { id: A, kind: core }\n  - { id: B, kind: access, parents: [A, X] }', 'elements[1].parents[1]: unknown parent "X"'],
    ['a duplicate id', '- { id: A, kind: core }\n  - { id: A, kind: access }', 'elements[1].id: duplicate element id "A" (also elements[0])'],
    ['a cycle', '- { id: A, kind: core, parents: [C] }\n  - { id: B, kind: access, parents: [A] }\n  - { id: C, kind: access, parents: [B] }', 'cycle in the topology: '],
    ['its own parent', '- { id: A, kind: core, parents: [A] }', 'elements[0].parents[0]: "A" cannot be its own parent'],
    ['an unknown kind', '- { id: A, kind: router }', 'elements[0].kind: '],
    ['an uplink on a parent it does not have', '- { id: A, kind: core }\n  - { id: C, kind: core }\n  - { id: B, kind: access, parents: [A], uplink: { parentIfIndex: 3, parent: C } }', 'elements[2].uplink.parent: "C" is not one of its parents (A)'],
    ['a parent\'s port without a parent', '- { id: A, kind: core, uplink: { parentIfIndex: 3 } }', 'elements[0].uplink.parentIfIndex: a port of its parent, but it has no parents'],
  ])('names %s with where it is', (_what, items, expected) => {
    const { topology, problems } = parseYamlTopology(`elements:\n  ${items}\n`);
    expect(topology).toBeUndefined();
    expect(problems.map((p) => `${p.where}: ${p.message}`).join('\n')).toContain(expected);
  });

  it('names the cycle by its path', () => {
    const { problems } = parseYamlTopology('elements:\n  - { id: A, kind: core, parents: [C] }\n  - { id: B, kind: access, parents: [A] }\n  - { id: C, kind: access, parents: [B] }\n');
    expect(problems[0].message).toMatch(/^cycle in the topology: (A -> B -> C -> A|B -> C -> A -> B|C -> A -> B -> C)$/);
  });

  it('loads CSV from an inventory export, parents separated by ";", problems by line', () => {
    const ok = parseCsvTopology('id,kind,site,region,lat,lon,parents\nCORE-1,core,dc1,north,,,\n"AGG,7",aggregation,dc1,north,,,CORE-1\nBS-1,base_station,s7,north,52.1,4.3,"AGG,7;CORE-1"\n');
    expect(ok.problems).toEqual([]);
    expect(ok.topology!.elements.get('BS-1')!.parents).toEqual(['AGG,7', 'CORE-1']);
    const bad = parseCsvTopology('id,kind,parents\nA,core,\nB,access,Z\nC,switch,A\n');
    expect(bad.problems.map((p) => `${p.where}: ${p.message}`)).toEqual([expect.stringMatching(/^line 4: kind: /)]);
    const unknownParent = parseCsvTopology('id,kind,parents\nA,core,\nB,access,Z\n');
    expect(unknownParent.problems.map((p) => `${p.where}: ${p.message}`)).toEqual(['line 3 (parents): unknown parent "Z"']);
    expect(parseCsvTopology('name,kind\n').problems[0].message).toMatch(/header needs columns id/);
  });
});
