import type { Db } from '../../src/store/db.ts';
import { GroupCommit } from '../../src/store/group.ts';
import type { ImpactKind } from '../impact/impact.ts';
import type { Complaint, Grade } from './complaint.ts';
import type { Suspicion } from './suspect.ts';

/** An outage found by complaints: suspected until monitoring confirms it (or someone dismisses it). */
export interface SuspectedOutage extends Suspicion {
  id: string;
  state: 'suspected' | 'confirmed' | 'dismissed' | 'expired' | 'merged';
  outageId?: string;
  /** Taken into a suspicion above it (state `merged`): its id. */
  mergedInto?: string;
}

export type ComplaintStatus = 'accepted' | 'matched' | 'network_restored' | 'resolved';

/** A complaint as stored: what was sent, the customer's value and history, its grade and match. */
export interface StoredComplaint extends Complaint {
  receivedAt: number;
  tier?: string;
  arpuMinor?: number;
  plan?: string;
  previous30d: number;
  escalations: number;
  grade: Grade;
  gradeReasons: string[];
  respondBy: number;
  resolveBy: number;
  status: ComplaintStatus;
  match?: { outageId: string; kind: ImpactKind; confidence: number };
  /** Why it matched, or why nothing did: what an agent reads out. */
  reasons: string[];
  matchedAt?: number;
  restoredAt?: number;
  firstResponseAt?: number;
  resolvedAt?: number;
  resolution?: string;
  satisfied?: boolean;
}

interface Row {
  id: string; subscriber_id: string; channel: string; category: string; text: string | null; reported_at: number; received_at: number;
  cell: string | null; lat: number | null; lon: number | null; tier: string | null; arpu_minor: number | null; plan: string | null;
  previous_30d: number; escalations: number; grade: string; grade_reasons: string; respond_by: number; resolve_by: number;
  status: string; outage_id: string | null; impact_kind: string | null; confidence: number | null; match_reasons: string;
  matched_at: number | null; restored_at: number | null;
  first_response_at: number | null; resolved_at: number | null; resolution: string | null; satisfied: number | null; alerted: string;
}

const fromRow = (r: Row): StoredComplaint => ({
  id: r.id, subscriberId: r.subscriber_id, channel: r.channel as Complaint['channel'], category: r.category as Complaint['category'],
  ...(r.text !== null && { text: r.text }), reportedAt: Number(r.reported_at), receivedAt: Number(r.received_at),
  ...(r.cell !== null && { cell: r.cell }), ...(r.lat !== null && r.lon !== null && { location: { lat: r.lat, lon: r.lon } }),
  ...(r.tier !== null && { tier: r.tier }), ...(r.arpu_minor !== null && { arpuMinor: Number(r.arpu_minor) }), ...(r.plan !== null && { plan: r.plan }),
  previous30d: Number(r.previous_30d), escalations: Number(r.escalations), grade: r.grade as Grade, gradeReasons: JSON.parse(r.grade_reasons),
  respondBy: Number(r.respond_by), resolveBy: Number(r.resolve_by), status: r.status as ComplaintStatus,
  ...(r.outage_id !== null && { match: { outageId: r.outage_id, kind: r.impact_kind as ImpactKind, confidence: Number(r.confidence) } }),
  reasons: JSON.parse(r.match_reasons), ...(r.matched_at !== null && { matchedAt: Number(r.matched_at) }), ...(r.restored_at !== null && { restoredAt: Number(r.restored_at) }),
  ...(r.first_response_at !== null && { firstResponseAt: Number(r.first_response_at) }), ...(r.resolved_at !== null && { resolvedAt: Number(r.resolved_at) }),
  ...(r.resolution !== null && { resolution: r.resolution }), ...(r.satisfied !== null && { satisfied: Number(r.satisfied) === 1 }),
});

