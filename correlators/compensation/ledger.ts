import { createHash } from 'node:crypto';
import type { Store } from '../../src/store/store.ts';
import type { Db } from '../../src/store/db.ts';
import { compensate, formFor, policyFor, quantityOf, type Decision } from './compute.ts';
import { dayOf, isoDay, monthOf } from './calendar.ts';
import type { Claimant, EventFacts, ImpactInterval, Policy } from './policy.ts';
import { LedgerRepository, type EntryRow, type NewEntry } from './ledger-repository.ts';
import { outagesOf } from '../outages/repository.ts';

export { CREDIT_COLUMNS, takeSequence } from './ledger-repository.ts';

/**
 * computed (owed; maybe pulled already), delivered (pushed to the operator's job), applied
 * (confirmed), failed, reversed (withdrawn before it was ever handed over). Whether an entry was
 * handed over (pulled or pushed) is `handed_over_at`, apart from the state: pulling does not take
 * an entry out of the push queue.
 */
export type CreditState = 'computed' | 'delivered' | 'applied' | 'failed' | 'reversed';

/** A settlement found the ledger changed under it (an entry handed over between its read and its write); it rolled back. */
export class LedgerConflict extends Error {}

/**
 * A credit's id: the same (outage, subscriber, revision) always gives the same id, so a replayed
 * write is a no-op. A fixed-length digest of the outage, then the subscriber and the revision: the
 * ids of one settlement come in subscriber order, which keeps the id index's inserts sequential.
 */
export const creditId = (outageId: string, subscriberId: string, revision: number): string => creditIds(outageId)(subscriberId, revision);

/** `creditId` for one outage, its digest taken once. */
export function creditIds(outageId: string): (subscriberId: string, revision: number) => string {
  const prefix = `cr-${createHash('sha256').update(outageId).digest('base64url').slice(0, 12)}.`;
  return (subscriberId, revision) => `${prefix}${subscriberId}.${revision}`;
}

/** A maintenance window as the planned-work exclusion sees it: when it was announced. */
export interface AnnouncedWindow { elements?: string[]; sites?: string[]; start: number; end: number; announced?: number }

export interface SettleReport {
  outageId: string;
  /** The outage and those merged into it: one event, one settlement. */
  members: string[];
  mode: 'final' | 'interim' | 'preview';
  skipped?: string;
  subscribers: number;
  eligible: number;
  /** Entries written (first credits and corrections), and undelivered entries reversed by a correction. */
  entries: number;
  reversed: number;
  /** Subscribers no configured policy is meant for. */
  noPolicy: number;
  /** What the event owes in total, by currency, tier and form (after this run). */
  owed: { currency: string; tier: string; form: string; subscribers: number; amountMinor: number; quantity: number }[];
  /** What this run added (negative: corrections down). */
  addedMinor: Record<string, number>;
  ms: number;
}

const money = (minor: number) => (minor / 100).toFixed(2);

/**
 * Settles what an outage owes each subscriber it hit, exactly once. The subscribers are taken a
 * chunk at a time in id order; for each, the policy's decision (the total owed) is compared with
 * what the ledger already holds for the event, and only the difference is written, in the same
 * transaction as the read. Credit ids are derived from (outage, subscriber, revision), so a run
 * repeated after a crash, a retry, a duplicate event or a second instance writes nothing twice:
 * a crash mid-run leaves whole chunks, and the next run finds them settled.
 *
 * What was handed over (pulled over the API, pushed, confirmed) is never reversed or replaced: any
 * change after that is a signed correction that names the credit it corrects (`corrects`), so the
 * sum of the entries a job applies is what is owed. Only when none of a subscriber's entries for the
 * event has left netpulse does a correction down withdraw them (`reversed`) instead. On PostgreSQL
 * the chunk's entries are locked as they are read (`LedgerRepository.entries`), so a confirmation
 * or a pull waits for the settlement (or the settlement for them); the reversal also re-checks the
 * state it changes and the row count.
 * Entries are numbered from the ledger's sequence (`takeSequence`), never from the clock.
 */
export class Ledger {
  private readonly policies: () => readonly Policy[];
  private readonly chunk: number;
  private readonly inFlight: ReadonlySet<string>;
  private readonly windows: () => readonly AnnouncedWindow[];

  constructor(o: { policies: () => readonly Policy[]; chunk?: number; inFlight?: ReadonlySet<string>; windows?: () => readonly AnnouncedWindow[] }) {
    this.policies = o.policies;
    this.chunk = o.chunk ?? 5_000;
    this.inFlight = o.inFlight ?? new Set();
    this.windows = o.windows ?? (() => []);
  }

