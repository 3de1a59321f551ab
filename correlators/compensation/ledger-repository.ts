import type { Db } from '../../src/store/db.ts';
import type { ImpactKind } from '../impact/impact.ts';
import type { Credit } from './credits.ts';
import type { AnnouncedWindow, CreditState } from './ledger.ts';

/** The columns of a ledger entry, in the order `insertMany` takes them (tests and benchmarks write entries with it). */
export const CREDIT_COLUMNS = [
  'id', 'outage_id', 'subscriber_id', 'revision', 'kind', 'policy', 'policy_version', 'rule', 'amount_minor', 'currency', 'form', 'quantity', 'unit',
  'duration_ms', 'impact_from', 'impact_to', 'tier', 'service', 'region', 'month', 'day', 'steps', 'state', 'reason', 'attempts', 'seq', 'computed_at',
] as const;

/** What the ledger writes for a new entry: the columns above and the credit a correction refers to. */
const ENTRY_COLUMNS = [...CREDIT_COLUMNS, 'corrects'] as const;

/** A new entry as a settlement writes it: `computed`, never attempted, its `seq` taken from `takeSequence`. */
export type NewEntry = Omit<Credit, 'state' | 'reason' | 'attempts' | 'handedOverAt' | 'deliveredAt' | 'appliedAt' | 'reference'>;

const entryRow = (e: NewEntry): unknown[] => [
  e.id, e.outageId, e.subscriberId, e.revision, e.kind, e.policy, e.policyVersion, e.rule ?? null,
  e.amountMinor, e.currency, e.form, e.quantity, e.unit, e.durationMs, e.impactFrom ?? null, e.impactTo ?? null, e.tier, e.service, e.region ?? null,
  e.month, e.day, JSON.stringify(e.steps), 'computed', null, 0, e.seq, e.computedAt, e.corrects ?? null,
];

/** A subscriber's impact by one of the event's outages, with what the inventory says of the subscriber. */
export interface SpanRow { subscriber_id: string; kind: ImpactKind; since: number; until: number | null; tier: string; service: string; region: string | null; fee_minor: number | null; arpu_minor: number | null; usage: string | null }
/** An entry the ledger holds for the event: what a settlement compares its decision with. */
export interface EntryRow { id: string; subscriber_id: string; revision: number; amount_minor: number; quantity: number; form: string; state: CreditState; handed_over_at: number | null }
/** What a subscriber was credited under a policy in a month for other events (withdrawn entries left out). */
export interface MonthTotal { subscriberId: string; policy: string; month: string; amountMinor: number }
/** When an outage was last settled: in part (`interim_at`), and in full after which close (`settled_closed_at`). */
export interface SettlementRow { interim_at: number | null; settled_at: number | null; settled_closed_at: number | null }

const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/**
 * Every statement of a settlement and of its schedule: the event's impacts and the entries it
 * already has (`subscriber_impacts`, `subscribers`, `credits`), the ledger's sequence, the runs
 * (`compensation_runs`), and what it reads of outages, elements and maintenance windows. A
 * settlement's subscribers come in ranges (lo, hi] of ids; `members` are the event's outages (the
 * outage and those merged into it). Where the dialects differ (`FOR UPDATE` on PostgreSQL) it is
 * here. Build one on the chunk's transaction handle.
 */
