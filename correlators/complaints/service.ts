import type { Store } from '../../src/store/store.ts';
import type { Db } from '../../src/store/db.ts';
import type { ElementHealth } from '../health/tracker.ts';
import type { OutageEvent } from '../outages/outage.ts';
import type { ImpactKind } from '../impact/impact.ts';
import { GRADES, NETWORK_CATEGORIES, type Complaint, type Grade } from './complaint.ts';
import { matchComplaint, DEFAULT_MATCH, type CandidateImpact, type MatchOptions, type MatchResult, type ServingState } from './match.ts';
import { DEFAULT_GRADE_RULES, DEFAULT_DEADLINES, type GradeRule, type Deadlines } from './grade.ts';
import { gradedComplaint } from './graded.ts';
import { SuspectDetector, DEFAULT_SUSPECT, type SuspectOptions, type Suspicion } from './suspect.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { ComplaintChange } from './communication.ts';
import { ComplaintRepository, type StoredComplaint, type SuspectedOutage } from './repository.ts';
import { inventoryOf } from '../subscribers/inventory-repository.ts';
import { outagesOf } from '../outages/repository.ts';
import { spansOf } from '../impact/spans-repository.ts';

export type { ComplaintStatus, StoredComplaint, SuspectedOutage } from './repository.ts';

const suspicionId = (s: Pick<Suspicion, 'element' | 'since'>) => `suspect:${s.element}@${s.since}`;

/** What a complaint system reports back while handling a complaint. */
export interface HandlingUpdate {
  firstResponseAt?: number;
  resolvedAt?: number;
  resolution?: string;
  satisfied?: boolean;
  escalations?: number;
}

/** A deadline about to be missed (or missed), for the NOC/complaint desk alert. */
export interface DeadlineWarning {
  complaint: StoredComplaint;
  deadline: 'response' | 'resolution';
  due: number;
  missed: boolean;
}

export interface ComplaintOptions {
  match: MatchOptions;
  rules: GradeRule[];
  deadlines: Record<Grade, Deadlines>;
  suspect: SuspectOptions;
}

const DAY = 86_400_000;

/**
 * Complaint intake and matching around the pure rules in `correlators/complaints`: a complaint is
 * enriched with the customer's value and 30-day history, matched against the subscriber's stored
 * impacts, graded, given its deadlines and stored, once (its own id is the key). When an outage
 * opens or its scope grows, earlier unmatched complaints that now fit are matched, and those
 * matched to a degradation are upgraded when it takes the subscriber's service away; when it
 * clears, its complaints move to "network restored".
 */
export class ComplaintService {
  private readonly o: ComplaintOptions;
  private readonly health: (element: string) => ElementHealth | undefined;
  private readonly topology: () => Topology;
  readonly detector: SuspectDetector;
  /** One per database: complaint inserts share commits under load (one fsync for all that arrive together). */
  private readonly repositories = new WeakMap<Db, ComplaintRepository>();
  private readonly suspicionListeners: ((s: SuspectedOutage) => void)[] = [];
  private readonly changeListeners: ((c: ComplaintChange) => void)[] = [];

  constructor(deps: { health: (element: string) => ElementHealth | undefined; topology: () => Topology }, o: Partial<ComplaintOptions> = {}) {
    this.health = deps.health;
    this.topology = deps.topology;
    this.o = { match: DEFAULT_MATCH, rules: DEFAULT_GRADE_RULES, deadlines: DEFAULT_DEADLINES, suspect: DEFAULT_SUSPECT, ...o };
    this.detector = new SuspectDetector((e) => this.topology().ancestors(e), this.o.suspect, (e) => this.topology().leavesBelow(e));
  }

  get windowMinutes(): number {
    return Math.round(this.o.suspect.windowMs / 60_000);
  }

  private repo(store: Store): ComplaintRepository {
    let r = this.repositories.get(store.db);
    if (!r) this.repositories.set(store.db, (r = new ComplaintRepository(store.db)));
    return r;
  }

  /** Called for each outage found by complaints (the NOC's alert). */
  onSuspicion(l: (s: SuspectedOutage) => void): void {
    this.suspicionListeners.push(l);
  }

