// Complaints. 1. Throughput and latency over HTTP: 1,000 complaints/s, open loop, each matched,
// graded and stored by the daemon (started as `npm start` starts it) with 10M subscribers and 100
// active outages (the impact benchmark's database). Reference in the same run, under the same load:
// a bare node:http server that looks up the subscriber and their open impacts and inserts the
// complaint, on the same database with the same durability (WAL, synchronous=FULL).
// 2. Matching quality on a labelled week from the simulator's topology: outages with their stored
// scope, complaints caused by them (labelled with the outage) and background complaints (labelled
// with none), matched in time order. Precision and recall against the labels, at a common background
// rate and at a stress rate.
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.ts';
import { SimNetwork } from '../src/sim/network.ts';
import { Topology } from '../src/topology/topology.ts';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import { ImpactService } from '../correlators/impact/service.ts';
import { ComplaintService } from '../correlators/complaints/service.ts';
import { OutageCorrelator } from '../correlators/outages/correlator.ts';
import type { ElementHealth } from '../correlators/health/tracker.ts';
import type { Category } from '../correlators/complaints/complaint.ts';
import { tempDir } from '../tests/helpers/servers.ts';
import { buildDatabase, setUpActiveOutages, startDaemon, startBare, load, subscriberId, N, type Request } from './impact.ts';
import { line, fmt, rssMb } from './lib.ts';
import { outagesOf } from '../correlators/outages/repository.ts';

