/**
 * The service report: what the operator's guidelines ask to be measured over a period, computed
 * from facts read out of the store (`ReportRepository.facts`). Pure: the same facts give the same
 * report. Every line carries `trace`, the API ids of what it counts (outages, complaints, suspected
 * outages) and where its credits are listed, so any figure can be checked by hand.
 */

export interface Targets {
  /** Network availability, a share (0.999). */
  availability: number;
  /** Fault recovery, ms (48 h). */
  recoveryMs: number;
}

export const DEFAULT_TARGETS: Targets = { availability: 0.999, recoveryMs: 48 * 3_600_000 };

/** What the report is computed from; every time in ms. */
export interface ReportFacts {
  from: number;
  to: number;
  /** When the facts were read: open spans count up to min(to, asOf). */
  asOf: number;
  elements: { id: string; kind: string; site?: string; region?: string }[];
  /** Each element's down spans: the root of an outage (severity outage) and the elements it impacted. */
  downtime: { outageId: string; element: string; since: number; until?: number; planned: boolean }[];
  /** Outages that started in the period (merged ones included, with `mergedInto`). */
  outages: { id: string; root: string; severity: string; state: string; startedAt: number; clearedAt?: number; planned: boolean; forceMajeure: boolean; mergedInto?: string; subscribers?: number }[];
  /** Subscriber time lost inside the period, per outage, tier, service and impact kind. */
  minutes: { outageId: string; planned: boolean; tier: string; service: string; kind: string; subscribers: number; ms: number }[];
  /** Distinct subscribers the period's outages hit. */
  affectedSubscribers: number;
  complaints: { id: string; grade: string; category: string; reportedAt: number; respondBy: number; resolveBy: number; firstResponseAt?: number; resolvedAt?: number; satisfied?: boolean; outageId?: string }[];
  suspected: { id: string; element: string; raisedAt: number; state: string; outageId?: string }[];
  /** Net credits (entries not withdrawn) of the period's outages, per outage, policy, form, tier and currency; subscribers with a net credit. */
  credits: { outageId: string; policy: string; form: string; unit: string; tier: string; currency: string; subscribers: number; entries: number; amountMinor: number; quantity: number }[];
}

export interface Trace { outages?: string[]; complaints?: string[]; suspected?: string[]; credits?: string[]; more?: number }

export interface AvailabilityLine { key: string; elements: number; availability: number; availabilityWithPlanned: number; downtimeMs: number; plannedMs: number; meetsTarget: boolean; trace: Trace }
export interface OutageLine { key: string; outages: number; planned: number; recovered: number; open: number; mttrMs: number | null; withinTarget: number; missedTarget: number; withinTargetShare: number | null; trace: Trace }
export interface MinutesLine { key: string; subscribers: number; noServiceMinutes: number; degradedMinutes: number; trace: Trace }
export interface ComplaintLine {
  key: string; complaints: number; matched: number; answered: number; answeredInTime: number; responseDue: number; answeredInTimeShare: number | null;
  resolved: number; resolvedInTime: number; resolutionDue: number; resolvedInTimeShare: number | null; satisfactionAnswers: number; satisfied: number; satisfiedShare: number | null; trace: Trace;
}
export interface CreditLine { key: string; policy: string; form: string; tier: string; currency: string; unit: string; subscribers: number; entries: number; amountMinor: number; quantity: number; trace: Trace }

export interface ServiceReport {
  period: { from: string; to: string; asOf: string };
  targets: { availabilityPercent: number; recoveryHours: number };
  availability: { network: AvailabilityLine; byRegion: AvailabilityLine[]; byKind: AvailabilityLine[]; bySite: AvailabilityLine[] };
  outages: {
    total: OutageLine; byRegion: OutageLine[]; byKind: OutageLine[]; bySite: OutageLine[];
    worst: { id: string; root: string; region?: string; kind?: string; site?: string; state: string; startedAt: string; durationMs: number; withinTarget: boolean; subscribers?: number }[];
  };
  subscriberMinutes: { total: MinutesLine; byTier: MinutesLine[]; byService: MinutesLine[]; planned: MinutesLine };
  complaints: { total: ComplaintLine; byGrade: ComplaintLine[]; byCategory: ComplaintLine[] };
  suspectedOutages: { raised: number; confirmed: number; dismissed: number; expired: number; merged: number; open: number; trace: Trace; confirmedTrace: Trace };
  compensation: {
    lines: CreditLine[];
    byCurrency: { currency: string; amountMinor: number; creditedSubscribers: number; affectedSubscribers: number; costPerAffectedMinor: number; trace: Trace }[];
    affectedSubscribers: number;
  };
}

