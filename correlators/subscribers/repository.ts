import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/store/db.ts';
import type { Subscriber } from './parse.ts';

/*
 * Every statement of the subscriber inventory's import: its two tables (`subscribers`,
 * `subscriber_serving`), the staging tables of incremental loads (`import_subscribers`,
 * `import_serving`), and the tables a replace builds beside the live ones and renames in their
 * place. Where the dialects differ (`WITHOUT ROWID`, where the table names are listed) both are
 * here. The importer (`import.ts`) reads and checks the file and decides; it writes only through
 * a `Target` (`Rebuilt` for a replace, `Staged` for an incremental load).
 */

const SUBSCRIBER_COLUMNS = ['id', 'tier', 'service', 'region', 'plan', 'arpu_minor', 'fee_minor', 'usage', 'serving'];
const STAGED = 'import_subscribers';
const STAGED_SERVING = 'import_serving';
/** Staged rows of an import that never finished (its process died) are cleared after this long. */
const STALE_STAGING_MS = 6 * 3_600_000;

const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
const servingRows = (rows: Subscriber[], prefix: unknown[] = []) => {
  const out = rows.flatMap((s) => s.serving.map((e) => [...prefix, e, s.id]));
  const k = prefix.length;
  out.sort((a, b) => (a[k]! < b[k]! ? -1 : a[k]! > b[k]! ? 1 : 0)); // in key order: fewer B-tree pages touched
  return out;
};
const subscriberRow = (s: Subscriber) => [s.id, s.tier, s.service, s.region ?? null, s.plan ?? null, s.arpuMinor ?? null, s.feeMinor ?? null, s.usage ?? null, s.serving.join(';')];

/** Where an import's rows wait until the whole file is read. */
export interface Target {
  /** Which of these ids are already loaded from this file. */
  seen(ids: string[]): Promise<string[]>;
  add(rows: Subscriber[]): Promise<void>;
  /** In one short transaction: the rows become the inventory (or join it). */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * The inventory's two tables as the migrations leave them (a test compares them), under another
 * name: a replace builds the new inventory there, beside the live one, and swaps it in by renaming.
 */
export function inventoryDdl(db: Db, names: { subscribers: string; serving: string }): string {
  return `
CREATE TABLE ${names.subscribers} (
  id TEXT PRIMARY KEY, tier TEXT NOT NULL, service TEXT NOT NULL, region TEXT, plan TEXT, arpu_minor BIGINT,
  serving TEXT NOT NULL, fee_minor BIGINT, usage TEXT
) WITHOUT_ROWID;
CREATE TABLE ${names.serving} (
  element TEXT NOT NULL, subscriber_id TEXT NOT NULL, PRIMARY KEY (element, subscriber_id)
) WITHOUT_ROWID;`.replaceAll('WITHOUT_ROWID', db.kind === 'sqlite' ? 'WITHOUT ROWID' : '');
}

/**
 * A replace: the file is loaded into fresh tables beside the live ones, named for this import,
 * batch by batch, and the commit renames them in their place; readers see the old inventory until
 * that one transaction commits. Subscribers go straight into their table (ids mostly come in
 * order: appends). Their serving pairs are appended to an unindexed table and copied, sorted, into
 * the keyed one once at the commit: inserted batch by batch they would land all over its B-tree
 * (it is keyed by element), and every batch's commit would rewrite most of it. That copy is the
 * one longer transaction (about 1 s per million pairs); it waits on nothing outside. Two replaces
 * at once (the command line and the API) each build their own tables; the last to commit wins,
 * whole. Tables a crashed replace left are dropped by the next one after a few hours.
 */
export class Rebuilt implements Target {
  private readonly db: Db;
  private readonly subscribers: string;
  private readonly serving: string;
  private readonly pairs: string;
  private constructor(db: Db, id: string) {
    this.db = db;
    this.subscribers = `subscribers_next_${id}`;
    this.serving = `subscriber_serving_next_${id}`;
    this.pairs = `import_serving_pairs_${id}`;
  }

  static async begin(db: Db, at: number): Promise<Rebuilt> {
    await Rebuilt.dropStale(db, at);
    const t = new Rebuilt(db, `${at.toString(36)}_${randomUUID().slice(0, 8)}`);
    await db.exec(`${inventoryDdl(db, { subscribers: t.subscribers, serving: t.serving })};\nCREATE TABLE ${t.pairs} (element TEXT NOT NULL, subscriber_id TEXT NOT NULL)`);
    return t;
  }

  /** Drops the tables of replaces that started more than STALE_STAGING_MS ago and never ended. */
  private static async dropStale(db: Db, at: number): Promise<void> {
    const names = db.kind === 'sqlite'
      ? await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'subscribers_next_%' OR name LIKE 'subscriber_serving_next_%' OR name LIKE 'import_serving_pairs_%')")
      : await db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND (tablename LIKE 'subscribers_next_%' OR tablename LIKE 'subscriber_serving_next_%' OR tablename LIKE 'import_serving_pairs_%')");
    for (const { name } of names) {
      const m = /_next_([0-9a-z]+)_[0-9a-f]{8}$|^import_serving_pairs_([0-9a-z]+)_[0-9a-f]{8}$/.exec(name);
      const started = m ? parseInt(m[1] ?? m[2], 36) : 0;
      if (started < at - STALE_STAGING_MS) await db.exec(`DROP TABLE IF EXISTS ${name}`);
    }
  }

