import type { Outage } from '../outages/outage.ts';

/**
 * `no_service`: every element that serves the subscriber is lost. `degraded`: some are lost or
 * degraded, the rest still serve (a mobile subscriber with one of three cells down).
 */
export type ImpactKind = 'no_service' | 'degraded';

/** What one active outage does to one element. */
export interface ElementLoss {
  outage: string;
  /** Down or cut off (true), or only degraded (false: the root of a degradation). */
  lost: boolean;
  since: number;
}

/** The elements the active outages touch, each with every outage that touches it. */
export type ElementStatus = ReadonlyMap<string, readonly ElementLoss[]>;

/** One subscriber's impact by one outage. */
export interface SubscriberImpact {
  outage: string;
  kind: ImpactKind;
  since: number;
}

/**
 * The element status that these outages imply: the root of an open outage is lost (or degraded,
 * for a degradation) and its impacted elements are lost. Cleared and closed outages touch nothing.
 * `openedAt` is when an outage last opened or reopened: a reopened outage's losses start there,
 * not at its first start.
 */
export function elementStatus(outages: Iterable<Outage>, openedAt: ReadonlyMap<string, number> = new Map()): Map<string, ElementLoss[]> {
  const status = new Map<string, ElementLoss[]>();
  const add = (element: string, loss: ElementLoss) => {
    const l = status.get(element);
    if (l) l.push(loss);
    else status.set(element, [loss]);
  };
  for (const o of outages) {
    if (o.state !== 'open') continue;
    const from = Math.max(o.startedAt, openedAt.get(o.id) ?? o.startedAt);
    add(o.root, { outage: o.id, lost: o.severity === 'outage', since: from });
    for (const i of o.impacted) if (i.element !== o.root) add(i.element, { outage: o.id, lost: true, since: Math.max(from, i.since) });
  }
  for (const l of status.values()) l.sort((a, b) => (a.outage < b.outage ? -1 : a.outage > b.outage ? 1 : 0));
  return status;
}

/** The elements whose losses differ between two statuses: only subscribers they serve can change. */
export function changedElements(before: ElementStatus, after: ElementStatus): Set<string> {
  const changed = new Set<string>();
  for (const [e, a] of after) {
    const b = before.get(e);
    if (!b || b.length !== a.length || b.some((x, i) => x.outage !== a[i].outage || x.lost !== a[i].lost || x.since !== a[i].since)) changed.add(e);
  }
  for (const e of before.keys()) if (!after.has(e)) changed.add(e);
  return changed;
}

/**
 * How the active outages hit a subscriber served by `serving`, taking redundancy into account:
 * they have no service only when every serving element is lost (by one outage or several); a
 * loss or degradation of some of them is a degradation. Every outage that touches one of the
 * serving elements gets the subscriber in its scope, with the same kind. Since: for no service,
 * when the last serving element was lost; for a degradation, when this outage first touched one.
 */
export function impactsOf(serving: readonly string[], status: ElementStatus): SubscriberImpact[] {
  let all = serving.length > 0;
  let lastLoss = 0;
  let touched: Map<string, number> | undefined;
  for (const e of serving) {
    const losses = status.get(e);
    if (!losses) {
      all = false;
      continue;
    }
    let firstLoss = Infinity;
    for (const l of losses) {
      touched ??= new Map();
      const t = touched.get(l.outage);
      if (t === undefined || l.since < t) touched.set(l.outage, l.since);
      if (l.lost && l.since < firstLoss) firstLoss = l.since;
    }
    if (firstLoss === Infinity) all = false;
    else if (firstLoss > lastLoss) lastLoss = firstLoss;
  }
  if (!touched) return [];
  const out: SubscriberImpact[] = [];
  for (const [outage, since] of touched) out.push(all ? { outage, kind: 'no_service', since: lastLoss } : { outage, kind: 'degraded', since });
  return out;
}

/** An impact as stored: open while `until` is unset. */
export interface OpenImpact extends SubscriberImpact {
  subscriber: string;
}

/**
 * What to write to move the stored open impacts to the computed ones, at time `at`: impacts that
 * ended are closed at `at`; new ones open at their own start; a change of kind closes the old
 * impact and opens one of the new kind at `at` (so each stored span has one kind throughout).
 */
export function diffImpacts(current: readonly OpenImpact[], next: readonly OpenImpact[], at: number): { close: OpenImpact[]; open: OpenImpact[] } {
  const key = (i: OpenImpact) => `${i.outage}\u0000${i.subscriber}`;
  const was = new Map(current.map((i) => [key(i), i]));
  const close: OpenImpact[] = [];
  const open: OpenImpact[] = [];
  for (const n of next) {
    const k = key(n);
    const c = was.get(k);
    was.delete(k);
    if (!c) open.push(n);
    else if (c.kind !== n.kind) {
      close.push(c);
      open.push({ ...n, since: Math.max(at, c.since + 1) });
    }
  }
  for (const c of was.values()) close.push(c);
  return { close, open };
}

export type { Scope } from '../outages/outage.ts';
import type { Scope } from '../outages/outage.ts';

export const EMPTY_SCOPE: Scope = { subscribers: 0, current: 0, noService: 0, degraded: 0, byTier: {}, byService: {}, byRegion: {} };

/** Sums grouped counts (one row per tier, service, region, worst kind and whether still hit) into a scope. */
export function scopeOf(groups: Iterable<{ tier: string; service: string; region: string | null; kind: ImpactKind; current: boolean; n: number }>): Scope {
  const s: Scope = { subscribers: 0, current: 0, noService: 0, degraded: 0, byTier: {}, byService: {}, byRegion: {} };
  for (const g of groups) {
    s.subscribers += g.n;
    if (g.current) s.current += g.n;
    if (g.kind === 'no_service') s.noService += g.n;
    else s.degraded += g.n;
    s.byTier[g.tier] = (s.byTier[g.tier] ?? 0) + g.n;
    s.byService[g.service] = (s.byService[g.service] ?? 0) + g.n;
    const r = g.region ?? 'unknown';
    s.byRegion[r] = (s.byRegion[r] ?? 0) + g.n;
  }
  return s;
}
