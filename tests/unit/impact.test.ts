import { describe, it, expect } from 'vitest';
import { elementStatus, changedElements, impactsOf, diffImpacts, scopeOf, type OpenImpact } from '../../correlators/impact/impact.ts';
import type { Outage } from '../../correlators/outages/outage.ts';

const outage = (root: string, startedAt: number, impacted: [string, number][] = [], over: Partial<Outage> = {}): Outage => ({
  id: `${root}@${startedAt}`, root, severity: 'outage', state: 'open', startedAt, impacted: impacted.map(([element, since]) => ({ element, since })),
  planned: false, flapping: false, reopened: 0, reason: 'snmp: timeout', ...over,
});

describe('subscriber impact', () => {
  it('is no service when every serving element is lost, and a degradation when only some are', () => {
    const status = elementStatus([outage('BS-1', 1000, [['BS-1-C1', 1000], ['BS-1-C2', 1005]])]);
    expect(impactsOf(['BS-1-C1'], status)).toEqual([{ outage: 'BS-1@1000', kind: 'no_service', since: 1000 }]);
    // Covered by three cells, one of them lost: at most a degradation.
    expect(impactsOf(['BS-1-C1', 'BS-2-C1', 'BS-3-C1'], status)).toEqual([{ outage: 'BS-1@1000', kind: 'degraded', since: 1000 }]);
    // Both of their cells lost: no service from when the second went.
    expect(impactsOf(['BS-1-C1', 'BS-1-C2'], status)).toEqual([{ outage: 'BS-1@1000', kind: 'no_service', since: 1005 }]);
    expect(impactsOf(['BS-2-C1'], status)).toEqual([]);
    expect(impactsOf([], status)).toEqual([]);
  });

  it('counts losses from several outages together, and puts the subscriber in each one’s scope', () => {
    const status = elementStatus([outage('BS-1-C1', 100), outage('AGG-2', 200, [['BS-2', 200], ['BS-2-C1', 210]])]);
    expect(impactsOf(['BS-1-C1', 'BS-2-C1'], status)).toEqual([
      { outage: 'BS-1-C1@100', kind: 'no_service', since: 210 },
      { outage: 'AGG-2@200', kind: 'no_service', since: 210 },
    ]);
    expect(impactsOf(['BS-1-C1', 'BS-2-C1', 'BS-3-C1'], status).map((i) => i.kind)).toEqual(['degraded', 'degraded']);
  });

  it('makes a degraded element a degradation even when it is the only one serving', () => {
    const status = elementStatus([outage('BS-1-C1', 100, [], { severity: 'degradation' })]);
    expect(impactsOf(['BS-1-C1'], status)).toEqual([{ outage: 'BS-1-C1@100', kind: 'degraded', since: 100 }]);
    // Degraded plus lost is not a total loss: the degraded cell still serves.
    const both = elementStatus([outage('BS-1-C1', 100, [], { severity: 'degradation' }), outage('BS-2-C1', 150)]);
    expect(impactsOf(['BS-1-C1', 'BS-2-C1'], both).map((i) => i.kind)).toEqual(['degraded', 'degraded']);
  });

  it('ignores cleared outages and starts a reopened one’s losses when it reopened', () => {
    expect(elementStatus([outage('BS-1', 100, [], { state: 'cleared', clearedAt: 200 })]).size).toBe(0);
    const s = elementStatus([outage('BS-1', 100, [['BS-1-C1', 100]], { reopened: 1 })], new Map([['BS-1@100', 500]]));
    expect(s.get('BS-1-C1')).toEqual([{ outage: 'BS-1@100', lost: true, since: 500 }]);
  });

  it('names exactly the elements whose status changed', () => {
    const a = elementStatus([outage('AGG-1', 100, [['BS-1', 100], ['BS-2', 100]])]);
    const b = elementStatus([outage('AGG-1', 100, [['BS-1', 100], ['BS-3', 120]]), outage('BS-9', 130)]);
    expect([...changedElements(a, b)].sort()).toEqual(['BS-2', 'BS-3', 'BS-9']);
    expect(changedElements(b, b).size).toBe(0);
  });

  it('diffs stored impacts: new ones open at their start, ended ones close, a change of kind splits the span', () => {
    const cur: OpenImpact[] = [
      { outage: 'O1', subscriber: 'A', kind: 'degraded', since: 100 },
      { outage: 'O1', subscriber: 'B', kind: 'no_service', since: 100 },
      { outage: 'O1', subscriber: 'C', kind: 'no_service', since: 100 },
    ];
    const next: OpenImpact[] = [
      { outage: 'O1', subscriber: 'A', kind: 'no_service', since: 150 },
      { outage: 'O1', subscriber: 'B', kind: 'no_service', since: 100 },
      { outage: 'O1', subscriber: 'D', kind: 'degraded', since: 140 },
    ];
    expect(diffImpacts(cur, next, 150)).toEqual({
      close: [cur[0], cur[2]],
      open: [{ outage: 'O1', subscriber: 'A', kind: 'no_service', since: 150 }, { outage: 'O1', subscriber: 'D', kind: 'degraded', since: 140 }],
    });
    expect(diffImpacts(next, next, 200)).toEqual({ close: [], open: [] });
  });

  it('counts a scope by tier, service and region', () => {
    expect(scopeOf([
      { tier: 'vip', service: 'mobile', region: 'north', kind: 'no_service', current: true, n: 2 },
      { tier: 'gold', service: 'mobile', region: 'north', kind: 'degraded', current: false, n: 5 },
      { tier: 'gold', service: 'broadband', region: null, kind: 'no_service', current: true, n: 1 },
    ])).toEqual({
      subscribers: 8, current: 3, noService: 3, degraded: 5,
      byTier: { vip: 2, gold: 6 }, byService: { mobile: 7, broadband: 1 }, byRegion: { north: 7, unknown: 1 },
    });
  });
});