  async seen(ids: string[]): Promise<string[]> {
    return (await this.db.query<{ id: string }>(`SELECT id FROM ${this.subscribers} WHERE id IN (${list(ids.length)})`, ids)).map((r) => r.id);
  }

  async add(rows: Subscriber[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insertMany(this.subscribers, SUBSCRIBER_COLUMNS, rows.map(subscriberRow));
      await tx.insertMany(this.pairs, ['element', 'subscriber_id'], rows.flatMap((s) => s.serving.map((e) => [e, s.id])));
    });
  }

  async commit(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(`INSERT INTO ${this.serving} (element, subscriber_id) SELECT element, subscriber_id FROM ${this.pairs} ORDER BY element, subscriber_id`);
      await tx.exec(`DROP TABLE ${this.pairs}; DROP TABLE subscriber_serving; DROP TABLE subscribers`);
      await tx.exec(`ALTER TABLE ${this.subscribers} RENAME TO subscribers; ALTER TABLE ${this.serving} RENAME TO subscriber_serving`);
    });
  }

  async discard(): Promise<void> {
    await this.db.exec(`DROP TABLE IF EXISTS ${this.pairs}; DROP TABLE IF EXISTS ${this.serving}; DROP TABLE IF EXISTS ${this.subscribers}`);
  }
}

/**
 * An incremental load: the rows are staged under the import's id, and the commit replaces the
 * subscribers with those ids (and their serving elements) in one transaction. Several may run at
 * once; what a crashed one left is cleared by the next after a few hours.
 */
export class Staged implements Target {
  private readonly db: Db;
  private readonly id = randomUUID().slice(0, 8);
  private readonly at: number;
  private constructor(db: Db, at: number) {
    this.db = db;
    this.at = at;
  }

  static async begin(db: Db, at: number): Promise<Staged> {
    await db.run(`DELETE FROM ${STAGED} WHERE started_at < $1`, [at - STALE_STAGING_MS]);
    await db.run(`DELETE FROM ${STAGED_SERVING} WHERE started_at < $1`, [at - STALE_STAGING_MS]);
    return new Staged(db, at);
  }

  async seen(ids: string[]): Promise<string[]> {
    return (await this.db.query<{ id: string }>(`SELECT id FROM ${STAGED} WHERE import_id = $1 AND id IN (${list(ids.length, 2)})`, [this.id, ...ids])).map((r) => r.id);
  }

  async add(rows: Subscriber[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insertMany(STAGED, ['import_id', 'started_at', ...SUBSCRIBER_COLUMNS], rows.map((s) => [this.id, this.at, ...subscriberRow(s)]));
      await tx.insertMany(STAGED_SERVING, ['import_id', 'started_at', 'element', 'subscriber_id'], servingRows(rows, [this.id, this.at]));
    });
  }

  async commit(): Promise<void> {
    await this.db.transaction((tx) => upsert(tx, this.id));
    await this.discard();
  }

  async discard(): Promise<void> {
    await this.db.run(`DELETE FROM ${STAGED} WHERE import_id = $1`, [this.id]);
    await this.db.run(`DELETE FROM ${STAGED_SERVING} WHERE import_id = $1`, [this.id]);
  }
}

/** The staged rows replace the subscribers with their ids (and their serving elements); the others stay. */
async function upsert(tx: Db, importId: string): Promise<void> {
  let after = '';
  for (;;) {
    const ids = (await tx.query<{ id: string }>(`SELECT id FROM ${STAGED} WHERE import_id = $1 AND id > $2 ORDER BY id LIMIT 500`, [importId, after])).map((r) => r.id);
    if (ids.length === 0) break;
    after = ids.at(-1)!;
    // The old serving elements come from the subscriber's own row: no index by subscriber needed.
    const old = await tx.query<{ id: string; serving: string }>(`SELECT id, serving FROM subscribers WHERE id IN (${list(ids.length)})`, ids);
    for (const s of old) for (const e of s.serving.split(';')) await tx.run('DELETE FROM subscriber_serving WHERE element = $1 AND subscriber_id = $2', [e, s.id]);
    if (old.length > 0) await tx.run(`DELETE FROM subscribers WHERE id IN (${list(old.length)})`, old.map((s) => s.id));
  }
  await tx.run(`INSERT INTO subscribers (${SUBSCRIBER_COLUMNS.join(', ')}) SELECT ${SUBSCRIBER_COLUMNS.join(', ')} FROM ${STAGED} WHERE import_id = $1`, [importId]);
  await tx.run(`INSERT INTO subscriber_serving (element, subscriber_id) SELECT element, subscriber_id FROM ${STAGED_SERVING} WHERE import_id = $1`, [importId]);
}
