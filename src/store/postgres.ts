import pg from 'pg';
import { onConflict, type Db, type Upsert } from './db.ts';

// BIGINT (ms timestamps) as numbers: they stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

type Queryable = pg.Pool | pg.PoolClient;

/** PostgreSQL through `pg`, for production: a small pool, transactions on one pooled client. */
export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly q: Queryable;
  private readonly pool: pg.Pool | undefined;

  constructor(connection: string | Queryable) {
    if (typeof connection === 'string') {
      // keepAlive: a connection to a server that vanished (a partition) fails instead of hanging forever.
      this.pool = new pg.Pool({ connectionString: connection, max: 4, keepAlive: true, connectionTimeoutMillis: 10_000 });
      this.pool.on('error', () => { /* an idle client died; the next query gets a fresh one */ });
      this.q = this.pool;
    } else {
      this.q = connection;
    }
  }

  async exec(sql: string): Promise<void> {
    await this.q.query(sql);
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.q.query(sql, params as unknown[])).rows as T[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.q.query(sql, params as unknown[])).rowCount ?? 0;
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly unknown[][], upsert?: Upsert): Promise<void> {
    const per = Math.max(1, Math.floor(60_000 / columns.length)); // PostgreSQL allows 65,535 parameters
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const values = chunk.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
      await this.q.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ${onConflict(upsert)}`, chunk.flat() as unknown[]);
    }
  }

  bulk<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (!this.pool) return fn(this); // already inside one
    const client = await this.pool.connect();
    // A connection cut mid-transaction (the server restarted) is an error of this call, not of the process.
    const lost = () => {};
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const out = await fn(new PostgresDb(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.off('error', lost);
      client.release();
    }
  }

  /**
   * Listens on a notification channel on a connection of its own (outside the pool), connecting
   * again after a loss (1 s, then up to 10 s apart); `onMessage` gets each payload. Resolves once
   * listening; the returned function stops.
   */
  async listen(channel: string, onMessage: (payload: string) => void, onError: (err: Error) => void = () => {}): Promise<() => Promise<void>> {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const connection = this.pool?.options.connectionString;
    if (!connection) throw new Error('listen needs a pool made from a connection string');
    let client: pg.Client | undefined;
    let stopped = false;
    let delay = 1000;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: connection, keepAlive: true, connectionTimeoutMillis: 10_000 });
      c.on('notification', (n) => { if (n.channel === channel && n.payload !== undefined) onMessage(n.payload); });
      c.on('error', (err) => { onError(err); void c.end().catch(() => {}); retry(); });
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      if (stopped) return void c.end();
      client = c;
      delay = 1000;
    };
    const retry = () => {
      client = undefined;
      if (stopped || timer) return;
      timer = setTimeout(() => { timer = undefined; connect().catch((err: Error) => { onError(err); retry(); }); }, delay);
      timer.unref();
      delay = Math.min(delay * 2, 10_000);
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}
