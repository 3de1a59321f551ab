import type { Topology } from '../../src/topology/topology.ts';
import type { ElementHealth } from '../health/tracker.ts';

/**
 * Which elements are down (seen failing, or inferred), degraded and cut off, and for each cut-off
 * element the root causes above it. One pass over the topology, parents first. Pure.
 */
export function attribute(topology: Topology, health: ReadonlyMap<string, ElementHealth>, inferred: ReadonlyMap<string, ElementHealth>) {
  const down = new Set<string>(inferred.keys());
  const degraded = new Set<string>();
  for (const [id, h] of health) {
    if (h.state === 'down') down.add(id);
    else if (h.state === 'degraded' && !inferred.has(id)) degraded.add(id);
  }
  const cut = new Set<string>();
  // When each element was cut off: when the last of its parents went down or was cut off.
  const cutSince = new Map<string, number>();
  const roots = new Map<string, Set<string>>();
  const elements = topology.elements;
  for (const id of topology.order) {
    const parents = elements.get(id)!.parents;
    if (parents.length === 0) continue;
    let all = true;
    for (const p of parents) {
      if (!down.has(p) && !cut.has(p)) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    cut.add(id);
    const rs = new Set<string>();
    let since = 0;
    for (const p of parents) {
      if (cut.has(p)) for (const r of roots.get(p)!) rs.add(r);
      else rs.add(p);
      since = Math.max(since, cut.has(p) ? cutSince.get(p)! : (inferred.get(p) ?? health.get(p))!.since);
    }
    roots.set(id, rs);
    cutSince.set(id, since);
  }
  return { down, degraded, roots, cut, cutSince };
}
