import type { Store } from '../../src/store/store.ts';
import { compensate, policyFor } from '../compensation/compute.ts';
import { monthOf } from '../compensation/calendar.ts';
import { Ledger, type AnnouncedWindow } from '../compensation/ledger.ts';
import { LedgerRepository } from '../compensation/ledger-repository.ts';
import type { Claimant, EventFacts, ImpactInterval, Policy } from '../compensation/policy.ts';
import { ReportRepository } from './repository.ts';

/** Amount buckets (minor units, upper bounds inclusive) the distributions are counted in; the last is open. */
export const BUCKETS = [100, 200, 500, 1_000, 2_000, 5_000, 10_000] as const;
export const BUCKET_LABELS = ['≤1', '≤2', '≤5', '≤10', '≤20', '≤50', '≤100', '>100'];

/** One side of the comparison (what the ledger issued, or what the other policy would have). */
export interface Side {
  /** By currency: the net amount and the subscriber-outages with a credit. */
  byCurrency: { currency: string; amountMinor: number; eligible: number }[];
  /** By tier: subscriber-outages hit, credited, the amounts by currency and how they spread over the buckets. */
  byTier: { tier: string; subscribers: number; eligible: number; amountMinor: Record<string, number>; buckets: number[] }[];
  eligible: number;
}

export interface WhatIfResult {
  period: { from: string; to: string };
  policies: string[];
  /** Events re-settled: the period's outages, each with those merged into it. */
  outages: number;
  /** (outage, subscriber) pairs looked at; those no policy of the set is meant for. */
  subscribers: number;
  noPolicy: number;
  buckets: string[];
  issued: Side;
  whatIf: Side;
  /** What-if minus issued; subscriber-outages the other policy would pay more, less, the same. */
  difference: { byCurrency: { currency: string; amountMinor: number; eligible: number }[]; more: number; less: number; same: number };
  /** The outages whose totals differ most (what-if minus issued), for tracing. */
  largestChanges: { outageId: string; issuedMinor: number; whatIfMinor: number }[];
  ms: number;
}

export interface WhatIfOptions {
  /** Subscribers per read (bounded work between yields). */
  chunk?: number;
  /** Maintenance windows from config (the planned-work exclusion), as the ledger has them. */
  windows?: () => readonly AnnouncedWindow[];
  /** Called between chunks; the default lets the event loop run (`setImmediate`). */
  pause?: () => Promise<void>;
  /** The time open outages are counted up to. */
  asOf?: number;
}

const bucketOf = (minor: number) => {
  const i = BUCKETS.findIndex((b) => minor <= b);
  return i < 0 ? BUCKETS.length : i;
};

class Tally {
  private readonly currency = new Map<string, { amountMinor: number; eligible: number }>();
  private readonly tiers = new Map<string, Side['byTier'][number]>();

  add(tier: string, currency: string | undefined, amountMinor: number): void {
    const t = this.tiers.get(tier) ?? this.tiers.set(tier, { tier, subscribers: 0, eligible: 0, amountMinor: {}, buckets: new Array(BUCKET_LABELS.length).fill(0) }).get(tier)!;
    t.subscribers++;
    if (amountMinor <= 0 || currency === undefined) return;
    t.eligible++;
    t.amountMinor[currency] = (t.amountMinor[currency] ?? 0) + amountMinor;
    t.buckets[bucketOf(amountMinor)]++;
    const c = this.currency.get(currency) ?? this.currency.set(currency, { amountMinor: 0, eligible: 0 }).get(currency)!;
    c.amountMinor += amountMinor;
    c.eligible++;
  }

  side(): Side {
    const byCurrency = [...this.currency.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([currency, x]) => ({ currency, ...x }));
    return { byCurrency, byTier: [...this.tiers.values()].sort((a, b) => a.tier.localeCompare(b.tier)), eligible: byCurrency.reduce((a, c) => a + c.eligible, 0) };
  }
}

interface Event { id: string; members: string[]; facts: EventFacts; end: number; order: number }

/**
 * Settles the period's outages again under `policies` (a draft, a shipped policy, or the set in
 * force) without writing anything, and compares with what the ledger holds for them. Each event is
 * decided as the ledger decides it (`compensate`, the first policy meant for the subscriber, the
 * event's members and facts, impacts cut at the clear), in the order the ledger settled them, and
 * with the same monthly room: what other events outside the period credited (from the ledger) plus
 * what this run gave for the events before (kept per subscriber in memory). So under the policy in
 * force it gives exactly the ledger's amounts. Work is a chunk of subscribers at a time, with a
 * pause between chunks so that the daemon's own work goes on.
 */