export class LedgerRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** The outages merged into this one (directly), by id. */
  async mergedInto(outageId: string): Promise<string[]> {
    return (await this.db.query<{ id: string }>('SELECT id FROM outages WHERE merged_into = $1 ORDER BY id', [outageId])).map((r) => r.id);
  }

  /** The element's site in the stored topology. */
  async siteOf(element: string): Promise<string | undefined> {
    return (await this.db.query<{ site: string | null }>('SELECT site FROM elements WHERE id = $1', [element]))[0]?.site ?? undefined;
  }

  /** The maintenance windows created over the API, each announced when it was created. */
  async announcedWindows(): Promise<AnnouncedWindow[]> {
    return (await this.db.query<{ elements: string; sites: string; start_at: number; end_at: number; created_at: number }>('SELECT elements, sites, start_at, end_at, created_at FROM maintenance'))
      .map((r) => ({ elements: JSON.parse(r.elements) as string[], sites: JSON.parse(r.sites) as string[], start: Number(r.start_at), end: Number(r.end_at), announced: Number(r.created_at) }));
  }

  /** The next `limit` subscribers the event hit, in id order, after `after`. */
  async hitAfter(members: readonly string[], after: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ subscriber_id: string }>(
      `SELECT subscriber_id FROM subscriber_impacts WHERE outage_id IN (${list(members.length)}) AND subscriber_id > $${members.length + 1} GROUP BY subscriber_id ORDER BY subscriber_id LIMIT ${limit}`, [...members, after]);
    return rows.map((r) => r.subscriber_id);
  }

  /** The event's impacts on the subscribers in (lo, hi], by subscriber. */
  spans(members: readonly string[], lo: string, hi: string): Promise<SpanRow[]> {
    const m = list(members.length);
    return this.db.query<SpanRow>(
      `SELECT i.subscriber_id, i.kind, i.since, i.until, i.tier, i.service, i.region, s.fee_minor, s.arpu_minor, s.usage
           FROM subscriber_impacts i LEFT JOIN subscribers s ON s.id = i.subscriber_id 
           WHERE i.outage_id IN (${m}) AND i.subscriber_id > $${members.length + 1} AND i.subscriber_id <= $${members.length + 2} ORDER BY i.subscriber_id`, [...members, lo, hi]);
  }

  /**
   * The event's entries for the subscribers in (lo, hi], in `lockCredits`' order. With `lock`, on
   * PostgreSQL, they stay locked until the transaction ends: a confirmation or a pull of them waits
   * (SQLite has one writer).
   */
  entries(members: readonly string[], lo: string, hi: string, lock: boolean): Promise<EntryRow[]> {
    const m = list(members.length);
    const where = `outage_id IN (${m}) AND subscriber_id > $${members.length + 1} AND subscriber_id <= $${members.length + 2}`;
    return this.db.query<EntryRow>(`SELECT id, subscriber_id, revision, amount_minor, quantity, form, state, handed_over_at FROM credits WHERE ${where}
          ORDER BY subscriber_id, outage_id, revision${lock && this.db.kind === 'postgres' ? ' FOR UPDATE' : ''}`, [...members, lo, hi]);
  }

  /**
   * What these subscribers (a chunk's) were credited for other events, by policy and month. By id,
   * not by the chunk's range of ids: an outage's subscribers are spread over the inventory, and
   * their range would take in most of a month's ledger.
   */
  async monthTotals(members: readonly string[], ids: readonly string[]): Promise<MonthTotal[]> {
    const out: MonthTotal[] = [];
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      const rows = await this.db.query<{ subscriber_id: string; policy: string; month: string; n: number }>(
        `SELECT subscriber_id, policy, month, SUM(amount_minor) AS n FROM credits WHERE subscriber_id IN (${list(part.length)}) AND state <> 'reversed'
               AND outage_id NOT IN (${list(members.length, part.length + 1)}) GROUP BY subscriber_id, policy, month`, [...part, ...members]);
      for (const r of rows) out.push({ subscriberId: r.subscriber_id, policy: r.policy, month: r.month, amountMinor: Number(r.n) });
    }
    return out;
  }

  /** Withdraws these entries, those still unapplied (never handed over, or failed), with the reason; answers how many. */
  withdraw(ids: readonly string[], reason: string): Promise<number> {
    return this.db.run(`UPDATE credits SET state = 'reversed', reason = $1 WHERE ((state = 'computed' AND handed_over_at IS NULL) OR state = 'failed') AND id IN (${list(ids.length, 2)})`,
      [reason, ...ids]);
  }

  /** See `takeSequence`. */
  takeSequence(n: number): Promise<number> {
    return takeSequence(this.db, n);
  }

  /** Writes new entries (an id already written is skipped: a replayed settlement writes nothing twice). */
  async add(entries: readonly NewEntry[]): Promise<void> {
    await this.db.insertMany('credits', ENTRY_COLUMNS, entries.map(entryRow));
  }

  /** Records a settlement of the outage at `at`: in full after the close at `closedAt`. */
  recordFinal(outageId: string, closedAt: number, at: number): Promise<void> {
    return this.recordRun(outageId, 'settled_closed_at', closedAt, at);
  }

  /** Records a settlement in part of the outage at `at`. */
  recordInterim(outageId: string, at: number): Promise<void> {
    return this.recordRun(outageId, 'interim_at', at, at);
  }

  private async recordRun(outageId: string, col: 'settled_closed_at' | 'interim_at', v: number, at: number): Promise<void> {
    await this.db.run(`INSERT INTO compensation_runs (outage_id, ${col}, settled_at) VALUES ($1, $2, $3)
        ON CONFLICT (outage_id) DO UPDATE SET ${col} = excluded.${col}, settled_at = excluded.settled_at`, [outageId, v, at]);
  }

  /** When the outage was last settled, if ever. */
  async settlement(outageId: string): Promise<SettlementRow | undefined> {
    return (await this.db.query<SettlementRow>('SELECT * FROM compensation_runs WHERE outage_id = $1', [outageId]))[0];
  }

  /** Closed outages (not merged) that closed by `closedBy` and were not settled since they last closed, oldest close first. */
  async closedUnsettled(closedBy: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(`
        SELECT o.id FROM outages o LEFT JOIN compensation_runs r ON r.outage_id = o.id
        WHERE o.state = 'closed' AND o.merged_into IS NULL AND o.closed_at <= $1 AND (r.settled_closed_at IS NULL OR r.settled_closed_at <> o.closed_at)
        ORDER BY o.closed_at`, [closedBy]);
    return rows.map((r) => r.id);
  }

  /** Outages open or cleared (not merged), oldest first, with their last settlement in part. */
  openWithLastInterim(): Promise<{ id: string; started_at: number; interim_at: number | null }[]> {
    return this.db.query<{ id: string; started_at: number; interim_at: number | null }>(`
        SELECT o.id, o.started_at, r.interim_at FROM outages o LEFT JOIN compensation_runs r ON r.outage_id = o.id
        WHERE o.state IN ('open', 'cleared') AND o.merged_into IS NULL ORDER BY o.started_at`);
  }
}

/**
 * Takes `n` numbers from the ledger's sequence (a counter row, not the clock) inside the caller's
 * transaction; returns the last. The row stays locked until that transaction ends, so entries
 * become visible in sequence order and a cursor that passed a number never misses a smaller one
 * committed later.
 */
export async function takeSequence(db: Db, n: number): Promise<number> {
  const r = await db.query<{ last: number }>('UPDATE credit_sequence SET last = last + $1 WHERE id = 1 RETURNING last', [n]);
  if (r.length === 0) throw new Error('the ledger sequence is missing (migration 9 not applied)');
  return Number(r[0].last);
}
