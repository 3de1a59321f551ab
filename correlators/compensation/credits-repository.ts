import type { Db } from '../../src/store/db.ts';
import type { ConfirmResult, Credit, CreditFilter } from './credits.ts';
import type { CreditState } from './ledger.ts';

type Row = Record<string, string | number | null>;
const num = (v: string | number | null) => (v === null ? undefined : Number(v));
const str = (v: string | number | null) => (v === null ? undefined : String(v));

function creditOf(r: Row): Credit {
  return {
    id: String(r.id), outageId: String(r.outage_id), subscriberId: String(r.subscriber_id), revision: Number(r.revision), kind: r.kind as Credit['kind'],
    policy: String(r.policy), policyVersion: String(r.policy_version), ...(r.rule !== null && { rule: String(r.rule) }),
    amountMinor: Number(r.amount_minor), currency: String(r.currency), form: String(r.form), quantity: Number(r.quantity), unit: String(r.unit),
    durationMs: Number(r.duration_ms), impactFrom: num(r.impact_from), impactTo: num(r.impact_to), tier: String(r.tier), service: String(r.service), region: str(r.region),
    month: String(r.month), day: String(r.day), steps: JSON.parse(String(r.steps)) as string[], state: r.state as CreditState, reason: str(r.reason),
    attempts: Number(r.attempts), seq: Number(r.seq), corrects: str(r.corrects ?? null), computedAt: Number(r.computed_at), handedOverAt: num(r.handed_over_at ?? null),
    deliveredAt: num(r.delivered_at), appliedAt: num(r.applied_at), reference: str(r.reference),
  };
}

const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/** How many ids go in one `IN (...)` list of a hand-over or a claim. */
const PART = 500;

/** The answer recorded for a confirmation's idempotency key: a digest of the body it answered, and the results. */
export interface ConfirmationAnswer { digest: string; results: ConfirmResult[] }

/** One group of a total: entries and amount by a key (outage, day or tier), currency and state. */
export interface TotalRow { k: string; currency: string; state: string; entries: number; subscribers: number; amount: number }

/** One group of an outage's credits: by tier, form, currency and state. */
export interface OutageTotalRow { tier: string; form: string; currency: string; state: string; entries: number; amount: number; quantity: number }

/**
 * PostgreSQL: locks these entries until the transaction ends, in the one order every writer of
 * credits uses (subscriber, outage, revision; the settlement too), so a pull, a confirmation and
 * a settlement wait for each other instead of deadlocking. SQLite has one writer: nothing to do.
 */
export async function lockCredits(db: Db, ids: readonly string[]): Promise<void> {
  if (db.kind !== 'postgres' || ids.length === 0) return;
  await db.query(`SELECT id FROM credits WHERE id IN (${list(ids.length)}) ORDER BY subscriber_id, outage_id, revision FOR UPDATE`, ids);
}

/**
 * Every statement about the ledger's entries once written (`credits`) and the compensation job's
 * confirmations (`credit_confirmations`). Each change names the state it changes from in its
 * `WHERE` and answers how many rows it changed; `lock` takes PostgreSQL's row locks (SQLite has
 * one writer). Build one on a transaction handle with `transaction`.
 */