  /** Called for each state change of a complaint: accepted, matched, network restored, resolved. */
  onChange(l: (c: ComplaintChange) => void): void {
    this.changeListeners.push(l);
  }

  private async changed(store: Store, complaint: StoredComplaint, state: ComplaintChange['state'], at: number, rematched = false): Promise<void> {
    if (this.changeListeners.length === 0) return;
    const o = complaint.match ? await outagesOf(store).outage(complaint.match.outageId, { impacted: false }) : undefined;
    const ch: ComplaintChange = { complaint, state, at, ...(o && { outage: { id: o.id, root: o.root, startedAt: o.startedAt, ...(o.clearedAt !== undefined && { clearedAt: o.clearedAt }) } }), ...(rematched && { rematched: true as const }) };
    for (const l of this.changeListeners) l(ch);
  }

  /** Suspicions still open before a restart are not raised again. */
  async restore(store: Store): Promise<void> {
    for (const s of await this.suspected(store, 'suspected')) this.detector.restore(s);
  }

  /** The suspected outages (in a state, or all), newest first, at most 1,000. */
  suspected(store: Store, state?: SuspectedOutage['state']): Promise<SuspectedOutage[]> {
    return this.repo(store).suspected(state);
  }

  /** Stores a complaint once; a second submission of the same id returns the first, unchanged. */
  async submit(store: Store, c: Complaint, now: number): Promise<{ complaint: StoredComplaint; duplicate: boolean }> {
    const { stored: existing, reported: previous30d } = await this.repo(store).storedAndCount(c.id, c.subscriberId, c.reportedAt - 30 * DAY, c.reportedAt);
    if (existing) return { complaint: existing, duplicate: true };
    const sub = await inventoryOf(store).subscriber(c.subscriberId);
    const m = sub ? await this.match(store, c, sub.serving) : { matched: false as const, reasons: [`subscriber ${c.subscriberId} is not in the inventory`] };
    const stored = gradedComplaint(c, {
      receivedAt: now, tier: sub?.tier, arpuMinor: sub?.arpuMinor, plan: sub?.plan, previous30d, escalations: c.escalations ?? 0,
    }, m, now, this.o);
    const inserted = await this.repo(store).add(stored, now);
    if (inserted === 0) return { complaint: (await this.get(store, c.id))!, duplicate: true }; // a concurrent twin won
    await this.changed(store, stored, stored.status === 'matched' ? 'matched' : 'accepted', now);
    if (sub && !stored.match && NETWORK_CATEGORIES.has(c.category)) {
      const s = this.detector.add({ id: c.id, subscriberId: c.subscriberId, at: c.reportedAt, elements: sub.serving });
      if (s) await this.raiseSuspicion(store, s, now);
    }
    return { complaint: stored, duplicate: false };
  }

  get(store: Store, id: string): Promise<StoredComplaint | undefined> {
    return this.repo(store).get(id);
  }

  /**
   * Records how a complaint is being handled. More escalations re-grade it (and so its deadlines);
   * a resolution closes it. Undefined for an unknown complaint.
   */
  async update(store: Store, id: string, u: HandlingUpdate, now: number): Promise<StoredComplaint | undefined> {
    const c = await this.get(store, id);
    if (!c) return undefined;
    let next: StoredComplaint = { ...c, ...u, ...(u.resolvedAt !== undefined && { status: 'resolved' as const }) };
    if (u.escalations !== undefined && u.escalations !== c.escalations) {
      const match = c.match ? { matched: true as const, outageId: c.match.outageId, kind: c.match.kind, confidence: c.match.confidence, reasons: c.reasons } : { matched: false as const, reasons: c.reasons };
      const size = c.match ? ((await outagesOf(store).outage(c.match.outageId, { impacted: false }))?.scope?.subscribers ?? 0) : 0;
      const g = gradedComplaint(c, { ...c, escalations: u.escalations }, { ...match, outageSubscribers: size }, c.matchedAt ?? now, this.o);
      next = { ...next, grade: g.grade, gradeReasons: g.gradeReasons, respondBy: g.respondBy, resolveBy: g.resolveBy };
    }
    await this.repo(store).saveHandling(next, now);
    if (u.resolvedAt !== undefined && c.status !== 'resolved') await this.changed(store, next, 'resolved', u.resolvedAt);
    return next;
  }

