import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { onConflict, type Db, type Upsert } from './db.ts';

/**
 * SQLite through Node's built-in `node:sqlite`: the embedded default, one file in the data
 * directory. WAL journal with synchronous=FULL: a committed transaction survives `kill -9` and
 * power loss. Calls are synchronous underneath; the async contract matches PostgreSQL's.
 *
 * One connection, so a transaction is isolated by hand: calls made inside `transaction`'s
 * function (its async context) join it; every other call waits until it has committed or rolled
 * back. A write that was answered is therefore never part of someone else's transaction, and
 * a transaction that fails or never ends cannot take other callers' writes with it.
 */
export class SqliteDb implements Db {
  readonly kind = 'sqlite' as const;
  /** The database file (another connection may read it: a report in a worker thread). */
  readonly file: string;
  static readonly CACHE_KIB = 65_536;
  static readonly BULK_CACHE_KIB = 262_144;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  /** Marks the async context of a transaction: calls from inside the open one join it. */
  private readonly context = new AsyncLocalStorage<Promise<void>>();
  /** The open transaction: settles when it ends; undefined when none is open. */
  private open: Promise<void> | undefined;

  constructor(file: string) {
    this.file = file;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    // A 64 MiB page cache (the default is 2 MiB): a 100,000-subscriber scope touches a lot of B-tree; `bulk` raises it for imports.
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -${SqliteDb.CACHE_KIB}; PRAGMA temp_store = MEMORY;`);
  }

  private prepare(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Is another context's transaction open? Each method waits with `while (this.busy()) await
   * this.open` and then runs its statement in the same turn, so no transaction can begin between
   * the check and the statement.
   */
  private busy(): boolean {
    return this.open !== undefined && this.context.getStore() !== this.open;
  }

  async exec(sql: string): Promise<void> {
    while (this.busy()) await this.open;
    this.db.exec(sql);
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    while (this.busy()) await this.open;
    return this.prepare(sql).all(...(params as any[])) as T[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    while (this.busy()) await this.open;
    return Number(this.prepare(sql).run(...(params as any[])).changes);
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly unknown[][], upsert?: Upsert): Promise<void> {
    while (this.busy()) await this.open;
    // 16 rows per statement: fewer calls across the JS/C boundary than one row each.
    const per = 16;
    const sql = (n: number) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: n }, (_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ')} ${onConflict(upsert)}`;
    const full = this.prepare(sql(per));
    let i = 0;
    for (; i + per <= rows.length; i += per) full.run(...(rows.slice(i, i + per).flat() as any[]));
    if (i < rows.length) this.prepare(sql(rows.length - i)).run(...(rows.slice(i).flat() as any[]));
  }

  async bulk<T>(fn: () => Promise<T>): Promise<T> {
    // 256 MiB while a bulk load runs (10M subscribers touch B-trees far larger than the usual cache), given back after.
    this.db.exec(`PRAGMA cache_size = -${SqliteDb.BULK_CACHE_KIB}`);
    try {
      return await fn();
    } finally {
      this.db.exec(`PRAGMA cache_size = -${SqliteDb.CACHE_KIB}`);
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.open && this.context.getStore() === this.open) return fn(this); // nested: joins the outer transaction
    while (this.open) await this.open;
    let end!: () => void;
    const open = (this.open = new Promise((r) => (end = r)));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return await this.context.run(open, async () => {
        try {
          const out = await fn(this);
          this.db.exec('COMMIT');
          return out;
        } catch (err) {
          if (this.db.isTransaction) this.db.exec('ROLLBACK');
          throw err;
        }
      });
    } finally {
      this.open = undefined;
      end();
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
