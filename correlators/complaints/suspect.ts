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

/** One element's sliding window: entries in time order, and each subscriber's counted complaint. */
class Window {
  readonly at: number[] = [];
  readonly subscriber: string[] = [];
  readonly id: string[] = [];
  head = 0;
  /** Subscriber -> the complaint that counts for them (each subscriber once). */
  readonly counted = new Map<string, string>();

  prune(before: number): void {
    while (this.head < this.at.length && this.at[this.head] < before) {
      const sub = this.subscriber[this.head];
      if (this.counted.get(sub) === this.id[this.head]) this.counted.delete(sub);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      for (const xs of [this.at, this.subscriber, this.id] as unknown[][]) xs.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The time of the oldest complaint that still counts. */
  get since(): number {
    for (let i = this.head; i < this.at.length; i++) if (this.counted.get(this.subscriber[i]) === this.id[i]) return this.at[i];
    return Infinity;
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
 * relatives at a time, until `clear`.
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
    const cutoff = c.at - this.o.windowMs;
    for (const [id, p] of this.placed) {
      if (p.at >= cutoff) break; // in arrival order: the rest are newer
      this.placed.delete(id);
    }
    this.placed.set(c.id, { subscriber: c.subscriberId, elements: chain, at: c.at });
    for (const element of chain) {
      let w = this.windows.get(element);
      if (!w) this.windows.set(element, (w = new Window()));
      w.prune(cutoff);
      if (!w.counted.has(c.subscriberId)) {
        w.at.push(c.at);
        w.subscriber.push(c.subscriberId);
        w.id.push(c.id);
        w.counted.set(c.subscriberId, c.id);
      }
      const n = w.counted.size;
      if (n < this.o.minComplaints) continue;
      const lambda = this.o.usualPerWindow * Math.max(this.leaves.get(element)!.size, this.below(element));
      if (n <= lambda + 3 * Math.sqrt(lambda)) continue; // not even unusual: skip the tail
      const p = poissonTail(n, lambda);
      if (p > this.o.maxProbability) continue;
      if (this.related(element)) continue;
      if (!best || n > best.subscribers) best = { element, complaints: [...w.counted.values()], subscribers: n, since: w.since, at: c.at, probability: p };
    }
    if (best) this.raised.set(best.element, best);
    return best;
  }

  /** A complaint that turned out to be explained (matched late) no longer counts. */
  remove(complaintId: string): void {
    const p = this.placed.get(complaintId);
    if (!p) return;
    this.placed.delete(complaintId);
    for (const e of p.elements) {
      const w = this.windows.get(e);
      if (w?.counted.get(p.subscriber) === complaintId) w.counted.delete(p.subscriber);
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
      w.prune(now - this.o.windowMs);
      if (w.counted.size === 0) this.windows.delete(e);
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