  /**
   * Complaints whose response or resolution deadline falls within `warnMs` from now (or has
   * passed) and has not been met; each deadline is warned of once (recorded in the store).
   */
  async dueSoon(store: Store, now: number, warnMs: number): Promise<DeadlineWarning[]> {
    const out: DeadlineWarning[] = [];
    const repo = this.repo(store);
    for (const { complaint: c, warned } of await repo.dueUnwarned(now + warnMs)) {
      if (c.firstResponseAt === undefined && c.respondBy <= now + warnMs && !warned.includes('response')) {
        out.push({ complaint: c, deadline: 'response', due: c.respondBy, missed: c.respondBy <= now });
        warned.push('response');
      }
      if (c.resolveBy <= now + warnMs && !warned.includes('resolution')) {
        out.push({ complaint: c, deadline: 'resolution', due: c.resolveBy, missed: c.resolveBy <= now });
        warned.push('resolution');
      }
      await repo.markWarned(c.id, warned);
    }
    return out;
  }

  /** The complaints matched to an outage (TMF656 troubleTicket[]), oldest first. */
  ofOutage(store: Store, outageId: string, limit = 1000): Promise<StoredComplaint[]> {
    return this.repo(store).ofOutage(outageId, limit);
  }

  /**
   * After an outage event's scope is written: matches earlier unmatched complaints of subscribers
   * it now hits, or marks its complaints restored when it cleared.
   */
  async onOutageEvent(store: Store, e: OutageEvent): Promise<void> {
    const o = e.outage;
    const repo = this.repo(store);
    if (e.type === 'cleared' || (e.type === 'closed' && o.clearedAt !== undefined)) {
      const at = o.clearedAt ?? e.at;
      const matched = await repo.matchedTo(o.id);
      await repo.markRestored(o.id, at);
      for (const c of matched) await this.changed(store, { ...c, status: 'network_restored', restoredAt: at }, 'network_restored', at);
      return;
    }
    if (e.type === 'closed') return;
    if (e.type === 'opened') await this.confirm(store, e);
    for (const c of await repo.acceptedHitBy(o.id, o.startedAt - this.o.match.graceBeforeMs)) {
      if (!NETWORK_CATEGORIES.has(c.category) && c.category !== 'other') continue;
      const sub = await inventoryOf(store).subscriber(c.subscriberId);
      if (!sub) continue;
      const m = await this.match(store, c, sub.serving);
      if (!m.matched) continue;
      const next = gradedComplaint(c, c, m, e.at, this.o);
      await repo.saveMatch(next, e.at);
      this.detector.remove(c.id);
      await this.changed(store, next, 'matched', e.at);
    }
    await this.upgrade(store, e);
  }

  /**
   * Complaints matched to a degradation whose subscriber this outage has since left without
   * service (the same outage worsening, or one above it): matched again to the loss of service,
   * when that fits the category inside the stated window, and graded again. A grade never goes
   * down, so no deadline moves later. Matched to another outage, the subscriber is told of it.
   */
  private async upgrade(store: Store, e: OutageEvent): Promise<void> {
    const o = e.outage;
    const repo = this.repo(store);
    for (const c of await repo.matchedDegradedHitBy(o.id, o.startedAt - this.o.match.graceBeforeMs)) {
      const sub = await inventoryOf(store).subscriber(c.subscriberId);
      if (!sub) continue;
      const m = await this.match(store, c, sub.serving, 'no_service');
      if (!m.matched) continue;
      let next = gradedComplaint(c, c, m, e.at, this.o);
      if (GRADES.indexOf(next.grade) < GRADES.indexOf(c.grade)) next = { ...next, grade: c.grade, gradeReasons: c.gradeReasons, respondBy: c.respondBy, resolveBy: c.resolveBy };
      next.reasons = [...next.reasons, `upgraded from a degradation (outage ${c.match!.outageId}): the subscriber lost service`];
      const n = await repo.saveUpgrade(next, e.at);
      // The subscriber hears of it when it is another outage; the same one worsening they know of.
      if (n > 0 && next.match!.outageId !== c.match!.outageId) await this.changed(store, next, 'matched', e.at, true);
    }
  }

