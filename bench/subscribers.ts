// Subscriber import: N rows (default 10 million) of CSV through the importer (parse, validate
// against the topology, insert in batches, one transaction) into SQLite, against a reference in
// the same run: the same rows inserted with node:sqlite directly, no parsing or validation.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import { tempDir } from '../tests/helpers/servers.ts';
import { line, fmt } from './lib.ts';

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000_000);
const TIERS = ['vip', 'gold', 'standard', 'enterprise'];
const cells = (i: number) => [`BS-${i % 5000}-C1`, `BS-${(i + 7) % 5000}-C2`];

export async function benchSubscribers(): Promise<void> {
  // Reference: bare prepared inserts of the same two tables' rows, one transaction.
  const bare = new DatabaseSync(join(tempDir('bench-subs-bare'), 'bare.db'));
  bare.exec('PRAGMA journal_mode = WAL; PRAGMA cache_size = -262144; CREATE TABLE subscribers (id TEXT PRIMARY KEY, tier TEXT, service TEXT, region TEXT, plan TEXT, arpu_minor BIGINT, serving TEXT) WITHOUT ROWID; CREATE TABLE subscriber_serving (element TEXT, subscriber_id TEXT, PRIMARY KEY (element, subscriber_id)) WITHOUT ROWID;');
  const ins = bare.prepare('INSERT INTO subscribers VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insS = bare.prepare('INSERT INTO subscriber_serving VALUES (?, ?)');
  let t = performance.now();
  bare.exec('BEGIN');
  for (let i = 0; i < N; i++) {
    const id = String(13800000000 + i);
    ins.run(id, TIERS[i % 4], 'mobile', 'north', '5G-99', (i % 200) * 100 + 50, cells(i).join(';'));
    for (const c of cells(i)) insS.run(c, id);
  }
  bare.exec('COMMIT');
  const bareRate = N / ((performance.now() - t) / 1000);
  bare.close();

  const store = new Store(new SqliteDb(join(tempDir('bench-subs'), 'netpulse.db')));
  await store.migrate();
  async function* rows() {
    yield 'id,tier,service,serving,region,plan,arpu\n';
    for (let i = 0; i < N; i++) yield `${13800000000 + i},${TIERS[i % 4]},mobile,${cells(i).join(';')},north,5G-99,${(i % 200) + 0.5}\n`;
  }
  t = performance.now();
  const r = await importSubscribers(store, rows(), { format: 'csv', mode: 'replace', known: () => true, batchSize: 20_000 });
  const seconds = (performance.now() - t) / 1000;
  await store.close();
  line('subscribers imported (2 serving cells each), SQLite', `${fmt(r.loaded)} in ${seconds.toFixed(1)} s (aim: under 120 s for 10M)`);
  line('netpulse import, rows/s', fmt(N / seconds));
  line('bare node:sqlite inserts of the same rows (reference), rows/s', fmt(bareRate));
  line('RATIO netpulse / bare inserts', ((N / seconds) / bareRate).toFixed(2));
}

if (import.meta.main) await benchSubscribers();
