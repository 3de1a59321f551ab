import type { Db } from '../../src/store/db.ts';
import type { Outage, OutageEvent, MaintenanceWindow, Scope } from './outage.ts';

/** An outage as stored: with the subscribers it hits, counted (once its scope was computed). */
export type StoredOutage = Outage & { scope?: Scope; forceMajeure?: ForceMajeure };

/** The NOC's finding that an outage was beyond the operator's control (compensation policies may exclude it). */
export interface ForceMajeure { by: string; at: number; reason: string }

export interface OutageFilter {
  state?: Outage['state'] | 'active';
  root?: string;
  /** The root or one of the impacted elements. */
  element?: string;
  /** The root's region (from the stored topology). */
  region?: string;
  /** Newest first, after this position (from the last page): started_at and id. */
  before?: { startedAt: number; id: string };
  /** Outages that overlap [from, to). */
  from?: number;
  to?: number;
  limit?: number;
}

export interface Availability {
  /** Share of the period the element (or site) was not down, 0..1. */
  availability: number;
  downtimeMs: number;
  periodMs: number;
  outages: number;
}

interface OutageRow {
  id: string; root: string; severity: string; state: string; started_at: number; cleared_at: number | null; closed_at: number | null;
  planned: number; flapping: number; reopened: number; reason: string; inferred: number; merged_into: string | null; scope: string | null; force_majeure: string | null; evidence: string | null;
}

/**
 * Every statement of the outage noun: outages with their impacted elements and event history,
 * availability computed from them, and maintenance windows. The same SQL on SQLite and PostgreSQL.
 */