  /** Stores a suspicion, and the ones below it that it takes in as merged into it, in one transaction; then tells the listeners. */
  private async raiseSuspicion(store: Store, s: Suspicion, now: number): Promise<void> {
    const id = suspicionId(s);
    await this.repo(store).raiseSuspicion(id, s, now);
    const so: SuspectedOutage = { ...s, id, state: 'suspected' };
    for (const l of this.suspicionListeners) l(so);
  }

  /** A NOC engineer says a suspicion is not an outage; its element can raise again. False when there is no open one. */
  async dismiss(store: Store, id: string, now: number): Promise<boolean> {
    const open = (await this.suspected(store, 'suspected')).find((s) => s.id === id);
    if (!open) return false;
    await this.repo(store).dismissSuspicion(id, now);
    this.detector.clear(open.element);
    return true;
  }

  /** Suspicions nothing confirmed within `afterMs` of being raised expire (and may be raised again). */
  async expire(store: Store, now: number, afterMs: number): Promise<SuspectedOutage[]> {
    const old = (await this.suspected(store, 'suspected')).filter((s) => s.at + afterMs <= now);
    for (const s of old) {
      await this.repo(store).expireSuspicion(s.id, now);
      this.detector.clear(s.element);
    }
    return old.map((s) => ({ ...s, state: 'expired' as const }));
  }

  /** Monitoring opened an outage: suspicions on its root, an impacted element or their relatives are confirmed by it. */
  private async confirm(store: Store, e: OutageEvent): Promise<void> {
    const o = e.outage;
    const t = this.topology();
    const touched = new Set([o.root, ...o.impacted.map((i) => i.element)]);
    for (const s of this.detector.active) {
      const related = touched.has(s.element) || t.ancestors(s.element).some((a) => touched.has(a)) || t.ancestors(o.root).includes(s.element);
      if (!related) continue;
      this.detector.clear(s.element);
      await this.repo(store).confirmSuspicion(s.element, o.id, e.at);
    }
  }

  /** The match for a complaint from the subscriber's stored impacts around its time. */
  private async match(store: Store, c: Complaint, serving: readonly string[], only?: ImpactKind): Promise<MatchResult & { outageSubscribers?: number }> {
    const spans = await spansOf(store).subscriberImpacts(c.subscriberId, c.reportedAt - this.o.match.graceAfterMs);
    const candidates: CandidateImpact[] = [];
    const sizes = new Map<string, number>();
    for (const s of spans) {
      if (s.since - this.o.match.graceBeforeMs > c.reportedAt || (only !== undefined && s.kind !== only)) continue;
      let o = await outagesOf(store).outage(s.outageId, { impacted: false });
      // An outage merged into one above it goes on as that one: its impact did not end at the merge.
      const merged = o?.mergedInto !== undefined;
      if (o?.mergedInto) o = await outagesOf(store).outage(o.mergedInto, { impacted: false });
      if (!o) continue;
      sizes.set(o.id, o.scope?.subscribers ?? 0);
      const until = merged ? o.clearedAt : s.until;
      candidates.push({ outageId: o.id, kind: s.kind, since: s.since, ...(until !== undefined && { until }), root: o.root, ...(o.clearedAt !== undefined && { clearedAt: o.clearedAt }) });
    }
    // An unmatched complaint is explained from the health at the time it was reported, not today's.
    const states = await this.statesAt(store, serving, c.reportedAt);
    const m = matchComplaint(c, candidates, states, this.o.match);
    return m.matched ? { ...m, outageSubscribers: sizes.get(m.outageId) ?? 0 } : m;
  }

  /** Each element's health at a time: its current state if that began by then, else the stored transition in force then (one read for all). */
  private async statesAt(store: Store, elements: readonly string[], at: number): Promise<ServingState[]> {
    const current = elements.map((element) => {
      const now = this.health(element);
      return now && now.since <= at ? now.state : undefined;
    });
    const stored = await this.repo(store).healthAt(elements.filter((_, i) => current[i] === undefined), at);
    return elements.map((element, i) => ({ element, state: current[i] ?? (stored.get(element) as ServingState['state'] | undefined) ?? 'unknown' }));
  }

}
