import type { Store } from '../../src/store/store.ts';
import type { Outage, OutageEvent } from '../outages/outage.ts';
import {
  elementStatus, changedElements, impactsOf, diffImpacts, scopeOf,
  type ElementStatus, type OpenImpact, type Scope,
} from './impact.ts';
import { ImpactRepository, type Candidate, type ImpactRow, type NewImpact } from './repository.ts';

/**
 * Keeps the stored scope of every outage (which subscribers it hits, how, from when until when)
 * in step with the outages. Each outage event moves the element status on; only subscribers served
 * by an element whose status changed are looked at again (through `subscriber_serving`), their
 * impacts recomputed by the pure rules in `correlators/impact`, and the difference written with
 * the outage's new scope counts, in one transaction. Idempotent: a retried or replayed event
 * writes nothing new, and `reconcile` rebuilds everything from the store after a restart.
 */
export class ImpactService {
  private readonly active = new Map<string, Outage>();
  private readonly openedAt = new Map<string, number>();
  /** The status the stored impacts reflect (after the last committed write). */
  private committed: ElementStatus = new Map();
  private readonly scopes = new Map<string, Scope>();

  /** The last scope computed for an outage (for alerts); the store has it too. */
  scope(outageId: string): Scope | undefined {
    return this.scopes.get(outageId);
  }

  /** Applies one outage event: writes the impacts that changed and the scope of the outages they belong to. */
  async apply(store: Store, e: OutageEvent): Promise<void> {
    const o = e.outage;
    if (e.type === 'opened' || e.type === 'reopened') this.openedAt.set(o.id, e.at);
    if (o.state === 'open') this.active.set(o.id, o);
    else this.active.delete(o.id);
    const next = elementStatus(this.active.values(), this.openedAt);
    const changed = [...changedElements(this.committed, next)];
    await store.db.transaction(async (tx) => {
      const repo = new ImpactRepository(tx);
      const touched = changed.length > 0 ? await this.write(repo, next, await repo.servedBy(changed), await repo.openServedBy(changed), e.at) : new Set<string>();
      touched.add(o.id); // its state changed even if its scope did not
      await this.saveScopes(repo, touched);
    });
    this.committed = next;
    if (o.state === 'closed') this.openedAt.delete(o.id);
  }

  /**
   * Rebuilds the stored open impacts from these outages (the active ones after a restart, or
   * after the inventory changed): every subscriber served by an element they touch, and every
   * subscriber with an open impact, is recomputed; impacts of subscribers no longer in the
   * inventory are closed.
   */
  async reconcile(store: Store, active: readonly Outage[], at: number, openedAt?: ReadonlyMap<string, number>): Promise<void> {
    this.active.clear();
    for (const o of active) if (o.state === 'open') this.active.set(o.id, o);
    if (openedAt) for (const [k, v] of openedAt) this.openedAt.set(k, v);
    const next = elementStatus(this.active.values(), this.openedAt);
    await store.db.transaction(async (tx) => {
      const repo = new ImpactRepository(tx);
      const served = await repo.servedBy([...next.keys()]);
      const open = await repo.open();
      const have = new Set(served.map((c) => c.id));
      const missing = [...new Set(open.map((r) => r.subscriber_id))].filter((id) => !have.has(id));
      served.push(...await repo.subscribers(missing));
      const touched = await this.write(repo, next, served, open, at);
      for (const o of active) touched.add(o.id);
      await this.saveScopes(repo, touched);
    });
    this.committed = next;
  }

  /** Writes the difference for these candidates; returns the outages whose scope changed. */
  private async write(repo: ImpactRepository, status: ElementStatus, candidates: readonly Candidate[], openRows: readonly ImpactRow[], at: number): Promise<Set<string>> {
    const profile = new Map<string, Candidate>();
    const next: OpenImpact[] = [];
    for (const c of candidates) {
      if (profile.has(c.id)) continue;
      profile.set(c.id, c);
      for (const i of impactsOf(c.serving.split(';'), status)) next.push({ ...i, subscriber: c.id });
    }
    const current: OpenImpact[] = openRows.map((r) => ({ outage: r.outage_id, subscriber: r.subscriber_id, kind: r.kind, since: Number(r.since) }));
    const { close, open } = diffImpacts(current, next, at);
    const touched = new Set<string>();
    // Closes grouped by outage: one statement per outage and chunk of subscribers.
    const byOutage = new Map<string, string[]>();
    for (const c of close) {
      touched.add(c.outage);
      (byOutage.get(c.outage) ?? byOutage.set(c.outage, []).get(c.outage)!).push(c.subscriber);
    }
    for (const [outage, subs] of byOutage) await repo.close(outage, subs, at);
    const added: NewImpact[] = [];
    for (const i of open) {
      touched.add(i.outage);
      const p = profile.get(i.subscriber)!;
      added.push({ outage: i.outage, subscriber: i.subscriber, since: i.since, kind: i.kind, tier: p.tier, service: p.service, region: p.region });
    }
    // A span that ended and starts again at the same instant (an inventory round trip) reopens.
    await repo.add(added);
    return touched;
  }

  /** Counts each outage's scope from its stored impacts and records it on the outage. */
  private async saveScopes(repo: ImpactRepository, outages: Iterable<string>): Promise<void> {
    for (const id of outages) {
      const groups = await repo.scopeGroups(id);
      const scope = scopeOf(groups.map((g) => ({ ...g, current: Number(g.is_current) === 1, n: Number(g.n) })));
      this.scopes.delete(id);
      this.scopes.set(id, scope);
      // Bounded: the scopes of the latest outages (alerts read them right after the write).
      if (this.scopes.size > 10_000) this.scopes.delete(this.scopes.keys().next().value!);
      await repo.saveScope(id, scope);
    }
  }
}