export class OutageRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /**
   * Records an outage event: the outage as it now is, its impacted elements (those that left get
   * their end time), and the event in its history, all in one transaction. Idempotent: the same
   * event recorded twice (a retry, a replay after a crash) changes nothing the second time.
   */
  async recordOutageEvent(e: OutageEvent): Promise<void> {
    const o = e.outage;
    await this.db.transaction(async (tx) => {
      const seen = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM outage_events WHERE outage_id = $1 AND type = $2 AND at = $3', [o.id, e.type, e.at]);
      if (Number(seen[0].n) > 0) return;
      await tx.run(`INSERT INTO outages (id, root, severity, state, started_at, cleared_at, closed_at, planned, flapping, reopened, reason, merged_into, updated_at, inferred, evidence)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, state = excluded.state, cleared_at = excluded.cleared_at,
          closed_at = excluded.closed_at, planned = excluded.planned, flapping = excluded.flapping, reopened = excluded.reopened,
          reason = excluded.reason, merged_into = excluded.merged_into, updated_at = excluded.updated_at, inferred = excluded.inferred,
          evidence = COALESCE(outages.evidence, excluded.evidence)`, // the first evidence is kept as it was
      [o.id, o.root, o.severity, o.state, o.startedAt, o.clearedAt ?? null, o.closedAt ?? null, o.planned ? 1 : 0, o.flapping ? 1 : 0,
        o.reopened, o.reason, o.mergedInto ?? null, e.at, o.inferred ? 1 : 0, o.evidence ? JSON.stringify(o.evidence) : null]);
      const current = new Set(o.impacted.map((i) => i.element));
      const stored = await tx.query<{ element: string; until: number | null }>('SELECT element, until FROM outage_impacts WHERE outage_id = $1', [o.id]);
      const open = new Set(stored.filter((r) => r.until === null).map((r) => r.element));
      const end = o.state === 'open' ? e.at : o.clearedAt ?? e.at;
      for (const el of open) if (!current.has(el)) await tx.run('UPDATE outage_impacts SET until = $1 WHERE outage_id = $2 AND element = $3', [end, o.id, el]);
      for (const i of o.impacted) {
        await tx.run(`INSERT INTO outage_impacts (outage_id, element, since, until) VALUES ($1, $2, $3, NULL)
          ON CONFLICT (outage_id, element) DO UPDATE SET until = NULL`, [o.id, i.element, i.since]);
      }
      const seq = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM outage_events WHERE outage_id = $1', [o.id]);
      await tx.run('INSERT INTO outage_events (outage_id, seq, type, at) VALUES ($1, $2, $3, $4)', [o.id, Number(seq[0].n) + 1, e.type, e.at]);
    });
  }
  /** An outage's events in order (opened, updated, cleared, ...), with when each happened. */
  async outageHistory(id: string): Promise<{ type: string; at: number }[]> {
    const rows = await this.db.query<{ type: string; at: number }>('SELECT type, at FROM outage_events WHERE outage_id = $1 ORDER BY seq', [id]);
    return rows.map((r) => ({ type: r.type, at: Number(r.at) }));
  }
  /** Open and cleared outages with their current impacted elements: what a restart restores. */
  activeOutages(): Promise<StoredOutage[]> {
    return this.outages({ state: 'active' });
  }
  /** One outage; `impacted: false` leaves its impacted elements out (a cheaper read). */
  async outage(id: string, o: { impacted?: boolean } = {}): Promise<StoredOutage | undefined> {
    const rows = await this.db.query<OutageRow>('SELECT * FROM outages WHERE id = $1', [id]);
    return rows[0] ? (await this.withImpacts(rows, o.impacted ?? true))[0] : undefined;
  }
  async outages(f: OutageFilter = {}): Promise<StoredOutage[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (f.state === 'active') where.push(`state IN ('open', 'cleared')`);
    else if (f.state) where.push(`state = ${p(f.state)}`);
    if (f.root) where.push(`root = ${p(f.root)}`);
    if (f.element) {
      const e = p(f.element);
      where.push(`(root = ${e} OR id IN (SELECT outage_id FROM outage_impacts WHERE element = ${e}))`);
    }
    if (f.region) where.push(`root IN (SELECT id FROM elements WHERE region = ${p(f.region)})`);
    if (f.before) where.push(`(started_at < ${p(f.before.startedAt)} OR (started_at = ${p(f.before.startedAt)} AND id < ${p(f.before.id)}))`);
    if (f.to !== undefined) where.push(`started_at < ${p(f.to)}`);
    if (f.from !== undefined) where.push(`(cleared_at IS NULL OR cleared_at > ${p(f.from)})`);
    const rows = await this.db.query<OutageRow>(
      `SELECT * FROM outages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ${Math.max(1, Math.min(f.limit ?? 1000, 10_000))}`, params);
    return this.withImpacts(rows);
  }
  private async withImpacts(rows: OutageRow[], impacted = true): Promise<StoredOutage[]> {
    const out: StoredOutage[] = [];
    for (const r of rows) {
      const imp = !impacted ? [] : await this.db.query<{ element: string; since: number }>('SELECT element, since FROM outage_impacts WHERE outage_id = $1 AND until IS NULL ORDER BY element', [r.id]);
      out.push({
        id: r.id, root: r.root, severity: r.severity as Outage['severity'], state: r.state as Outage['state'],
        startedAt: Number(r.started_at), ...(r.cleared_at !== null && { clearedAt: Number(r.cleared_at) }), ...(r.closed_at !== null && { closedAt: Number(r.closed_at) }),
        impacted: imp.map((i) => ({ element: i.element, since: Number(i.since) })),
        planned: Number(r.planned) === 1, flapping: Number(r.flapping) === 1, reopened: Number(r.reopened), reason: r.reason,
        ...(r.evidence != null && { evidence: JSON.parse(r.evidence) as Outage['evidence'] }),
        ...(Number(r.inferred) === 1 && { inferred: true as const }),
        ...(r.merged_into !== null && { mergedInto: r.merged_into }),
        ...(r.scope !== null && { scope: JSON.parse(r.scope) as Scope }),
        ...(r.force_majeure != null && { forceMajeure: JSON.parse(r.force_majeure) as ForceMajeure }),
      });
    }
    return out;
  }
  /** Records (or with `undefined` withdraws) the force majeure finding on an outage; false when there is no such outage. */
  async setForceMajeure(id: string, f: ForceMajeure | undefined): Promise<boolean> {
    return (await this.db.run('UPDATE outages SET force_majeure = $1 WHERE id = $2', [f ? JSON.stringify(f) : null, id])) > 0;
  }
  /** When each of these outages last opened or reopened (a restart needs it for their impacts). */
  async openedAt(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of ids) {
      const r = await this.db.query<{ at: number | null }>(`SELECT MAX(at) AS at FROM outage_events WHERE outage_id = $1 AND type IN ('opened', 'reopened')`, [id]);
      if (r[0]?.at != null) out.set(id, Number(r[0].at));
    }
    return out;
  }
  /**
   * Availability of an element over [from, to): the time it was the root of an unplanned outage
   * (not a degradation) or impacted by one, merged where outages overlap. Planned work is excluded,
   * as operators' availability targets (99.9 %) usually count it apart.
   */
  async availability(element: string, from: number, to: number, now = Date.now()): Promise<Availability> {
    const rows = await this.db.query<{ since: number; until: number | null; cleared_at: number | null }>(`
      SELECT o.started_at AS since, o.cleared_at AS until, o.cleared_at FROM outages o
        WHERE o.root = $1 AND o.severity = 'outage' AND o.planned = 0 AND o.started_at < $3 AND (o.cleared_at IS NULL OR o.cleared_at > $2)
      UNION ALL
      SELECT i.since, i.until, o.cleared_at FROM outage_impacts i JOIN outages o ON o.id = i.outage_id
        WHERE i.element = $1 AND o.severity = 'outage' AND o.planned = 0 AND i.since < $3 AND (COALESCE(i.until, o.cleared_at) IS NULL OR COALESCE(i.until, o.cleared_at) > $2)`,
    [element, from, to]);
    const spans = rows.map((r) => [Math.max(from, Number(r.since)), Math.min(to, now, Number(r.until ?? r.cleared_at ?? Math.min(to, now)))] as [number, number])
      .filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
    let down = 0;
    let cur: [number, number] | undefined;
    for (const s of spans) {
      if (cur && s[0] <= cur[1]) cur[1] = Math.max(cur[1], s[1]);
      else {
        if (cur) down += cur[1] - cur[0];
        cur = [...s];
      }
    }
    if (cur) down += cur[1] - cur[0];
    const period = Math.max(1, Math.min(to, now) - from);
    return { availability: 1 - down / period, downtimeMs: down, periodMs: period, outages: rows.length };
  }
  /**
   * Availability of a site over [from, to): the mean of its elements' availability (each element
   * counts alike; a site with one of three cells down for an hour lost a third of that hour).
   */
  async siteAvailability(site: string, from: number, to: number, now = Date.now()): Promise<Availability & { elements: number }> {
    const ids = (await this.db.query<{ id: string }>('SELECT id FROM elements WHERE site = $1 ORDER BY id', [site])).map((r) => r.id);
    if (ids.length === 0) return { availability: 1, downtimeMs: 0, periodMs: Math.max(1, Math.min(to, now) - from), outages: 0, elements: 0 };
    const each = await Promise.all(ids.map((id) => this.availability(id, from, to, now)));
    const downtime = each.reduce((a, x) => a + x.downtimeMs, 0) / ids.length;
    return { availability: each.reduce((a, x) => a + x.availability, 0) / ids.length, downtimeMs: downtime, periodMs: each[0].periodMs, outages: each.reduce((a, x) => a + x.outages, 0), elements: ids.length };
  }
  /** Saves (or replaces) a maintenance window; returns false when it replaced one. */
  /**
   * Creates or changes a maintenance window. Its announcement time (what compensation counts
   * notice from) is when it was created, and becomes `at` again whenever a change makes it cover
   * more (earlier start, later end, more elements or sites): widening is never backdated.
   */
  async saveMaintenance(w: MaintenanceWindow, by: string, at = Date.now()): Promise<boolean> {
    return this.db.transaction(async (db) => {
      const [old] = await db.query<{ elements: string; sites: string; start_at: number; end_at: number; created_at: number }>('SELECT elements, sites, start_at, end_at, created_at FROM maintenance WHERE id = $1', [w.id]);
      const wider = old !== undefined && (w.start < Number(old.start_at) || w.end > Number(old.end_at)
        || (w.elements ?? []).some((e) => !(JSON.parse(old.elements) as string[]).includes(e)) || (w.sites ?? []).some((e) => !(JSON.parse(old.sites) as string[]).includes(e)));
      const announced = old === undefined || wider ? at : Number(old.created_at);
      await db.run(`INSERT INTO maintenance (id, elements, sites, start_at, end_at, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (id) DO UPDATE SET elements = excluded.elements, sites = excluded.sites, start_at = excluded.start_at, end_at = excluded.end_at, reason = excluded.reason, created_at = excluded.created_at`,
      [w.id, JSON.stringify(w.elements ?? []), JSON.stringify(w.sites ?? []), w.start, w.end, w.reason ?? null, by, announced]);
      return old === undefined;
    });
  }
  async deleteMaintenance(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM maintenance WHERE id = $1', [id])) > 0;
  }
  async maintenance(): Promise<(MaintenanceWindow & { createdBy: string })[]> {
    const rows = await this.db.query<{ id: string; elements: string; sites: string; start_at: number; end_at: number; reason: string | null; created_by: string }>('SELECT * FROM maintenance ORDER BY start_at, id');
    return rows.map((r) => ({ id: r.id, elements: JSON.parse(r.elements), sites: JSON.parse(r.sites), start: Number(r.start_at), end: Number(r.end_at), ...(r.reason !== null && { reason: r.reason }), createdBy: r.created_by }));
  }
}

/** The outage repository over a store's database. */
export const outagesOf = (store: { db: Db }) => new OutageRepository(store.db);
