/** An unmatched network complaint, placed on the elements that serve the subscriber. */
export interface PlacedComplaint {
  id: string;
  subscriberId: string;
  at: number;
  /** The serving elements (cells, ports); their ancestors are added from the topology. */
  elements: readonly string[];
}

export interface SuspectOptions {
  windowMs: number;
  /** Never raise on fewer distinct subscribers than this. */
  minComplaints: number;
  /**
   * Unmatched network complaints usual per serving element (cell, port) and window: the
   * background rate. An element above them expects it once for each serving element seen below.
   */
  usualPerWindow: number;
  /** Raise when a count this high has at most this probability under the usual rate (Poisson). */
  maxProbability: number;
}

export const DEFAULT_SUSPECT: SuspectOptions = { windowMs: 15 * 60_000, minComplaints: 5, usualPerWindow: 0.2, maxProbability: 1e-5 };

export interface Suspicion {
  /** The element the complaints have in common: the most specific one that crossed. */
  element: string;
  complaints: string[];
  subscribers: number;
  since: number;
  at: number;
  /** How unlikely the burst is as background noise. */
  probability: number;
  /**
   * The suspicions below this one it takes in (a rollup): bursts under two or more of its children
   * that it explains as one, the way an outage takes in what its root cut off.
   */
  replaces?: Suspicion[];
}

/** P(X >= k) for X ~ Poisson(lambda): exact for small lambda, a normal approximation beyond 100. */
export function poissonTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda > 100) return 0.5 * erfc((k - 0.5 - lambda) / Math.sqrt(2 * lambda));
  let term = Math.exp(-lambda);
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= lambda / (i + 1);
    if (term < 1e-300 && i > lambda) break;
  }
  return Math.max(0, 1 - below);
}

/** The complementary error function (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * z);
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z);
  return x >= 0 ? y : 2 - y;
}

/** One complaint as an element's window holds it. */
interface Entry { at: number; subscriber: string; id: string }

/**
 * One element's complaints, in report-time order whatever order they arrived in (a CRM syncing a
 * batch, a queue draining after an outage): a burst is complaints reported within one window,
 * never complaints that merely arrived together.
 */
class Window {
  readonly entries: Entry[] = [];

  insert(e: Entry): void {
    this.entries.splice(this.count(e.at, true), 0, e);
  }

  prune(before: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n].at < before) n++;
    if (n > 0) this.entries.splice(0, n);
  }

  /** Takes out the complaint `id` reported at `at` (looked up by its time: a window high up holds thousands). */
  remove(id: string, at: number): void {
    for (let i = this.count(at, false); i < this.entries.length && this.entries[i].at === at; i++) {
      if (this.entries[i].id === id) {
        this.entries.splice(i, 1);
        return;
      }
    }
  }

  /** How many entries were reported within `w` of `t` (either side): a bound on any window densest() may find. */
  around(t: number, w: number): number {
    return this.count(t + w, true) - this.count(t - w, false);
  }

  /** How many entries were reported before `at` (and at it, with `inclusive`): a binary search. */
  private count(at: number, inclusive: boolean): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].at < at || (inclusive && this.entries[mid].at === at)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The window of length `w` that contains `t` and holds the most distinct subscribers (each
   * subscriber's first complaint in it counts), by a sliding pass over the entries near `t`.
   */
  densest(t: number, w: number): { counted: Map<string, string>; since: number; until: number } {
    const near = this.entries.filter((e) => e.at >= t - w && e.at <= t + w);
    let best = { counted: new Map<string, string>(), since: t, until: t };
    const inside = new Map<string, number>();
    let j = 0;
    for (let i = 0; i < near.length && near[i].at <= t; i++) {
      while (j < near.length && near[j].at <= near[i].at + w) {
        inside.set(near[j].subscriber, (inside.get(near[j].subscriber) ?? 0) + 1);
        j++;
      }
      if (near[i].at + w >= t && inside.size > best.counted.size) {
        const counted = new Map<string, string>();
        for (let k = i; k < j; k++) if (!counted.has(near[k].subscriber)) counted.set(near[k].subscriber, near[k].id);
        best = { counted, since: near[i].at, until: near[j - 1].at };
      }
      const gone = near[i].subscriber;
      const left = inside.get(gone)! - 1;
      if (left === 0) inside.delete(gone);
      else inside.set(gone, left);
    }
    return best;
  }
}

/**
 * Finds outages that monitoring did not see, from complaints. Pure (time comes with each
 * complaint). Unmatched network complaints are counted per element (each subscriber once) in a
 * sliding window, on their serving elements and every element above them; when one element's
 * count is improbable under its usual rate (`usualPerWindow` for each serving element seen below
 * it, so a switch over 600 cells expects far more than one cell) and at least `minComplaints`, a suspicion is raised
 * on it: the deepest such element with the most complaints, so a burst on one cell names the
 * cell and a burst across a site names its base station. One suspicion per element and its
 * relatives at a time, until `clear`, with one exception, the rollup: when bursts under two or
 * more children of an element are suspected and that element's own count is improbable too, one
 * suspicion at it replaces them (`replaces`), as a switch's failure is one outage, not one per
 * base station.
 */
export class SuspectDetector {
  private readonly o: SuspectOptions;
  private readonly ancestors: (element: string) => readonly string[];
  private readonly below: (element: string) => number;
  private readonly windows = new Map<string, Window>();
  /** Where each counted complaint was filed, so a late match can take it back. */
  private readonly placed = new Map<string, { subscriber: string; elements: string[]; at: number }>();
  private readonly raised = new Map<string, Suspicion>();
  /** The serving elements seen below each element: its background rate scales with them. */
  private readonly leaves = new Map<string, Set<string>>();
  /** The latest report time seen: windows keep what a late arrival could still join. */
  private newest = -Infinity;

