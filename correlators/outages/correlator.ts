import type { Topology } from '../../src/topology/topology.ts';
import type { ElementHealth } from '../health/tracker.ts';
import type { Outage, OutageEvent, MaintenanceWindow } from './outage.ts';
import { attribute } from './attribution.ts';
import { inferSilentParents, awaitingParent, firstBack, DEFAULT_INFERENCE, type InferenceOptions } from './inference.ts';

export { DEFAULT_INFERENCE, type InferenceOptions } from './inference.ts';

export interface OutageOptions {
  /** A cleared outage is closed once its root has stayed good this long; failing again reopens it. */
  confirmRecoveryMs: number;
  /** Reopened this many times: marked flapping. */
  flapAfterReopens: number;
  /**
   * After a root recovers, the elements it cut off that are still down stay in its outage this
   * long (they come back a little later: a base station re-attaching after its switch rebooted).
   * Past it, each is a root of its own, from the moment it was handed back. 0: handed back at once.
   */
  followRecoveryMs: number;
  /** Inferring a silent parent's failure from its children; false: never. */
  inference: InferenceOptions | false;
}

export const DEFAULT_OUTAGE_OPTIONS: OutageOptions = { confirmRecoveryMs: 120_000, flapAfterReopens: 2, followRecoveryMs: 0, inference: DEFAULT_INFERENCE };

const copy = (o: Outage): Outage => ({ ...o, impacted: o.impacted.map((i) => ({ ...i })) });

/**
 * Turns element health into outages along the topology. Pure: health, topology, maintenance and
 * the clock come in, outage events go out.
 *
 * An element is cut off when all its parents are down or cut off (a redundant element survives
 * while one uplink does). A root cause is an element down (or degraded) and not cut off; every
 * cut-off element is impacted by the root causes above it and opens nothing of its own. When a
 * root recovers, its outage is cleared at the first good observation and closed once recovery has
 * held for `confirmRecoveryMs`; a failure before that reopens it (counted, and marked flapping).
 * A child still down after its parent recovered stays in the parent's outage for
 * `followRecoveryMs` (the outage ends when the last of them is back); one still down after that
 * is a root itself and gets its own outage, starting when it was handed back, so no suppressed
 * failure is left without one and no time is counted twice.
 *
 * A silent parent (never polled, or its management plane unreachable) is inferred down when the
 * elements behind it go down together (`InferenceOptions`); its outage is marked `inferred` and
 * takes them in as a polled parent's would. Real evidence decides: the parent seen failing confirms
 * it (same outage, no longer inferred); the parent heard alive, or one of its children back, ends it.
 */
export class OutageCorrelator {
  private topology: Topology;
  private readonly o: OutageOptions;
  private maintenance: MaintenanceWindow[] = [];
  /** Open and cleared outages by root element. */
  private readonly active = new Map<string, Outage>();
  /** Outages whose root is back while elements it cut off are still down: when the root came back. */
  private readonly rootBack = new Map<string, number>();
  /** Elements an outage handed back still down: when, so their own outage starts there. */
  private readonly handedBack = new Map<string, number>();

  constructor(topology: Topology, o: Partial<OutageOptions> = {}) {
    this.topology = topology;
    this.o = { ...DEFAULT_OUTAGE_OPTIONS, ...o };
  }

  /** A reloaded topology applies from the next evaluation. */
  setTopology(t: Topology): void {
    this.topology = t;
  }

  setMaintenance(windows: MaintenanceWindow[]): void {
    this.maintenance = windows;
  }

  /**
   * After a restart: the open and cleared outages from the store. The next evaluation continues
   * them (same id) when their root is still down, and clears them when it is not.
   */
  restore(outages: readonly Outage[]): void {
    for (const o of outages) if (o.state !== 'closed') this.active.set(o.root, copy(o));
  }

