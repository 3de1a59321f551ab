import type { Db, Upsert } from './db.ts';

/** A leader-only write refused by the fencing check: its epoch no longer leads (its lease ran out, or another member took over). */
export class FencedOut extends Error {
  readonly epoch: number;
  constructor(epoch: number) {
    super(`fenced out: epoch ${epoch} is no longer the leader's; the write was refused`);
    this.name = 'FencedOut';
    this.epoch = epoch;
  }
}

/** Runs `fn` in one transaction that first checks the caller still leads; throws FencedOut when it does not. */
export type Fence = <T>(fn: (tx: Db) => Promise<T>) => Promise<T>;

/**
 * The store as the leader-only modules see it in a cluster: reads go straight to the database;
 * every write (a statement, a bulk insert, a transaction) runs in a transaction that begins with
 * the fencing check, so a deposed leader's writes are refused by the database itself, whatever
 * that process believes. Inside a fenced transaction, statements go to it as they are.
 */
export class FencedDb implements Db {
  readonly kind: Db['kind'];
  private readonly db: Db;
  private readonly fence: Fence;

  constructor(db: Db, fence: Fence) {
    this.db = db;
    this.fence = fence;
    this.kind = db.kind;
  }

  exec(sql: string): Promise<void> {
    return this.fence((tx) => tx.exec(sql));
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.db.query<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.fence((tx) => tx.run(sql, params));
  }

  insertMany(table: string, columns: readonly string[], rows: readonly unknown[][], upsert?: Upsert): Promise<void> {
    return this.fence((tx) => tx.insertMany(table, columns, rows, upsert));
  }

  bulk<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.bulk(fn);
  }

  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.fence(fn);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the shared database is closed by the store module
  }
}
