/**
 * The few things the store asks of a database. SQL is written once, in PostgreSQL's dialect with
 * `$1` placeholders and portable types (TEXT, BIGINT ms, INTEGER 0/1, DOUBLE PRECISION); the
 * SQLite side rewrites the placeholders. Rows come back with numbers as numbers on both.
 */
/** On a key conflict, set these columns from the new row instead of skipping it. */
export interface Upsert { key: readonly string[]; set: readonly string[] }

/** The ON CONFLICT clause for an insert (same in both dialects). */
export const onConflict = (u?: Upsert): string => (u ? `ON CONFLICT (${u.key.join(', ')}) DO UPDATE SET ${u.set.map((c) => `${c} = excluded.${c}`).join(', ')}` : 'ON CONFLICT DO NOTHING');

export interface Db {
  readonly kind: 'sqlite' | 'postgres';
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Inserts many rows at once (a prepared statement in a loop on SQLite, multi-row VALUES on
   * PostgreSQL); rows that hit an existing key are skipped, or with `upsert` update the named
   * columns of the existing row. Call it inside a transaction.
   */
  insertMany(table: string, columns: readonly string[], rows: readonly unknown[][], upsert?: Upsert): Promise<void>;
  /** Runs a bulk load (a subscriber import) with the resources it wants, given back after. */
  bulk<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
