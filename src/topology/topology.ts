/** The kinds of network element netpulse knows, from the core to the radio cell. */
export const ELEMENT_KINDS = ['core', 'aggregation', 'access', 'olt', 'base_station', 'cell'] as const;
export type ElementKind = (typeof ELEMENT_KINDS)[number];

export interface Element {
  id: string;
  kind: ElementKind;
  site?: string;
  region?: string;
  lat?: number;
  lon?: number;
  /**
   * Upstream elements this one is reached through. With two or more the element is redundant:
   * it is cut off only when every parent is down or itself cut off. None: a root (a core).
   */
  parents: string[];
  /**
   * Which interface is its uplink, for traps (a linkDown of any other port says nothing about the
   * element's health): `ifIndex` on this element, and/or `parentIfIndex`, the port that faces it
   * on `parent` (one of `parents`; default the first).
   */
  uplink?: { ifIndex?: number; parentIfIndex?: number; parent?: string };
}

export interface TopologyProblem {
  /** Where: `elements[3].parents[1]` for YAML, `line 7` for CSV. */
  where: string;
  message: string;
}

export class TopologyError extends Error {
  readonly problems: TopologyProblem[];
  constructor(source: string, problems: TopologyProblem[]) {
    super(`${source}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p.where}: ${p.message}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * A validated topology: elements by id, children by parent, and an order in which every parent
 * comes before its children (what the outage correlator walks). Immutable; a reload builds a new one.
 */
export class Topology {
  readonly elements: ReadonlyMap<string, Element>;
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Parents before children. */
  readonly order: readonly string[];

  private constructor(elements: Map<string, Element>, children: Map<string, string[]>, order: string[]) {
    this.elements = elements;
    this.children = children;
    this.order = order;
  }

  get size(): number {
    return this.elements.size;
  }

  private leafCounts: Map<string, number> | undefined;

  /** Every element above one (through all its parents), nearest first. */
  ancestors(id: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>([id]);
    let frontier = [id];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const x of frontier) {
        for (const p of this.elements.get(x)?.parents ?? []) {
          if (seen.has(p)) continue;
          seen.add(p);
          out.push(p);
          next.push(p);
        }
      }
      frontier = next;
    }
    return out;
  }

  /** How many leaf elements (cells, ports: what serves subscribers) lie beneath one; 1 for a leaf. */
  leavesBelow(id: string): number {
    if (!this.leafCounts) {
      const counts = new Map<string, number>();
      for (let i = this.order.length - 1; i >= 0; i--) {
        const e = this.order[i];
        const kids = this.children.get(e) ?? [];
        counts.set(e, kids.length === 0 ? 1 : kids.reduce((n, k) => n + counts.get(k)!, 0));
      }
      this.leafCounts = counts;
    }
    return this.leafCounts.get(id) ?? 1;
  }

  /**
   * Checks and builds: duplicate ids, unknown or repeated parents, an element its own parent,
   * and cycles (named with their path) are problems; all of them are reported at once.
   * `where(i)` names element i in the source.
   */
  static build(list: readonly Element[], where: (i: number) => string = (i) => `elements[${i}]`): { topology?: Topology; problems: TopologyProblem[] } {
    const problems: TopologyProblem[] = [];
    const elements = new Map<string, Element>();
    const index = new Map<string, number>();
    list.forEach((e, i) => {
      if (elements.has(e.id)) problems.push({ where: `${where(i)}.id`, message: `duplicate element id "${e.id}" (also ${where(index.get(e.id)!)})` });
      else {
        elements.set(e.id, e);
        index.set(e.id, i);
      }
    });
    const children = new Map<string, string[]>();
    list.forEach((e, i) => {
      const seen = new Set<string>();
      const up = e.uplink;
      if (up?.parent !== undefined && !e.parents.includes(up.parent)) problems.push({ where: `${where(i)}.uplink.parent`, message: `"${up.parent}" is not one of its parents (${e.parents.join(', ') || 'none'})` });
      if (up?.parentIfIndex !== undefined && e.parents.length === 0) problems.push({ where: `${where(i)}.uplink.parentIfIndex`, message: 'a port of its parent, but it has no parents' });
      e.parents.forEach((p, j) => {
        if (p === e.id) problems.push({ where: `${where(i)}.parents[${j}]`, message: `"${e.id}" cannot be its own parent` });
        else if (!elements.has(p)) problems.push({ where: `${where(i)}.parents[${j}]`, message: `unknown parent "${p}"` });
        else if (seen.has(p)) problems.push({ where: `${where(i)}.parents[${j}]`, message: `parent "${p}" listed twice` });
        else {
          seen.add(p);
          if (index.get(e.id) === i) {
            const c = children.get(p);
            if (c) c.push(e.id);
            else children.set(p, [e.id]);
          }
        }
      });
    });
    // Kahn's algorithm: what is left over sits on a cycle (or below one).
    const pending = new Map<string, number>();
    for (const e of elements.values()) pending.set(e.id, e.parents.filter((p) => p !== e.id && elements.has(p)).length);
    const order: string[] = [];
    const queue = [...elements.keys()].filter((id) => pending.get(id) === 0);
    while (queue.length > 0) {
      const id = queue.pop()!;
      order.push(id);
      for (const c of children.get(id) ?? []) {
        const n = pending.get(c)! - 1;
        pending.set(c, n);
        if (n === 0) queue.push(c);
      }
    }
    if (order.length < elements.size) {
      const cycle = findCycle(elements, pending);
      problems.push({ where: where(index.get(cycle[0])!), message: `cycle in the topology: ${cycle.join(' -> ')}` });
    }
    if (problems.length > 0) return { problems };
    return { topology: new Topology(elements, children, order), problems };
  }
}

/** One cycle among the elements Kahn's algorithm could not order, as a path back to its start. */
function findCycle(elements: Map<string, Element>, pending: Map<string, number>): string[] {
  const stuck = [...pending].filter(([, n]) => n > 0).map(([id]) => id);
  const onStuck = new Set(stuck);
  let at = stuck[0];
  const path: string[] = [];
  const pos = new Map<string, number>();
  while (!pos.has(at)) {
    pos.set(at, path.length);
    path.push(at);
    at = elements.get(at)!.parents.find((p) => onStuck.has(p))!;
  }
  return [...path.slice(pos.get(at)!), at].reverse();
}
