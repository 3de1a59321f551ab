import type { Db } from '../../src/store/db.ts';
import type { ImpactKind } from './impact.ts';

/** One span of a subscriber's impact by an outage: one kind throughout, open while `until` is unset. */
export interface ImpactSpan {
  outageId: string;
  subscriberId: string;
  kind: ImpactKind;
  since: number;
  until?: number;
  tier: string;
  service: string;
  region?: string;
}

export interface ImpactFilter {
  tier?: string;
  kind?: ImpactKind;
  /** Only impacts still open. */
  current?: boolean;
  /** After this position (from the last page): subscriber id and since. */
  after?: { subscriberId: string; since: number };
  limit?: number;
}

interface ImpactRow { outage_id: string; subscriber_id: string; kind: ImpactKind; since: number; until: number | null; tier: string; service: string; region: string | null }
const spanOf = (r: ImpactRow): ImpactSpan => ({
  outageId: r.outage_id, subscriberId: r.subscriber_id, kind: r.kind, since: Number(r.since), ...(r.until !== null && { until: Number(r.until) }),
  tier: r.tier, service: r.service, ...(r.region !== null && { region: r.region }),
});

/** Subscribers' impact spans as the API reads them: a subscriber's, and an outage's a page at a time. */
export class ImpactSpanRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** A subscriber's impacts (open ones, and those that ended after `from`), newest first. */
  async subscriberImpacts(id: string, from: number, limit = 100): Promise<ImpactSpan[]> {
    const rows = await this.db.query<ImpactRow>(
      `SELECT * FROM subscriber_impacts WHERE subscriber_id = $1 AND (until IS NULL OR until >= $2) ORDER BY since DESC, outage_id LIMIT ${Math.max(1, Math.min(limit, 1000))}`, [id, from]);
    return rows.map(spanOf);
  }
  /** The subscribers an outage hits (or hit), by subscriber id, a page at a time. */
  async outageImpacts(outageId: string, f: ImpactFilter = {}): Promise<ImpactSpan[]> {
    const params: unknown[] = [outageId];
    const p = (v: unknown) => `$${params.push(v)}`;
    const where = ['outage_id = $1'];
    if (f.tier) where.push(`tier = ${p(f.tier)}`);
    if (f.kind) where.push(`kind = ${p(f.kind)}`);
    if (f.current) where.push('until IS NULL');
    if (f.after) where.push(`(subscriber_id > ${p(f.after.subscriberId)} OR (subscriber_id = ${p(f.after.subscriberId)} AND since > ${p(f.after.since)}))`);
    const rows = await this.db.query<ImpactRow>(
      `SELECT * FROM subscriber_impacts WHERE ${where.join(' AND ')} ORDER BY subscriber_id, since LIMIT ${Math.max(1, Math.min(f.limit ?? 1000, 10_000))}`, params);
    return rows.map(spanOf);
  }
}

/** The inventory rows (serving elements, region) of every subscriber an outage hits now (an open span): what the dashboard counts by place. */
export async function servingOfHitNow(db: Db): Promise<{ serving: string; region: string | null }[]> {
  return db.query<{ serving: string; region: string | null }>(
    'SELECT s.serving AS serving, s.region AS region FROM subscribers s WHERE s.id IN (SELECT subscriber_id FROM subscriber_impacts WHERE until IS NULL)');
}

/** The impact spans over a store's database. */
export const spansOf = (store: { db: Db }) => new ImpactSpanRepository(store.db);
