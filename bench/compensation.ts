// Compensation: the ledger for an outage that hit 1,000,000 subscribers (computed and persisted,
// against the database's own floor for writing as many rows), and the time from an outage's close
// to its first credit at the billing webhook (against a bare POST of a batch to the same webhook).
import { existsSync, mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import pino from 'pino';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { Ledger, CREDIT_COLUMNS, creditIds } from '../correlators/compensation/ledger.ts';
import { loadPolicies } from '../correlators/compensation/policies.ts';
import { validateConfig } from '../src/config/load.ts';
import { build } from '../src/daemon.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import type { FieldValue } from '../src/sample.ts';
import { line, fmt, percentile, rssMb } from './lib.ts';
import { outagesOf } from '../correlators/outages/repository.ts';

const N = Number(process.env.BENCH_AFFECTED ?? 1_000_000);
const DIR = `/var/tmp/netpulse-bench/compensation-${N}-v1`;
const H = 3_600_000;
const T0 = Date.parse('2026-05-04T08:00:00Z');
const usage = ['data', 'voice', 'mixed', 'prepaid', 'data'];
const tiers = ['standard', 'gold', 'standard', 'vip', 'standard', 'enterprise'];

/** A database with N subscribers, all hit by one closed outage (30 h; every tenth only degraded): built once, copied per run. */
async function baseDatabase(): Promise<string> {
  const file = join(DIR, 'base.db');
  if (existsSync(join(DIR, 'ready'))) return file;
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const t = performance.now();
  const store = new Store(new SqliteDb(file));
  await store.migrate();
  await store.saveTopology([{ id: 'AGG-1', kind: 'aggregation', parents: [] }]);
  await outagesOf(store).recordOutageEvent({ type: 'opened', outage: { id: 'O-BIG', root: 'AGG-1', severity: 'outage', state: 'open', startedAt: T0, impacted: [], planned: false, flapping: false, reopened: 0, reason: 'fibre cut' }, at: T0 });
  const end = T0 + 30 * H;
  await outagesOf(store).recordOutageEvent({ type: 'closed', outage: { id: 'O-BIG', root: 'AGG-1', severity: 'outage', state: 'closed', startedAt: T0, clearedAt: end, closedAt: end + 120_000, impacted: [], planned: false, flapping: false, reopened: 0, reason: 'fibre cut' }, at: end + 120_000 });
  await store.db.bulk(async () => {
    for (let i = 0; i < N; i += 20_000) {
      const subs: unknown[][] = [];
      const spans: unknown[][] = [];
      for (let k = i; k < Math.min(N, i + 20_000); k++) {
        const id = String(13_800_000_000 + k);
        const tier = tiers[k % tiers.length];
        subs.push([id, tier, 'mobile', 'r1', '5G', 4500, 3000 + (k % 5) * 1500, usage[k % usage.length], 'AGG-1']);
        spans.push(['O-BIG', id, T0 + (k % 7) * 60_000, end - (k % 11) * 60_000, k % 10 === 9 ? 'degraded' : 'no_service', tier, 'mobile', 'r1']);
      }
      await store.db.transaction(async (db) => {
        await db.insertMany('subscribers', ['id', 'tier', 'service', 'region', 'plan', 'arpu_minor', 'fee_minor', 'usage', 'serving'], subs);
        await db.insertMany('subscriber_impacts', ['outage_id', 'subscriber_id', 'since', 'until', 'kind', 'tier', 'service', 'region'], spans);
      });
    }
  });
  await store.close();
  writeFileSync(join(DIR, 'ready'), String(N));
  line('built the database once (kept for later runs)', `${fmt(N)} subscribers and impacts in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return file;
}

async function ledgerFigures(): Promise<void> {
  const base = await baseDatabase();
  const file = join(DIR, 'run.db');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  copyFileSync(base, file);
  const store = new Store(new SqliteDb(file));
  await store.migrate();
  const policies = loadPolicies([{ policy: 'operator-default' }]);

  // The peak is read from the kernel (VmHWM, reset here): the settlement rarely yields to a timer.
  writeFileSync('/proc/self/clear_refs', '5');
  const before = process.memoryUsage().rss;
  let t = performance.now();
  const r = await new Ledger({ policies: () => policies }).settle(store, 'O-BIG', Date.now(), 'final');
  const ms = performance.now() - t;
  const peak = rssMb(process.pid, 'VmHWM');
  const again = performance.now();
  const second = await new Ledger({ policies: () => policies }).settle(store, 'O-BIG', Date.now(), 'final');
  const againMs = performance.now() - again;
  // Reference: the same number of ledger rows, of the same width, written with insertMany in
  // transactions of the same size into a copy of the credits table with the same indexes and the
  // same page cache (the database's floor).
  await store.db.exec('CREATE TABLE credits_ref AS SELECT * FROM credits WHERE 0; CREATE INDEX r1 ON credits_ref (outage_id, subscriber_id); CREATE INDEX r2 ON credits_ref (state, seq); CREATE INDEX r3 ON credits_ref (subscriber_id, month); CREATE UNIQUE INDEX r4 ON credits_ref (id)');
  t = performance.now();
  const refId = creditIds('O-REF');
  await store.db.bulk(async () => { for (let i = 0; i < N; i += 5_000) {
    const rows: unknown[][] = [];
    for (let k = i; k < Math.min(N, i + 5_000); k++) {
      const id = String(13_800_000_000 + k);
      rows.push([refId(id, 0), 'O-REF', id, 0, 'credit', 'operator-default', '2026-01', 'no-service', 250, 'EUR', 'data_pack', 2560, 'MB', 30 * H, T0, T0 + 30 * H, 'standard', 'mobile', 'r1', '2026-05', '2026-05-05',
        '["rule no-service: no_service for 30.00 h (longer than 1 h)","the highest of 2.50, 1.00:","  30 started hour(s) × 0.2778% of fee 30.00 = 2.50","as data_pack: 2560 MB for 2.50 EUR"]', 'computed', null, 0, k, T0]);
    }
    await store.db.transaction((db) => db.insertMany('credits_ref', CREDIT_COLUMNS, rows));
  } });
  const refMs = performance.now() - t;
  await store.db.exec('DROP TABLE credits_ref');

  await store.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });

  line('subscribers hit / eligible / ledger entries', `${fmt(r.subscribers)} / ${fmt(r.eligible)} / ${fmt(r.entries)}`);
  line('total owed', r.owed.reduce((a, x) => a + x.amountMinor, 0) / 100 + ` EUR (${[...new Set(r.owed.map((x) => x.form))].join(', ')})`);
  line('ledger computed and persisted (aim: under 60 s)', `${(ms / 1000).toFixed(1)} s (${fmt(r.entries / (ms / 1000))} entries/s)`);
  line('peak RSS during the settlement', `${Math.round(peak)} MB (${Math.round(before / 2 ** 20)} MB before)`);
  line('the same settlement again (writes nothing: exactly once)', `${(againMs / 1000).toFixed(1)} s, ${second.entries} entries`);
  line('bare insert of as many ledger rows (reference)', `${(refMs / 1000).toFixed(1)} s`);
  line('RATIO settlement / bare insert', (ms / refMs).toFixed(2));
}

/** A billing webhook that notes when each outage's first credit arrived. */
async function webhook() {
  const first = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const at = performance.now();
      const credits = (JSON.parse(body) as { credits?: { outageId: string }[] }).credits ?? [];
      for (const c of credits) if (!first.has(c.outageId)) first.set(c.outageId, at);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { first, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => new Promise((r) => server.close(r)) };
}

async function latencyFigures(): Promise<void> {
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
  const PER = 1000;
  const hook = await webhook();
  const dir = `/var/tmp/netpulse-bench/compensation-latency-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const elements = [{ id: 'AGG-1', kind: 'aggregation', parents: [] as string[] }];
  for (let b = 0; b < ROUNDS; b++) elements.push({ id: `BS-${b}`, kind: 'base_station', parents: ['AGG-1'] }, { id: `BS-${b}-C1`, kind: 'cell', parents: [`BS-${b}`] });
  writeFileSync(join(dir, 'topology.yaml'), JSON.stringify({ elements }));
  const { config } = validateConfig({
    daemon: { dataDir: dir }, api: null, topology: { file: join(dir, 'topology.yaml') }, outages: { confirmRecovery: 0 },
    compensation: { settle: 0, deliver: { webhook: { name: 'billing', url: hook.url } } },
  }, {});
  const daemon = build(config!, { logger: pino({ level: 'silent' }) });
  await daemon.start();
  async function* subs() {
    yield 'id,tier,service,serving,fee,usage\n';
    for (let b = 0; b < ROUNDS; b++) for (let i = 0; i < PER; i++) yield `S${b}-${i},${tiers[i % tiers.length]},mobile,BS-${b}-C1,45,${usage[i % usage.length]}\n`;
  }
  await importSubscribers(daemon.store, subs(), { format: 'csv', mode: 'replace', known: () => true });

  // Reference: a bare POST of a 500-credit batch to the same webhook.
  const batch = JSON.stringify({ credits: Array.from({ length: 500 }, (_, i) => ({ id: `cr-${i}`, outageId: 'ref', subscriberId: `S${i}`, amount: { minor: 250 }, explanation: ['x'.repeat(200)] })) });
  const bare: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await (await fetch(hook.url, { method: 'POST', body: batch, headers: { 'content-type': 'application/json' } })).text();
    bare.push(performance.now() - t);
  }

  const took: number[] = [];
  for (let b = 0; b < ROUNDS; b++) {
    const start = Date.now() - 3 * H;
    const sample = (up: boolean, at: number) => daemon.outages.write([1, 2].map((i) => ({ element: `BS-${b}`, measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: at + i })));
    sample(false, start);
    const [opened] = daemon.outages.tick(start + 10);
    sample(true, start + 2 * H);
    let t = 0;
    for (let k = 1; k <= 5 && t === 0; k++) {
      const at = performance.now();
      if (daemon.outages.tick(start + 2 * H + 10 * k).some((e) => e.type === 'closed')) t = at;
    }
    if (t === 0) throw new Error('the outage did not close');
    while (!hook.first.has(opened.outage.id) && performance.now() - t < 30_000) await new Promise((r) => setTimeout(r, 1));
    took.push(hook.first.get(opened.outage.id)! - t);
  }
  await daemon.stop();
  await hook.close();
  rmSync(dir, { recursive: true, force: true });
  took.sort((a, b) => a - b);
  bare.sort((a, b) => a - b);
  line(`outage closed -> first credit at the webhook (${ROUNDS} outages of ${PER} subscribers)`, `p50 ${percentile(took, 50).toFixed(0)} ms, p99 ${percentile(took, 99).toFixed(0)} ms`);
  line('bare POST of a 500-credit batch to the same webhook (reference)', `p50 ${percentile(bare, 50).toFixed(1)} ms, p99 ${percentile(bare, 99).toFixed(1)} ms`);
  line('RATIO close-to-credit p50 / bare POST p50', (percentile(took, 50) / percentile(bare, 50)).toFixed(1));
}

export async function benchCompensation(): Promise<void> {
  await ledgerFigures();
  await latencyFigures();
}
