// Subscriber impact at operator scale, on SQLite: 10 million subscribers (BENCH_SUBSCRIBERS), each
// covered by two cells of neighbouring base stations; 20,000 base stations with 3 cells, 200 behind
// each of 100 aggregation switches. A switch dying hits about 100,000 subscribers.
//
// 1. Scope: the switch's outage opens; ImpactService computes and persists every subscriber's
//    impact and the outage's counts. Reference in the same run: the bare minimum on the same
//    database, one INSERT ... SELECT of the subscribers its elements serve.
// 2. "Is subscriber X affected?": with 100 active outages, the daemon (started as `npm start`
//    starts it, in its own process) answers GET /v1/subscribers/:id at 1,000 requests/s, open loop,
//    latency counted from when each request was due. Reference in the same run and under the same
//    load: a bare node:http server doing the two primary-key lookups on the same database.
//
// The 10M database is built once (about 2 minutes) and kept in /var/tmp/netpulse-bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import http from 'node:http';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import { ImpactService } from '../correlators/impact/service.ts';
import { hashToken } from '../src/api/auth.ts';
import type { Outage, OutageEvent } from '../correlators/outages/outage.ts';
import { line, fmt, START_FLAGS, rssMb, percentile } from './lib.ts';
import { outagesOf } from '../correlators/outages/repository.ts';
import { startMosquitto, startVictoriaMetrics } from '../tests/helpers/servers.ts';
import { startAgent, targetHost } from './peers.ts';
import { cpuMs } from './procs.ts';
import { loadavg, availableParallelism } from 'node:os';

export const N = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000_000);
const PER_BS = 500;
const STATIONS = Math.ceil(N / PER_BS);
const PER_SWITCH = 200;
const SWITCHES = Math.ceil(STATIONS / PER_SWITCH);
const RATE = 1000;
const SECONDS = Number(process.env.BENCH_IMPACT_SECONDS ?? 10);
export const TOKEN = 'bench-token-0123456789abcdef';
const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
export const DIR = `/var/tmp/netpulse-bench/impact-${N}-v4b`;

const bs = (b: number) => `BS-${b % STATIONS}`;
export const subscriberId = (i: number) => String(13_800_000_000 + i);
const switchOf = (b: number) => `SW-${Math.floor(b / PER_SWITCH)}`;

function topologyCsv(): string {
  const rows = ['id,kind,site,region,lat,lon,parents', 'CORE,core,dc,all,,,'];
  for (let s = 0; s < SWITCHES; s++) rows.push(`SW-${s},aggregation,sw-${s},r${s % 10},,,CORE`);
  for (let b = 0; b < STATIONS; b++) {
    rows.push(`${bs(b)},base_station,site-${b},r${Math.floor(b / PER_SWITCH) % 10},,,${switchOf(b)}`);
    for (let c = 1; c <= 3; c++) rows.push(`${bs(b)}-C${c},cell,site-${b},r${Math.floor(b / PER_SWITCH) % 10},,,${bs(b)}`);
  }
  return rows.join('\n') + '\n';
}

