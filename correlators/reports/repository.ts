import { Worker } from 'node:worker_threads';
import type { Db } from '../../src/store/db.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import type { ReportFacts } from './report.ts';

const n = (v: unknown) => Number(v);
/** Times go into the SQL as integer literals (checked here): PostgreSQL cannot type a bare parameter inside CASE arithmetic. */
const int = (v: number) => {
  if (!Number.isSafeInteger(v)) throw new Error(`not a time: ${v}`);
  return String(v);
};

/**
 * Reads what a service report counts over [from, to), the same SQL on SQLite and PostgreSQL. The
 * heavy tables (subscriber impacts, credits) are aggregated in the database: the report holds a
 * row per outage and group, never one per subscriber or credit.
 */
export class ReportRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async facts(from: number, to: number, asOf: number): Promise<ReportFacts> {
    const end = Math.min(to, Math.max(from, asOf));
    const [F, T, E] = [int(from), int(to), int(end)];
    // The period's outages: those that started in it (what the recovery target, compensation and the what-if count).
    const started = `SELECT id FROM outages WHERE started_at >= ${F} AND started_at < ${T}`;
    const overlaps = `o.started_at < ${E} AND (o.cleared_at IS NULL OR o.cleared_at > ${F})`;
    const elements = await this.db.query<{ id: string; kind: string; site: string | null; region: string | null }>('SELECT id, kind, site, region FROM elements ORDER BY id');
    const downtime = await this.db.query<{ outage_id: string; element: string; since: number; until: number | null; planned: number }>(`
      SELECT o.id AS outage_id, o.root AS element, o.started_at AS since, o.cleared_at AS until, o.planned FROM outages o
        WHERE o.severity = 'outage' AND ${overlaps}
      UNION ALL
      SELECT o.id, i.element, i.since, COALESCE(i.until, o.cleared_at), o.planned FROM outage_impacts i JOIN outages o ON o.id = i.outage_id
        WHERE o.severity = 'outage' AND ${overlaps} AND i.since < ${E} AND (COALESCE(i.until, o.cleared_at) IS NULL OR COALESCE(i.until, o.cleared_at) > ${F})`);
    const outages = await this.db.query<{ id: string; root: string; severity: string; state: string; started_at: number; cleared_at: number | null; planned: number; force_majeure: string | null; merged_into: string | null; scope: string | null }>(
      `SELECT id, root, severity, state, started_at, cleared_at, planned, force_majeure, merged_into, scope FROM outages WHERE started_at >= ${F} AND started_at < ${T} ORDER BY started_at, id`);
    const clipEnd = `(CASE WHEN COALESCE(i.until, ${E}) < ${E} THEN COALESCE(i.until, ${E}) ELSE ${E} END)`;
    const clipStart = `(CASE WHEN i.since > ${F} THEN i.since ELSE ${F} END)`;
    const minutes = await this.db.query<{ outage_id: string; planned: number; tier: string; service: string; kind: string; subscribers: number; ms: number }>(`
      SELECT i.outage_id, o.planned, i.tier, i.service, i.kind, COUNT(DISTINCT i.subscriber_id) AS subscribers, SUM(${clipEnd} - ${clipStart}) AS ms
        FROM subscriber_impacts i JOIN outages o ON o.id = i.outage_id
        WHERE ${overlaps} AND i.since < ${E} AND (i.until IS NULL OR i.until > ${F})
        GROUP BY i.outage_id, o.planned, i.tier, i.service, i.kind`);
    const [affected] = await this.db.query<{ n: number }>(`SELECT COUNT(DISTINCT subscriber_id) AS n FROM subscriber_impacts WHERE outage_id IN (${started})`);
    const complaints = await this.db.query<{ id: string; grade: string; category: string; reported_at: number; respond_by: number; resolve_by: number; first_response_at: number | null; resolved_at: number | null; satisfied: number | null; outage_id: string | null }>(
      `SELECT id, grade, category, reported_at, respond_by, resolve_by, first_response_at, resolved_at, satisfied, outage_id FROM complaints WHERE reported_at >= ${F} AND reported_at < ${T} ORDER BY id`);
    const suspected = await this.db.query<{ id: string; element: string; raised_at: number; state: string; outage_id: string | null }>(
      `SELECT id, element, raised_at, state, outage_id FROM suspected_outages WHERE raised_at >= ${F} AND raised_at < ${T} ORDER BY id`);
    // Net per (outage, subscriber) first: a credit and its corrections are one amount; only what is still owed counts.
    const credits = await this.db.query<{ outage_id: string; policy: string; form: string; unit: string; tier: string; currency: string; subscribers: number; entries: number; amount: number; quantity: number }>(`
      SELECT outage_id, policy, form, unit, tier, currency, COUNT(*) AS subscribers, SUM(e) AS entries, SUM(a) AS amount, SUM(q) AS quantity FROM (
        SELECT outage_id, subscriber_id, MAX(policy || '@' || policy_version) AS policy, MAX(form) AS form, MAX(unit) AS unit, MAX(tier) AS tier, MAX(currency) AS currency,
               COUNT(*) AS e, SUM(amount_minor) AS a, SUM(quantity) AS q
          FROM credits WHERE state <> 'reversed' AND outage_id IN (${started}) GROUP BY outage_id, subscriber_id
      ) x WHERE a > 0 GROUP BY outage_id, policy, form, unit, tier, currency`);
    return {
      from, to, asOf,
      elements: elements.map((e) => ({ id: e.id, kind: e.kind, ...(e.site !== null && { site: e.site }), ...(e.region !== null && { region: e.region }) })),
      downtime: downtime.map((d) => ({ outageId: d.outage_id, element: d.element, since: n(d.since), ...(d.until !== null && { until: n(d.until) }), planned: n(d.planned) === 1 })),
      outages: outages.map((o) => ({
        id: o.id, root: o.root, severity: o.severity, state: o.state, startedAt: n(o.started_at), ...(o.cleared_at !== null && { clearedAt: n(o.cleared_at) }),
        planned: n(o.planned) === 1, forceMajeure: o.force_majeure !== null, ...(o.merged_into !== null && { mergedInto: o.merged_into }),
        ...(o.scope !== null && { subscribers: (JSON.parse(o.scope) as { subscribers: number }).subscribers }),
      })),
      minutes: minutes.map((m) => ({ outageId: m.outage_id, planned: n(m.planned) === 1, tier: m.tier, service: m.service, kind: m.kind, subscribers: n(m.subscribers), ms: n(m.ms) })),
      affectedSubscribers: n(affected?.n ?? 0),
      complaints: complaints.map((c) => ({
        id: c.id, grade: c.grade, category: c.category, reportedAt: n(c.reported_at), respondBy: n(c.respond_by), resolveBy: n(c.resolve_by),
        ...(c.first_response_at !== null && { firstResponseAt: n(c.first_response_at) }), ...(c.resolved_at !== null && { resolvedAt: n(c.resolved_at) }),
        ...(c.satisfied !== null && { satisfied: n(c.satisfied) === 1 }), ...(c.outage_id !== null && { outageId: c.outage_id }),
      })),
      suspected: suspected.map((s) => ({ id: s.id, element: s.element, raisedAt: n(s.raised_at), state: s.state, ...(s.outage_id !== null && { outageId: s.outage_id }) })),
      credits: credits.map((c) => ({ outageId: c.outage_id, policy: c.policy, form: c.form, unit: c.unit, tier: c.tier, currency: c.currency, subscribers: n(c.subscribers), entries: n(c.entries), amountMinor: n(c.amount), quantity: n(c.quantity) })),
    };
  }

  /** The period's events for a what-if: outages that started in it and were not merged into another, with when they were last settled. */
  periodEvents(from: number, to: number): Promise<EventRow[]> {
    return this.db.query<EventRow>(`
      SELECT o.id, o.root, o.started_at, o.cleared_at, o.closed_at, o.planned, o.force_majeure, r.settled_at FROM outages o LEFT JOIN compensation_runs r ON r.outage_id = o.id
        WHERE o.started_at >= $1 AND o.started_at < $2 AND o.merged_into IS NULL`, [from, to]);
  }

  /** The ledger's entries still owed (not withdrawn) for these subscribers, for any outage, by subscriber. */
  async held(ids: readonly string[]): Promise<Map<string, HeldRow[]>> {
    const out = new Map<string, HeldRow[]>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      const rows = await this.db.query<HeldRow & { subscriber_id: string }>(
        `SELECT subscriber_id, outage_id, policy, month, amount_minor, currency FROM credits WHERE subscriber_id IN (${part.map((_, i) => `$${i + 1}`).join(', ')}) AND state <> 'reversed'`, part);
      for (const r of rows) (out.get(r.subscriber_id) ?? out.set(r.subscriber_id, []).get(r.subscriber_id)!).push(r);
    }
    return out;
  }
}

export interface EventRow { id: string; root: string; started_at: number; cleared_at: number | null; closed_at: number | null; planned: number; force_majeure: string | null; settled_at: number | null }
export interface HeldRow { outage_id: string; policy: string; month: string; amount_minor: number; currency: string }

/**
 * A report's facts. On a SQLite file they are read in a worker thread over a connection of its own
 * (`facts-worker.ts`): the aggregates of a month take seconds, and node:sqlite would hold the
 * daemon's event loop meanwhile. On PostgreSQL (asynchronous already) they are read here.
 */
export function readFacts(db: Db, from: number, to: number, asOf: number): Promise<ReportFacts> {
  if (!(db instanceof SqliteDb) || db.file === ':memory:') return new ReportRepository(db).facts(from, to, asOf);
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./facts-worker.ts', import.meta.url), { workerData: { file: db.file, from, to, asOf } });
    w.once('message', (m: { facts?: ReportFacts; error?: string }) => (m.facts ? resolve(m.facts) : reject(new Error(`reading the report: ${m.error}`))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the report's reader stopped (exit ${code})`)));
  });
}
