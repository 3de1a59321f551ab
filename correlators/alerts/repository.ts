import type { Db } from '../../src/store/db.ts';

export interface StoredAlert {
  id: string;
  outageId: string;
  event: string;
  raisedAt: number;
  body: Record<string, unknown>;
  ackState: 'unacknowledged' | 'acknowledged';
  ackBy?: string;
  ackAt?: number;
}

/** Alerts as sent, once each, and the NOC's acknowledgements. */
export class AlertRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** Stores an alert once: false when an alert with this id exists (a duplicate). */
  async saveAlert(a: StoredAlert): Promise<boolean> {
    const n = await this.db.run(`INSERT INTO alerts (id, outage_id, event, raised_at, body, ack_state, ack_by, ack_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      ON CONFLICT (id) DO NOTHING`, [a.id, a.outageId, a.event, a.raisedAt, JSON.stringify(a.body), a.ackState, a.ackBy ?? null, a.ackAt ?? null]);
    return n > 0;
  }
  /** Records a NOC engineer's acknowledgement; false when there is no such alert. */
  async ackAlert(id: string, by: string, at: number): Promise<boolean> {
    return (await this.db.run(`UPDATE alerts SET ack_state = 'acknowledged', ack_by = $1, ack_at = $2 WHERE id = $3`, [by, at, id])) > 0;
  }
  /** Alerts oldest first: all of them, an outage's, or (with `latest`) only the last so many. */
  /**
   * Alerts oldest first: all of an outage's, or the newest `latest` (before the cursor's
   * raised time and id, for paging back). Without `latest`, only with an outage (bounded by it).
   */
  async alerts(outageId?: string, latest?: number, before?: { startedAt: number; id: string }): Promise<StoredAlert[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (outageId) where.push(`outage_id = $${params.push(outageId)}`);
    if (before) where.push(`(raised_at < $${params.push(before.startedAt)} OR (raised_at = $${params.length} AND id < $${params.push(before.id)}))`);
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.max(1, Math.min(Math.floor(latest ?? 10_000), 10_000));
    const rows = await this.db.query<{ id: string; outage_id: string; event: string; raised_at: number; body: string; ack_state: string; ack_by: string | null; ack_at: number | null }>(
      `SELECT * FROM alerts ${w} ORDER BY raised_at DESC, id DESC LIMIT ${limit}`, params);
    rows.reverse();
    return rows.map((r) => ({
      id: r.id, outageId: r.outage_id, event: r.event, raisedAt: Number(r.raised_at), body: JSON.parse(r.body),
      ackState: r.ack_state as StoredAlert['ackState'], ...(r.ack_by !== null && { ackBy: r.ack_by }), ...(r.ack_at !== null && { ackAt: Number(r.ack_at) }),
    }));
  }
  /** Whether the NOC has an outage in hand: the latest acknowledgement of any of its alerts. */
  async acknowledgement(outageId: string): Promise<{ by: string; at: number } | undefined> {
    const r = await this.db.query<{ ack_by: string; ack_at: number }>(
      `SELECT ack_by, ack_at FROM alerts WHERE outage_id = $1 AND ack_state = 'acknowledged' ORDER BY ack_at DESC LIMIT 1`, [outageId]);
    return r.length ? { by: r[0].ack_by, at: Number(r[0].ack_at) } : undefined;
  }
}

/** The alert repository over a store's database. */
export const alertsOf = (store: { db: Db }) => new AlertRepository(store.db);
