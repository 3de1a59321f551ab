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
}

/** P(X >= k) for X ~ Poisson(lambda). */
export function poissonTail(k: number, lambda: number): number {
  let term = Math.exp(-lambda);
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= lambda / (i + 1);
  }
  return Math.max(0, 1 - below);
}

/**
 * Finds outages that monitoring did not see, from complaints. Pure (time comes with each
 * complaint). Unmatched network complaints are counted per element (each subscriber once) in a
 * sliding window, on their serving elements and every element above them; when one element's
 * count is improbable under its usual rate (`usualPerWindow` for each serving element seen below
 * it, so a switch over 600 cells expects far more than one cell) and at least `minComplaints`, a suspicion is raised
 * on it: the deepest such element with the most complaints, so a burst on one cell names the
 * cell and a burst across a site names its base station. One suspicion per element and its
 * relatives at a time, until `clear`.
 */
export class SuspectDetector {
  private readonly o: SuspectOptions;
  private readonly ancestors: (element: string) => readonly string[];
  private readonly below: (element: string) => number;
  private readonly windows = new Map<string, { at: number; id: string; subscriber: string }[]>();
  private readonly raised = new Map<string, Suspicion>();
  /** The serving elements seen below each element: its background rate scales with them. */
  private readonly leaves = new Map<string, Set<string>>();

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
    for (const element of chain) {
      const w = this.windows.get(element) ?? [];
      while (w.length > 0 && w[0].at < c.at - this.o.windowMs) w.shift();
      if (!w.some((x) => x.subscriber === c.subscriberId)) w.push({ at: c.at, id: c.id, subscriber: c.subscriberId });
      if (w.length > 0) this.windows.set(element, w);
      else this.windows.delete(element);
      const n = w.length;
      if (n < this.o.minComplaints) continue;
      const p = poissonTail(n, this.o.usualPerWindow * Math.max(this.leaves.get(element)!.size, this.below(element)));
      if (p > this.o.maxProbability) continue;
      if (this.related(element)) continue;
      if (!best || n > best.subscribers) best = { element, complaints: w.map((x) => x.id), subscribers: n, since: w[0].at, at: c.at, probability: p };
    }
    if (best) this.raised.set(best.element, best);
    return best;
  }

  /** A complaint that turned out to be explained (matched late) no longer counts. */
  remove(complaintId: string): void {
    for (const [e, w] of this.windows) {
      const i = w.findIndex((x) => x.id === complaintId);
      if (i >= 0) w.splice(i, 1);
      if (w.length === 0) this.windows.delete(e);
    }
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
      while (w.length > 0 && w[0].at < now - this.o.windowMs) w.shift();
      if (w.length === 0) this.windows.delete(e);
    }
  }

  private related(element: string): boolean {
    if (this.raised.has(element)) return true;
    for (const r of this.raised.keys()) {
      if (this.ancestors(element).includes(r) || this.ancestors(r).includes(element)) return true;
    }
    return false;
  }
}
