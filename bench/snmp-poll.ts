// SNMP polling, the whole job, beside the stack operators run today (issue 21).
//
// netpulse: `netpulse start --config` in its own process, as `npm start` runs it: scheduler,
// SNMP collector, pipeline, spooled sink into VictoriaMetrics, health, outages and recent
// measurements running on a topology of the N targets. Profiles `system` and `if-mib` (the
// shipped defaults), interval, timeout and retries as configured below.
// Peer: Debian's Prometheus 2.42 scraping Debian's prometheus-snmp-exporter 0.21 (a module
// fetching the same OIDs: the same scalars by GET, the same table columns walked), into its own
// TSDB, at the same interval; the exporter's timeout and retries the same as netpulse's.
// Both poll the same agents (snmpd processes, each answering at many 127.x.y.z addresses: N
// distinct targets). One system at a time, in alternating order (round pairs ABBA...).
//
// Per round, after a warm-up: polls/s sustained and answered, counted in each system's own time
// series (netpulse: `reachability_up` in VictoriaMetrics; the peer: `up` in Prometheus), over a
// window of `--seconds`; late polls and missed slots from the gaps between a target's consecutive
// samples (the same rule for both), each poll counted once (a sink retrying a write the store had
// taken stores it twice: counted apart); CPU ms per answered poll from /proc/<pid>/stat (netpulse; the peer:
// Prometheus + the exporter), with what the time-series store (VictoriaMetrics, netpulse's) and the
// agents used apart; RSS.
//
//   node bench/snmp-poll.ts [--targets 500,2000] [--interval 10] [--seconds 30] [--rounds 1] [--agents 4]
//   BENCH_SNMP_TARGETS=500,2000,10000 npm run bench -- snmp
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { startVictoriaMetrics, tempDir, type Server } from '../tests/helpers/servers.ts';
import { startAgent, requirePeers, targetHost, snmpExporterModule, startSnmpExporter, startPrometheus, snmpScrapeJob, promQuery, type Agent } from './peers.ts';
import { startNetpulse, waitFor, exitedText, metricValue, cpuMs, sleep, type Proc } from './procs.ts';
import { line, fmt, median, rssMb } from './lib.ts';

function options() {
  const { values: v } = parseArgs({
    args: process.argv.slice(2), strict: false, allowPositionals: true,
    options: { targets: { type: 'string' }, interval: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, agents: { type: 'string' } },
  });
  return {
    targets: String(v.targets ?? process.env.BENCH_SNMP_TARGETS ?? '500,2000').split(',').map(Number),
    intervalS: Number(v.interval ?? process.env.BENCH_SNMP_INTERVAL ?? 10),
    seconds: Number(v.seconds ?? process.env.BENCH_SNMP_SECONDS ?? 30),
    rounds: Number(v.rounds ?? process.env.BENCH_SNMP_ROUNDS ?? 1),
    agents: Number(v.agents ?? 4),
  };
}

/** The SNMP settings both systems poll with: netpulse's defaults (timeout 2 s, 1 retry, 25 repetitions). */
const SNMP = { timeoutS: 2, retries: 1, maxRepetitions: 25, profiles: ['system', 'if-mib'] };
/** After a window, before counting: longer than a poll can take (timeout x tries) plus a flush. */
const SETTLE_MS = SNMP.timeoutS * (SNMP.retries + 1) * 1000 + 2000;

export interface Measured {
  system: string; n: number; secs: number;
  /** Polls (scrapes) stamped in the window, each once; those answered; points stored twice (a write retried). */
  polls: number; answered: number; duplicates: number;
  /** Samples stored per poll (points in the TSDB). */
  pointsPerPoll: number;
  /** Gaps between a target's consecutive samples: count, those > 1.1 x interval (a late poll), slots missed (gap / interval - 1, rounded). */
  gaps: number; late: number; missed: number;
  /** Skipped by the system's own count (netpulse: due while the last poll still ran). */
  skipped?: number;
  /** CPU ms in the window: the system's own processes, its time-series store when apart, the agents. */
  cpuMs: number; storeCpuMs?: number; agentsCpuMs: number;
  rssMb: number[];
}