export async function buildDatabase(): Promise<void> {
  if (existsSync(join(DIR, 'ready'))) return;
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'topology.csv'), topologyCsv());
  const store = new Store(new SqliteDb(join(DIR, 'netpulse.db')));
  await store.migrate();
  const tiers = ['vip', 'gold', 'standard', 'standard', 'standard', 'enterprise'];
  async function* rows() {
    yield 'id,tier,service,serving,region,plan,arpu\n';
    for (let i = 0; i < N; i++) {
      const b = Math.floor(i / PER_BS);
      yield `${subscriberId(i)},${tiers[i % tiers.length]},mobile,${bs(b)}-C${1 + (i % 3)};${bs(b + 1)}-C${1 + ((i + 1) % 3)},r${Math.floor(b / PER_SWITCH) % 10},5G-99,99\n`;
    }
  }
  const t = performance.now();
  const r = await importSubscribers(store, rows(), { format: 'csv', mode: 'replace', known: () => true, batchSize: 20_000 });
  await store.close();
  writeFileSync(join(DIR, 'ready'), String(N));
  line('built the database once (kept for later runs)', `${fmt(r.loaded)} subscribers in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

/** An outage of a switch (its base stations and cells cut off) or of one base station. */
function outageOf(root: string, at: number): Outage {
  const impacted: string[] = [];
  if (root.startsWith('SW-')) {
    const s = Number(root.slice(3));
    for (let b = s * PER_SWITCH; b < Math.min(STATIONS, (s + 1) * PER_SWITCH); b++) impacted.push(bs(b), `${bs(b)}-C1`, `${bs(b)}-C2`, `${bs(b)}-C3`);
  } else {
    impacted.push(`${root}-C1`, `${root}-C2`, `${root}-C3`);
  }
  return { id: `${root}@${at}`, root, severity: 'outage', state: 'open', startedAt: at, impacted: impacted.map((element) => ({ element, since: at })), planned: false, flapping: false, reopened: 0, reason: 'snmp: timeout' };
}

/** The bench database with its subscribers and topology, and nothing else from earlier runs. */
async function cleanSlate(): Promise<{ db: SqliteDb; store: Store }> {
  const db = new SqliteDb(join(DIR, 'netpulse.db'));
  const store = new Store(db);
  await store.migrate();
  for (const t of ['subscriber_impacts', 'outage_events', 'outage_impacts', 'alerts', 'outages', 'complaints', 'suspected_outages', 'outbox']) await db.run(`DELETE FROM ${t}`);
  return { db, store };
}

async function scopeFigures(): Promise<void> {
  const { db, store } = await cleanSlate();
  const impacts = new ImpactService();
  const t0 = Date.now() - 3_600_000;
  const sw = outageOf(`SW-${5 % SWITCHES}`, t0);
  const opened: OutageEvent = { type: 'opened', outage: sw, at: t0 };
  await outagesOf(store).recordOutageEvent(opened);

  // Reference: the bare minimum, the affected subscribers written with one INSERT ... SELECT.
  const elements = [sw.root, ...sw.impacted.map((i) => i.element)];
  const bare = (db as unknown as { db: import('node:sqlite').DatabaseSync }).db;
  bare.exec('CREATE TEMP TABLE bare_scope (subscriber_id TEXT PRIMARY KEY, since BIGINT)');
  let t = performance.now();
  bare.exec('BEGIN');
  bare.prepare(`INSERT OR IGNORE INTO bare_scope SELECT subscriber_id, ${t0} FROM subscriber_serving WHERE element IN (${elements.map(() => '?').join(',')})`).run(...elements);
  bare.exec('COMMIT');
  const bareMs = performance.now() - t;
  const bareRows = Number((bare.prepare('SELECT COUNT(*) AS n FROM bare_scope').get() as { n: number }).n);
  bare.exec('DROP TABLE bare_scope');

  t = performance.now();
  await impacts.apply(store, opened);
  const openMs = performance.now() - t;
  const scope = impacts.scope(sw.id)!;
  line('switch outage: subscribers in scope', `${fmt(scope.current)} (${fmt(scope.noService)} no service, ${fmt(scope.degraded)} degraded)`);
  line('scope computed and persisted (aim: under 2 s)', `${(openMs / 1000).toFixed(2)} s`);
  line('bare INSERT ... SELECT of the same subscribers (reference)', `${(bareMs / 1000).toFixed(2)} s (${fmt(bareRows)} rows)`);
  line('RATIO scope / bare insert', (openMs / bareMs).toFixed(2));

  const cleared: OutageEvent = { type: 'cleared', outage: { ...sw, state: 'cleared', clearedAt: t0 + 600_000, impacted: [] }, at: t0 + 600_000 };
  await outagesOf(store).recordOutageEvent(cleared);
  t = performance.now();
  await impacts.apply(store, cleared);
  line('the same outage cleared: every impact closed', `${((performance.now() - t) / 1000).toFixed(2)} s`);

  await store.close();
}

/**
 * 100 active outages on a clean slate: a switch (100,000 subscribers) and 99 base stations
 * elsewhere. Returns the subscribers they hit.
 */
export async function setUpActiveOutages(): Promise<{ affected: string[]; roots: string[] }> {
  const { db, store } = await cleanSlate();
  const impacts = new ImpactService();
  const t0 = Date.now() - 3_600_000;
  const big = 7 % SWITCHES;
  const step = Math.max(1, Math.floor(STATIONS / 101));
  const stations = Array.from({ length: STATIONS }, (_, k) => (k * step + 17) % STATIONS).filter((b) => Math.floor(b / PER_SWITCH) !== big);
  const active = [outageOf(`SW-${big}`, t0 + 700_000), ...[...new Set(stations)].slice(0, 99).map((b, k) => outageOf(bs(b), t0 + 700_000 + k))];
  const t = performance.now();
  for (const o of active) {
    const e: OutageEvent = { type: 'opened', outage: o, at: o.startedAt };
    await outagesOf(store).recordOutageEvent(e);
    await impacts.apply(store, e);
  }
  const rows = Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM subscriber_impacts WHERE until IS NULL'))[0].n);
  line('100 active outages set up', `${fmt(rows)} open impacts in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const affected = (await db.query<{ subscriber_id: string }>('SELECT subscriber_id FROM subscriber_impacts WHERE until IS NULL')).map((r) => r.subscriber_id);
  await store.close();
  return { affected, roots: active.map((o) => o.root) };
}

