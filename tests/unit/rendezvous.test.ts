import { describe, it, expect } from 'vitest';
import { owner, ownedBy } from '../../src/cluster/rendezvous.ts';

const targets = Array.from({ length: 3000 }, (_, i) => `target-${i}`);

describe('rendezvous assignment of targets to members', () => {
  it('gives every target exactly one owner, the same on every member, spread evenly', () => {
    const members = ['np-a', 'np-b', 'np-c'];
    const counts = members.map((m) => ownedBy(m, targets, members).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(targets.length);
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120); // within about 12 % of a third
    expect(owner('target-7', [...members].reverse())).toBe(owner('target-7', members)); // order does not matter
  });

  it('moves only what it must when a member dies or joins', () => {
    const before = new Map(targets.map((t) => [t, owner(t, ['np-a', 'np-b', 'np-c'])]));
    const afterDeath = new Map(targets.map((t) => [t, owner(t, ['np-a', 'np-c'])]));
    // Only np-b's targets move, and each to one of the living.
    for (const t of targets) {
      if (before.get(t) !== 'np-b') expect(afterDeath.get(t)).toBe(before.get(t));
      else expect(['np-a', 'np-c']).toContain(afterDeath.get(t));
    }
    const afterJoin = new Map(targets.map((t) => [t, owner(t, ['np-a', 'np-b', 'np-c', 'np-d'])]));
    const moved = targets.filter((t) => afterJoin.get(t) !== before.get(t));
    expect(moved.every((t) => afterJoin.get(t) === 'np-d')).toBe(true); // only to the newcomer
    expect(Math.abs(moved.length - 750)).toBeLessThan(120); // about a quarter
  });

  it('has no owner without members', () => {
    expect(owner('x', [])).toBeUndefined();
  });
});
