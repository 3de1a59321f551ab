import { createHash } from 'node:crypto';
import type { Db } from '../store/db.ts';
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
  seq: number;
  computedAt: number;
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
    attempts: Number(r.attempts), seq: Number(r.seq), computedAt: Number(r.computed_at), deliveredAt: num(r.delivered_at), appliedAt: num(r.applied_at), reference: str(r.reference),
  };
}

export interface Confirmation { id: string; outcome: 'applied' | 'failed'; reason?: string; reference?: string }
export interface ConfirmResult { id: string; state?: CreditState; result: 'changed' | 'unchanged' | 'conflict' | 'not_found'; message?: string }

export class IdempotencyConflict extends Error {}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/** A credit as the API and the push channels show it. */
export function creditView(c: Credit) {
  return {
    id: c.id, outageId: c.outageId, subscriberId: c.subscriberId, kind: c.kind, revision: c.revision,
    amount: { value: c.amountMinor / 100, minor: c.amountMinor, currency: c.currency },
    form: c.form, quantity: c.quantity, unit: c.unit,
    policy: { id: c.policy, version: c.policyVersion, rule: c.rule ?? null },
    impact: { durationSeconds: Math.round(c.durationMs / 1000), from: iso(c.impactFrom), to: iso(c.impactTo) },
    subscriber: { tier: c.tier, service: c.service, region: c.region ?? null },
    explanation: c.steps,
    state: c.state, reason: c.reason ?? null, computedAt: iso(c.computedAt), deliveredAt: iso(c.deliveredAt), appliedAt: iso(c.appliedAt), reference: c.reference ?? null,
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
    ],
    '@type': 'AppliedCustomerBillingRate',
    '@baseType': 'AppliedCustomerBillingRate',
  };
}

/** Reads the ledger and moves entries through their states: delivered, applied, failed, retried. */
export class CreditBook {
  private readonly db: () => Db;

  constructor(db: () => Db) {
    this.db = db;
  }

  async get(id: string): Promise<Credit | undefined> {
    const r = await this.db().query<Row>('SELECT * FROM credits WHERE id = $1', [id]);
    return r[0] ? creditOf(r[0]) : undefined;
  }

  /** Entries in ledger order (`seq`), after a cursor, filtered. */
  async list(f: { outageId?: string; subscriberId?: string; states?: CreditState[]; afterSeq?: number; limit: number }): Promise<Credit[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.outageId) where.push(`outage_id = ${p(f.outageId)}`);
    if (f.subscriberId) where.push(`subscriber_id = ${p(f.subscriberId)}`);
    if (f.states?.length) where.push(`state IN (${f.states.map((s) => p(s)).join(', ')})`);
    if (f.afterSeq !== undefined) where.push(`seq > ${p(f.afterSeq)}`);
    const rows = await this.db().query<Row>(`SELECT * FROM credits ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${Math.max(1, Math.min(f.limit, 10_000))}`, params);
    return rows.map(creditOf);
  }

  /** What is owed to the push channel, oldest first. */
  pending(limit: number): Promise<Credit[]> {
    return this.list({ states: ['computed'], limit });
  }

  async markDelivered(ids: readonly string[], at: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db().run(`UPDATE credits SET state = 'delivered', delivered_at = $1 WHERE state = 'computed' AND id IN (${list(ids.length, 2)})`, [at, ...ids]);
  }

  /** Counts a failed delivery; entries that reached `maxAttempts` are parked as failed with the reason. Returns how many were parked. */
  async deliveryFailed(ids: readonly string[], reason: string, maxAttempts: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db().transaction(async (db) => {
      await db.run(`UPDATE credits SET attempts = attempts + 1 WHERE state = 'computed' AND id IN (${list(ids.length, 1)})`, ids);
      return db.run(`UPDATE credits SET state = 'failed', reason = $1 WHERE state = 'computed' AND attempts >= $2 AND id IN (${list(ids.length, 3)})`,
        [`delivery failed ${maxAttempts} times: ${reason}`, maxAttempts, ...ids]);
    });
  }

  /** Puts failed entries (these, or all) back in the push queue. */
  async retry(ids?: readonly string[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    return ids
      ? this.db().run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed' AND id IN (${list(ids.length)})`, ids)
      : this.db().run(`UPDATE credits SET state = 'computed', attempts = 0, reason = NULL WHERE state = 'failed'`);
  }

  /**
   * Records the compensation job's outcome for each entry, once per idempotency key: the same key
   * with the same body returns the first answer (a job retrying after a timeout changes nothing);
   * the same key with another body is refused. Applied is final; a reversed entry cannot be applied.
   */
  async confirm(items: readonly Confirmation[], key: string, at: number): Promise<{ results: ConfirmResult[]; applied: Credit[] }> {
    const digest = createHash('sha256').update(JSON.stringify(items)).digest('hex');
    return this.db().transaction(async (db) => {
      const seen = await db.query<{ response: string }>('SELECT response FROM credit_confirmations WHERE key = $1', [key]);
      if (seen.length > 0) {
        const r = JSON.parse(seen[0].response) as { digest: string; results: ConfirmResult[] };
        if (r.digest !== digest) throw new IdempotencyConflict(`idempotency key ${key} was used with another body`);
        return { results: r.results, applied: [] };
      }
      const results: ConfirmResult[] = [];
      const applied: Credit[] = [];
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
            await db.run(`UPDATE credits SET state = 'applied', applied_at = $1, reference = $2, reason = NULL WHERE id = $3`, [at, it.reference ?? null, c.id]);
            results.push({ id: c.id, state: 'applied', result: 'changed' });
            applied.push({ ...c, state: 'applied', appliedAt: at, reference: it.reference });
          }
        } else if (c.state === 'failed') results.push({ id: c.id, state: c.state, result: 'unchanged' });
        else if (c.state === 'applied' || c.state === 'reversed') results.push({ id: c.id, state: c.state, result: 'conflict', message: `already ${c.state}` });
        else {
          await db.run(`UPDATE credits SET state = 'failed', reason = $1 WHERE id = $2`, [`the compensation job could not apply it: ${it.reason ?? 'no reason given'}`, c.id]);
          results.push({ id: c.id, state: 'failed', result: 'changed' });
        }
      }
      await db.run('INSERT INTO credit_confirmations (key, response, at) VALUES ($1, $2, $3)', [key, JSON.stringify({ digest, results }), at]);
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