type Target = { element: string; host: string; port: number };

function targetsFor(n: number, agents: Agent[]): Target[] {
  return Array.from({ length: n }, (_, i) => ({ element: `BS-${String(i).padStart(5, '0')}`, host: targetHost(i), port: agents[i % agents.length].port }));
}

/**
 * From the raw samples of each target's up/down series (timestamps in s): the polls stamped in the
 * window (t0, t1], each counted once (a sink that retried a write the store had taken stores it
 * twice: those are counted apart), those answered, and the gaps between a target's consecutive polls.
 */
function pollsOf(series: { values: [number, string][] }[], t0: number, t1: number, intervalS: number) {
  let polls = 0;
  let answered = 0;
  let raw = 0;
  let gaps = 0;
  let late = 0;
  let missed = 0;
  for (const s of series) {
    const seen = new Map<number, string>();
    for (const [t, v] of s.values) seen.set(t, v);
    raw += s.values.filter(([t]) => t > t0 && t <= t1).length;
    const ts = [...seen.keys()].sort((a, b) => a - b);
    for (const t of ts) {
      if (t <= t0 || t > t1) continue;
      polls++;
      if (Number(seen.get(t)) === 1) answered++;
    }
    for (let i = 1; i < ts.length; i++) {
      const g = ts[i] - ts[i - 1];
      gaps++;
      if (g > intervalS * 1.1) late++;
      missed += Math.max(0, Math.round(g / intervalS) - 1);
    }
  }
  return { polls, answered, duplicates: raw - polls, gaps, late, missed };
}

const scalar = async (port: number, q: string, t: number) => Number((await promQuery(port, q, t))[0]?.value?.[1] ?? 0);

/** Samples RSS each second while `during` runs. */
async function window(ms: number, pids: () => number[]): Promise<{ rss: number[]; t0: number; t1: number }> {
  const rss: number[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    await sleep(1000);
    try { rss.push(pids().reduce((a, p) => a + rssMb(p), 0)); } catch { /* exited */ }
  }
  return { rss, t0, t1: Date.now() };
}

