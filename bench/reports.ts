// Service reports (issue 22): the monthly report over a month with 2,000 outages, 10M subscribers
// in the inventory and 1M credits (aim: under 10 s), and the policy what-if over the same month
// (aim: under 60 s) against the ledger's own settlement of the same outages (its preview: the same
// decisions, no writes), measured in the same run, interleaved. The what-if also reports how long
// the event loop waited meanwhile (what the live daemon would feel).
import { existsSync, mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { CREDIT_COLUMNS, creditIds, Ledger } from '../correlators/compensation/ledger.ts';
import { loadPolicies, SHIPPED_POLICIES } from '../correlators/compensation/policies.ts';
import { compensate } from '../correlators/compensation/compute.ts';
import { monthOf, isoDay, dayOf } from '../correlators/compensation/calendar.ts';
import { ReportService } from '../correlators/reports/service.ts';
import { DEFAULT_TARGETS } from '../correlators/reports/report.ts';
import { line, fmt, median } from './lib.ts';

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000_000);
const OUTAGES = Number(process.env.BENCH_OUTAGES ?? 2_000);
const PER = Number(process.env.BENCH_PER_OUTAGE ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Outages the ledger reference settles per round (evenly spaced), scaled to all of them. */
const SAMPLE = Number(process.env.BENCH_LEDGER_SAMPLE ?? 100);
const DIR = `/var/tmp/netpulse-bench/reports-${N}-${OUTAGES}x${PER}-v2`;
const H = 3_600_000;
const FROM = Date.parse('2026-11-01T00:00:00Z');
const TO = Date.parse('2026-12-01T00:00:00Z');
const TIERS = ['standard', 'gold', 'standard', 'vip', 'standard', 'enterprise'];
const USAGE = ['data', 'voice', 'mixed', 'prepaid', 'data'];
const [policy] = loadPolicies([{ policy: 'operator-default' }]);

const subscriberOf = (k: number) => ({ id: String(13_800_000_000 + k), tier: TIERS[k % TIERS.length], service: k % 7 === 0 ? 'broadband' : 'mobile', region: `r${k % 4}`, fee: 3000 + (k % 5) * 1500, usage: USAGE[k % USAGE.length] });
/** The j-th subscriber outage o hits: spread over the inventory; its first 20 are also hit by the next outage (two events in a month). */
const hitBy = (o: number, j: number) => ((j < 20 ? ((o + 1) % OUTAGES) * PER + (PER - 1 - j) : o * PER + j) * 9) % N;

/** The month's history, built once (kept for later runs): the inventory, 2,000 outages and their impacts, the ledger's credits. */
async function baseDatabase(): Promise<string> {
  const file = join(DIR, 'base.db');
  if (existsSync(join(DIR, 'ready'))) return file;
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const t = performance.now();
  const store = new Store(new SqliteDb(file));
  await store.migrate();
  const elements = [{ id: 'CORE', kind: 'core', parents: [] as string[], site: 'dc', region: 'r0' }];
  for (let a = 0; a < 20; a++) elements.push({ id: `AGG-${a}`, kind: 'aggregation', parents: ['CORE'], site: `agg-${a}`, region: `r${a % 4}` });
  for (let b = 0; b < OUTAGES; b++) {
    elements.push({ id: `BS-${b}`, kind: 'base_station', parents: [`AGG-${b % 20}`], site: `s-${b}`, region: `r${b % 4}` });
    for (const c of [1, 2]) elements.push({ id: `BS-${b}-C${c}`, kind: 'cell', parents: [`BS-${b}`], site: `s-${b}`, region: `r${b % 4}` });
  }
  await store.saveTopology(elements as never);
  await store.db.bulk(async () => {
    for (let i = 0; i < N; i += 50_000) {
      const rows: unknown[][] = [];
      for (let k = i; k < Math.min(N, i + 50_000); k++) {
        const s = subscriberOf(k);
        rows.push([s.id, s.tier, s.service, s.region, '5G', s.fee, s.fee, s.usage, `BS-${k % OUTAGES}-C1`]);
      }
      await store.db.transaction((db) => db.insertMany('subscribers', ['id', 'tier', 'service', 'region', 'plan', 'arpu_minor', 'fee_minor', 'usage', 'serving'], rows));
    }
    line('built: subscribers', `${fmt(N)} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    // The ledger's credits, decided as a settlement decides them (in close order, with the monthly room).
    const month = new Map<string, number>();
    let credits = 0;
    const order = Array.from({ length: OUTAGES }, (_, o) => o).sort((a, b) => (startOf(a) + lengthOf(a)) - (startOf(b) + lengthOf(b)));
    for (let x = 0; x < OUTAGES; x += 50) {
      const outages: unknown[][] = [];
      const impacts: unknown[][] = [];
      const spans: unknown[][] = [];
      const entries: unknown[][] = [];
      const runs: unknown[][] = [];
      for (const o of order.slice(x, x + 50)) {
        const id = `O-${o}`;
        const start = startOf(o);
        const end = start + lengthOf(o);
        const planned = o % 50 === 49 ? 1 : 0;
        outages.push([id, `BS-${o}`, 'outage', 'closed', start, end, end + 120_000, planned, 0, 0, 'unreachable', null, end + 120_000, 0]);
        for (const c of [1, 2]) impacts.push([id, `BS-${o}-C${c}`, start, end]);
        runs.push([id, null, end + 720_000, end + 120_000]);
        const idOf = creditIds(id);
        for (let j = 0; j < PER; j++) {
          const s = subscriberOf(hitBy(o, j));
          const kind = j % 10 === 9 ? 'degraded' : 'no_service';
          spans.push([id, s.id, start, end, kind, s.tier, s.service, s.region]);
          const key = `${s.id}\u0000${monthOf(start, policy.timezone)}`;
          const d = compensate(policy, { subscriberId: s.id, tier: s.tier, service: s.service, region: s.region, feeMinor: s.fee, usage: s.usage },
            [{ kind, since: start, until: end }], { outageId: id, planned: planned === 1, forceMajeure: false }, month.get(key) ?? 0);
          if (d.amountMinor === 0) continue;
          month.set(key, (month.get(key) ?? 0) + d.amountMinor);
          entries.push([idOf(s.id, 0), id, s.id, 0, 'credit', policy.id, policy.version, d.rule ?? null, d.amountMinor, policy.currency, d.form, d.quantity, d.unit, d.durationMs, d.from ?? null, d.to ?? null,
            s.tier, s.service, s.region, monthOf(start, policy.timezone), isoDay(dayOf(end, policy.timezone)), JSON.stringify(d.steps), 'computed', null, 0, ++credits, end + 720_000]);
        }
      }
      await store.db.transaction(async (db) => {
        await db.insertMany('outages', ['id', 'root', 'severity', 'state', 'started_at', 'cleared_at', 'closed_at', 'planned', 'flapping', 'reopened', 'reason', 'merged_into', 'updated_at', 'inferred'], outages);
        await db.insertMany('outage_impacts', ['outage_id', 'element', 'since', 'until'], impacts);
        await db.insertMany('compensation_runs', ['outage_id', 'interim_at', 'settled_at', 'settled_closed_at'], runs);
        await db.insertMany('subscriber_impacts', ['outage_id', 'subscriber_id', 'since', 'until', 'kind', 'tier', 'service', 'region'], spans);
        await db.insertMany('credits', CREDIT_COLUMNS, entries);
      });
    }
    await store.db.run('UPDATE credit_sequence SET last = $1 WHERE id = 1', [credits]);
    line('built: outages, subscriber impacts, credits', `${fmt(OUTAGES)}, ${fmt(OUTAGES * PER)}, ${fmt(credits)} in ${((performance.now() - t) / 1000).toFixed(0)} s in all (kept for later runs)`);
  });
  await store.close();
  writeFileSync(join(DIR, 'ready'), String(N));
  return file;
}

/** Outage o starts every 21 minutes through November and lasts 1 to 72 hours. */
function startOf(o: number): number {
  return FROM + o * Math.floor((TO - FROM - 80 * H) / OUTAGES);
}
function lengthOf(o: number): number {
  return (1 + (o % 72)) * H + (o % 13) * 60_000;
}

export async function benchReports(): Promise<void> {
  const base = await baseDatabase();
  const file = join(DIR, 'run.db');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  copyFileSync(base, file);
  const store = new Store(new SqliteDb(file));
  await store.migrate();
  const [{ n: credits }] = await store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM credits');
  line('month: outages / subscribers in the inventory / credits', `${fmt(OUTAGES)} / ${fmt(N)} / ${fmt(Number(credits))}`);
  const service = new ReportService({
    store: () => store, policies: () => [policy], targets: DEFAULT_TARGETS, policiesDir: SHIPPED_POLICIES, calendarsDir: join(SHIPPED_POLICIES, '../calendars'), now: () => TO + H,
  });
  const ledger = new Ledger({ policies: () => [policy] });
  const sample = Array.from({ length: Math.min(SAMPLE, OUTAGES) }, (_, i) => `O-${Math.floor((i * OUTAGES) / Math.min(SAMPLE, OUTAGES))}`);
  const reportMs: number[] = [];
  const bareMs: number[] = [];
  const reportLagMax: number[] = [];
  const whatIfMs: number[] = [];
  const ledgerMs: number[] = [];
  const lagMax: number[] = [];
  const lagP99: number[] = [];
  let check = '';
  for (let round = 0; round < ROUNDS; round++) {
    const reportLag = monitorEventLoopDelay({ resolution: 10 });
    reportLag.enable();
    let t = performance.now();
    const r = await service.report(FROM, TO);
    reportMs.push(performance.now() - t);
    reportLag.disable();
    reportLagMax.push(reportLag.max / 1e6);
    line(`  round ${round + 1}: report`, `${(reportMs.at(-1)! / 1000).toFixed(1)} s`);
    // Reference: the bare reads no report of this month can avoid: one aggregate pass over the period's credits and subscriber impacts.
    t = performance.now();
    const started = `SELECT id FROM outages WHERE started_at >= ${FROM} AND started_at < ${TO}`;
    await store.db.query(`SELECT COUNT(*) AS n, SUM(amount_minor) AS a FROM credits WHERE outage_id IN (${started})`);
    await store.db.query(`SELECT COUNT(*) AS n, SUM(until - since) AS ms FROM subscriber_impacts WHERE outage_id IN (${started})`);
    bareMs.push(performance.now() - t);
    if (round === 0) line('report: outages / affected subscribers / issued', `${fmt(r.outages.total.outages + r.outages.total.planned)} / ${fmt(r.compensation.affectedSubscribers)} / ${(r.compensation.byCurrency[0]?.amountMinor ?? 0) / 100} EUR`);

    // The ledger's own settlement of a sample of the same outages (preview: decided, not written), scaled to all.
    t = performance.now();
    for (const id of sample) await ledger.settle(store, id, TO + H, 'preview');
    ledgerMs.push(((performance.now() - t) * OUTAGES) / sample.length);
    line(`  round ${round + 1}: ledger preview of ${sample.length} outages`, `${((performance.now() - t) / 1000).toFixed(1)} s`);

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    t = performance.now();
    const w = await service.whatIf(FROM, TO, [policy]);
    whatIfMs.push(performance.now() - t);
    lag.disable();
    lagMax.push(lag.max / 1e6);
    lagP99.push(lag.percentile(99) / 1e6);
    line(`  round ${round + 1}: what-if`, `${(whatIfMs.at(-1)! / 1000).toFixed(1)} s`);
    check = `${fmt(w.subscribers)} subscriber-outages: ${fmt(w.difference.same)} the same, ${w.difference.more} more, ${w.difference.less} less; cost ${(w.whatIf.byCurrency[0]?.amountMinor ?? 0) / 100} vs ${(w.issued.byCurrency[0]?.amountMinor ?? 0) / 100} EUR`;
  }
  await store.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(1)} s (rounds: ${xs.map((x) => (x / 1000).toFixed(1)).join(', ')})`;
  line('monthly report, median (aim: under 10 s)', s(reportMs));
  line('event loop delay during the report (read in a worker thread), max', `${median(reportLagMax).toFixed(1)} ms`);
  line('bare aggregate pass over the month\'s credits and impacts (reference)', s(bareMs));
  line('RATIO report / bare pass', (median(reportMs) / median(bareMs)).toFixed(2));
  line('what-if under the policy in force, median (aim: under 60 s)', s(whatIfMs));
  line('what-if equals the ledger', check);
  line(`ledger preview of the same outages (${sample.length} settled, scaled to ${fmt(OUTAGES)})`, s(ledgerMs));
  line('RATIO what-if / ledger settlement', (median(whatIfMs) / median(ledgerMs)).toFixed(2));
  line('event loop delay during the what-if, p99 / max', `${median(lagP99).toFixed(1)} / ${median(lagMax).toFixed(1)} ms`);
}

if (import.meta.main) await benchReports();
