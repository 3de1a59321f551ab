import type { Topology } from '../../src/topology/topology.ts';
import type { ElementHealth } from '../health/tracker.ts';

/**
 * An element is inferred down when at least `minChildren` of the elements behind it, and at least
 * `share` of those that depend on it, went down within `windowMs` of each other, and the element
 * itself was not heard alive since the first of them did. Only children that depend on it count:
 * one with another parent still up, or down inside planned work, says nothing about it; one
 * without data counts as not seen failing.
 */
export interface InferenceOptions {
  share: number;
  minChildren: number;
  windowMs: number;
}

export const DEFAULT_INFERENCE: InferenceOptions = { share: 0.8, minChildren: 2, windowMs: 120_000 };

/**
 * The silent parents inferred down, with when (the first of the failures that gave them away)
 * and why. One pass, children before parents, so an inferred element counts as a failed child of
 * its own parent.
 */
export function inferSilentParents(topology: Topology, inf: InferenceOptions, health: ReadonlyMap<string, ElementHealth>, planned: (element: string, at: number) => boolean,
  held: ReadonlyMap<string, number> = new Map()): Map<string, ElementHealth> {
  const out = new Map<string, ElementHealth>();
  const { elements, children, order } = topology;
  const failed = (id: string) => out.has(id) || health.get(id)?.state === 'down';
  // How many children of each element are down (or inferred): only one with enough of them is
  // looked at, so a quiet network costs one pass over what is down.
  const downBelow = new Map<string, number>();
  const countUp = (id: string) => {
    for (const p of elements.get(id)?.parents ?? []) downBelow.set(p, (downBelow.get(p) ?? 0) + 1);
  };
  for (const [id, h] of health) if (h.state === 'down') countUp(id);
  const times: number[] = [];
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i];
    // Inferred before and nothing says it is back: it stays inferred (no data is not a recovery).
    const since = held.get(id);
    if (since !== undefined && stillDown(topology, id, since, health, failed)) {
      countUp(id);
      out.set(id, { state: 'down', since, reason: `inferred: elements behind it still down, none back, and it not heard alive since ${new Date(since).toISOString()}` });
      continue;
    }
    if ((downBelow.get(id) ?? 0) < inf.minChildren) continue;
    const kids = children.get(id);
    if (!kids || kids.length < inf.minChildren) continue;
    const h = health.get(id);
    if (h?.state === 'down') continue; // seen failing: nothing to infer
    let dependents = 0;
    times.length = 0;
    for (const k of kids) {
      // A child with another way up says nothing about this one.
      if (elements.get(k)!.parents.some((p) => p !== id && !failed(p))) continue;
      const kh = out.get(k) ?? health.get(k);
      if (kh?.state === 'down' && planned(k, kh.since)) continue; // planned work says nothing about its parent
      dependents++; // one without data counts, as not seen failing
      if (kh?.state === 'down') times.push(kh.since);
    }
    if (times.length < inf.minChildren) continue;
    // The most failures within the window, and when the first of them was.
    times.sort((a, b) => a - b);
    let most = 0;
    let first = 0;
    for (let j = 0, lo = 0; j < times.length; j++) {
      while (times[j] - times[lo] > inf.windowMs) lo++;
      if (j - lo + 1 > most) [most, first] = [j - lo + 1, times[lo]];
    }
    if (most < inf.minChildren || most < inf.share * dependents - 1e-9) continue;
    if (h?.aliveAt !== undefined && h.aliveAt >= first) continue; // it answered after they failed: not its fault
    const heard = h?.aliveAt !== undefined ? `last heard alive ${new Date(h.aliveAt).toISOString()}` : 'never heard from';
    countUp(id);
    out.set(id, { state: 'down', since: first, reason: `inferred: ${most} of ${dependents} elements behind it went down within ${Math.round(inf.windowMs / 1000)} s from ${new Date(first).toISOString()}; ${heard}` });
  }
  return out;
}

/**
 * Whether an outage at `root` may yet be taken in by one above it, so its page can wait: a parent
 * of it, not down, has begun failing its own checks, or (with inference on) another element that
 * depends on the same parent alone is down or failing since `windowMs` before the root went down.
 */
export function awaitingParent(topology: Topology, inference: InferenceOptions | false, root: string, health: ReadonlyMap<string, ElementHealth>): boolean {
  const { elements, children } = topology;
  const since = health.get(root)?.since ?? -Infinity;
  for (const p of elements.get(root)?.parents ?? []) {
    const ph = health.get(p);
    if (ph?.state === 'down') continue;
    if (ph?.failingSince !== undefined) return true;
    if (!inference) continue;
    const after = since - inference.windowMs;
    for (const k of children.get(p) ?? []) {
      if (k === root || elements.get(k)!.parents.length > 1) continue;
      const kh = health.get(k);
      if ((kh?.state === 'down' && kh.since >= after) || (kh?.failingSince !== undefined && kh.failingSince >= after)) return true;
    }
  }
  return false;
}

/**
 * Whether an element inferred down since `since` still is: not seen failing itself (then it is
 * observed, not inferred), not heard alive since, no element that depends on it back, and one
 * still down behind it.
 */
function stillDown(topology: Topology, id: string, since: number, health: ReadonlyMap<string, ElementHealth>, failed: (id: string) => boolean): boolean {
  const h = health.get(id);
  if (h?.state === 'down' || (h?.aliveAt !== undefined && h.aliveAt >= since)) return false;
  if (firstBack(topology, id, since, health, failed) !== undefined) return false;
  return (topology.children.get(id) ?? []).some(failed);
}

/**
 * When the first element behind an inferred root that depends on it (its other uplinks, if any,
 * down) came back after `after`: then the root is back too (undefined: none has).
 */
export function firstBack(topology: Topology, root: string, after: number, health: ReadonlyMap<string, ElementHealth>, failed: (id: string) => boolean): number | undefined {
  let first: number | undefined;
  for (const k of topology.children.get(root) ?? []) {
    if (topology.elements.get(k)!.parents.some((p) => p !== root && !failed(p))) continue;
    const kh = health.get(k);
    if (kh && (kh.state === 'up' || kh.state === 'degraded') && kh.since >= after && (first === undefined || kh.since < first)) first = kh.since;
  }
  return first;
}