  /**
   * When an evaluation with unchanged health would next change something: the earliest time a
   * cleared outage's recovery is confirmed, or a recovered root stops waiting for the elements it
   * cut off (undefined: nothing is waiting on the clock).
   */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const o of this.active.values()) {
      const back = this.rootBack.get(o.root);
      if (o.state !== 'cleared' && back === undefined) continue;
      const at = o.state === 'cleared' ? o.clearedAt! + this.o.confirmRecoveryMs : back! + this.o.followRecoveryMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  get outages(): Outage[] {
    return [...this.active.values()].map(copy);
  }

  evaluate(observed: ReadonlyMap<string, ElementHealth>, now: number): OutageEvent[] {
    const inferred = this.infer(observed);
    const isDown = (id: string) => inferred.has(id) || observed.get(id)?.state === 'down';
    // The health the evaluation reads: what was observed, with the inferred failures over it.
    const health = { get: (id: string) => inferred.get(id) ?? observed.get(id) };
    const { down, degraded, roots, cut, cutSince } = attribute(this.topology, observed, inferred);
    const events: OutageEvent[] = [];
    const causes = new Map<string, 'outage' | 'degradation'>();
    for (const id of down) if (!cut.has(id)) causes.set(id, 'outage');
    for (const id of degraded) if (!cut.has(id)) causes.set(id, 'degradation');

    // Impacted elements per root cause, with when each was first seen down or cut off.
    const impacted = new Map<string, Map<string, number>>();
    for (const [id, rs] of roots) {
      for (const r of rs) {
        if (!causes.has(r)) continue;
        let m = impacted.get(r);
        if (!m) impacted.set(r, (m = new Map()));
        const h = health.get(id);
        m.set(id, h?.state === 'down' ? h.since : cutSince.get(id) ?? now);
      }
    }

    // Causes with an outage already: reopened or updated.
    const fresh: string[] = [];
    for (const [root, severity] of causes) {
      const h = health.get(root)!;
      const imp = impacted.get(root) ?? new Map<string, number>();
      const existing = this.active.get(root);
      this.rootBack.delete(root);
      if (!existing) {
        fresh.push(root);
        continue;
      }
      if (existing.state === 'cleared') {
        const clearedAt = existing.clearedAt ?? -Infinity;
        existing.state = 'open';
        existing.clearedAt = undefined;
        existing.reopened++;
        existing.flapping = existing.reopened >= this.o.flapAfterReopens;
        existing.severity = severity;
        existing.impacted = mergeImpacted(existing.impacted, imp);
        // Never dated before it cleared (an inferred root's failure may reach back past the clear).
        events.push({ type: 'reopened', outage: copy(existing), at: Math.max(h.since, clearedAt) });
        continue;
      }
      const nextImpacted = mergeImpacted(existing.impacted, imp);
      // Seen failing after it was inferred: confirmed. (One seen failing is never made inferred again.)
      const confirmed = existing.inferred === true && !inferred.has(root);
      if (existing.severity !== severity || !sameElements(existing.impacted, nextImpacted) || confirmed) {
        existing.severity = severity;
        existing.impacted = nextImpacted;
        if (confirmed) delete existing.inferred;
        // One seen failing keeps the reason it was seen with while its root is only inferred now (its source went silent).
        if (existing.inferred || !inferred.has(root)) existing.reason = h.reason;
        events.push({ type: 'updated', outage: copy(existing), at: now });
      }
    }

    // Open outages whose root is back: cleared, or still following the elements it cut off.
    for (const [root, o] of this.active) {
      if (causes.has(root) || o.state !== 'open' || cut.has(root)) continue;
      const h = health.get(root);
      // When it came back. An inferred root: when it was heard alive, or the first of the elements
      // behind it came back; heard alive, it was never down, and what is still down is handed back now.
      let since = h?.since;
      let wrong = false;
      if (o.inferred) {
        const alive = h?.aliveAt !== undefined && h.aliveAt >= o.startedAt ? h.aliveAt : undefined;
        const child = firstBack(this.topology, root, o.startedAt, observed, isDown);
        since = alive !== undefined && (child === undefined || alive <= child) ? alive : child;
        wrong = since !== undefined && since === alive;
        if (since === undefined) continue; // its children went silent: no data is not a recovery
      } else if (!h || h.state === 'unknown') continue; // no data is not a recovery
      const back = this.rootBack.get(root);
      const still = o.impacted.filter((i) => down.has(i.element) || cut.has(i.element));
      if (wrong) o.reason = `not down after all: heard alive at ${new Date(since!).toISOString()} (${o.reason})`;
      if (still.length > 0 && !wrong && this.o.followRecoveryMs > 0 && now - (back ?? since!) < this.o.followRecoveryMs) {
        this.rootBack.set(root, back ?? since!);
        if (!sameElements(o.impacted, still)) {
          o.impacted = still;
          events.push({ type: 'updated', outage: copy(o), at: now });
        }
        continue;
      }
      this.rootBack.delete(root);
      // Ends when its root is back, or (having waited for them) when the last of its elements is.
      const end = back === undefined ? since! : now;
      for (const i of still) this.handedBack.set(i.element, end);
      o.state = 'cleared';
      o.clearedAt = end;
      o.impacted = [];
      events.push({ type: 'cleared', outage: copy(o), at: end });
    }

    // New root causes, unless still down behind a root that came back a moment ago (part of its outage).
    for (const root of fresh) {
      if (this.adopted(root, causes, now)) continue;
      const h = health.get(root)!;
      const imp = impacted.get(root) ?? new Map<string, number>();
      const from = Math.max(h.since, this.handedBack.get(root) ?? 0);
      this.handedBack.delete(root);
      const o: Outage = {
        id: `${root}@${from}`, root, severity: causes.get(root)!, state: 'open', startedAt: from,
        impacted: [...imp].map(([element, since]) => ({ element, since: Math.max(since, from) })).sort(byElement),
        planned: this.planned(root, from), flapping: false, reopened: 0, reason: h.reason, evidence: { at: h.since, reason: h.reason }, ...(inferred.has(root) && { inferred: true as const }),
      };
      this.active.set(root, o);
      events.push({ type: 'opened', outage: copy(o), at: o.startedAt });
    }
    // What was handed back and is no longer down starts afresh next time.
    for (const id of this.handedBack.keys()) if (!down.has(id) && !degraded.has(id)) this.handedBack.delete(id);

    for (const [root, o] of this.active) {
      if (causes.has(root)) continue;
      if (o.state === 'open' && cut.has(root)) {
        // Its own parent is down after all: it is part of that outage now.
        const parent = [...(roots.get(root) ?? [])][0];
        o.state = 'closed';
        o.closedAt = now;
        o.mergedInto = parent !== undefined ? this.active.get(parent)?.id : undefined;
        this.active.delete(root);
        this.rootBack.delete(root);
        events.push({ type: 'closed', outage: copy(o), at: now });
        continue;
      }
      if (o.state === 'cleared' && now - o.clearedAt! >= this.o.confirmRecoveryMs) {
        o.state = 'closed';
        o.closedAt = now;
        this.active.delete(root);
        events.push({ type: 'closed', outage: copy(o), at: now });
      }
    }
    return events;
  }




  /** The silent parents inferred down now (see `inference.ts`). */
  private infer(health: ReadonlyMap<string, ElementHealth>): Map<string, ElementHealth> {
    if (!this.o.inference) return new Map();
    const held = new Map<string, number>();
    for (const o of this.active.values()) if (o.inferred && o.state === 'open') held.set(o.root, o.startedAt);
    return inferSilentParents(this.topology, this.o.inference, health, (e, at) => this.planned(e, at), held);
  }

  /** Whether an outage at `root` may yet be taken in by one above it, so its page can wait (see `inference.ts`). */
  awaitingParent(root: string, health: ReadonlyMap<string, ElementHealth>): boolean {
    return awaitingParent(this.topology, this.o.inference, root, health);
  }

  /** Whether a root without an outage is still down behind another root that is back within `followRecoveryMs`. */
  private adopted(element: string, causes: ReadonlyMap<string, unknown>, now: number): boolean {
    if (this.o.followRecoveryMs <= 0) return false;
    for (const o of this.active.values()) {
      if (o.root === element || causes.has(o.root) || o.state !== 'open') continue;
      const back = this.rootBack.get(o.root) ?? now;
      if (now - back < this.o.followRecoveryMs && o.impacted.some((i) => i.element === element)) return true;
    }
    return false;
  }

  private planned(element: string, at: number): boolean {
    const site = this.topology.elements.get(element)?.site;
    return this.maintenance.some((w) => at >= w.start && at < w.end
      && ((w.elements?.includes(element) ?? false) || (site !== undefined && (w.sites?.includes(site) ?? false))));
  }
}

const byElement = (a: { element: string }, b: { element: string }) => (a.element < b.element ? -1 : a.element > b.element ? 1 : 0);

/** The impacted list now: what is impacted now, keeping the first-seen time of those already in. */
function mergeImpacted(before: Outage['impacted'], now: Map<string, number>): Outage['impacted'] {
  const known = new Map(before.map((i) => [i.element, i.since]));
  return [...now].map(([element, since]) => ({ element, since: known.get(element) ?? since })).sort(byElement);
}

function sameElements(a: Outage['impacted'], b: Outage['impacted']): boolean {
  return a.length === b.length && a.every((x, i) => x.element === b[i].element);
}