/**
 * Every statement about complaints and suspected outages (tables `complaints` and
 * `suspected_outages`), the same on SQLite and PostgreSQL. Complaint inserts share commits under
 * load (`GroupCommit`: one fsync for all that arrive together), so keep one repository per `Db`.
 * Changes that must be conditional say so in their `WHERE` (a state they change from) and answer
 * how many rows they changed.
 */
export class ComplaintRepository {
  private readonly db: Db;
  private readonly group: GroupCommit;

  constructor(db: Db) {
    this.db = db;
    this.group = new GroupCommit(db);
  }

  async get(id: string): Promise<StoredComplaint | undefined> {
    const r = await this.db.query<Row>('SELECT * FROM complaints WHERE id = $1', [id]);
    return r[0] ? fromRow(r[0]) : undefined;
  }

  /**
   * What intake asks before taking a complaint, in one statement: the complaint stored under `id`,
   * if any, and how many complaints the subscriber reported in [from, to).
   */
  async storedAndCount(id: string, subscriberId: string, from: number, to: number): Promise<{ stored?: StoredComplaint; reported: number }> {
    const [r] = await this.db.query<Row & { reported_in_window: number }>(`SELECT c.*,
        (SELECT COUNT(*) FROM complaints WHERE subscriber_id = $2 AND reported_at >= $3 AND reported_at < $4) AS reported_in_window
      FROM (SELECT 1 AS one) AS one LEFT JOIN complaints c ON c.id = $1`, [id, subscriberId, from, to]);
    return { ...(r.id !== null && { stored: fromRow(r) }), reported: Number(r.reported_in_window) };
  }

  /** Stores a new complaint (received at `now`), through the group commit; 0 when its id is already stored. */
  add(c: StoredComplaint, now: number): Promise<number> {
    return this.group.run(`INSERT INTO complaints (id, subscriber_id, channel, category, text, reported_at, received_at, cell, lat, lon, tier, arpu_minor, plan,
        previous_30d, escalations, grade, grade_reasons, respond_by, resolve_by, status, outage_id, impact_kind, confidence, match_reasons, matched_at, restored_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, NULL, $26) ON CONFLICT (id) DO NOTHING`,
    [c.id, c.subscriberId, c.channel, c.category, c.text ?? null, c.reportedAt, now, c.cell ?? null, c.location?.lat ?? null, c.location?.lon ?? null,
      c.tier ?? null, c.arpuMinor ?? null, c.plan ?? null, c.previous30d, c.escalations, c.grade, JSON.stringify(c.gradeReasons),
      c.respondBy, c.resolveBy, c.status, c.match?.outageId ?? null, c.match?.kind ?? null, c.match?.confidence ?? null,
      JSON.stringify(c.reasons), c.matchedAt ?? null, now]);
  }

  /** Writes how a complaint is handled: response, resolution, satisfaction, escalations, status, grade and deadlines. */
  async saveHandling(c: StoredComplaint, now: number): Promise<void> {
    await this.db.run(`UPDATE complaints SET first_response_at = $1, resolved_at = $2, resolution = $3, satisfied = $4, escalations = $5, status = $6,
        grade = $7, grade_reasons = $8, respond_by = $9, resolve_by = $10, updated_at = $11 WHERE id = $12`,
    [c.firstResponseAt ?? null, c.resolvedAt ?? null, c.resolution ?? null, c.satisfied === undefined ? null : c.satisfied ? 1 : 0, c.escalations,
      c.status, c.grade, JSON.stringify(c.gradeReasons), c.respondBy, c.resolveBy, now, c.id]);
  }