/** Lists at most this many ids per line; `more` counts the rest. */
export const TRACE_LIMIT = 2_000;

const iso = (ms: number) => new Date(ms).toISOString();
const share = (n: number, d: number) => (d > 0 ? n / d : null);
const sorted = <T extends { key: string }>(m: Map<string, T>) => [...m.values()].sort((a, b) => a.key.localeCompare(b.key));

/** A trace of these ids: unique, sorted, at most TRACE_LIMIT of each kind. */
function trace(ids: Partial<Record<'outages' | 'complaints' | 'suspected' | 'credits', Iterable<string>>>): Trace {
  const t: Trace = {};
  let more = 0;
  for (const [k, v] of Object.entries(ids) as [keyof typeof ids, Iterable<string>][]) {
    const all = [...new Set(v)].sort();
    more += Math.max(0, all.length - TRACE_LIMIT);
    t[k] = all.slice(0, TRACE_LIMIT);
  }
  if (more > 0) t.more = more;
  return t;
}

/** Total length of the union of spans. */
function unionMs(spans: [number, number][]): number {
  spans.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const s of spans) {
    if (cur && s[0] <= cur[1]) cur[1] = Math.max(cur[1], s[1]);
    else {
      if (cur) total += cur[1] - cur[0];
      cur = [s[0], s[1]];
    }
  }
  return cur ? total + cur[1] - cur[0] : total;
}

type Dim = 'region' | 'kind' | 'site';
const DIMS: Dim[] = ['region', 'kind', 'site'];
const keyOf = (e: { region?: string; kind?: string; site?: string } | undefined, d: Dim) => e?.[d] ?? '(none)';

