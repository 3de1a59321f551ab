import type { Db } from '../store/db.ts';
import { FencedOut } from '../store/fenced.ts';

export { FencedOut };

/** The advisory lock fenced writes hold shared and a takeover exclusively. */
const FENCE_LOCK = 7_324_003;

/** The database's clock in ms: every lease is judged by one clock, whatever the members' clocks say. */
const NOW = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`;

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
  /** The members whose lease runs, by id, with how long each lease has left by the database's clock. */
  async members(): Promise<{ id: string; address: string | null; leaseUntil: number; remainingMs: number }[]> {
    const rows = await this.db.query<{ id: string; address: string | null; lease_until: string; remaining: string }>(
      `SELECT id, address, lease_until, lease_until - ${NOW} AS remaining FROM cluster_members WHERE lease_until > ${NOW} ORDER BY id`);
    return rows.map((r) => ({ id: r.id, address: r.address, leaseUntil: Number(r.lease_until), remainingMs: Number(r.remaining) }));
  }

  /**
   * Takes the leadership for `leaseMs` if nobody holds a running lease, with the next epoch: a new
   * leader, even the same member restarted, never writes with an epoch an earlier process had.
   * Undefined: another leads (or this member's previous run does, until its lease runs out). It
   * first takes the fencing lock exclusively, so it waits for the deposed leader's fenced writes
   * in flight (each holds it shared) to end before the epoch moves. The leader keeps it with
   * `renew`, through the fencing check.
   */
  async lead(member: string, leaseMs: number): Promise<{ epoch: number; leaseUntil: number } | undefined> {
    if (await this.leader()) return undefined;
    return this.db.transaction(async (tx) => {
      // Bounded: a writer that never ends (its process paused mid-transaction) is ended by the server's idle timeout first.
      await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [String(Math.max(100, leaseMs))]);
      await tx.query('SELECT pg_advisory_xact_lock($1)', [FENCE_LOCK]);
      const rows = await tx.query<{ epoch: string; lease_until: string }>(`INSERT INTO cluster_leader (id, member, epoch, lease_until) VALUES (1, $1, 1, ${NOW} + $2)
        ON CONFLICT (id) DO UPDATE SET member = excluded.member, lease_until = excluded.lease_until, epoch = cluster_leader.epoch + 1
        WHERE cluster_leader.lease_until <= ${NOW}
        RETURNING epoch, lease_until`, [member, leaseMs]);
      return rows[0] ? { epoch: Number(rows[0].epoch), leaseUntil: Number(rows[0].lease_until) } : undefined;
    });
  }

  /** The leader renews its lease, inside its fenced transaction (`tx`, which checked its epoch). */
  async renew(tx: Db, epoch: number, leaseMs: number): Promise<void> {
    await tx.run(`UPDATE cluster_leader SET lease_until = ${NOW} + $2 WHERE id = 1 AND epoch = $1`, [epoch, leaseMs]);
  }

  /** Who leads now (a running lease), with the epoch. */
  async leader(): Promise<{ member: string; epoch: number; leaseUntil: number; remainingMs: number } | undefined> {
    const [r] = await this.db.query<{ member: string; epoch: string; lease_until: string; remaining: string }>(`SELECT member, epoch, lease_until, lease_until - ${NOW} AS remaining FROM cluster_leader WHERE id = 1 AND lease_until > ${NOW}`);
    return r ? { member: r.member, epoch: Number(r.epoch), leaseUntil: Number(r.lease_until), remainingMs: Number(r.remaining) } : undefined;
  }

  /**
   * The fencing check of a leader-only write, inside its transaction (`tx`): the epoch is still the
   * leader's. It holds the fencing lock shared until the transaction ends, so
   * no takeover (which takes it exclusively) commits in between, while the leader's own renewals
   * go on. A transaction left idle (its process paused between statements) is ended by the server
   * after `idleMs`, so a paused leader never holds a takeover back for long. Throws FencedOut otherwise.
   */
  async fence(tx: Db, epoch: number, idleMs: number): Promise<void> {
    await tx.query(`SELECT set_config('idle_in_transaction_session_timeout', $1, true)`, [String(Math.max(100, Math.floor(idleMs)))]);
    await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [FENCE_LOCK]);
    // The epoch alone decides: every takeover moves it (under the exclusive lock), so a write whose
    // epoch is still the row's comes from the one leader, even if its lease ran out meanwhile (the
    // database was away, and nobody could take over).
    const rows = await tx.query('SELECT 1 FROM cluster_leader WHERE id = 1 AND epoch = $1', [epoch]);
    if (rows.length === 0) throw new FencedOut(epoch);
  }

  /** `member` leaves: its row goes, and its leadership (if it held it) ends now, so a standby takes over at once. */
  async leave(member: string): Promise<void> {
    await this.db.run('DELETE FROM cluster_members WHERE id = $1', [member]);
    await this.db.run(`UPDATE cluster_leader SET lease_until = 0 WHERE id = 1 AND member = $1`, [member]);
  }
}