  /**
   * Unresolved complaints with a deadline due by `by` that was not warned of yet (at most 1,000,
   * by response deadline), each with the deadlines already warned of (`response`, `resolution`).
   */
  async dueUnwarned(by: number): Promise<{ complaint: StoredComplaint; warned: string[] }[]> {
    // Two range reads, each on its partial index (migration 17: conditions written as there), not one OR that scans.
    const rows = await this.db.query<Row>(`SELECT * FROM complaints WHERE respond_by <= $1 AND resolved_at IS NULL AND first_response_at IS NULL AND alerted NOT LIKE '%response%'
      UNION SELECT * FROM complaints WHERE resolve_by <= $1 AND resolved_at IS NULL AND alerted NOT LIKE '%resolution%'
      ORDER BY respond_by LIMIT 1000`, [by]);
    return rows.map((r) => ({ complaint: fromRow(r), warned: r.alerted ? r.alerted.split(',') : [] }));
  }

  /** Records the deadlines of a complaint warned of so far. */
  async markWarned(id: string, warned: readonly string[]): Promise<void> {
    await this.db.run('UPDATE complaints SET alerted = $1 WHERE id = $2', [warned.join(','), id]);
  }

  /** The complaints matched to an outage, oldest first, at most `limit` (1 to 10,000). */
  async ofOutage(outageId: string, limit: number): Promise<StoredComplaint[]> {
    const r = await this.db.query<Row>(`SELECT * FROM complaints WHERE outage_id = $1 ORDER BY reported_at, id LIMIT ${Math.max(1, Math.min(limit, 10_000))}`, [outageId]);
    return r.map(fromRow);
  }

  /** The complaints matched to an outage and not yet restored. */
  async matchedTo(outageId: string): Promise<StoredComplaint[]> {
    return (await this.db.query<Row>(`SELECT * FROM complaints WHERE outage_id = $1 AND status = 'matched'`, [outageId])).map(fromRow);
  }

  /** The outage cleared at `at`: its matched complaints become `network_restored`. */
  async markRestored(outageId: string, at: number): Promise<void> {
    await this.db.run(`UPDATE complaints SET status = 'network_restored', restored_at = $1, updated_at = $1 WHERE outage_id = $2 AND status = 'matched'`, [at, outageId]);
  }

