import { createHash } from 'node:crypto';
import type { Db } from '../../src/store/db.ts';
import type { CreditState } from './ledger.ts';

/** One ledger entry: a first credit or a correction of what an outage owes one subscriber. */
export interface Credit {
  id: string;
  outageId: string;
  subscriberId: string;
  revision: number;
  kind: 'credit' | 'correction';
  policy: string;
  policyVersion: string;
  rule?: string;
  amountMinor: number;
  currency: string;
  form: string;
  quantity: number;
  unit: string;
  durationMs: number;
  impactFrom?: number;
  impactTo?: number;
  tier: string;
  service: string;
  region?: string;
  month: string;
  day: string;
  steps: string[];
  state: CreditState;
  reason?: string;
  attempts: number;
  /** The entry's place in the ledger, from the ledger's own sequence: the pull cursor. */
  seq: number;
  /** A correction: the credit it corrects (the subscriber's first live entry for the event). */
  corrects?: string;
  computedAt: number;
  /** When it first left netpulse: pulled over the API, pushed, or confirmed. Never reversed after that. */
  handedOverAt?: number;
  deliveredAt?: number;
  appliedAt?: number;
  reference?: string;
}

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

export interface Confirmation { id: string; outcome: 'applied' | 'failed'; reason?: string; reference?: string }
export interface ConfirmResult { id: string; state?: CreditState; result: 'changed' | 'unchanged' | 'conflict' | 'not_found'; message?: string }

export class IdempotencyConflict extends Error {}

/** A page of the ledger feed: `cursor` is where the next pull starts (kept by the job across calls); `more` if entries follow already. */
export interface Pulled { items: Credit[]; cursor: number; more: boolean }

export interface CreditFilter { outageId?: string; subscriberId?: string; states?: CreditState[]; afterSeq?: number; limit: number }

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/**
 * PostgreSQL: locks these entries until the transaction ends, in the one order every writer of
 * credits uses (subscriber, outage, revision; the settlement too), so a pull, a confirmation and
 * a settlement wait for each other instead of deadlocking. SQLite has one writer: nothing to do.
 */
export async function lockCredits(db: Db, ids: readonly string[]): Promise<void> {
  if (db.kind !== 'postgres' || ids.length === 0) return;
  await db.query(`SELECT id FROM credits WHERE id IN (${list(ids.length)}) ORDER BY subscriber_id, outage_id, revision FOR UPDATE`, ids);
}

/** Runs a transaction again when PostgreSQL broke a lock cycle by aborting it (nothing of it was written). */
async function againOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code === '40P01' && attempt < 3) continue;
      throw err;
    }
  }
}

/** A credit as the API and the push channels show it. */
export function creditView(c: Credit) {
  return {
    id: c.id, outageId: c.outageId, subscriberId: c.subscriberId, kind: c.kind, revision: c.revision, sequence: String(c.seq), corrects: c.corrects ?? null,
    amount: { value: c.amountMinor / 100, minor: c.amountMinor, currency: c.currency },
    form: c.form, quantity: c.quantity, unit: c.unit,
    policy: { id: c.policy, version: c.policyVersion, rule: c.rule ?? null },
    impact: { durationSeconds: Math.round(c.durationMs / 1000), from: iso(c.impactFrom), to: iso(c.impactTo) },
    subscriber: { tier: c.tier, service: c.service, region: c.region ?? null },
    explanation: c.steps,
    state: c.state, reason: c.reason ?? null, computedAt: iso(c.computedAt), handedOverAt: iso(c.handedOverAt), deliveredAt: iso(c.deliveredAt), appliedAt: iso(c.appliedAt),
    reference: c.reference ?? null,
  };
}

/**
 * A credit in the shape of TM Forum TMF678 (Customer Bill Management v4) `AppliedCustomerBillingRate`
 * of type `appliedBillingCredit`: the billing account is the subscriber, the amount is tax-excluded
 * and negative (a credit reduces the bill), the period is the impact, and the rest travels as
 * characteristics.
 */
