import type { Db } from '../../src/store/db.ts';
import type { HealthTransition } from './tracker.ts';
import type { Check } from './check.ts';

/** A check a cluster member forwarded to the leader, with its place in the queue. */
export interface ForwardedCheck extends Check { id: number; member: string }

/** Health transitions: every change of an element's state, what a restart and an explanation read back. */
export class HealthRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async recordTransition(t: HealthTransition): Promise<void> {
    await this.db.run(`INSERT INTO health_transitions (element, at, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (element, at, to_state) DO NOTHING`, [t.element, t.at, t.from, t.to, t.reason]);
  }
  async transitions(element: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<HealthTransition[]> {
    const rows = await this.db.query<{ element: string; at: number; from_state: string; to_state: string; reason: string }>(
      'SELECT * FROM health_transitions WHERE element = $1 AND at >= $2 AND at < $3 ORDER BY at', [element, from, to]);
    return rows.map((r) => ({ element: r.element, at: Number(r.at), from: r.from_state as HealthTransition['from'], to: r.to_state as HealthTransition['to'], reason: r.reason }));
  }
  /** Each element's last health transition: where a restart picks health up again. */
  async lastTransitions(): Promise<HealthTransition[]> {
    const rows = await this.db.query<{ element: string; at: number; from_state: string; to_state: string; reason: string }>(
      'SELECT t.* FROM health_transitions t WHERE t.at = (SELECT MAX(at) FROM health_transitions l WHERE l.element = t.element) ORDER BY t.element');
    // Two transitions of one element at the same time: the later row decides (ties are rare; either is a fair start).
    const last = new Map<string, HealthTransition>();
    for (const r of rows) last.set(r.element, { element: r.element, at: Number(r.at), from: r.from_state as HealthTransition['from'], to: r.to_state as HealthTransition['to'], reason: r.reason });
    return [...last.values()];
  }

  /**
   * Queues checks for the leader (a cluster member's): one row per call, the checks in it as JSON
   * tuples (thousands of rows a second cost PostgreSQL, and both ends, far more than one).
   */
  async forwardChecks(member: string, checks: readonly Check[]): Promise<void> {
    if (checks.length === 0) return;
    const tuples = checks.map((c) => [c.element, c.source, c.time, c.verdict, c.reason, c.decisive ? 1 : 0]);
    await this.db.run('INSERT INTO forwarded_check_batches (member, first_at, checks) VALUES ($1, $2, $3)', [member, Math.min(...checks.map((c) => c.time)), JSON.stringify(tuples)]);
  }

  /**
   * The checks of the oldest `limit` batches not yet consumed (of those up to batch `upTo`), in the
   * order they were queued; each check's `id` is its batch's. A batch that cannot be read is
   * returned empty (and so consumed): it is ours, so that is a bug, not a reason to stop.
   */
  async forwardedChecks(limit: number, upTo = Number.MAX_SAFE_INTEGER): Promise<{ batches: number[]; checks: ForwardedCheck[] }> {
    const rows = await this.db.query<{ id: number; member: string; checks: string }>(
      'SELECT id, member, checks FROM forwarded_check_batches WHERE id <= $2 ORDER BY id LIMIT $1', [limit, upTo]);
    const checks: ForwardedCheck[] = [];
    for (const r of rows) {
      let tuples: unknown;
      try {
        tuples = JSON.parse(r.checks);
      } catch {
        continue;
      }
      if (!Array.isArray(tuples)) continue;
      for (const t of tuples) {
        if (!Array.isArray(t) || t.length < 6) continue;
        const [element, source, time, verdict, reason, decisive] = t as [string, string, number, Check['verdict'], string, number];
        checks.push({ id: Number(r.id), member: r.member, element, source, time: Number(time), verdict, reason, ...(decisive === 1 && { decisive: true }) });
      }
    }
    return { batches: rows.map((r) => Number(r.id)), checks };
  }

  /** The id of the last batch queued so far (0: none). */
  async lastForwarded(): Promise<number> {
    const [r] = await this.db.query<{ id: number | null }>('SELECT MAX(id) AS id FROM forwarded_check_batches');
    return Number(r?.id ?? 0);
  }

  /**
   * The batches read (by id) were applied: they go. Only those: ids are handed out at insert, not
   * at commit, so a lower id may commit after a higher one was read.
   */
  async consumeChecks(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.run(`DELETE FROM forwarded_check_batches WHERE id IN (${ids.map((_, j) => `$${j + 1}`).join(', ')})`, ids);
  }
}

/** The health repository over a store's database. */
export const healthOf = (store: { db: Db }) => new HealthRepository(store.db);