export class CreditRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** Runs `fn` in one transaction, with a repository over it. */
  transaction<T>(fn: (r: CreditRepository) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new CreditRepository(tx)));
  }

  async get(id: string): Promise<Credit | undefined> {
    const r = await this.db.query<Row>('SELECT * FROM credits WHERE id = $1', [id]);
    return r[0] ? creditOf(r[0]) : undefined;
  }

  /** Entries in ledger order (`seq`, then id), after a cursor, filtered, at most `limit` (1 to 10,000). */
  async list(f: CreditFilter): Promise<Credit[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.outageId) where.push(`outage_id = ${p(f.outageId)}`);
    if (f.subscriberId) where.push(`subscriber_id = ${p(f.subscriberId)}`);
    if (f.states?.length) where.push(`state IN (${f.states.map((s) => p(s)).join(', ')})`);
    if (f.afterSeq !== undefined) where.push(`seq > ${p(f.afterSeq)}`);
    const rows = await this.db.query<Row>(`SELECT * FROM credits ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq, id LIMIT ${Math.max(1, Math.min(f.limit, 10_000))}`, params);
    return rows.map(creditOf);
  }

  /** Locks these entries (PostgreSQL; see `lockCredits`). */
  lock(ids: readonly string[]): Promise<void> {
    return lockCredits(this.db, ids);
  }

  /** Records one entry as handed over at `at`, unless it was before or was withdrawn. */
  async handOver(id: string, at: number): Promise<void> {
    await this.db.run(`UPDATE credits SET handed_over_at = $1 WHERE id = $2 AND handed_over_at IS NULL AND state <> 'reversed'`, [at, id]);
  }

  /** Records these entries as handed over (those not yet, and not withdrawn), 500 at a time; answers them all as they are then. */
  async handOverAll(ids: readonly string[], at: number): Promise<Map<string, Credit>> {
    const now = new Map<string, Credit>();
    for (let k = 0; k < ids.length; k += PART) {
      const part = ids.slice(k, k + PART);
      await this.db.run(`UPDATE credits SET handed_over_at = $1 WHERE handed_over_at IS NULL AND state <> 'reversed' AND id IN (${list(part.length, 2)})`, [at, ...part]);
      for (const r of await this.db.query<Row>(`SELECT * FROM credits WHERE id IN (${list(part.length)})`, part)) now.set(String(r.id), creditOf(r));
    }
    return now;
  }

  /** Records the `computed` ones of these entries as handed over (keeping an earlier time), 500 at a time; answers their ids. */
  async claim(ids: readonly string[], at: number): Promise<Set<string>> {
    const out = new Set<string>();
    for (let k = 0; k < ids.length; k += PART) {
      const part = ids.slice(k, k + PART);
      const rows = await this.db.query<{ id: string }>(
        `UPDATE credits SET handed_over_at = COALESCE(handed_over_at, $1) WHERE state = 'computed' AND id IN (${list(part.length, 2)}) RETURNING id`, [at, ...part]);
      for (const r of rows) out.add(String(r.id));
    }
    return out;
  }

  /** The `computed` ones of these entries were pushed at `at`. */
  markDelivered(ids: readonly string[], at: number): Promise<number> {
    return this.db.run(
      `UPDATE credits SET state = 'delivered', delivered_at = $1, handed_over_at = COALESCE(handed_over_at, $1) WHERE state = 'computed' AND id IN (${list(ids.length, 2)})`, [at, ...ids]);
  }

  /** Counts a failed delivery attempt on the `computed` ones of these entries. */
  async countAttempt(ids: readonly string[]): Promise<void> {
    await this.db.run(`UPDATE credits SET attempts = attempts + 1 WHERE state = 'computed' AND id IN (${list(ids.length, 1)})`, ids);
  }

  /** Parks as `failed`, with the reason, the `computed` ones of these entries that reached `maxAttempts`; answers how many. */
  park(ids: readonly string[], reason: string, maxAttempts: number): Promise<number> {
    return this.db.run(`UPDATE credits SET state = 'failed', reason = $1 WHERE state = 'computed' AND attempts >= $2 AND id IN (${list(ids.length, 3)})`,
      [reason, maxAttempts, ...ids]);
  }

  /** Puts the `failed` ones of these entries (or all `failed` ones) back to `computed`, attempts and reason cleared; answers how many. */
  requeue(ids?: readonly string[]): Promise<number> {
    return ids
      ? this.db.run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed' AND id IN (${list(ids.length)})`, ids)
      : this.db.run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed'`);
  }

  /** Claims an idempotency key (its answer still empty); false when it was claimed before. */
  async claimKey(key: string, at: number): Promise<boolean> {
    return (await this.db.run(`INSERT INTO credit_confirmations (key, response, at) VALUES ($1, '', $2) ON CONFLICT DO NOTHING`, [key, at])) !== 0;
  }

  /** The answer recorded for a claimed key. */
  async answerOf(key: string): Promise<ConfirmationAnswer> {
    const seen = await this.db.query<{ response: string }>('SELECT response FROM credit_confirmations WHERE key = $1', [key]);
    return JSON.parse(seen[0].response) as ConfirmationAnswer;
  }

  /** Records the answer for a claimed key. */
  async saveAnswer(key: string, answer: ConfirmationAnswer): Promise<void> {
    await this.db.run('UPDATE credit_confirmations SET response = $1 WHERE key = $2', [JSON.stringify(answer), key]);
  }

  /** The job applied the entry (still in the state `c` was read in) at `at`; answers 1, or 0 when it changed meanwhile. */
  confirmApplied(c: Credit, at: number, reference: string | null): Promise<number> {
    return this.change(c, `state = 'applied', applied_at = $1, reference = $2, reason = NULL`, [at, reference], at);
  }

  /** The job could not apply the entry (still in the state `c` was read in); answers 1, or 0 when it changed meanwhile. */
  confirmFailed(c: Credit, reason: string, at: number): Promise<number> {
    return this.change(c, `state = 'failed', reason = $1`, [reason], at);
  }

  /** Sets `set` (its parameters first) on an entry still in the state `c` was read in; a confirmed entry counts as handed over. */
  private change(c: Credit, set: string, params: unknown[], at: number): Promise<number> {
    return this.db.run(`UPDATE credits SET ${set}, handed_over_at = COALESCE(handed_over_at, $${params.length + 1}) WHERE id = $${params.length + 2} AND state = $${params.length + 3}`,
      [...params, at, c.id, c.state]);
  }

  /** Entries not withdrawn, counted by outage, day or tier, currency and state; optionally one outage or a range of days. */
  totals(by: 'outage' | 'day' | 'tier', f: { outageId?: string; from?: string; to?: string } = {}): Promise<TotalRow[]> {
    const col = by === 'outage' ? 'outage_id' : by;
    const where: string[] = [`state <> 'reversed'`];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.outageId) where.push(`outage_id = ${p(f.outageId)}`);
    if (f.from) where.push(`day >= ${p(f.from)}`);
    if (f.to) where.push(`day <= ${p(f.to)}`);
    return this.db.query<TotalRow>(
      `SELECT ${col} AS k, currency, state, COUNT(*) AS entries, COUNT(DISTINCT subscriber_id) AS subscribers, SUM(amount_minor) AS amount
       FROM credits WHERE ${where.join(' AND ')} GROUP BY ${col}, currency, state ORDER BY ${col}, currency, state LIMIT 10000`, params);
  }

  /** An outage's entries (withdrawn ones too), counted by tier, form, currency and state. */
  ofOutageByTier(outageId: string): Promise<OutageTotalRow[]> {
    return this.db.query<OutageTotalRow>(
      `SELECT tier, form, currency, state, COUNT(*) AS entries, SUM(amount_minor) AS amount, SUM(quantity) AS quantity FROM credits WHERE outage_id = $1
       GROUP BY tier, form, currency, state ORDER BY tier, form, currency, state`, [outageId]);
  }
}