export async function whatIf(store: Store, from: number, to: number, policies: readonly Policy[], o: WhatIfOptions = {}): Promise<WhatIfResult> {
  const t0 = performance.now();
  const chunk = o.chunk ?? 2_000;
  const pause = o.pause ?? (() => new Promise<void>((r) => setImmediate(r)));
  const asOf = o.asOf ?? Date.now();
  const ledger = new Ledger({ policies: () => policies, ...(o.windows && { windows: o.windows }) });
  const db = store.db;
  const reports = new ReportRepository(db);
  const events = await eventsOf(store, ledger, from, to, asOf, pause);
  const inPeriod = new Set(events.flatMap((e) => e.members));
  const monthly = policies.some((p) => p.caps.perMonth);
  // Simulated credits by policy and month, then subscriber (the row's own id string: no key built per subscriber), for the monthly cap of the events after.
  const given = new Map<string, Map<string, number>>();
  const issued = new Tally();
  const next = new Tally();
  const byOutage = new Map<string, { issuedMinor: number; whatIfMinor: number }>();
  let subscribers = 0;
  let noPolicy = 0;
  let more = 0;
  let less = 0;
  let same = 0;
  for (const e of events) {
    let last = '';
    const totals = byOutage.set(e.id, { issuedMinor: 0, whatIfMinor: 0 }).get(e.id)!;
    for (;;) {
      const repo = new LedgerRepository(db);
      const ids = await repo.hitAfter(e.members, last, chunk);
      if (ids.length === 0) break;
      const spans = await repo.spans(e.members, last, ids.at(-1)!);
      const held = await reports.held(ids);
      for (let i = 0; i < spans.length;) {
        const first = spans[i];
        const mine: ImpactInterval[] = [];
        for (; i < spans.length && spans[i].subscriber_id === first.subscriber_id; i++) {
          const s = spans[i];
          mine.push({ kind: s.kind, since: Number(s.since), until: s.until === null ? e.end : Math.min(Number(s.until), e.end) });
        }
        subscribers++;
        const fee = first.fee_minor ?? first.arpu_minor;
        const c: Claimant = {
          subscriberId: first.subscriber_id, tier: first.tier, service: first.service, ...(first.region !== null && { region: first.region }),
          ...(fee !== null && { feeMinor: Number(fee) }), ...(first.usage !== null && { usage: first.usage }),
        };
        // What the ledger holds for this event, and for events outside the period (the monthly room).
        let was = 0;
        let wasCurrency: string | undefined;
        const outside = new Map<string, number>();
        for (const h of held.get(c.subscriberId) ?? []) {
          if (e.members.includes(h.outage_id)) {
            was += Number(h.amount_minor);
            wasCurrency = h.currency;
          } else if (!inPeriod.has(h.outage_id)) {
            const k = `${h.policy}\u0000${h.month}`;
            outside.set(k, (outside.get(k) ?? 0) + Number(h.amount_minor));
          }
        }
        issued.add(c.tier, wasCurrency, was);
        totals.issuedMinor += was;
        const p = policyFor(policies, c);
        let now = 0;
        if (!p) {
          noPolicy++;
          next.add(c.tier, undefined, 0);
        } else {
          const month = monthOf(mine.reduce((a, s) => Math.min(a, s.since), Infinity), p.timezone);
          const key = `${p.id}\u0000${month}`;
          const room = monthly ? given.get(key) ?? given.set(key, new Map()).get(key)! : undefined;
          const before = room ? (outside.get(key) ?? 0) + (room.get(c.subscriberId) ?? 0) : 0;
          now = compensate(p, c, mine, e.facts, before).amountMinor;
          if (room && p.caps.perMonth && now !== 0) room.set(c.subscriberId, (room.get(c.subscriberId) ?? 0) + now);
          next.add(c.tier, p.currency, now);
        }
        totals.whatIfMinor += now;
        if (now > was) more++;
        else if (now < was) less++;
        else same++;
      }
      last = ids.at(-1)!;
      await pause();
    }
  }
  const a = issued.side();
  const b = next.side();
  const currencies = [...new Set([...a.byCurrency, ...b.byCurrency].map((c) => c.currency))].sort();
  const pick = (s: Side, c: string) => s.byCurrency.find((x) => x.currency === c) ?? { amountMinor: 0, eligible: 0 };
  return {
    period: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    policies: policies.map((p) => `${p.id}@${p.version}`), outages: events.length, subscribers, noPolicy, buckets: BUCKET_LABELS,
    issued: a, whatIf: b,
    difference: { byCurrency: currencies.map((c) => ({ currency: c, amountMinor: pick(b, c).amountMinor - pick(a, c).amountMinor, eligible: pick(b, c).eligible - pick(a, c).eligible })), more, less, same },
    largestChanges: [...byOutage.entries()].map(([outageId, t]) => ({ outageId, ...t })).filter((t) => t.issuedMinor !== t.whatIfMinor)
      .sort((x, y) => Math.abs(y.whatIfMinor - y.issuedMinor) - Math.abs(x.whatIfMinor - x.issuedMinor) || x.outageId.localeCompare(y.outageId)).slice(0, 20),
    ms: Math.round(performance.now() - t0),
  };
}

/** The period's events (outages that started in it and were not merged into another), in the order the ledger settled them. */
async function eventsOf(store: Store, ledger: Ledger, from: number, to: number, asOf: number, pause: () => Promise<void>): Promise<Event[]> {
  const rows = await new ReportRepository(store.db).periodEvents(from, to);
  const out: Event[] = [];
  for (const [i, r] of rows.entries()) {
    if (i % 100 === 99) await pause();
    const planned = Number(r.planned) === 1;
    const startedAt = Number(r.started_at);
    const end = r.cleared_at !== null ? Number(r.cleared_at) : r.closed_at !== null ? Number(r.closed_at) : asOf;
    out.push({
      id: r.id, members: await ledger.members(store.db, r.id), end,
      facts: { outageId: r.id, planned, forceMajeure: r.force_majeure !== null, ...(planned && { plannedNotice: await ledger.plannedNotice(store, r.root, startedAt) }) },
      order: Number(r.settled_at ?? r.closed_at ?? r.cleared_at ?? startedAt),
    });
  }
  return out.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}