async function roundNetpulse(o: ReturnType<typeof options>, n: number, targets: Target[], agents: Agent[], vm: Server, dir: string): Promise<Measured> {
  const name = `np-${n}-${Date.now()}`;
  const data = join(dir, name);
  writeFileSync(join(dir, 'topology.yaml'), `elements:\n${targets.map((t, i) => `  - { id: ${t.element}, kind: base_station, site: s${i} }\n`).join('')}`);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    daemon: { dataDir: data, logFormat: 'json', logLevel: 'info', shutdownTimeout: '10s' },
    api: { port: 0, host: '127.0.0.1' }, topology: { file: join(dir, 'topology.yaml') },
    timeseries: { influx: { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't' } },
    snmp: {
      defaults: { interval: `${o.intervalS}s`, timeout: `${SNMP.timeoutS}s`, retries: SNMP.retries, maxRepetitions: SNMP.maxRepetitions, profiles: SNMP.profiles },
      targets: targets.map((t) => ({ name: t.element.toLowerCase(), element: t.element, host: t.host, port: t.port })),
    },
  }));
  const np: Proc & { url(): string | undefined; metrics(): Promise<string> } = startNetpulse(name, file);
  try {
    await waitFor('netpulse polling', 120_000, async () => np.url() && metricValue(await np.metrics(), 'netpulse_snmp_polls_total', '{outcome="answered"}') > 0, () => exitedText(np));
    await sleep(o.intervalS * 1000 + 5000);
    const skipped = async () => metricValue(await np.metrics(), 'netpulse_snmp_polls_total', '{outcome="skipped"}');
    const s0 = await skipped();
    const c0 = { own: cpuMs(np.pid), vm: cpuMs(vm.process.pid!), agents: agents.reduce((a, x) => a + cpuMs(x.proc.pid), 0) };
    const w = await window(o.seconds * 1000, () => [np.pid]);
    const c1 = { own: cpuMs(np.pid), vm: cpuMs(vm.process.pid!), agents: agents.reduce((a, x) => a + cpuMs(x.proc.pid), 0) };
    const s1 = await skipped();
    await sleep(SETTLE_MS); // polls stamped in the window but still running at its end; the sink's flush (1 s)
    await fetch(`http://127.0.0.1:${vm.port}/internal/force_flush`);
    const t = w.t1 / 1000;
    const span = `${Math.round((w.t1 - w.t0) / 1000)}s`;
    // Points per poll on the first 100 targets (a store refuses to search 600,000 series at once at 10,000 targets).
    const some = 'element=~"BS-000.."';
    const rawPolls = await scalar(vm.port, `sum(count_over_time(reachability_up{${some}}[${span}]))`, t);
    const points = await scalar(vm.port, `sum(count_over_time({__name__=~"(snmp|interface)_.*", ${some}}[${span}]))`, t);
    const p = pollsOf(await promQuery(vm.port, `reachability_up[${Math.round((w.t1 - w.t0) / 1000 + o.intervalS)}s]`, t), w.t0 / 1000, t, o.intervalS);
    return {
      system: 'netpulse', n, secs: (w.t1 - w.t0) / 1000, ...p, pointsPerPoll: points / rawPolls, skipped: s1 - s0,
      cpuMs: c1.own - c0.own, storeCpuMs: c1.vm - c0.vm, agentsCpuMs: c1.agents - c0.agents, rssMb: w.rss,
    };
  } finally {
    await np.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

async function roundPeer(o: ReturnType<typeof options>, n: number, targets: Target[], agents: Agent[]): Promise<Measured> {
  const exporter = await startSnmpExporter(snmpExporterModule('netpulse', SNMP.profiles, SNMP));
  let prom: Proc | undefined;
  try {
    const p = await startPrometheus(`global:\n  scrape_interval: ${o.intervalS}s\n  evaluation_interval: ${o.intervalS}s\nscrape_configs:\n` +
      snmpScrapeJob({ exporterPort: exporter.port, module: 'netpulse', intervalS: o.intervalS, timeoutS: o.intervalS, targets: targets.map((t) => ({ address: `${t.host}:${t.port}`, labels: { element: t.element } })) }));
    prom = p;
    await waitFor('prometheus scraping', 120_000, async () => Number((await p.query('count(up{job="snmp"} == 1)'))[0]?.value?.[1] ?? 0) > 0, () => exitedText(p) ?? exitedText(exporter));
    await sleep(o.intervalS * 1000 + 5000);
    const pids = () => [p.pid, exporter.pid];
    const c0 = { own: pids().reduce((a, x) => a + cpuMs(x), 0), agents: agents.reduce((a, x) => a + cpuMs(x.proc.pid), 0) };
    const w = await window(o.seconds * 1000, pids);
    const c1 = { own: pids().reduce((a, x) => a + cpuMs(x), 0), agents: agents.reduce((a, x) => a + cpuMs(x.proc.pid), 0) };
    await sleep(SETTLE_MS); // scrapes stamped in the window (at their start) but still running at its end
    const t = w.t1 / 1000;
    const span = `${Math.round((w.t1 - w.t0) / 1000)}s`;
    const points = await scalar(p.port, `sum(sum_over_time(scrape_samples_post_metric_relabeling{job="snmp"}[${span}]))`, t);
    const q = pollsOf(await p.query(`up{job="snmp"}[${Math.round((w.t1 - w.t0) / 1000 + o.intervalS)}s]`, t), w.t0 / 1000, t, o.intervalS);
    return {
      system: 'prometheus + snmp_exporter', n, secs: (w.t1 - w.t0) / 1000, ...q, pointsPerPoll: points / q.polls,
      cpuMs: c1.own - c0.own, agentsCpuMs: c1.agents - c0.agents, rssMb: w.rss,
    };
  } finally {
    await prom?.stop();
    await exporter.stop();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const per = (ms: number, polls: number) => (polls > 0 ? (ms / polls).toFixed(3) : 'n/a');

export async function benchSnmp(): Promise<Map<number, { np: Measured[]; peer: Measured[] }>> {
  const o = options();
  requirePeers();
  line('machine', `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`);
  const agents = await Promise.all(Array.from({ length: o.agents }, () => startAgent()));
  const vm = await startVictoriaMetrics();
  const dir = tempDir('bench-snmp');
  const results = new Map<number, { np: Measured[]; peer: Measured[] }>();
  try {
    let k = 0;
    for (const n of o.targets) {
      const targets = targetsFor(n, agents);
      const r = { np: [] as Measured[], peer: [] as Measured[] };
      results.set(n, r);
      for (let i = 0; i < o.rounds * 2; i++) {
        // ABBA: the first system of each pair alternates, across target counts too.
        const npFirst = (k + Math.floor(i / 2)) % 2 === 0;
        if ((i % 2 === 0) === npFirst) r.np.push(await roundNetpulse(o, n, targets, agents, vm, dir));
        else r.peer.push(await roundPeer(o, n, targets, agents));
      }
      k++;
      report(o, n, r);
    }
  } finally {
    await vm.stop();
    await Promise.all(agents.map((a) => a.proc.stop()));
  }
  return results;
}

function report(o: ReturnType<typeof options>, n: number, r: { np: Measured[]; peer: Measured[] }): void {
  const demand = n / o.intervalS;
  console.log(`-- ${fmt(n)} targets every ${o.intervalS} s (${fmt(demand)} polls/s due), profiles ${SNMP.profiles.join(' + ')}, timeout ${SNMP.timeoutS} s, ${SNMP.retries} retry, window ${o.seconds} s`);
  for (const m of [...r.np, ...r.peer]) {
    const rate = m.answered / m.secs;
    line(`${m.system}: polls/s answered, sustained`, `${fmt(rate)}, ${pct(rate / demand)} of demand (${pct(m.answered / Math.max(1, m.polls))} of ${fmt(m.polls / m.secs)} polls/s made); ${m.pointsPerPoll.toFixed(1)} points stored per poll`);
    line('  late polls (gap > 1.1 interval) / slots missed', `${pct(m.late / Math.max(1, m.gaps))} of ${fmt(m.gaps)} gaps / ${fmt(m.missed)}${m.skipped !== undefined ? `  (netpulse's own skipped count: ${fmt(m.skipped)}; polls stored twice by a retried write: ${fmt(m.duplicates)})` : ''}`);
    line('  CPU ms per answered poll: its processes / + its TSDB', `${per(m.cpuMs, m.answered)}${m.storeCpuMs !== undefined ? ` / ${per(m.cpuMs + m.storeCpuMs, m.answered)} (VictoriaMetrics)` : ' (TSDB inside Prometheus)'}; agents ${per(m.agentsCpuMs, m.answered)}`);
    line('  RSS, MB: median / max (netpulse; Prometheus + exporter)', `${fmt(median(m.rssMb))} / ${fmt(Math.max(...m.rssMb))}`);
  }
  const ratio = (f: (m: Measured) => number) => median(r.np.map(f)) / median(r.peer.map(f));
  line(`RATIO CPU per answered poll, netpulse / peer (${fmt(n)} targets)`, `${ratio((m) => m.cpuMs / m.answered).toFixed(2)}  (netpulse with VictoriaMetrics' CPU: ${(median(r.np.map((m) => (m.cpuMs + m.storeCpuMs!) / m.answered)) / median(r.peer.map((m) => m.cpuMs / m.answered))).toFixed(2)})`);
  line(`RATIO agents' CPU per answered poll, netpulse / peer`, ratio((m) => m.agentsCpuMs / m.answered).toFixed(2));
  line(`RATIO RSS (median), netpulse / peer`, ratio((m) => median(m.rssMb)).toFixed(2));
  line(`RATIO polls/s answered, netpulse / peer`, ratio((m) => m.answered / m.secs).toFixed(2));
}

if (import.meta.main) {
  await benchSnmp();
  process.exit(0);
}
