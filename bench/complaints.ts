// Complaints. 1. Throughput and latency over HTTP: 1,000 complaints/s, open loop, each matched,
// graded and stored by the daemon (started as `npm start` starts it) with 10M subscribers and 100
// active outages (the impact benchmark's database). Reference in the same run, under the same load:
// a bare node:http server that looks up the subscriber and their open impacts and inserts the
// complaint, on the same database with the same durability (WAL, synchronous=FULL) and the same
// group commit as the daemon (the inserts that arrive in one turn of the event loop share one
// transaction; each answered once durable). Rounds interleaved, the first of each pair alternating.
// 2. Matching quality on complaints as they come in the wild (bench/fixtures/wild-complaints.ts),
// labelled from the fault schedule and the topology, never from netpulse's stored impacts:
// heavy-tailed delays (some past the graces), loosely fitting and non-network categories,
// background complaints from subscribers a fault hit and from anyone, some before detection. Run
// through the correlation path of the labelled bench (monitoring -> outages -> impacts ->
// complaint matching, wired as build() wires it), at a common and at a stress background rate.
import { validateConfig } from '../src/config/load.ts';
import type { Category } from '../correlators/complaints/complaint.ts';
import { buildDatabase, setUpActiveOutages, startDaemon, startBare, load, subscriberId, N, type Request } from './impact.ts';
import { buildWorld, faultSchedule, trueImpacts, random as worldRandom, MIN, H, type Phase } from './fixtures/labelled-world.ts';
import { wildComplaints, type Fit } from './fixtures/wild-complaints.ts';
import { run, score } from './labelled.ts';
import { line, fmt, rssMb, median } from './lib.ts';
import { cpuMs } from './procs.ts';
import { loadavg } from 'node:os';

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
  // The same durability and the same group commit as the daemon (src/store/group.ts): inserts that
  // arrive in one turn share one transaction, each answered once it is committed.
  const bare = await startBare(`db.exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE IF NOT EXISTS bare_complaints (id TEXT PRIMARY KEY, subscriber_id TEXT, body TEXT, outage_id TEXT)");
    const sub = db.prepare('SELECT * FROM subscribers WHERE id = ?');
    const imp = db.prepare('SELECT * FROM subscriber_impacts WHERE subscriber_id = ? AND until IS NULL');
    const ins = db.prepare('INSERT INTO bare_complaints VALUES (?, ?, ?, ?)');
    let pending = [];
    const flush = () => {
      const batch = pending; pending = [];
      db.exec('BEGIN');
      for (const w of batch) ins.run(...w.row);
      db.exec('COMMIT');
      for (const w of batch) w.done();
    };`,
  `const c = JSON.parse(body); const s = sub.get(c.subscriberId); const i = imp.all(c.subscriberId);
    if (pending.length === 0) setImmediate(flush);
    pending.push({ row: [c.id, c.subscriberId, body, i.length ? i[0].outage_id : null], done: () => {
      res.statusCode = 201; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ id: c.id, subscriber: s, match: i[0] ?? null })); } });`);
  const created = (s: number) => s === 201;
  const ds: Awaited<ReturnType<typeof load>>[] = [];
  const bs: Awaited<ReturnType<typeof load>>[] = [];
  let rss = NaN;
  const daemonCpu: number[] = [];
  const bareCpu: number[] = [];
  try {
    await load(daemon.port, complaint, created); // warm-up of each
    await load(bare.port, complaint, created);
    // CPU a complaint, of each process over its own rounds: waiting on the disk costs none.
    const timed = async (pid: number, port: number, out: typeof ds, cpus: number[]) => {
      const a = cpuMs(pid);
      const n = await load(port, complaint, created);
      out.push(n);
      cpus.push((cpuMs(pid) - a) / n.n);
    };
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) { await timed(bare.child.pid!, bare.port, bs, bareCpu); await timed(daemon.child.pid!, daemon.port, ds, daemonCpu); }
      else { await timed(daemon.child.pid!, daemon.port, ds, daemonCpu); await timed(bare.child.pid!, bare.port, bs, bareCpu); }
    }
    rss = rssMb(daemon.child.pid!);
  } finally {
    daemon.child.kill('SIGTERM');
    await new Promise((r) => daemon.child.once('exit', r));
    bare.child.kill('SIGTERM');
  }
  line(`complaints at 1,000/s, ${ROUNDS} rounds, p50 / p99 / max`, `${ds.map((d) => `${d.p50.toFixed(2)} / ${d.p99.toFixed(2)} / ${d.max.toFixed(1)}`).join('; ')} ms (aim: p99 under 20 ms; ${ds.reduce((a, d) => a + d.errors, 0)} not 201)`);
  line('daemon RSS after the load', `${rss.toFixed(0)} MB`);
  line('CPU ms a complaint: daemon / bare (median of rounds)', `${median(daemonCpu).toFixed(3)} / ${median(bareCpu).toFixed(3)}  (machine load average ${loadavg()[0].toFixed(1)})`);
  line('bare lookup + group-committed insert (reference) p50 / p99', `${bs.map((b) => `${b.p50.toFixed(2)} / ${b.p99.toFixed(2)}`).join('; ')} ms (${bs.reduce((a, b) => a + b.errors, 0)} not 201)`);
  line('RATIO p99 daemon / bare (median of round pairs)', median(ds.map((d, i) => d.p99 / bs[i].p99)).toFixed(2));
  line('RATIO p50 daemon / bare (median of round pairs)', median(ds.map((d, i) => d.p50 / bs[i].p50)).toFixed(2));
}