  /** Unmatched complaints reported since `since` by subscribers the outage hits. */
  async acceptedHitBy(outageId: string, since: number): Promise<StoredComplaint[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM complaints WHERE status = 'accepted' AND reported_at >= $1
      AND subscriber_id IN (SELECT subscriber_id FROM subscriber_impacts WHERE outage_id = $2)`, [since, outageId]);
    return rows.map(fromRow);
  }

  /** Complaints matched to a degradation, reported since `since`, by subscribers the outage leaves without service. */
  async matchedDegradedHitBy(outageId: string, since: number): Promise<StoredComplaint[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM complaints WHERE status = 'matched' AND impact_kind = 'degraded' AND reported_at >= $1
      AND subscriber_id IN (SELECT subscriber_id FROM subscriber_impacts WHERE outage_id = $2 AND kind = 'no_service')`, [since, outageId]);
    return rows.map(fromRow);
  }

  /** Records the match (and the grade it brought) of a complaint still `accepted`. */
  async saveMatch(c: StoredComplaint, at: number): Promise<void> {
    await this.db.run(`UPDATE complaints SET status = $1, outage_id = $2, impact_kind = $3, confidence = $4, match_reasons = $5, matched_at = $6,
        grade = $7, grade_reasons = $8, respond_by = $9, resolve_by = $10, updated_at = $6 WHERE id = $11 AND status = 'accepted'`,
    [c.status, c.match!.outageId, c.match!.kind, c.match!.confidence, JSON.stringify(c.reasons), at, c.grade, JSON.stringify(c.gradeReasons), c.respondBy, c.resolveBy, c.id]);
  }

  /** Records the new match of a complaint still matched to a degradation; 0 when it no longer is. */
  saveUpgrade(c: StoredComplaint, at: number): Promise<number> {
    return this.db.run(`UPDATE complaints SET outage_id = $1, impact_kind = $2, confidence = $3, match_reasons = $4, matched_at = $5,
          grade = $6, grade_reasons = $7, respond_by = $8, resolve_by = $9, updated_at = $5 WHERE id = $10 AND status = 'matched' AND impact_kind = 'degraded'`,
    [c.match!.outageId, c.match!.kind, c.match!.confidence, JSON.stringify(c.reasons), at, c.grade, JSON.stringify(c.gradeReasons), c.respondBy, c.resolveBy, c.id]);
  }

  /** The suspected outages (in a state, or all), newest first, at most 1,000. */
  async suspected(state?: SuspectedOutage['state']): Promise<SuspectedOutage[]> {
    const rows = await this.db.query<{ id: string; element: string; since: number; raised_at: number; subscribers: number; complaints: string; probability: number; state: string; outage_id: string | null; merged_into: string | null }>(
      `SELECT * FROM suspected_outages ${state ? 'WHERE state = $1' : ''} ORDER BY raised_at DESC LIMIT 1000`, state ? [state] : []);
    return rows.map((r) => ({
      id: r.id, element: r.element, since: Number(r.since), at: Number(r.raised_at), subscribers: Number(r.subscribers), complaints: JSON.parse(r.complaints),
      probability: Number(r.probability), state: r.state as SuspectedOutage['state'], ...(r.outage_id !== null && { outageId: r.outage_id }),
      ...(r.merged_into !== null && { mergedInto: r.merged_into }),
    }));
  }

  /** Stores a suspicion (once: its id is the key), and the open ones on the elements it replaces as merged into it, in one transaction. */
  async raiseSuspicion(id: string, s: Suspicion, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(`INSERT INTO suspected_outages (id, element, since, raised_at, subscribers, complaints, probability, state, outage_id, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'suspected', NULL, $8) ON CONFLICT (id) DO NOTHING`, [id, s.element, s.since, s.at, s.subscribers, JSON.stringify(s.complaints), s.probability, now]);
      for (const r of s.replaces ?? []) {
        await tx.run(`UPDATE suspected_outages SET state = 'merged', merged_into = $1, updated_at = $2 WHERE element = $3 AND state = 'suspected'`, [id, now, r.element]);
      }
    });
  }

  /** A NOC engineer says an open suspicion is not an outage. */
  async dismissSuspicion(id: string, now: number): Promise<void> {
    await this.db.run(`UPDATE suspected_outages SET state = 'dismissed', updated_at = $1 WHERE id = $2 AND state = 'suspected'`, [now, id]);
  }

  /** Nothing confirmed an open suspicion in time. */
  async expireSuspicion(id: string, now: number): Promise<void> {
    await this.db.run(`UPDATE suspected_outages SET state = 'expired', updated_at = $1 WHERE id = $2 AND state = 'suspected'`, [now, id]);
  }

  /** The open suspicion on an element is confirmed by a monitored outage. */
  async confirmSuspicion(element: string, outageId: string, at: number): Promise<void> {
    await this.db.run(`UPDATE suspected_outages SET state = 'confirmed', outage_id = $1, updated_at = $2 WHERE element = $3 AND state = 'suspected'`, [outageId, at, element]);
  }

  /**
   * The state each element's last stored health transition at or before `at` left it in (absent
   * when there is none). Reads the health noun's `health_transitions`: the question is the
   * complaint matcher's.
   */
  async healthAt(elements: readonly string[], at: number): Promise<Map<string, string>> {
    if (elements.length === 0) return new Map();
    // One statement for all of them: each element's last transition by its own index search.
    const rows = await this.db.query<{ element: string; to_state: string | null }>(`SELECT e.element,
        (SELECT to_state FROM health_transitions h WHERE h.element = e.element AND h.at <= $1 ORDER BY h.at DESC LIMIT 1) AS to_state
      FROM (${elements.map((_, i) => `SELECT CAST($${i + 2} AS TEXT) AS element`).join(' UNION ALL ')}) AS e`, [at, ...elements]);
    return new Map(rows.flatMap((r) => (r.to_state === null ? [] : [[r.element, r.to_state] as const])));
  }
}