function random(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

export async function throughput(): Promise<void> {
  await buildDatabase();
  const { affected } = await setUpActiveOutages();
  const rnd = random(11);
  const background: Category[] = ['billing', 'slow_data', 'weak_signal', 'service_attitude', 'wifi', 'no_service', 'other'];
  const run = Date.now();
  let n = 0;
  const complaint = (): Request => {
    const hit = rnd() < 0.5;
    const body = {
      id: `B${run}-${++n}`, subscriberId: hit ? affected[Math.floor(rnd() * affected.length)] : subscriberId(Math.floor(rnd() * N)),
      channel: 'app', category: hit ? 'no_service' : background[Math.floor(rnd() * background.length)], reportedAt: new Date().toISOString(),
    };
    return { method: 'POST', path: '/v1/complaints', body: JSON.stringify(body) };
  };
  const daemon = await startDaemon();
  const created = (s: number) => s === 201;
  await load(daemon.port, complaint, created); // warm-up
  const d = await load(daemon.port, complaint, created);
  const rss = rssMb(daemon.child.pid!);
  daemon.child.kill('SIGTERM');
  await new Promise((r) => daemon.child.once('exit', r));

  const bare = await startBare(`db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE IF NOT EXISTS bare_complaints (id TEXT PRIMARY KEY, subscriber_id TEXT, body TEXT, outage_id TEXT)");
    const sub = db.prepare('SELECT * FROM subscribers WHERE id = ?');
    const imp = db.prepare('SELECT * FROM subscriber_impacts WHERE subscriber_id = ? AND until IS NULL');
    const ins = db.prepare('INSERT INTO bare_complaints VALUES (?, ?, ?, ?)');`,
  `const c = JSON.parse(body); const s = sub.get(c.subscriberId); const i = imp.all(c.subscriberId);
    ins.run(c.id, c.subscriberId, body, i.length ? i[0].outage_id : null);
    res.statusCode = 201; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ id: c.id, subscriber: s, match: i[0] ?? null }));`);
  await load(bare.port, complaint, created);
  const b = await load(bare.port, complaint, created);
  bare.child.kill('SIGTERM');

  line('complaints at 1,000/s, p50 / p99 / max', `${d.p50.toFixed(2)} / ${d.p99.toFixed(2)} / ${d.max.toFixed(1)} ms (aim: p99 under 20 ms; ${d.errors} not 201 of ${fmt(d.n)})`);
  line('daemon RSS after the load', `${rss.toFixed(0)} MB`);
  line('bare lookup + insert server (reference) p50 / p99', `${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} ms`);
  line('RATIO p99 daemon / bare', (d.p99 / b.p99).toFixed(2));
}

/**
 * `background`: complaints a week with other causes, among 20,000 subscribers. 100 is about 2 % of
 * subscribers a month (a common complaint rate); 1,500 is a stress level, 30 % a month.
 */
export async function quality(background: number): Promise<void> {
  const rnd = random(5);
  const sim = new SimNetwork(validateConfig({ sim: { enabled: true, switches: 4, baseStations: 40, cellsPerBaseStation: 3 } }, {}).config!.sim);
  const topology = Topology.build(sim.elements()).topology!;
  const cells = [...topology.elements.values()].filter((e) => e.kind === 'cell').map((e) => e.id);
  const stations = [...topology.elements.values()].filter((e) => e.kind === 'base_station').map((e) => e.id);
  const store = new Store(new SqliteDb(join(tempDir('bench-complaints'), 'netpulse.db')));
  await store.migrate();
  await store.saveTopology([...topology.elements.values()]);
  const SUBS = 20_000;
  async function* rows() {
    for (let i = 0; i < SUBS; i++) {
      const k = 1 + Math.floor(rnd() * 3);
      const serving = new Set<string>();
      const home = Math.floor(rnd() * cells.length);
      while (serving.size < k) serving.add(cells[(home + Math.floor(rnd() * 6)) % cells.length]);
      yield JSON.stringify({ id: `S${i}`, tier: ['vip', 'gold', 'standard', 'standard'][i % 4], service: 'mobile', serving: [...serving] }) + '\n';
    }
  }
  await importSubscribers(store, rows(), { format: 'jsonl', mode: 'replace', known: (e) => topology.elements.has(e) });

  // A week of faults: cells, base stations, now and then a switch; 20 minutes to 4 hours each.
  const H = 3_600_000;
  const T0 = Date.UTC(2026, 10, 1);
  const faults = Array.from({ length: 40 }, () => {
    const r = rnd();
    const element = r < 0.5 ? cells[Math.floor(rnd() * cells.length)] : r < 0.92 ? stations[Math.floor(rnd() * stations.length)] : `SIM-SW-00${1 + Math.floor(rnd() * 4)}`;
    const start = T0 + Math.floor(rnd() * 7 * 24 * H);
    return { element, start, end: start + Math.floor((1 / 3 + rnd() * 11 / 3) * H) };
  });
  const correlator = new OutageCorrelator(topology, { confirmRecoveryMs: 0 });
  const impacts = new ImpactService();
  const health = new Map<string, ElementHealth>([...topology.elements.keys()].map((id) => [id, { state: 'up', since: 0, reason: 'ok' }]));
  const changes = faults.flatMap((f) => [{ t: f.start, element: f.element, state: 'down' as const }, { t: f.end, element: f.element, state: 'up' as const }]).sort((a, b) => a.t - b.t);
  for (const c of changes) {
    health.set(c.element, { state: c.state, since: c.t, reason: c.state });
    for (const e of correlator.evaluate(health, c.t)) {
      await outagesOf(store).recordOutageEvent(e);
      await impacts.apply(store, e);
    }
  }
  for (const e of correlator.evaluate(health, T0 + 8 * 24 * H)) {
    await outagesOf(store).recordOutageEvent(e);
    await impacts.apply(store, e);
  }

  // Complaints caused by the outages: some of the subscribers each hit, in a fitting category,
  // while hit or shortly after; labelled with the outage.
  const spans = await store.db.query<{ outage_id: string; subscriber_id: string; kind: string; since: number; until: number | null }>('SELECT outage_id, subscriber_id, kind, since, until FROM subscriber_impacts');
  // Two outages can hit a subscriber at once (a base station still down when its switch comes back
  // gets its own outage, from when it went down): a caused complaint is labelled with every outage
  // that hit its subscriber at that moment, and matching any of them is right.
  const bySubscriber = new Map<string, typeof spans>();
  for (const s of spans) (bySubscriber.get(s.subscriber_id) ?? bySubscriber.set(s.subscriber_id, []).get(s.subscriber_id)!).push(s);
  const hitAt = (sub: string, t: number) => new Set((bySubscriber.get(sub) ?? []).filter((x) => Number(x.since) <= t && t <= Number(x.until ?? Infinity)).map((x) => x.outage_id));
  const complaints: { id: string; subscriberId: string; category: Category; at: number; label: Set<string> | null }[] = [];
  for (const s of spans) {
    const p = s.kind === 'no_service' ? 0.05 : 0.015;
    if (rnd() >= p) continue;
    const end = Number(s.until ?? s.since + H);
    const at = Number(s.since) + 2 * 60_000 + Math.floor(rnd() * Math.max(60_000, end - Number(s.since)));
    const category: Category = s.kind === 'no_service' ? (rnd() < 0.7 ? 'no_service' : 'call_drop') : (rnd() < 0.6 ? 'slow_data' : 'weak_signal');
    const label = hitAt(s.subscriber_id, at);
    label.add(s.outage_id);
    complaints.push({ id: `O${complaints.length}`, subscriberId: s.subscriber_id, category, at, label });
  }
  const caused = complaints.length;
  // Background: complaints with other causes (handsets, billing, home Wi-Fi, moods), any time, anyone.
  const kinds: Category[] = ['billing', 'billing', 'service_attitude', 'wifi', 'slow_data', 'weak_signal', 'no_service', 'call_drop', 'other'];
  const BACKGROUND = background;
  for (let i = 0; i < BACKGROUND; i++) {
    complaints.push({ id: `N${i}`, subscriberId: `S${Math.floor(rnd() * SUBS)}`, category: kinds[Math.floor(rnd() * kinds.length)], at: T0 + Math.floor(rnd() * 7 * 24 * H), label: null });
  }
  complaints.sort((a, b) => a.at - b.at);
  const service = new ComplaintService({ health: () => undefined, topology: () => topology });
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let overlapping = 0;
  for (const c of complaints) {
    const r = await service.submit(store, { id: c.id, subscriberId: c.subscriberId, channel: 'app', category: c.category, reportedAt: c.at }, c.at + 1000);
    const got = r.complaint.match?.outageId ?? null;
    if (got !== null && c.label?.has(got)) tp++;
    else {
      if (got !== null) fp++;
      if (got !== null && c.label === null && hitAt(c.subscriberId, c.at).size > 0) overlapping++;
      if (c.label !== null) fn++;
    }
  }
  await store.close();
  line('labelled week: outages, complaints caused by them, background', `${faults.length} faults, ${fmt(caused)} caused, ${fmt(BACKGROUND)} background`);
  line('matching precision (aim: >= 0.98)', `${(tp / (tp + fp)).toFixed(3)} (${fp} false matches; ${overlapping} of them background complaints made while the subscriber was hit)`);
  line('matching recall (aim: >= 0.95)', (tp / (tp + fn)).toFixed(3));
}

export async function benchComplaints(): Promise<void> {
  await quality(100);
  await quality(1500);
  await throughput();
}

if (import.meta.main) {
  await benchComplaints();
  process.exit(0);
}
