import { createHash } from 'node:crypto';
import type { Db } from '../../src/store/db.ts';
import type { CreditState } from './ledger.ts';
import { CreditRepository } from './credits-repository.ts';

export { lockCredits } from './credits-repository.ts';

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

export interface Confirmation { id: string; outcome: 'applied' | 'failed'; reason?: string; reference?: string }
export interface ConfirmResult { id: string; state?: CreditState; result: 'changed' | 'unchanged' | 'conflict' | 'not_found'; message?: string }

export class IdempotencyConflict extends Error {}

/** A page of the ledger feed: `cursor` is where the next pull starts (kept by the job across calls); `more` if entries follow already. */
export interface Pulled { items: Credit[]; cursor: number; more: boolean }

export interface CreditFilter { outageId?: string; subscriberId?: string; states?: CreditState[]; afterSeq?: number; limit: number }

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

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

  /** The repository over the current database. */
  private repo(): CreditRepository {
    return new CreditRepository(this.db());
  }

  get(id: string): Promise<Credit | undefined> {
    return this.repo().get(id);
  }

  /** One entry, read by a job (by id, or as TMF678): recorded as handed over unless it was withdrawn. */
  async handOver(id: string, at: number): Promise<Credit | undefined> {
    return this.repo().transaction(async (r) => {
      // On PostgreSQL the hand-over waits for a settlement holding the entry, then skips it if it was withdrawn.
      await r.handOver(id, at);
      return r.get(id);
    });
  }

  /** Entries in ledger order (`seq`), after a cursor, filtered; reads only (the push queue, tests). */
  list(f: CreditFilter): Promise<Credit[]> {
    return this.repo().list(f);
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
    return againOnDeadlock(() => this.repo().transaction(async (r) => {
      const page = await r.list({ ...f, limit: f.limit + 1 });
      const more = page.length > f.limit;
      const scanned = page.slice(0, f.limit);
      const ids = scanned.filter((c) => c.state !== 'reversed').map((c) => c.id);
      // On PostgreSQL this waits for a settlement holding these entries; what it withdrew is then skipped.
      await r.lock(ids);
      const now = await r.handOverAll(ids, at);
      const items = scanned.map((c) => now.get(c.id) ?? c).filter((c) => wantReversed || c.state !== 'reversed');
      return { items, cursor: scanned.at(-1)?.seq ?? f.afterSeq ?? 0, more };
    }));
  }

  /** The same page as `pull`, for someone who only looks (the NOC, a complaint desk): nothing is marked handed over. */
  async peek(f: CreditFilter): Promise<Pulled> {
    const wantReversed = f.states?.includes('reversed') ?? false;
    const page = await this.repo().list({ ...f, limit: f.limit + 1 });
    const scanned = page.slice(0, f.limit);
    return { items: scanned.filter((c) => wantReversed || c.state !== 'reversed'), cursor: scanned.at(-1)?.seq ?? f.afterSeq ?? 0, more: page.length > f.limit };
  }

  /** What is owed to the push channel, oldest first. */
  pending(limit: number): Promise<Credit[]> {
    return this.list({ states: ['computed'], limit });
  }

  /** Runs `fn` in a transaction with these entries locked first (`lockCredits`), again if PostgreSQL broke a lock cycle. */
  private locked<T>(ids: readonly string[], fn: (r: CreditRepository) => Promise<T>): Promise<T> {
    return againOnDeadlock(() => this.repo().transaction(async (r) => {
      await r.lock(ids);
      return fn(r);
    }));
  }

  /**
   * Records these entries as handed over before they are pushed (a settlement then only corrects
   * them); returns the ids still `computed`, the only ones to send.
   */
  async claim(ids: readonly string[], at: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.locked(ids, (r) => r.claim(ids, at));
  }

  async markDelivered(ids: readonly string[], at: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.locked(ids, (r) => r.markDelivered(ids, at));
  }

  /** Counts a failed delivery; entries that reached `maxAttempts` are parked as failed with the reason. Returns how many were parked. */
  async deliveryFailed(ids: readonly string[], reason: string, maxAttempts: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.locked(ids, async (r) => {
      await r.countAttempt(ids);
      return r.park(ids, `delivery failed ${maxAttempts} times: ${reason}`, maxAttempts);
    });
  }

  /** Puts failed entries (these, or all) back in the push queue. */
  async retry(ids?: readonly string[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    return ids
      ? this.locked(ids, (r) => r.requeue(ids))
      : againOnDeadlock(() => this.repo().requeue());
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
    return this.repo().transaction(async (r) => {
      if (!(await r.claimKey(key, at))) {
        const seen = await r.answerOf(key);
        if (seen.digest !== digest) throw new IdempotencyConflict(`idempotency key ${key} was used with another body`);
        return { results: seen.results, applied: [] };
      }
      const oneChanged = (c: Credit, n: number) => {
        if (n !== 1) throw new Error(`credit ${c.id} changed while it was being confirmed`);
      };
      const results: ConfirmResult[] = [];
      const applied: Credit[] = [];
      await r.lock([...new Set(items.map((it) => it.id))]);
      for (const it of items) {
        const c = await r.get(it.id);
        if (!c) {
          results.push({ id: it.id, result: 'not_found', message: `no credit ${it.id}` });
          continue;
        }
        if (it.outcome === 'applied') {
          if (c.state === 'applied') results.push({ id: c.id, state: c.state, result: 'unchanged' });
          else if (c.state === 'reversed') results.push({ id: c.id, state: c.state, result: 'conflict', message: `reversed: ${c.reason ?? ''}`.trim() });
          else {
            oneChanged(c, await r.confirmApplied(c, at, it.reference ?? null));
            results.push({ id: c.id, state: 'applied', result: 'changed' });
            applied.push({ ...c, state: 'applied', appliedAt: at, reference: it.reference, handedOverAt: c.handedOverAt ?? at });
          }
        } else if (c.state === 'failed') results.push({ id: c.id, state: c.state, result: 'unchanged' });
        else if (c.state === 'applied' || c.state === 'reversed') results.push({ id: c.id, state: c.state, result: 'conflict', message: `already ${c.state}` });
        else {
          oneChanged(c, await r.confirmFailed(c, `the compensation job could not apply it: ${it.reason ?? 'no reason given'}`, at));
          results.push({ id: c.id, state: 'failed', result: 'changed' });
        }
      }
      await r.saveAnswer(key, { digest, results });
      return { results, applied };
    });
  }

  /** Totals by outage, day or tier (and currency and state), optionally for one outage or a range of days. */
  async totals(by: 'outage' | 'day' | 'tier', f: { outageId?: string; from?: string; to?: string } = {}) {
    const rows = await this.repo().totals(by, f);
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