const ROUNDS = Number(process.env.BENCH_COMPLAINTS_ROUNDS ?? 3);

/**
 * Matching quality on a week of complaints in the wild. `background`: complaints a week with other
 * causes from anyone among the 20,000 subscribers (100: about 2 % of subscribers a month; 1,000 a
 * stress level), besides those from subscribers a fault hit.
 */
export async function quality(background: number): Promise<void> {
  const config = validateConfig({}, {}).config!;
  const graces = { beforeMs: config.complaints.graceBefore, afterMs: config.complaints.graceAfter };
  const w = buildWorld(20_000, worldRandom(7));
  const faults = faultSchedule(w, worldRandom(8));
  const truth = trueImpacts(w, faults);
  const { complaints, fit } = wildComplaints(w, faults, truth, background, graces, 21);
  const r = await run(w, faults, complaints, config, 'daemon');
  const s = score(w, faults, complaints, r, graces);
  const caused = complaints.filter((c) => c.fault);
  const right = (c: (typeof complaints)[number]) => {
    const m = r.complaints.get(c.id)?.outageId ?? null;
    return m !== null && !!c.label && [...c.label].some((fid) => {
      const f = faults.find((x) => x.id === fid)!;
      const o = r.outages.get(m);
      const roots = [o, o?.mergedInto ? r.outages.get(o.mergedInto) : undefined].filter((x) => x !== undefined);
      return roots.some((x) => x.root === f.element && x.startedAt >= f.start - graces.beforeMs && x.startedAt <= f.end + graces.afterMs);
    });
  };
  const recallOf = (xs: typeof complaints) => `${(xs.filter(right).length / Math.max(1, xs.length)).toFixed(3)} (${xs.length})`;
  const phases: Phase[] = ['past-grace-before', 'before', 'before-detection', 'during', 'after', 'past-grace-after'];
  const inGrace = caused.filter((c) => c.phase !== 'past-grace-before' && c.phase !== 'past-grace-after');
  const matchedBg = (phase: Phase) => complaints.filter((c) => c.phase === phase && r.complaints.get(c.id)?.outageId).length;
  line(`week: ${faults.length} faults; complaints caused / background from those hit / from anyone`, `${fmt(caused.length)} / ${fmt(complaints.filter((c) => c.phase === 'background-affected').length)} / ${fmt(background)} (run ${r.seconds.toFixed(1)} s)`);
  line('  caused, by phase', phases.map((p) => `${p} ${caused.filter((c) => c.phase === p).length}`).join(', '));
  line('  caused, by category', (['fitting', 'loose', 'non-network'] as Fit[]).map((f) => `${f} ${caused.filter((c) => fit.get(c.id) === f).length}`).join(', '));
  line('  precision', `${s.precision.toFixed(3)} (${s.fp} false: ${matchedBg('background-affected')} background from subscribers hit, ${matchedBg('background')} from anyone, ${s.fp - matchedBg('background-affected') - matchedBg('background')} caused but matched to the wrong outage)`);
  line('  recall, all caused / inside the graces / past them', `${s.recall.toFixed(3)} / ${recallOf(inGrace)} / ${recallOf(caused.filter((c) => !inGrace.includes(c)))}`);
  line('  recall by phase', phases.map((p) => `${p} ${recallOf(caused.filter((c) => c.phase === p))}`).join(', '));
  line('  recall by category: fitting / loose / non-network', (['fitting', 'loose', 'non-network'] as Fit[]).map((f) => recallOf(caused.filter((c) => fit.get(c.id) === f))).join(' / '));
  line('  recall, fitting categories inside the graces (the old set)', recallOf(inGrace.filter((c) => fit.get(c.id) === 'fitting')));
}

export async function benchComplaints(): Promise<void> {
  console.log(`-- matching quality, complaints in the wild (graces: ${validateConfig({}, {}).config!.complaints.graceBefore / MIN} min before, ${validateConfig({}, {}).config!.complaints.graceAfter / H} h after)`);
  await quality(100);
  await quality(1000);
  await throughput();
}

if (import.meta.main) {
  await benchComplaints();
  process.exit(0);
}
