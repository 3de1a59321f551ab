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

  /** Queues checks for the leader (a cluster member's), in one statement. */
  async forwardChecks(member: string, checks: readonly Check[]): Promise<void> {
    await this.db.transaction((tx) => tx.insertMany('forwarded_checks', ['member', 'element', 'source', 'time', 'verdict', 'reason', 'decisive'],
      checks.map((c) => [member, c.element, c.source, c.time, c.verdict, c.reason, c.decisive ? 1 : 0])));
  }

  /** The oldest `limit` forwarded checks not yet consumed, in the order they were queued. */
  async forwardedChecks(limit: number, upTo = Number.MAX_SAFE_INTEGER): Promise<ForwardedCheck[]> {
    const rows = await this.db.query<{ id: number; member: string; element: string; source: string; time: number; verdict: Check['verdict']; reason: string; decisive: number }>(
      'SELECT * FROM forwarded_checks WHERE id <= $2 ORDER BY id LIMIT $1', [limit, upTo]);
    return rows.map((r) => ({ id: Number(r.id), member: r.member, element: r.element, source: r.source, time: Number(r.time), verdict: r.verdict, reason: r.reason, ...(Number(r.decisive) === 1 && { decisive: true }) }));
  }

  /** The id of the last forwarded check queued so far (0: none). */
  async lastForwarded(): Promise<number> {
    const [r] = await this.db.query<{ id: number | null }>('SELECT MAX(id) AS id FROM forwarded_checks');
    return Number(r?.id ?? 0);
  }

  /**
   * The forwarded checks read (by id) were applied: they go. Only those: ids are handed out at
   * insert, not at commit, so a lower id may commit after a higher one was read.
   */
  async consumeChecks(ids: readonly number[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      n += await this.db.run(`DELETE FROM forwarded_checks WHERE id IN (${chunk.map((_, j) => `$${j + 1}`).join(', ')})`, chunk);
    }
    return n;
  }
}

/** The health repository over a store's database. */
export const healthOf = (store: { db: Db }) => new HealthRepository(store.db);