export function buildReport(f: ReportFacts, targets: Targets = DEFAULT_TARGETS): ServiceReport {
  const end = Math.min(f.to, Math.max(f.from, f.asOf));
  const periodMs = Math.max(1, end - f.from);
  const elements = new Map(f.elements.map((e) => [e.id, e]));

  // Availability: per element, the union of unplanned down spans, and planned work beyond it.
  const perElement = new Map<string, { unplanned: [number, number][]; all: [number, number][]; outages: Set<string> }>();
  for (const s of f.downtime) {
    const a = Math.max(f.from, s.since);
    const b = Math.min(end, s.until ?? end);
    if (b <= a) continue;
    const x = perElement.get(s.element) ?? perElement.set(s.element, { unplanned: [], all: [], outages: new Set() }).get(s.element)!;
    x.all.push([a, b]);
    if (!s.planned) x.unplanned.push([a, b]);
    x.outages.add(s.outageId);
  }
  const down = new Map<string, { down: number; planned: number; outages: Set<string> }>();
  for (const [id, x] of perElement) {
    const d = unionMs(x.unplanned);
    down.set(id, { down: d, planned: unionMs(x.all) - d, outages: x.outages });
  }
  const availabilityLine = (key: string, ids: string[]): AvailabilityLine => {
    let d = 0;
    let p = 0;
    const outages: string[] = [];
    for (const id of ids) {
      const x = down.get(id);
      if (!x) continue;
      d += x.down;
      p += x.planned;
      outages.push(...x.outages);
    }
    const n = Math.max(1, ids.length);
    const availability = 1 - d / (n * periodMs);
    return { key, elements: ids.length, availability, availabilityWithPlanned: 1 - (d + p) / (n * periodMs), downtimeMs: d, plannedMs: p, meetsTarget: availability >= targets.availability, trace: trace({ outages }) };
  };
  const groups = (d: Dim) => {
    const m = new Map<string, string[]>();
    for (const e of f.elements) (m.get(keyOf(e, d)) ?? m.set(keyOf(e, d), []).get(keyOf(e, d))!).push(e.id);
    return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, ids]) => availabilityLine(k, ids));
  };

  // Outages that started in the period; one merged into another is counted with it.
  const own = f.outages.filter((o) => o.mergedInto === undefined);
  const durationOf = (o: ReportFacts['outages'][number]) => (o.clearedAt ?? Math.max(o.startedAt, f.asOf)) - o.startedAt;
  const outageLine = (key: string, os: typeof own): OutageLine => {
    const unplanned = os.filter((o) => !o.planned);
    const recovered = unplanned.filter((o) => o.clearedAt !== undefined);
    const within = recovered.filter((o) => durationOf(o) <= targets.recoveryMs).length;
    const missed = unplanned.filter((o) => durationOf(o) > targets.recoveryMs).length;
    return {
      key, outages: unplanned.length, planned: os.length - unplanned.length, recovered: recovered.length, open: unplanned.length - recovered.length,
      mttrMs: recovered.length ? Math.round(recovered.reduce((a, o) => a + durationOf(o), 0) / recovered.length) : null,
      withinTarget: within, missedTarget: missed, withinTargetShare: share(within, within + missed), trace: trace({ outages: os.map((o) => o.id) }),
    };
  };
  const outageGroups = (d: Dim) => {
    const m = new Map<string, typeof own>();
    for (const o of own) {
      const k = keyOf(elements.get(o.root), d);
      (m.get(k) ?? m.set(k, []).get(k)!).push(o);
    }
    return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, os]) => outageLine(k, os));
  };
  const worst = own.filter((o) => !o.planned).sort((a, b) => durationOf(b) - durationOf(a) || a.id.localeCompare(b.id)).slice(0, 10).map((o) => {
    const e = elements.get(o.root);
    return {
      id: o.id, root: o.root, ...(e?.region !== undefined && { region: e.region }), ...(e?.kind !== undefined && { kind: e.kind }), ...(e?.site !== undefined && { site: e.site }),
      state: o.state, startedAt: iso(o.startedAt), durationMs: durationOf(o), withinTarget: durationOf(o) <= targets.recoveryMs, ...(o.subscribers !== undefined && { subscribers: o.subscribers }),
    };
  });

  // Subscriber minutes: per outage, tier, service and kind (unplanned; planned work apart).
  const minutesLine = (key: string, rows: ReportFacts['minutes']): MinutesLine => ({
    key, subscribers: rows.reduce((a, r) => a + r.subscribers, 0),
    noServiceMinutes: Math.round(rows.filter((r) => r.kind === 'no_service').reduce((a, r) => a + r.ms, 0) / 60_000),
    degradedMinutes: Math.round(rows.filter((r) => r.kind !== 'no_service').reduce((a, r) => a + r.ms, 0) / 60_000),
    trace: trace({ outages: rows.map((r) => r.outageId) }),
  });
  const unplannedMinutes = f.minutes.filter((r) => !r.planned);
  const minutesBy = (k: 'tier' | 'service') => {
    const m = new Map<string, ReportFacts['minutes']>();
    for (const r of unplannedMinutes) (m.get(r[k]) ?? m.set(r[k], []).get(r[k])!).push(r);
    return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([key, rows]) => minutesLine(key, rows));
  };

  // Complaints reported in the period; a deadline counts once it passed or was met.
  const complaintLine = (key: string, cs: ReportFacts['complaints']): ComplaintLine => {
    const answered = cs.filter((c) => c.firstResponseAt !== undefined);
    const answeredInTime = answered.filter((c) => c.firstResponseAt! <= c.respondBy).length;
    const responseDue = cs.filter((c) => c.firstResponseAt !== undefined || c.respondBy <= f.asOf).length;
    const resolved = cs.filter((c) => c.resolvedAt !== undefined);
    const resolvedInTime = resolved.filter((c) => c.resolvedAt! <= c.resolveBy).length;
    const resolutionDue = cs.filter((c) => c.resolvedAt !== undefined || c.resolveBy <= f.asOf).length;
    const asked = cs.filter((c) => c.satisfied !== undefined);
    const satisfied = asked.filter((c) => c.satisfied).length;
    return {
      key, complaints: cs.length, matched: cs.filter((c) => c.outageId !== undefined).length,
      answered: answered.length, answeredInTime, responseDue, answeredInTimeShare: share(answeredInTime, responseDue),
      resolved: resolved.length, resolvedInTime, resolutionDue, resolvedInTimeShare: share(resolvedInTime, resolutionDue),
      satisfactionAnswers: asked.length, satisfied, satisfiedShare: share(satisfied, asked.length),
      trace: trace({ complaints: cs.map((c) => c.id), outages: cs.flatMap((c) => (c.outageId ? [c.outageId] : [])) }),
    };
  };
  const complaintsBy = (k: 'grade' | 'category') => {
    const m = new Map<string, ReportFacts['complaints']>();
    for (const c of f.complaints) (m.get(c[k]) ?? m.set(c[k], []).get(c[k])!).push(c);
    return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([key, cs]) => complaintLine(key, cs));
  };

  const state = (s: string) => f.suspected.filter((x) => x.state === s);
  const confirmed = state('confirmed');

  // Compensation: net credits by policy, form, tier and currency.
  const lines = new Map<string, CreditLine>();
  const outagesOfLine = new Map<string, string[]>();
  for (const c of f.credits) {
    const key = `${c.policy} ${c.form} ${c.tier} ${c.currency}`;
    const l = lines.get(key) ?? lines.set(key, { key, policy: c.policy, form: c.form, tier: c.tier, currency: c.currency, unit: c.unit, subscribers: 0, entries: 0, amountMinor: 0, quantity: 0, trace: {} }).get(key)!;
    l.subscribers += c.subscribers;
    l.entries += c.entries;
    l.amountMinor += c.amountMinor;
    l.quantity += c.quantity;
    (outagesOfLine.get(key) ?? outagesOfLine.set(key, []).get(key)!).push(c.outageId);
  }
  for (const [key, ids] of outagesOfLine) lines.get(key)!.trace = creditTrace(ids);
  const currencies = new Map<string, { amountMinor: number; subscribers: number; outages: string[] }>();
  for (const c of f.credits) {
    const x = currencies.get(c.currency) ?? currencies.set(c.currency, { amountMinor: 0, subscribers: 0, outages: [] }).get(c.currency)!;
    x.amountMinor += c.amountMinor;
    x.subscribers += c.subscribers;
    x.outages.push(c.outageId);
  }

  const dimsOf = <T>(fn: (d: Dim) => T) => Object.fromEntries(DIMS.map((d) => [`by${d[0].toUpperCase()}${d.slice(1)}`, fn(d)])) as { byRegion: T; byKind: T; bySite: T };
  return {
    period: { from: iso(f.from), to: iso(f.to), asOf: iso(f.asOf) },
    targets: { availabilityPercent: targets.availability * 100, recoveryHours: targets.recoveryMs / 3_600_000 },
    availability: { network: availabilityLine('network', f.elements.map((e) => e.id)), ...dimsOf(groups) },
    outages: { total: outageLine('all', own), ...dimsOf(outageGroups), worst },
    subscriberMinutes: { total: minutesLine('all', unplannedMinutes), byTier: minutesBy('tier'), byService: minutesBy('service'), planned: minutesLine('planned work', f.minutes.filter((r) => r.planned)) },
    complaints: { total: complaintLine('all', f.complaints), byGrade: complaintsBy('grade'), byCategory: complaintsBy('category') },
    suspectedOutages: {
      raised: f.suspected.length, confirmed: confirmed.length, dismissed: state('dismissed').length, expired: state('expired').length, merged: state('merged').length, open: state('suspected').length,
      trace: trace({ suspected: f.suspected.map((s) => s.id) }), confirmedTrace: trace({ suspected: confirmed.map((s) => s.id), outages: confirmed.flatMap((s) => (s.outageId ? [s.outageId] : [])) }),
    },
    compensation: {
      lines: sorted(lines),
      byCurrency: [...currencies.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([currency, x]) => ({
        currency, amountMinor: x.amountMinor, creditedSubscribers: x.subscribers, affectedSubscribers: f.affectedSubscribers,
        costPerAffectedMinor: f.affectedSubscribers > 0 ? Math.round(x.amountMinor / f.affectedSubscribers) : 0, trace: creditTrace(x.outages),
      })),
      affectedSubscribers: f.affectedSubscribers,
    },
  };
}

/** Credits are listed per outage by the API: the line names its outages and each one's credits query. */
function creditTrace(outageIds: string[]): Trace {
  const t = trace({ outages: outageIds });
  return { ...t, credits: (t.outages ?? []).map((id) => `/v1/credits?outage=${encodeURIComponent(id)}`) };
}