export interface Served { child: ChildProcess; port: number }

/** Waits for log lines (JSON, on stderr for the daemon) that match, one reader for all waits. */
export function logWatcher(child: ChildProcess, stream = child.stderr!) {
  const seen: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  createInterface({ input: stream }).on('line', (l) => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(l);
    } catch {
      return;
    }
    seen.push(j);
    for (const w of waiters) if (w.match(j)) w.resolve(j);
  });
  return (match: (l: Record<string, unknown>) => boolean, what: string) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const found = seen.find(match);
    if (found) return resolve(found);
    const timer = setTimeout(() => reject(new Error(`${what}: not seen in 10 minutes`)), 600_000);
    child.once('exit', (code) => reject(new Error(`${what}: exited with ${code}`)));
    waiters.push({ match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
  });
}

export async function startDaemon(extra: Record<string, unknown> = {}): Promise<Served & { reconcileMs: number }> {
  const cfg = join(DIR, 'bench.yaml');
  writeFileSync(cfg, JSON.stringify({
    daemon: { dataDir: DIR, logFormat: 'json' }, topology: { file: join(DIR, 'topology.csv') },
    api: { port: 0, rateLimit: 100_000_000, bodyLimit: '64KiB', tokens: [{ name: 'bench', hash: hashToken(TOKEN), roles: ['complaints'] }] },
    ...extra,
  }));
  const child = spawn(process.execPath, [...START_FLAGS, MAIN, 'start', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const waitFor = logWatcher(child);
  const url = String((await waitFor((l) => l.msg === 'api listening', 'api listening')).url);
  const r = await waitFor((l) => l.msg === 'subscriber impacts reconciled', 'reconciled');
  return { child, port: Number(new URL(url).port), reconcileMs: Number(r.ms) };
}

/** What keeps the daemon busy while it answers: SNMP targets it polls, an MQTT stream it ingests, both into VictoriaMetrics. */
export const BUSY = { targets: Number(process.env.BENCH_BUSY_TARGETS ?? 1000), intervalS: 10, mqttRate: Number(process.env.BENCH_BUSY_MQTT ?? 1000), fsync: process.env.BENCH_BUSY_FSYNC !== 'off' };

/**
 * Starts the load around the daemon: two snmpd agents answering BUSY.targets base stations of the
 * topology, Mosquitto with a publisher (its own process) sending BUSY.mqttRate QoS 1 messages a
 * second for 200 other stations, VictoriaMetrics. Returns the daemon's config for them.
 */
export async function busyLoad(roots: readonly string[]): Promise<{ config: Record<string, unknown>; describe: string; stop(): Promise<void> }> {
  // Stations in no active outage (theirs would clear as they answer: work that is not the load's).
  const down = new Set(roots);
  const free = Array.from({ length: STATIONS }, (_, b) => b).filter((b) => !down.has(bs(b)) && !down.has(switchOf(b)));
  const polled = free.slice(0, BUSY.targets).map(bs);
  const streamed = free.slice(BUSY.targets, BUSY.targets + 200).map(bs);
  const agents = await Promise.all([startAgent(), startAgent()]);
  const broker = await startMosquitto();
  const vm = await startVictoriaMetrics();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const publisher = spawn(process.execPath, ['-e', `
    const mqtt = require(${JSON.stringify(new URL('../node_modules/mqtt', import.meta.url).pathname)});
    const c = mqtt.connect(${JSON.stringify(url)}, { clientId: 'bench-busy-pub' });
    let seq = 0; const t0 = Date.now();
    c.on('connect', () => setInterval(() => {
      const due = Math.floor((Date.now() - t0) / 1000 * ${BUSY.mqttRate});
      const els = ${JSON.stringify(streamed)};
      while (seq < due) { const i = seq++; c.publish('tele/' + els[i % els.length] + '/cell/' + (1 + i % 3), JSON.stringify({ rsrp: -90 - (i % 20), sinr: 10 + (i % 7), users: i % 200, ts: Date.now() }), { qos: 1 }); }
    }, 10));`], { stdio: 'ignore' });
  process.once('exit', () => publisher.kill('SIGKILL'));
  return {
    describe: `${fmt(BUSY.targets)} SNMP targets every ${BUSY.intervalS} s (system + if-mib, ${fmt(BUSY.targets / BUSY.intervalS)} polls/s) and ${fmt(BUSY.mqttRate)} MQTT messages/s (QoS 1), into VictoriaMetrics${BUSY.fsync ? '' : ' (spool fsync off)'}`,
    config: {
      timeseries: { influx: { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't' }, spool: { fsync: BUSY.fsync } },
      snmp: {
        defaults: { interval: `${BUSY.intervalS}s` },
        targets: polled.map((element, i) => ({ name: `busy-${i}`, element, host: targetHost(i), port: agents[i % 2].port })),
      },
      mqtt: { brokers: [{ name: 'busy', url, clientId: 'bench-busy', subscriptions: [{
        topic: 'tele/+/cell/+', format: 'json', element: '{1}', measurement: 'lte_cell', tags: { cell: '{1}-C{3}' },
        fields: { rsrp_dbm: '$.rsrp', sinr_db: '$.sinr', connected_users: { path: '$.users', type: 'int' } }, time: '$.ts',
      }] }] },
    },
    async stop() {
      publisher.kill('SIGTERM');
      await Promise.all([...agents.map((a) => a.proc.stop()), broker.stop(), vm.stop()]);
    },
  };
}

/** The daemon's SNMP polls and MQTT messages so far (its /metrics). */
export async function busyCounts(port: number): Promise<{ polls: number; messages: number }> {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (re: RegExp) => [...t.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  return { polls: sum(/^netpulse_snmp_polls_total\{outcome="(?:answered|failed)"\} (\S+)$/gm), messages: sum(/^netpulse_mqtt_messages_total\{[^}]*\} (\S+)$/gm) };
}

/** A bare node:http server in its own process, running `handler(req, res, body)` (CommonJS source, `db` open on the bench database). */
export async function startBare(setup: string, handler: string): Promise<Served> {
  const src = `
    const { DatabaseSync } = require('node:sqlite');
    const http = require('node:http');
    const db = new DatabaseSync(${JSON.stringify(join(DIR, 'netpulse.db'))});
    ${setup}
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { ${handler} });
    });
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));`;
  const child = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  const l = await logWatcher(child, child.stdout!)((j) => j.msg === 'listening', 'bare server');
  return { child, port: Number(l.port) };
}

export interface Request { method: 'GET' | 'POST'; path: string; body?: string }

/** Open loop: RATE requests a second for SECONDS, each timed from when it was due. */
export async function load(port: number, next: () => Request, ok: (status: number) => boolean = (s) => s === 200): Promise<{ p50: number; p99: number; max: number; errors: number; n: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  let errors = 0;
  const total = RATE * SECONDS;
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    let finished = 0;
    const fire = (due: number) => {
      const r = next();
      const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, agent, headers: { authorization: `Bearer ${TOKEN}`, ...(r.body && { 'content-type': 'application/json' }) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (!ok(res.statusCode ?? 0)) errors++;
          latencies.push(performance.now() - due);
          if (++finished === total) done();
        });
      });
      req.on('error', () => {
        errors++;
        if (++finished === total) done();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      const dueCount = Math.min(total, Math.floor(((now - start) / 1000) * RATE) + 1);
      while (sent < dueCount) fire(start + (sent++ * 1000) / RATE);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)!, errors, n: latencies.length };
}

