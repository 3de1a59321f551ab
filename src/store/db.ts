/**
 * The few things the store asks of a database. SQL is written once, in PostgreSQL's dialect with
 * `$1` placeholders and portable types (TEXT, BIGINT ms, INTEGER 0/1, DOUBLE PRECISION); the
 * SQLite side rewrites the placeholders. Rows come back with numbers as numbers on both.
 */
export interface Db {
  readonly kind: 'sqlite' | 'postgres';
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Inserts many rows at once (a prepared statement in a loop on SQLite, multi-row VALUES on
   * PostgreSQL); rows that hit an existing key are skipped. Call it inside a transaction.
   */
  insertMany(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /** Runs `fn` in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
