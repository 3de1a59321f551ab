import type { Db } from '../../src/store/db.ts';
import type { ImpactKind, Scope } from './impact.ts';

/** How many ids go in one `IN (...)` list: well under both databases' parameter limits. */
const CHUNK = 500;

/** A subscriber as impact computation sees it: its profile and the elements serving it (`;`-separated). */
export interface Candidate { id: string; tier: string; service: string; region: string | null; serving: string }

/** A stored impact still open. */
export interface ImpactRow { outage_id: string; subscriber_id: string; kind: ImpactKind; since: number }

/** A new open impact: a subscriber hit by an outage, with its profile at the time. */
export interface NewImpact { outage: string; subscriber: string; since: number; kind: ImpactKind; tier: string; service: string; region: string | null }

/** How many subscribers of one profile an outage hits, worst kind per subscriber, still or no longer. */
export interface ScopeGroup { tier: string; service: string; region: string | null; kind: ImpactKind; is_current: number; n: number }

const chunks = <T>(xs: readonly T[], n = CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};
const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/**
 * Every statement of the impact noun: subscribers' impacts (`subscriber_impacts`), the inventory
 * read through `subscriber_serving`, and the scope recorded on each outage. The same SQL on SQLite
 * and PostgreSQL; long id lists go in chunks of 500. Build one on the transaction handle (`tx`)
 * for the writes that must commit together.
 */
export class ImpactRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** The subscribers served by any of these elements (a subscriber served by two may come twice). */
  async servedBy(elements: readonly string[]): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const els of chunks(elements)) {
      out.push(...await this.db.query<Candidate>(
        `SELECT id, tier, service, region, serving FROM subscribers WHERE id IN (SELECT subscriber_id FROM subscriber_serving WHERE element IN (${list(els.length)}))`, els));
    }
    return out;
  }

  /** These subscribers, those still in the inventory. */
  async subscribers(ids: readonly string[]): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const part of chunks(ids)) out.push(...await this.db.query<Candidate>(`SELECT id, tier, service, region, serving FROM subscribers WHERE id IN (${list(part.length)})`, part));
    return out;
  }

  /** The open impacts of subscribers served by any of these elements, each once. */
  async openServedBy(elements: readonly string[]): Promise<ImpactRow[]> {
    const out: ImpactRow[] = [];
    const seen = new Set<string>();
    for (const els of chunks(elements)) {
      const rows = await this.db.query<ImpactRow>(
        `SELECT outage_id, subscriber_id, kind, since FROM subscriber_impacts WHERE until IS NULL AND subscriber_id IN (SELECT subscriber_id FROM subscriber_serving WHERE element IN (${list(els.length)}))`, els);
      for (const r of rows) {
        const k = `${r.outage_id}\u0000${r.subscriber_id}`;
        if (!seen.has(k)) {
          seen.add(k);
          out.push(r);
        }
      }
    }
    return out;
  }

  /** Every open impact. */
  open(): Promise<ImpactRow[]> {
    return this.db.query<ImpactRow>('SELECT outage_id, subscriber_id, kind, since FROM subscriber_impacts WHERE until IS NULL');
  }

  /** Ends, at `at`, the open impacts of the outage on these subscribers. */
  async close(outageId: string, subscribers: readonly string[], at: number): Promise<void> {
    for (const ids of chunks(subscribers)) {
      await this.db.run(`UPDATE subscriber_impacts SET until = $1 WHERE outage_id = $2 AND until IS NULL AND subscriber_id IN (${list(ids.length, 3)})`, [at, outageId, ...ids]);
    }
  }

  /**
   * Opens these impacts. A span that ended and starts again at the same instant (an inventory
   * round trip) reopens: same key (outage, subscriber, since), `until` and `kind` set again.
   */
  async add(impacts: readonly NewImpact[]): Promise<void> {
    await this.db.insertMany('subscriber_impacts', ['outage_id', 'subscriber_id', 'since', 'until', 'kind', 'tier', 'service', 'region'],
      impacts.map((i) => [i.outage, i.subscriber, i.since, null, i.kind, i.tier, i.service, i.region]),
      { key: ['outage_id', 'subscriber_id', 'since'], set: ['until', 'kind'] });
  }

  /** The outage's stored impacts counted by profile, kind (worst per subscriber) and whether still open. */
  scopeGroups(outageId: string): Promise<ScopeGroup[]> {
    return this.db.query<ScopeGroup>(`
        SELECT tier, service, region, kind, is_current, COUNT(*) AS n FROM (
          SELECT subscriber_id, tier, service, region, MAX(kind) AS kind, MAX(CASE WHEN until IS NULL THEN 1 ELSE 0 END) AS is_current
          FROM subscriber_impacts WHERE outage_id = $1 GROUP BY subscriber_id, tier, service, region
        ) per_subscriber GROUP BY tier, service, region, kind, is_current`, [outageId]);
  }

  /** Records the outage's scope on it. */
  async saveScope(outageId: string, scope: Scope): Promise<void> {
    await this.db.run('UPDATE outages SET scope = $1 WHERE id = $2', [JSON.stringify(scope), outageId]);
  }
}