export function tmf678(c: Credit, base = '') {
  return {
    id: c.id,
    href: `${base}/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/${c.id}`,
    name: `Outage compensation (${c.policy})`,
    description: c.steps.join('; '),
    date: new Date(c.computedAt).toISOString(),
    type: 'appliedBillingCredit',
    isBilled: c.state === 'applied',
    billingAccount: { id: c.subscriberId, '@referredType': 'BillingAccount' },
    product: { id: c.subscriberId, name: c.service },
    periodCoverage: { startDateTime: iso(c.impactFrom), endDateTime: iso(c.impactTo) },
    taxExcludedAmount: { unit: c.currency, value: -c.amountMinor / 100 },
    characteristic: [
      { name: 'outageId', valueType: 'string', value: c.outageId },
      { name: 'policy', valueType: 'string', value: `${c.policy}@${c.policyVersion}` },
      { name: 'rule', valueType: 'string', value: c.rule ?? '' },
      { name: 'form', valueType: 'string', value: c.form },
      { name: 'quantity', valueType: 'number', value: c.quantity },
      { name: 'unit', valueType: 'string', value: c.unit },
      { name: 'entryKind', valueType: 'string', value: c.kind },
      { name: 'corrects', valueType: 'string', value: c.corrects ?? '' },
      { name: 'sequence', valueType: 'string', value: String(c.seq) },
    ],
    '@type': 'AppliedCustomerBillingRate',
    '@baseType': 'AppliedCustomerBillingRate',
  };
}

/**
 * Reads the ledger and moves entries through their states: handed over (pulled or pushed),
 * delivered, applied, failed, retried. Every change checks the state it changes (`WHERE state =`)
 * and, on PostgreSQL, pulls and confirmations lock the entries first (`lockCredits`): two
 * confirmations, or a confirmation and a settlement, never both win.
 */
export class CreditBook {
  private readonly db: () => Db;

  constructor(db: () => Db) {
    this.db = db;
  }

  async get(id: string): Promise<Credit | undefined> {
    const r = await this.db().query<Row>('SELECT * FROM credits WHERE id = $1', [id]);
    return r[0] ? creditOf(r[0]) : undefined;
  }

  /** One entry, read by a job (by id, or as TMF678): recorded as handed over unless it was withdrawn. */
  async handOver(id: string, at: number): Promise<Credit | undefined> {
    return this.db().transaction(async (db) => {
      // On PostgreSQL the UPDATE waits for a settlement holding the entry, then skips it if it was withdrawn.
      await db.run(`UPDATE credits SET handed_over_at = $1 WHERE id = $2 AND handed_over_at IS NULL AND state <> 'reversed'`, [at, id]);
      const r = await db.query<Row>('SELECT * FROM credits WHERE id = $1', [id]);
      return r[0] ? creditOf(r[0]) : undefined;
    });
  }

  /** Entries in ledger order (`seq`), after a cursor, filtered; reads only (the push queue, tests). */
  list(f: CreditFilter): Promise<Credit[]> {
    return this.select(this.db(), f);
  }