  /**
   * `ancestors`: the elements above one, nearest first (from the topology). `below`: how many
   * serving elements (leaves) an element has beneath it, itself for a leaf; without it, those seen
   * in complaints so far count.
   */
  constructor(ancestors: (element: string) => readonly string[], o: Partial<SuspectOptions> = {}, below: (element: string) => number = () => 1) {
    this.ancestors = ancestors;
    this.below = below;
    this.o = { ...DEFAULT_SUSPECT, ...o };
  }

  get active(): Suspicion[] {
    return [...this.raised.values()];
  }

  add(c: PlacedComplaint): Suspicion | undefined {
    // Each element with its depth order: serving elements first, then their ancestors upwards.
    const chain: string[] = [];
    const seen = new Set<string>();
    for (const e of c.elements) {
      for (const x of [e, ...this.ancestors(e)]) {
        let l = this.leaves.get(x);
        if (!l) this.leaves.set(x, (l = new Set()));
        l.add(e);
        if (!seen.has(x)) {
          seen.add(x);
          chain.push(x);
        }
      }
    }
    let best: Suspicion | undefined;
    this.newest = Math.max(this.newest, c.at);
    // Kept while a complaint reported that long before the newest could still arrive late.
    const cutoff = this.newest - 2 * this.o.windowMs;
    for (const [id, p] of this.placed) {
      if (p.at >= cutoff || this.placed.size < 10_000) break;
      this.placed.delete(id);
    }
    this.placed.set(c.id, { subscriber: c.subscriberId, elements: chain, at: c.at });
    for (const element of chain) {
      let w = this.windows.get(element);
      if (!w) this.windows.set(element, (w = new Window()));
      w.prune(cutoff);
      w.insert({ at: c.at, subscriber: c.subscriberId, id: c.id });
      // Checks that need no window first: densest() walks every entry near the complaint, which on
      // an element high up (a switch, the core) is every complaint of the last half hour.
      if (this.named(element)) continue; // rollup() would refuse it whatever the burst
      const most = w.around(c.at, this.o.windowMs); // no window densest() finds counts more subscribers
      if (most < this.o.minComplaints) continue;
      const lambda = this.o.usualPerWindow * Math.max(this.leaves.get(element)!.size, this.below(element));
      if (most <= lambda + 3 * Math.sqrt(lambda)) continue;
      const d = w.densest(c.at, this.o.windowMs);
      const n = d.counted.size;
      if (n < this.o.minComplaints) continue;
      if (n <= lambda + 3 * Math.sqrt(lambda)) continue; // not even unusual: skip the tail
      const p = poissonTail(n, lambda);
      if (p > this.o.maxProbability) continue;
      const replaces = this.rollup(element, best);
      if (replaces === undefined) continue;
      // Raised at the latest report of the burst: never before it began, whatever the arrival order.
      if (!best || n > best.subscribers || (replaces.length > 0 && n >= best.subscribers)) {
        best = { element, complaints: [...d.counted.values()], subscribers: n, since: d.since, at: d.until, probability: p, ...(replaces.length > 0 && { replaces }) };
      }
    }
    if (best) {
      for (const r of best.replaces ?? []) this.raised.delete(r.element);
      this.raised.set(best.element, best);
    }
    return best;
  }

  /** Whether a suspicion is open on the element or an element above it: no burst on it may be raised. */
  private named(element: string): boolean {
    return this.raised.has(element) || this.ancestors(element).some((a) => this.raised.has(a));
  }

  /**
   * Whether an improbable burst on `element` may be raised, and the suspicions below it that it
   * takes in: undefined when it is already named (by itself, an element above it, or one suspicion
   * below it: the burst is that one's); a rollup when suspicions below it (with `candidate`, this
   * complaint's own new one) lie under two or more of its children.
   */
  private rollup(element: string, candidate: Suspicion | undefined): Suspicion[] | undefined {
    if (this.raised.has(element)) return undefined;
    const below: Suspicion[] = [];
    for (const r of this.raised.values()) {
      if (this.ancestors(element).includes(r.element)) return undefined;
      if (this.ancestors(r.element).includes(element)) below.push(r);
    }
    if (below.length === 0) return [];
    // The child of `element` each lies under.
    const branch = (e: string) => {
      const up = [e, ...this.ancestors(e)];
      return up[up.indexOf(element) - 1];
    };
    const branches = new Set(below.map((r) => branch(r.element)));
    if (candidate && this.ancestors(candidate.element).includes(element)) branches.add(branch(candidate.element));
    return branches.size >= 2 ? below : undefined;
  }

  /** A complaint that turned out to be explained (matched late) no longer counts. */
  remove(complaintId: string): void {
    const p = this.placed.get(complaintId);
    if (!p) return;
    this.placed.delete(complaintId);
    for (const e of p.elements) this.windows.get(e)?.remove(complaintId, p.at);
  }

  /** A suspicion still open from before a restart: it is not raised again. */
  restore(s: Suspicion): void {
    this.raised.set(s.element, s);
  }

  /** Ends a suspicion (confirmed by monitoring, or dismissed); its element can raise again. */
  clear(element: string): void {
    this.raised.delete(element);
  }

  /** Forgets windows older than the window (call now and then; `add` prunes what it touches). */
  prune(now: number): void {
    for (const [e, w] of this.windows) {
      w.prune(Math.max(now, this.newest) - 2 * this.o.windowMs);
      if (w.entries.length === 0) this.windows.delete(e);
    }
  }

}