  /** The outage and every outage merged into it (transitively). */
  async members(db: Db, outageId: string): Promise<string[]> {
    const out = [outageId];
    for (let i = 0; i < out.length && out.length < 10_000; i++) {
      for (const id of await new LedgerRepository(db).mergedInto(out[i])) if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  /** How far ahead the planned work covering the outage's root was announced (the longest notice of the windows covering its start). */
  async plannedNotice(store: Store, root: string, startedAt: number): Promise<number | undefined> {
    const repo = new LedgerRepository(store.db);
    const site = await repo.siteOf(root);
    const stored = await repo.announcedWindows();
    let notice: number | undefined;
    for (const w of [...stored, ...this.windows()]) {
      const covers = (w.elements?.includes(root) || (site !== undefined && w.sites?.includes(site))) && w.start <= startedAt && startedAt < w.end;
      if (covers && w.announced !== undefined) notice = Math.max(notice ?? -Infinity, w.start - w.announced);
    }
    return notice;
  }

  /**
   * Settles (or with `preview`, only computes) the event whose outage is `outageId`. `final` is
   * for a closed outage, `interim` for one still open (its open impacts count up to `at`).
   */
  async settle(store: Store, outageId: string, at: number, mode: SettleReport['mode']): Promise<SettleReport> {
    // A settlement writes an entry per subscriber: with a million, the B-trees outgrow the usual page cache.
    return mode === 'preview' ? this.run(store, outageId, at, mode) : store.db.bulk(() => this.run(store, outageId, at, mode));
  }

  private async run(store: Store, outageId: string, at: number, mode: SettleReport['mode']): Promise<SettleReport> {
    const t0 = performance.now();
    const report: SettleReport = { outageId, members: [outageId], mode, subscribers: 0, eligible: 0, entries: 0, reversed: 0, noPolicy: 0, owed: [], addedMinor: {}, ms: 0 };
    const o = await outagesOf(store).outage(outageId, { impacted: false });
    if (!o) return { ...report, skipped: 'no such outage' };
    if (o.mergedInto) return { ...report, skipped: `merged into ${o.mergedInto}: settled with it` };
    const members = await this.members(store.db, outageId);
    report.members = members;
    const facts: EventFacts = {
      outageId, planned: o.planned, forceMajeure: o.forceMajeure !== undefined,
      ...(o.planned && { plannedNotice: await this.plannedNotice(store, o.root, o.startedAt) }),
    };
    const end = mode === 'final' ? (o.clearedAt ?? o.closedAt ?? at) : at;
    const policies = this.policies();
    const monthly = policies.some((p) => p.caps.perMonth);
    const owed = new Map<string, SettleReport['owed'][number]>();
    const idOf = creditIds(outageId);
    let last = '';
    for (;;) {
      const ids = await new LedgerRepository(store.db).hitAfter(members, last, this.chunk);
      if (ids.length === 0) break;
      const lo = last;
      const hi = ids.at(-1)!;
      const work = async (db: Db) => {
        const repo = new LedgerRepository(db);
        const spans = await repo.spans(members, lo, hi);
        // PostgreSQL: lock what this chunk may change, in `lockCredits`' order; a confirmation or a pull of them waits (SQLite has one writer).
        const entries = await repo.entries(members, lo, hi, mode !== 'preview');
        const before = new Map<string, EntryRow[]>();
        for (const e of entries) (before.get(e.subscriber_id) ?? before.set(e.subscriber_id, []).get(e.subscriber_id)!).push(e);
        const month = new Map<string, number>();
        if (monthly) {
          for (const t of await repo.monthTotals(members, ids)) month.set(`${t.subscriberId}\u0000${t.policy}\u0000${t.month}`, t.amountMinor);
        }
        const rows: NewEntry[] = [];
        const reverse: string[] = [];
        for (let i = 0; i < spans.length;) {
          const first = spans[i];
          const mine: ImpactInterval[] = [];
          for (; i < spans.length && spans[i].subscriber_id === first.subscriber_id; i++) {
            const s = spans[i];
            mine.push({ kind: s.kind, since: Number(s.since), until: s.until === null ? end : Math.min(Number(s.until), end) });
          }
          report.subscribers++;
          const fee = first.fee_minor ?? first.arpu_minor;
          const c: Claimant = {
            subscriberId: first.subscriber_id, tier: first.tier, service: first.service, ...(first.region !== null && { region: first.region }),
            ...(fee !== null && { feeMinor: Number(fee) }), ...(first.usage !== null && { usage: first.usage }),
          };
          const p = policyFor(policies, c);
          if (!p) {
            report.noPolicy++;
            continue;
          }
          const firstSince = mine.reduce((a, s) => Math.min(a, s.since), Infinity);
          const monthKey = monthOf(firstSince, p.timezone);
          const d = compensate(p, c, mine, facts, month.get(`${c.subscriberId}\u0000${p.id}\u0000${monthKey}`) ?? 0);
          if (d.eligible) report.eligible++;
          this.tally(owed, p.currency, c.tier, d);
          const prior = before.get(c.subscriberId) ?? [];
          const live = prior.filter((e) => e.state !== 'reversed');
          let recorded = live.reduce((a, e) => a + Number(e.amount_minor), 0);
          if (d.amountMinor === recorded) continue;
          const steps = [...d.steps];
          // Going down while nothing was applied (never handed over, or confirmed failed by the job):
          // withdraw rather than debit. Once one entry may have been applied, every change is a
          // correction (the job may have applied any of them).
          const unapplied = (e: EntryRow) => (e.state === 'computed' && e.handed_over_at === null && !this.inFlight.has(e.id)) || (e.state === 'failed' && !this.inFlight.has(e.id));
          if (d.amountMinor < recorded && live.every(unapplied)) {
            for (const e of live) {
              reverse.push(e.id);
              e.state = 'reversed';
            }
            recorded = 0;
          }
          const delta = d.amountMinor - recorded;
          if (delta === 0) continue;
          const kept = live.filter((e) => e.state !== 'reversed');
          const sameForm = kept.every((e) => e.form === d.form);
          const quantity = sameForm ? d.quantity - kept.reduce((a, e) => a + Number(e.quantity), 0) : quantityOf(p, formFor(p, c), delta, c, dayOf(firstSince, p.timezone));
          if (kept.length > 0) steps.push(`already recorded for this outage: ${money(recorded)}; this entry is the difference, ${money(delta)}`);
          const revision = prior.reduce((a, e) => Math.max(a, Number(e.revision)), -1) + 1;
          rows.push({
            id: idOf(c.subscriberId, revision), outageId, subscriberId: c.subscriberId, revision, kind: kept.length > 0 ? 'correction' : 'credit', policy: p.id, policyVersion: p.version,
            rule: d.rule, amountMinor: delta, currency: p.currency, form: d.form, quantity, unit: d.unit, durationMs: d.durationMs, impactFrom: d.from, impactTo: d.to,
            tier: c.tier, service: c.service, region: c.region, month: monthKey, day: isoDay(dayOf(at, p.timezone)), steps, seq: 0, computedAt: at, corrects: kept[0]?.id,
          });
          report.addedMinor[p.currency] = (report.addedMinor[p.currency] ?? 0) + delta;
        }
        if (mode === 'preview') return;
        for (let k = 0; k < reverse.length; k += 500) {
          const part = reverse.slice(k, k + 500);
          // Only what is still unapplied; if anything was handed over (or retried) since the read, roll the chunk back.
          const n = await repo.withdraw(part, `superseded before it was applied: the outage's compensation was recomputed at ${new Date(at).toISOString()}`);
          if (n !== part.length) throw new LedgerConflict(`${outageId}: ${part.length - n} of the entries to withdraw were handed over meanwhile; settle again`);
          report.reversed += n;
        }
        if (rows.length > 0) {
          let seq = (await repo.takeSequence(rows.length)) - rows.length;
          for (const r of rows) r.seq = ++seq;
        }
        await repo.add(rows);
        report.entries += rows.length;
      };
      if (mode === 'preview') await work(store.db);
      else await store.db.transaction(work);
      last = hi;
      // SQLite answers synchronously: let the API, alerts and collectors run between chunks.
      await new Promise((r) => setImmediate(r));
    }
    if (mode !== 'preview') {
      const runs = new LedgerRepository(store.db);
      await (mode === 'final' ? runs.recordFinal(outageId, o.closedAt ?? at, at) : runs.recordInterim(outageId, at));
    }
    report.owed = [...owed.values()].sort((a, b) => a.currency.localeCompare(b.currency) || a.tier.localeCompare(b.tier) || a.form.localeCompare(b.form));
    report.ms = Math.round(performance.now() - t0);
    return report;
  }

  private tally(owed: Map<string, SettleReport['owed'][number]>, currency: string, tier: string, d: Decision): void {
    if (!d.eligible) return;
    const k = `${currency}\u0000${tier}\u0000${d.form}`;
    const t = owed.get(k) ?? owed.set(k, { currency, tier, form: d.form, subscribers: 0, amountMinor: 0, quantity: 0 }).get(k)!;
    t.subscribers++;
    t.amountMinor += d.amountMinor;
    t.quantity += d.quantity;
  }
}