  private async select(db: Db, f: CreditFilter): Promise<Credit[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.outageId) where.push(`outage_id = ${p(f.outageId)}`);
    if (f.subscriberId) where.push(`subscriber_id = ${p(f.subscriberId)}`);
    if (f.states?.length) where.push(`state IN (${f.states.map((s) => p(s)).join(', ')})`);
    if (f.afterSeq !== undefined) where.push(`seq > ${p(f.afterSeq)}`);
    const rows = await db.query<Row>(`SELECT * FROM credits ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq, id LIMIT ${Math.max(1, Math.min(f.limit, 10_000))}`, params);
    return rows.map(creditOf);
  }

  /**
   * The pull feed: entries after `afterSeq` in ledger order, each recorded as handed over (from
   * then on it is only ever corrected, never reversed). Entries withdrawn before anyone saw them
   * are left out unless `reversed` is asked for. `cursor` is the last entry looked at (or the one
   * given): keep it and pull again later for only what is new. Sequence numbers are taken under a
   * lock held to commit, so a later pull never finds an entry below a cursor it already passed.
   */
  async pull(f: CreditFilter, at: number): Promise<Pulled> {
    const wantReversed = f.states?.includes('reversed') ?? false;
    return againOnDeadlock(() => this.db().transaction(async (db) => {
      const page = await this.select(db, { ...f, limit: f.limit + 1 });
      const more = page.length > f.limit;
      const scanned = page.slice(0, f.limit);
      const ids = scanned.filter((c) => c.state !== 'reversed').map((c) => c.id);
      // On PostgreSQL this waits for a settlement holding these entries; what it withdrew is then skipped.
      await lockCredits(db, ids);
      const now = new Map<string, Credit>();
      for (let k = 0; k < ids.length; k += 500) {
        const part = ids.slice(k, k + 500);
        await db.run(`UPDATE credits SET handed_over_at = $1 WHERE handed_over_at IS NULL AND state <> 'reversed' AND id IN (${list(part.length, 2)})`, [at, ...part]);
        for (const r of await db.query<Row>(`SELECT * FROM credits WHERE id IN (${list(part.length)})`, part)) now.set(String(r.id), creditOf(r));
      }
      const items = scanned.map((c) => now.get(c.id) ?? c).filter((c) => wantReversed || c.state !== 'reversed');
      return { items, cursor: scanned.at(-1)?.seq ?? f.afterSeq ?? 0, more };
    }));
  }

  /** The same page as `pull`, for someone who only looks (the NOC, a complaint desk): nothing is marked handed over. */
  async peek(f: CreditFilter): Promise<Pulled> {
    const wantReversed = f.states?.includes('reversed') ?? false;
    const page = await this.select(this.db(), { ...f, limit: f.limit + 1 });
    const scanned = page.slice(0, f.limit);
    return { items: scanned.filter((c) => wantReversed || c.state !== 'reversed'), cursor: scanned.at(-1)?.seq ?? f.afterSeq ?? 0, more: page.length > f.limit };
  }

  /** What is owed to the push channel, oldest first. */
  pending(limit: number): Promise<Credit[]> {
    return this.list({ states: ['computed'], limit });
  }

  /** Runs `fn` in a transaction with these entries locked first (`lockCredits`), again if PostgreSQL broke a lock cycle. */
  private locked<T>(ids: readonly string[], fn: (db: Db) => Promise<T>): Promise<T> {
    return againOnDeadlock(() => this.db().transaction(async (db) => {
      await lockCredits(db, ids);
      return fn(db);
    }));
  }

  /**
   * Records these entries as handed over before they are pushed (a settlement then only corrects
   * them); returns the ids still `computed`, the only ones to send.
   */
  async claim(ids: readonly string[], at: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.locked(ids, async (db) => {
      const out = new Set<string>();
      for (let k = 0; k < ids.length; k += 500) {
        const part = ids.slice(k, k + 500);
        const rows = await db.query<{ id: string }>(
          `UPDATE credits SET handed_over_at = COALESCE(handed_over_at, $1) WHERE state = 'computed' AND id IN (${list(part.length, 2)}) RETURNING id`, [at, ...part]);
        for (const r of rows) out.add(String(r.id));
      }
      return out;
    });
  }

  async markDelivered(ids: readonly string[], at: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.locked(ids, (db) => db.run(
      `UPDATE credits SET state = 'delivered', delivered_at = $1, handed_over_at = COALESCE(handed_over_at, $1) WHERE state = 'computed' AND id IN (${list(ids.length, 2)})`, [at, ...ids]));
  }

  /** Counts a failed delivery; entries that reached `maxAttempts` are parked as failed with the reason. Returns how many were parked. */
  async deliveryFailed(ids: readonly string[], reason: string, maxAttempts: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.locked(ids, async (db) => {
      await db.run(`UPDATE credits SET attempts = attempts + 1 WHERE state = 'computed' AND id IN (${list(ids.length, 1)})`, ids);
      return db.run(`UPDATE credits SET state = 'failed', reason = $1 WHERE state = 'computed' AND attempts >= $2 AND id IN (${list(ids.length, 3)})`,
        [`delivery failed ${maxAttempts} times: ${reason}`, maxAttempts, ...ids]);
    });
  }

  /** Puts failed entries (these, or all) back in the push queue. */
  async retry(ids?: readonly string[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    return ids
      ? this.locked(ids, (db) => db.run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed' AND id IN (${list(ids.length)})`, ids))
      : againOnDeadlock(() => this.db().run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed'`));
  }

  /**
   * Records the compensation job's outcome for each entry, once per idempotency key: the same key
   * with the same body returns the first answer (a job retrying after a timeout changes nothing);
   * the same key with another body is refused. Applied is final; a reversed entry (withdrawn
   * before it was handed over) cannot be applied. A credit corrected since it was handed over is
   * still confirmed: the job did apply it, and the correction is an entry of its own.
   *
   * The key is claimed first (a concurrent request with the same key waits for this one and then
   * answers what it answered); the entries are locked (`lockCredits`) before they are read, and
   * each is changed only from the state that was read, so of two confirmations, or a confirmation
   * and a settlement, racing, one wins and the other sees its result.
   */
  confirm(items: readonly Confirmation[], key: string, at: number): Promise<{ results: ConfirmResult[]; applied: Credit[] }> {
    return againOnDeadlock(() => this.confirmOnce(items, key, at));
  }

  private confirmOnce(items: readonly Confirmation[], key: string, at: number): Promise<{ results: ConfirmResult[]; applied: Credit[] }> {
    const digest = createHash('sha256').update(JSON.stringify(items)).digest('hex');
    return this.db().transaction(async (db) => {
      if ((await db.run(`INSERT INTO credit_confirmations (key, response, at) VALUES ($1, '', $2) ON CONFLICT DO NOTHING`, [key, at])) === 0) {
        const seen = await db.query<{ response: string }>('SELECT response FROM credit_confirmations WHERE key = $1', [key]);
        const r = JSON.parse(seen[0].response) as { digest: string; results: ConfirmResult[] };
        if (r.digest !== digest) throw new IdempotencyConflict(`idempotency key ${key} was used with another body`);
        return { results: r.results, applied: [] };
      }
      const change = async (c: Credit, set: string, params: unknown[]) => {
        const n = await db.run(`UPDATE credits SET ${set}, handed_over_at = COALESCE(handed_over_at, $${params.length + 1}) WHERE id = $${params.length + 2} AND state = $${params.length + 3}`,
          [...params, at, c.id, c.state]);
        if (n !== 1) throw new Error(`credit ${c.id} changed while it was being confirmed`);
      };
      const results: ConfirmResult[] = [];
      const applied: Credit[] = [];
      await lockCredits(db, [...new Set(items.map((it) => it.id))]);
      for (const it of items) {
        const row = (await db.query<Row>('SELECT * FROM credits WHERE id = $1', [it.id]))[0];
        if (!row) {
          results.push({ id: it.id, result: 'not_found', message: `no credit ${it.id}` });
          continue;
        }
        const c = creditOf(row);
        if (it.outcome === 'applied') {
          if (c.state === 'applied') results.push({ id: c.id, state: c.state, result: 'unchanged' });
          else if (c.state === 'reversed') results.push({ id: c.id, state: c.state, result: 'conflict', message: `reversed: ${c.reason ?? ''}`.trim() });
          else {
            await change(c, `state = 'applied', applied_at = $1, reference = $2, reason = NULL`, [at, it.reference ?? null]);
            results.push({ id: c.id, state: 'applied', result: 'changed' });
            applied.push({ ...c, state: 'applied', appliedAt: at, reference: it.reference, handedOverAt: c.handedOverAt ?? at });
          }
        } else if (c.state === 'failed') results.push({ id: c.id, state: c.state, result: 'unchanged' });
        else if (c.state === 'applied' || c.state === 'reversed') results.push({ id: c.id, state: c.state, result: 'conflict', message: `already ${c.state}` });
        else {
          await change(c, `state = 'failed', reason = $1`, [`the compensation job could not apply it: ${it.reason ?? 'no reason given'}`]);
          results.push({ id: c.id, state: 'failed', result: 'changed' });
        }
      }
      await db.run('UPDATE credit_confirmations SET response = $1 WHERE key = $2', [JSON.stringify({ digest, results }), key]);
      return { results, applied };
    });
  }

  /** Totals by outage, day or tier (and currency and state), optionally for one outage or a range of days. */
  async totals(by: 'outage' | 'day' | 'tier', f: { outageId?: string; from?: string; to?: string } = {}) {
    const col = by === 'outage' ? 'outage_id' : by;
    const where: string[] = [`state <> 'reversed'`];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.outageId) where.push(`outage_id = ${p(f.outageId)}`);
    if (f.from) where.push(`day >= ${p(f.from)}`);
    if (f.to) where.push(`day <= ${p(f.to)}`);
    const rows = await this.db().query<{ k: string; currency: string; state: string; entries: number; subscribers: number; amount: number }>(
      `SELECT ${col} AS k, currency, state, COUNT(*) AS entries, COUNT(DISTINCT subscriber_id) AS subscribers, SUM(amount_minor) AS amount
       FROM credits WHERE ${where.join(' AND ')} GROUP BY ${col}, currency, state ORDER BY ${col}, currency, state LIMIT 10000`, params);
    const out = new Map<string, { [k: string]: unknown; currency: string; entries: number; amountMinor: number; byState: Record<string, { entries: number; amountMinor: number }> }>();
    for (const r of rows) {
      const key = `${r.k}\u0000${r.currency}`;
      const t = out.get(key) ?? out.set(key, { [by]: r.k, currency: r.currency, entries: 0, amountMinor: 0, byState: {} }).get(key)!;
      t.entries += Number(r.entries);
      t.amountMinor += Number(r.amount);
      t.byState[r.state] = { entries: Number(r.entries), amountMinor: Number(r.amount) };
    }
    return [...out.values()];
  }
}
