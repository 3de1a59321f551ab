import pg from 'pg';
import { join } from 'node:path';
import { startPostgres, tempDir, type Server } from './servers.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import type { Db } from '../../src/store/db.ts';

let postgres: (Server & { url: string }) | undefined;
let count = 0;

/**
 * The databases every store-backed test runs on. `url()` gives a fresh, empty database (null: the
 * daemon's default SQLite file); `open()` a connection to a fresh one; `opener()` a function that
 * opens a connection to the same fresh database each time it is called (to reopen after a close). PostgreSQL is Debian's,
 * started once per test file on first use; call `stopDatabases` in afterAll.
 */
export const DATABASES: [string, { url: () => Promise<string | null>; open: () => Promise<Db>; opener: () => Promise<() => Db> }][] = [
  ['SQLite', {
    url: async () => null,
    open: async () => new SqliteDb(join(tempDir('sqlite'), 'netpulse.db')),
    opener: async () => { const file = join(tempDir('sqlite'), 'netpulse.db'); return () => new SqliteDb(file); },
  }],
  ['PostgreSQL', {
    url: freshPostgres,
    open: async () => new PostgresDb((await freshPostgres())!),
    opener: async () => { const url = await freshPostgres(); return () => new PostgresDb(url); },
  }],
];

async function freshPostgres(): Promise<string> {
  postgres ??= await startPostgres();
  const name = `t${process.pid}_${++count}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return postgres.url.replace(/\/postgres$/, `/${name}`);
}

export async function stopDatabases(): Promise<void> {
  await postgres?.stop();
  postgres = undefined;
}