const ROUNDS = Number(process.env.BENCH_IMPACT_ROUNDS ?? 3);

export async function benchImpact(): Promise<void> {
  await buildDatabase();
  await scopeFigures();
  const { affected, roots } = await setUpActiveOutages();
  let seed = 7;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  // Half the questions are about affected subscribers, half about anyone.
  const ask = (): Request => ({ method: 'GET', path: `/v1/subscribers/${rnd() < 0.5 ? affected[Math.floor(rnd() * affected.length)] : subscriberId(Math.floor(rnd() * N))}` });

  // The daemon busy polling and ingesting; the bare reference beside it, the same load on the machine.
  const busy = await busyLoad(roots);
  const daemon = await startDaemon(busy.config);
  line('daemon started, 100 outages reconciled at start', `${(daemon.reconcileMs / 1000).toFixed(1)} s`);
  const bare = await startBare(`const sub = db.prepare('SELECT * FROM subscribers WHERE id = ?');
    const imp = db.prepare('SELECT * FROM subscriber_impacts WHERE subscriber_id = ? AND until IS NULL');`,
  `const id = req.url.split('/').pop(); const s = sub.get(id); const i = imp.all(id);
    res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ subscriber: s, affected: i.length > 0, impacts: i }));`);
  const ds: Awaited<ReturnType<typeof load>>[] = [];
  const bs_: Awaited<ReturnType<typeof load>>[] = [];
  let rss = NaN;
  let peak = NaN;
  let busyRate = { polls: NaN, messages: NaN };
  let idleCpu = NaN;
  const daemonCpu: number[] = [];
  const bareCpu: number[] = [];
  try {
    // Warm-up of each (page cache, JIT), then rounds in alternating order: neither warms the cache for the other.
    await load(daemon.port, ask);
    await load(bare.port, ask);
    // The daemon's CPU for the load alone (no requests), then per request on top of it; the bare server's per request.
    const cpu = cpuMs(daemon.child.pid!);
    await new Promise((r) => setTimeout(r, 5000));
    idleCpu = (cpuMs(daemon.child.pid!) - cpu) / 5000;
    const c0 = await busyCounts(daemon.port);
    const t0 = performance.now();
    const timed = async (pid: number, port: number, out: typeof ds, cpus: number[]) => {
      const a = cpuMs(pid);
      const t = performance.now();
      out.push(await load(port, ask));
      cpus.push(cpuMs(pid) - a - (pid === daemon.child.pid ? idleCpu * (performance.now() - t) : 0));
    };
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) { await timed(bare.child.pid!, bare.port, bs_, bareCpu); await timed(daemon.child.pid!, daemon.port, ds, daemonCpu); }
      else { await timed(daemon.child.pid!, daemon.port, ds, daemonCpu); await timed(bare.child.pid!, bare.port, bs_, bareCpu); }
    }
    const c1 = await busyCounts(daemon.port);
    const secs = (performance.now() - t0) / 1000;
    busyRate = { polls: (c1.polls - c0.polls) / secs, messages: (c1.messages - c0.messages) / secs };
    rss = rssMb(daemon.child.pid!);
    peak = rssMb(daemon.child.pid!, 'VmHWM');
  } finally {
    daemon.child.kill('SIGTERM');
    await new Promise((r) => daemon.child.once('exit', r));
    bare.child.kill('SIGTERM');
    await busy.stop();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  line('load on the daemon meanwhile', `${busy.describe}; measured: ${fmt(busyRate.polls)} polls/s, ${fmt(busyRate.messages)} messages/s`);
  line(`is X affected? ${RATE} req/s, ${ROUNDS} rounds of ${SECONDS} s, p50 / p99 / max`, `${ds.map((d) => `${d.p50.toFixed(2)} / ${d.p99.toFixed(2)} / ${d.max.toFixed(1)}`).join('; ')} ms (aim: p99 under 5 ms; ${ds.reduce((a, d) => a + d.errors, 0)} errors)`);
  line('daemon RSS after the load (peak)', `${rss.toFixed(0)} MB (${peak.toFixed(0)} MB)`);
  const perReq = (xs: number[]) => (med(xs) / (RATE * SECONDS)).toFixed(3);
  line('CPU: the load alone, % of a core; per request: daemon / bare, ms', `${(idleCpu * 100).toFixed(0)} %; ${perReq(daemonCpu)} / ${perReq(bareCpu)} (machine load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`);
  line('bare node:http + node:sqlite lookups (reference) p50 / p99', bs_.map((b) => `${b.p50.toFixed(2)} / ${b.p99.toFixed(2)}`).join('; ') + ' ms');
  line('RATIO p99 daemon / bare (median of round pairs)', med(ds.map((d, i) => d.p99 / bs_[i].p99)).toFixed(2));
  line('RATIO p50 daemon / bare (median of round pairs)', med(ds.map((d, i) => d.p50 / bs_[i].p50)).toFixed(2));
}

if (import.meta.main) {
  await benchImpact();
  process.exit(0);
}
