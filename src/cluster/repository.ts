import type { Db } from '../store/db.ts';

/** The database's clock in ms: every lease is judged by one clock, whatever the members' clocks say. */
const NOW = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`;

/** A leader-only write refused: its leader is not the leader any more (its lease ran out, or another took over). */
export class FencedOut extends Error {
  readonly epoch: number;
  constructor(epoch: number) {
    super(`fenced out: epoch ${epoch} is no longer the leader's`);
    this.epoch = epoch;
  }
}

/**
 * Membership and leadership in PostgreSQL (cluster mode needs it): each member renews a lease on
 * its row; the leader holds the one row of `cluster_leader` with a lease and an epoch that grows
 * at every change of leader. Leases are judged by the database's clock.
 */
export class ClusterRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** Renews `member`'s lease for `leaseMs` (joining if new); the database's time now. */
  async heartbeat(member: string, address: string | undefined, leaseMs: number): Promise<number> {
    const [r] = await this.db.query<{ now: string }>(`INSERT INTO cluster_members (id, address, started_at, lease_until) VALUES ($1, $2, ${NOW}, ${NOW} + $3)
      ON CONFLICT (id) DO UPDATE SET address = excluded.address, lease_until = excluded.lease_until RETURNING ${NOW} AS now`, [member, address ?? null, leaseMs]);
    return Number(r.now);
  }

  /** The members whose lease runs, by id. */
  async members(): Promise<{ id: string; address: string | null; leaseUntil: number }[]> {
    const rows = await this.db.query<{ id: string; address: string | null; lease_until: string }>(`SELECT id, address, lease_until FROM cluster_members WHERE lease_until > ${NOW} ORDER BY id`);
    return rows.map((r) => ({ id: r.id, address: r.address, leaseUntil: Number(r.lease_until) }));
  }

  /**
   * Takes or renews the leadership for `leaseMs`: it is `member`'s if it held it, or if the
   * holder's lease ran out (then the epoch grows). Undefined: another member leads.
   */
  async lead(member: string, leaseMs: number): Promise<{ epoch: number; leaseUntil: number } | undefined> {
    const rows = await this.db.query<{ epoch: string; lease_until: string }>(`INSERT INTO cluster_leader (id, member, epoch, lease_until) VALUES (1, $1, 1, ${NOW} + $2)
      ON CONFLICT (id) DO UPDATE SET member = excluded.member, lease_until = excluded.lease_until,
        epoch = CASE WHEN cluster_leader.member = excluded.member AND cluster_leader.lease_until > ${NOW} THEN cluster_leader.epoch ELSE cluster_leader.epoch + 1 END
      WHERE cluster_leader.member = excluded.member OR cluster_leader.lease_until <= ${NOW}
      RETURNING epoch, lease_until`, [member, leaseMs]);
    return rows[0] ? { epoch: Number(rows[0].epoch), leaseUntil: Number(rows[0].lease_until) } : undefined;
  }

  /** Who leads now (a running lease), with the epoch. */
  async leader(): Promise<{ member: string; epoch: number; leaseUntil: number } | undefined> {
    const [r] = await this.db.query<{ member: string; epoch: string; lease_until: string }>(`SELECT member, epoch, lease_until FROM cluster_leader WHERE id = 1 AND lease_until > ${NOW}`);
    return r ? { member: r.member, epoch: Number(r.epoch), leaseUntil: Number(r.lease_until) } : undefined;
  }

  /**
   * The fencing check of a leader-only write, inside its transaction (`tx`): the epoch is the
   * leader's and its lease runs. It locks the leader row for the transaction, so no takeover can
   * commit in between. Throws FencedOut otherwise.
   */
  async fence(tx: Db, epoch: number): Promise<void> {
    const rows = await tx.query(`SELECT 1 FROM cluster_leader WHERE id = 1 AND epoch = $1 AND lease_until > ${NOW} FOR SHARE`, [epoch]);
    if (rows.length === 0) throw new FencedOut(epoch);
  }

  /** `member` leaves: its row goes, and its leadership (if it held it) ends now, so a standby takes over at once. */
  async leave(member: string): Promise<void> {
    await this.db.run('DELETE FROM cluster_members WHERE id = $1', [member]);
    await this.db.run(`UPDATE cluster_leader SET lease_until = 0 WHERE id = 1 AND member = $1`, [member]);
  }
}
