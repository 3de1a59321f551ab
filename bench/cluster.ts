// Cluster mode (issue 19), each figure against a reference measured in the same run:
// 1. Failover: three netpulse processes on one PostgreSQL (lease 2 s, not the default 10 s), a
//    switch and five base stations on one snmpd, polled every 500 ms. Each trial kills the leader
//    (kill -9) and at once stops snmpd, so only the next leader can open the outage: measured from
//    the kill to that decision (its `outage opened` log line, and the row in `outages`); aim lease
//    + 5 s. Reference: the same failure with the leader alive. From the members' series files: the
//    poll slots each target missed while its member was dead, and polls of one target by two
//    members. The killed member is started again after the decision, as systemd would. Then the
//    same under load (`failover-load`): 200 base stations behind the switch (each a transition the
//    new leader records before it evaluates), the cluster polling 3,000 healthy targets every
//    second besides; which also shows how long a first leader takes to start judging (cold start).
// 2. Scale-out: 1, 2, 3 members, then 1 again, polling the same targets at the same interval,
//    more than one instance can poll: polls/s, CPU per poll, late and skipped polls, and what the
//    agents and PostgreSQL used meanwhile. Aim: two members >= 1.8 x one. This two-core machine
//    also runs the agents, PostgreSQL and other tenants, so each member gets a fixed share of a
//    core (--member-cpu, 0.4 by default: a cgroup v1 CPU quota, as systemd's CPUQuota= sets it),
//    and the members, agents and PostgreSQL the highest weight against the other tenants: n
//    members have n times the CPU, as n hosts would. Where cgroups cannot be written (or with
//    --member-cpu 0) the members are pinned by taskset to core 0, 1, 0 instead. The ratio a core
//    per member would give is also projected, from each member's share of the polls and CPU per poll.
// 3. Steady-state overhead, interleaved rounds: one process on SQLite (the reference), one on
//    PostgreSQL without the cluster, one cluster member (the leader of a cluster of one) on
//    PostgreSQL, and a cluster of two (a follower forwards its checks through PostgreSQL); the
//    same targets and interval, well under saturation: CPU per poll (PostgreSQL's own CPU apart) and RSS.
// Usage: node bench/cluster.ts [--trials 10] [--load-trials 3] [--load 3000] [--storm 200] [--seconds 8] [--rounds 3]
//        [--only failover,failover-load,scale,overhead] [--targets 4000] [--interval 250] [--no-fsync] [--member-cpu 0.4];
//        from bench/run.ts: BENCH_CLUSTER_TRIALS, _LOAD_TRIALS, _SECONDS, _ROUNDS, _ONLY. About 9 minutes.
import pg from 'pg';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { startPostgres, startSnmpd, tempDir, type Server } from '../tests/helpers/servers.ts';
import { member, clusterView, type Member } from '../tests/helpers/cluster.ts';
import { owner } from '../src/cluster/rendezvous.ts';
import { spreadOffset } from '../src/schedule.ts';
import { line, fmt, median, percentile, rssMb, START_FLAGS } from './lib.ts';
import { MAIN, TICK_MS, sleep, waitFor, metricValue, cpuMs, stat } from './procs.ts';


function options() {
  const { values: v } = parseArgs({
    args: process.argv.slice(2), strict: false, allowPositionals: true,
    options: { trials: { type: 'string' }, 'load-trials': { type: 'string' }, load: { type: 'string' }, storm: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, targets: { type: 'string' }, interval: { type: 'string' }, 'no-fsync': { type: 'boolean' }, 'member-cpu': { type: 'string' } },
  });
  const num = (arg: unknown, env: string | undefined, def: number) => Number(arg ?? env ?? def);
  return {
    trials: num(v.trials, process.env.BENCH_CLUSTER_TRIALS, 10),
    loadTrials: num(v['load-trials'], process.env.BENCH_CLUSTER_LOAD_TRIALS, 3),
    load: num(v.load, undefined, 3000),
    storm: num(v.storm, undefined, 200),
    seconds: num(v.seconds, process.env.BENCH_CLUSTER_SECONDS, 8),
    rounds: num(v.rounds, process.env.BENCH_CLUSTER_ROUNDS, 3),
    only: String(v.only ?? process.env.BENCH_CLUSTER_ONLY ?? 'failover,failover-load,scale,overhead').split(','),
    targets: num(v.targets, undefined, 4000),
    interval: num(v.interval, undefined, 250),
    fsync: !v['no-fsync'],
    /** Scale-out: each member's CPU, as a fraction of a core (a cgroup quota), 0 = pinned to a core by taskset. */
    memberCpu: num(v['member-cpu'], process.env.BENCH_CLUSTER_MEMBER_CPU, 0.4),
  };
}
type Options = ReturnType<typeof options>;

// ---- processes: every one started here is killed at exit, errors and signals included ----

const spawned = new Set<ChildProcess>();
const members: Member[] = [];
process.on('exit', () => {
  for (const c of spawned) c.kill('SIGKILL');
  for (const m of members) m.p.child.kill('SIGKILL');
});

interface Proc { name: string; child: ChildProcess; logs(): any[]; url(): string | undefined; metrics(): Promise<string>; stop(): Promise<void> }

/** `netpulse start --config file` as `npm start` runs it, pinned to `cpu` by taskset when given. */
function startNetpulse(name: string, file: string, cpu?: number): Proc {
  // BENCH_CPU_PROF=dir: each process writes a V8 CPU profile there when it stops (`name`-*.cpuprofile).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
  const args = [...START_FLAGS, ...prof, MAIN, 'start', '--config', file];
  const child = cpu === undefined ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', String(cpu), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }); // taskset execs node: same pid
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  spawned.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => { spawned.delete(child); r(); }));
  let url: string | undefined;
  const logs = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  return {
    name, child, logs,
    url: () => (url ??= logs().find((l) => l.msg === 'api listening')?.url),
    metrics: async () => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---- CPU from /proc ----

/** PostgreSQL's CPU so far: the postmaster with its exited backends, and the live ones. */
function pgCpuMs(postmaster: number): number {
  let ms = cpuMs(postmaster, true);
  for (const d of readdirSync('/proc')) {
    const f = /^\d+$/.test(d) ? stat(d) : undefined;
    if (f && Number(f[1]) === postmaster) ms += (Number(f[11]) + Number(f[12])) * TICK_MS;
  }
  return ms;
}
// ---- CPU groups (cgroup v1 `cpu`, as systemd's CPUQuota= and CPUWeight= set them) ----
// Scale-out on a two-core machine that also runs the agents and PostgreSQL: each member gets a
// fixed fraction of a core (a quota: what a member on a host of its own would have, scaled down),
// the agents and PostgreSQL a weight well above the machine's other tenants, so neither the members
// nor the infrastructure is starved by what else runs here, and n members get n times the CPU.

const CGROUP_ROOT = '/sys/fs/cgroup/cpu';
const CGROUP = `${CGROUP_ROOT}/netpulse-bench`;
const groups = new Set<string>();
/** The highest weight (cgroup v1 cpu.shares): every process of the machine's other tenants weighs 1,024. */
const MAX_SHARES = 262_144;
process.on('exit', () => {
  for (const g of groups) removeGroup(g);
  try { execFileSync('rmdir', [CGROUP], { stdio: 'ignore' }); } catch { /* other runs' groups, or none */ }
});

/** A CPU group named `name` under the benchmark's, with a quota in cores (none: no cap) and a weight. */
function cpuGroup(name: string, o: { cores?: number; shares: number }): { add(pid: number): void; dir: string } {
  const dir = `${CGROUP}/${name}`;
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(`${CGROUP}/cpu.shares`, String(MAX_SHARES)); // the weight of the benchmark's groups, as a whole, against the root's processes
  writeFileSync(`${dir}/cpu.shares`, String(o.shares));
  writeFileSync(`${dir}/cpu.cfs_quota_us`, String(o.cores ? Math.round(o.cores * Number(readFileSync(`${dir}/cpu.cfs_period_us`, 'utf8'))) : -1));
  groups.add(dir);
  return { dir, add: (pid) => writeFileSync(`${dir}/cgroup.procs`, String(pid)) };
}
/** Moves what is left in the group back to the root and removes it. */
function removeGroup(dir: string): void {
  try {
    for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
      try { writeFileSync(`${CGROUP_ROOT}/cgroup.procs`, pid); } catch { /* exited */ }
    }
    execFileSync('rmdir', [dir]);
  } catch { /* already gone */ }
  groups.delete(dir);
}
function cgroupsWork(): boolean {
  try { cpuGroup('probe', { shares: 1024 }); removeGroup(`${CGROUP}/probe`); return true; } catch { return false; }
}
/** A process and its children now (PostgreSQL's backends; later ones are forked inside the group). */
function withChildren(pid: number): number[] {
  return [pid, ...readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(stat(d)?.[1]) === pid).map(Number)];
}

/** The machine's CPU so far, ms: busy and total, over all cores (first) and of each core. */
function machineMs(): { busy: number; total: number }[] {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d* /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: (total - f[3] - f[4]) * TICK_MS, total: total * TICK_MS };
  });
}

// ---- polls, as the members wrote them to their series files ----

interface Poll { element: string; at: number; up: boolean; member: string }
const REACHABILITY = /^reachability,\S*?element=([^,\s]+)\S*?,probe=snmp up=(true|false)\S* (\d+)$/gm;

/** Every SNMP poll in a member's line-protocol files; `at` is the poll's start (a failed poll's sample is stamped when it failed: its timeout earlier). */
function readPolls(dataDir: string, name: string, timeoutMs: number): Poll[] {
  const dir = join(dataDir, 'series');
  if (!existsSync(dir)) return [];
  const polls: Poll[] = [];
  for (const f of readdirSync(dir).sort()) {
    for (const m of readFileSync(join(dir, f), 'latin1').matchAll(REACHABILITY)) {
      const up = m[2] === 'true';
      polls.push({ element: m[1], up, member: name, at: Number(m[3].slice(0, -6)) - (up ? 0 : timeoutMs) });
    }
  }
  return polls;
}

function byElement(polls: Poll[]): Map<string, Poll[]> {
  const m = new Map<string, Poll[]>();
  for (const p of polls) (m.get(p.element) ?? m.set(p.element, []).get(p.element)!).push(p);
  for (const ps of m.values()) ps.sort((a, b) => a.at - b.at);
  return m;
}

const list = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? fmt(x) : 'none')).join(', ');
const sorted = (xs: number[]) => xs.filter(Number.isFinite).sort((a, b) => a - b);

// ---- 1. failover ----

const FO = { leaseMs: 2000, intervalMs: 500, timeoutMs: 200 };
/** What a leader logs once its leader-only modules (health judgement, outage correlation...) are up. */
const LEADING = 'leading: correlation, impact, paging and settlement run here';
const leaderUpText = (u: Measured['leaderUp']) => (!u ? 'n/a' : 's' in u ? `${u.s.toFixed(1)} s` : `NOT after ${u.pending.toFixed(0)} s`);

/**
 * `behind`: base stations behind the failing switch (its outage's size: each a health transition
 * the new leader writes, fenced, before it evaluates); `background`: healthy base stations polled
 * every second besides (on three more agents), the cluster's load.
 */
async function failover(behind: number, background: number, count: number): Promise<void> {
  const ELEMENTS = ['SW-1', ...Array.from({ length: behind }, (_, i) => `BS-${i + 1}`)];
  const postgres = await startPostgres();
  const snmpd = await startSnmpd();
  const more = background > 0 ? await Promise.all([startSnmpd(), startSnmpd(), startSnmpd()]) : [];
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  const dir = tempDir('bench-cluster-failover');
  const loaded = Array.from({ length: background }, (_, i) => `BG-${String(i).padStart(5, '0')}`);
  writeFileSync(join(dir, 'topology.yaml'), `elements:\n  - { id: SW-1, kind: aggregation, site: agg1 }\n${ELEMENTS.slice(1).map((b, i) => `  - { id: ${b}, kind: base_station, site: s${i + 1}, parents: [SW-1] }\n`).join('')}${loaded.map((e, i) => `  - { id: ${e}, kind: base_station, site: b${i} }\n`).join('')}`);
  const config = {
    store: { url: postgres.url }, cluster: { lease: `${FO.leaseMs}ms` }, topology: { file: join(dir, 'topology.yaml') },
    timeseries: { flushInterval: '200ms' }, daemon: { logLevel: 'info' },
    snmp: {
      defaults: { interval: `${FO.intervalMs}ms`, timeout: `${FO.timeoutMs}ms`, retries: 0, profiles: ['system'] },
      targets: [
        ...ELEMENTS.map((e) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: snmpd.port })),
        ...loaded.map((e, i) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: more[i % more.length].port, interval: '1s' })),
      ],
    },
    outages: { evaluateEvery: '100ms', confirmRecovery: '500ms' },
  };
  const ms = ['np-a', 'np-b', 'np-c'].map((n) => member(dir, n, config));
  members.push(...ms);

  /** The leader every member names, once all three see all three. */
  const leader = async () => {
    const views = await Promise.all(ms.map(clusterView));
    if (views.some((v) => v?.members.length !== 3 || !v.leader)) return undefined;
    return new Set(views.map((v) => `${v!.leader!.member}@${v!.leader!.epoch}`)).size === 1 ? views[0]!.leader! : undefined;
  };
  /** Three members polling by the same list, one leader, no outage open, every element up in the leader's eyes. */
  const settled = (within = 60_000) => waitFor('three members, one leader, no open outage, every element up', within, async () => {
    const l = await leader();
    if (!l) return undefined;
    for (const m of ms) if (!(await (await m.get('/metrics')).text()).includes('netpulse_cluster_members 3')) return undefined;
    if ((await db.query(`SELECT 1 FROM outages WHERE merged_into IS NULL AND state <> 'closed'`)).rows.length > 0) return undefined;
    const els = (await (await ms.find((m) => m.name === l.member)!.get('/v1/elements?limit=10000')).json()) as { items: { state: string }[] };
    return els.items.length === ELEMENTS.length + background && els.items.every((e) => e.state === 'up') ? l : undefined;
  });
  /** The first outage decision any member logged from `since`, and when the outage was first seen in `outages`. */
  const decision = async (since: number) => {
    let opened: { at: number; by: string; type: string } | undefined;
    let inDb: number | undefined;
    const end = Date.now() + 30_000;
    while ((!opened || !inDb) && Date.now() < end) {
      if (!inDb && (await db.query(`SELECT 1 FROM outages WHERE merged_into IS NULL AND state <> 'closed' AND started_at >= $1`, [since - FO.intervalMs]).catch(() => ({ rows: [] }))).rows.length > 0) inDb = Date.now();
      for (const m of opened ? [] : ms) {
        const l = m.logs().find((x) => (x.msg === 'outage opened' || x.msg === 'outage reopened') && x.time >= since);
        if (l) opened = { at: l.time, by: m.name, type: l.msg };
      }
      await sleep(25);
    }
    return { opened, inDb };
  };

  const reference: number[] = [];
  const trials: { killAt: number; restartAt: number; rejoined?: number; victim: string; owned: string[]; decided: number; inDb: number; lease: number; leading: number; by: string; type: string }[] = [];
  let firstSettled = 0;
  let coldStart = NaN;
  let failure: string | undefined;
  const started = Date.now();
  try {
    for (let i = 0; i < count; i++) {
      // Reference: the same failure with the leader alive.
      const first = await settled(i === 0 ? 120_000 : 60_000);
      if (i > 0) trials[i - 1].rejoined = Date.now();
      if (!firstSettled) {
        firstSettled = Date.now();
        const logs = ms.find((m) => m.name === first.member)!.logs();
        coldStart = (logs.find((l) => l.msg === LEADING)?.time ?? NaN) - logs.find((l) => l.msg === 'cluster: leading')?.time;
      }
      const t = Date.now();
      await snmpd.stop();
      const ref = await decision(t);
      reference.push(ref.opened ? ref.opened.at - t : NaN);
      await snmpd.restart();

      const l = await settled();
      const victim = ms.find((m) => m.name === l.member)!;
      const ids = (await clusterView(victim))!.members.map((x) => x.id);
      const killAt = Date.now();
      const dead = victim.p.stop('SIGKILL');
      await snmpd.stop();
      await dead;
      const d = await decision(killAt);
      const after = (msg: string) => Math.min(...ms.filter((m) => m !== victim).map((m) => m.logs().find((x) => x.msg === msg && x.time >= killAt)?.time ?? Infinity)) - killAt;
      trials.push({
        killAt, victim: victim.name, owned: ELEMENTS.filter((e) => owner(e.toLowerCase(), ids) === victim.name),
        decided: d.opened ? d.opened.at - killAt : NaN, inDb: d.inDb ? d.inDb - killAt : NaN, by: d.opened?.by ?? '-', type: d.opened?.type ?? '-',
        lease: after('cluster: leading'), leading: after(LEADING), restartAt: Date.now(),
      });
      victim.restart(); // as systemd would
      await snmpd.restart();
    }
    await settled();
    if (trials.length > 0) trials[trials.length - 1].rejoined = Date.now();
    await Promise.all(ms.map((m) => m.p.stop('SIGTERM'))); // their series files complete
  } catch (err) {
    // Reported, not thrown: what a cluster that never settles looks like is a figure too.
    failure = `${(err as Error).message}; after ${fmt((Date.now() - started) / 1000)} s: ` + ms.map((m) => {
      const logs = m.logs();
      return `${m.name} ${logs.some((l) => l.msg === LEADING) ? 'leading, correlation up' : logs.some((l) => l.msg === 'cluster: leading') ? 'leading, correlation NOT up' : 'following'}`;
    }).join(', ');
  } finally {
    await Promise.all(ms.map((m) => m.p.stop('SIGKILL')));
    await db.end().catch(() => {});
    for (const a of [snmpd, ...more]) await a.stop();
    await postgres.stop();
  }
  line('members / lease / SNMP interval, timeout', `3 / ${fmt(FO.leaseMs)} ms (default 10 s) / ${FO.intervalMs} ms, ${FO.timeoutMs} ms, no retry`);
  line(`failing: a switch, ${behind} base stations behind it, on one snmpd`, `${background > 0 ? `besides ${fmt(background)} healthy targets polled every 1 s (3 more agents); ` : ''}${count} trials`);
  if (failure) line('STOPPED EARLY', failure);
  if (trials.length === 0) return;

  // Poll slots missed: the killed member's targets from its last slot due before the kill to the
  // first poll by a survivor; the survivors' targets across the whole death. Two polls of one
  // target by two members less than half an interval apart: a slot polled twice.
  const polls = byElement(ms.flatMap((m) => readPolls(join(dir, m.name), m.name, FO.timeoutMs)));
  const every = (e: string) => (ELEMENTS.includes(e) ? FO.intervalMs : 1000);
  const slots = (gap: number) => Math.max(0, Math.round(gap / FO.intervalMs) - 1);
  const victimMissed: number[] = [];
  const survivorMissed: number[] = [];
  const worst: number[] = [];
  for (const t of trials) {
    const before = victimMissed.length;
    for (const e of ELEMENTS) {
      const ps = polls.get(e) ?? [];
      if (t.owned.includes(e)) {
        const last = ps.filter((p) => p.member === t.victim && p.at <= t.killAt).at(-1)?.at ?? t.killAt;
        const lastDue = last + Math.floor((t.killAt - last) / FO.intervalMs) * FO.intervalMs;
        const next = ps.find((p) => p.at > t.killAt && p.member !== t.victim)?.at;
        victimMissed.push(next === undefined ? NaN : slots(next - lastDue));
      } else {
        const w = ps.filter((p) => p.at > t.killAt - FO.intervalMs * 1.5 && p.at < t.restartAt);
        survivorMissed.push(w.slice(1).reduce((n, p, k) => n + slots(p.at - w[k].at), 0));
      }
    }
    const mine = victimMissed.slice(before).filter(Number.isFinite);
    worst.push(mine.length > 0 ? Math.max(...mine) : NaN);
  }
  const doubled = { steady: 0, death: 0, rejoin: 0 };
  for (const ps of polls.values()) {
    ps.forEach((p, k) => {
      const prev = ps[k - 1];
      if (!prev || prev.member === p.member || p.at - prev.at >= every(p.element) / 2 || p.at < firstSettled) return;
      // Rejoin: from the restart until every member splits by all three again (and one more refresh).
      const t = trials.find((x) => p.at >= x.killAt && p.at < (x.rejoined ?? x.restartAt + 3 * FO.leaseMs) + FO.leaseMs);
      doubled[!t ? 'steady' : p.at < t.restartAt ? 'death' : 'rejoin']++;
    });
  }

  const decided = sorted(trials.map((t) => t.decided));
  const aim = FO.leaseMs + 5000;
  const p95 = percentile(decided, 95);
  line('cold start: the first leader\'s lease -> its correlation up, ms', fmt(coldStart));
  line('reference, leader alive: failure -> outage opened, ms', `${list(reference)}  (p50 ${fmt(median(sorted(reference)))})`);
  line('kill -9 of the leader -> a survivor leads, ms', list(trials.map((t) => t.lease)));
  line('kill -9 -> the new leader\'s leader-only modules up, ms', list(trials.map((t) => t.leading)));
  line('kill -9 -> the new leader\'s first outage decision, ms', list(trials.map((t) => t.decided)));
  line('kill -9 -> the outage in PostgreSQL (outages), ms', list(trials.map((t) => t.inDb)));
  line('decided by (log)', trials.map((t) => `${t.by}${t.type === 'outage opened' ? '' : ` (${t.type})`}`).join(', '));
  line(`p50 / p95 kill -9 -> decision, ms (aim <= ${fmt(aim)})`, `${fmt(median(decided))} / ${fmt(p95)}${decided.length < trials.length ? `  (${trials.length - decided.length} trial(s) with no decision in 30 s)` : ''}`);
  line('RATIO aim / p95 (>= 1 meets it)', (aim / p95).toFixed(2));
  line('RATIO p50 failover / p50 reference', (median(decided) / median(sorted(reference))).toFixed(2));
  line(`slots missed per target of the killed leader: p50 / max`, `${fmt(median(sorted(victimMissed)))} / ${fmt(Math.max(...sorted(victimMissed)))}  (lease / interval = ${FO.leaseMs / FO.intervalMs}; ${victimMissed.length} targets; worst per trial: ${list(worst)})`);
  line('slots missed per target of the survivors: max / total', `${fmt(Math.max(0, ...sorted(survivorMissed)))} / ${fmt(survivorMissed.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0))}`);
  line(`slots polled by two members: steady / death / rejoin`, `${doubled.steady} / ${doubled.death} / ${doubled.rejoin}  (of ${fmt(polls.size)} targets)`);
}

// ---- 2 and 3: rounds of processes polling many targets ----

interface Spec { name: string; cpu?: number; /** a CPU group of its own with this quota, in cores */ cores?: number; config: Record<string, unknown> }
interface Measured {
  secs: number; polls: number; skipped: number; cpuMs: number; rssMb: number[]; waitingMax: number;
  procs: { name: string; polls: number; cpuMs: number; leading: boolean; exited?: string }[];
  pgCpuMs: number; agentsCpuMs: number[];
  /** Busy share of the machine: all cores, then each. */
  machineBusy: number[];
  /** How late each answered poll started after its slot, ms; the share later than a tenth of the interval. */
  late: number[]; lateShare: number; warmupS: number;
  /** From the first polls to every element's first health transition (unknown -> up) in the store, s (undefined: not by the end). */
  burstS?: number;
  /** Health transitions in the store at the end of the window (one per element once the start's burst is written). */
  transitions: number;
  /** In a cluster: from taking the lease to its leader-only modules up (correlation), s; `pending` s since the lease when they were not by the end. */
  leaderUp?: { s: number } | { pending: number };
  /** Targets more than one member polled in the window (each member polls its own: a target polled twice). */
  shared: number;
}

/** Runs the processes, lets them settle and warm up, measures for `measureMs`, stops them and reads when their polls started. */
async function round(specs: Spec[], o: {
  dir: string; warmupMs: number; measureMs: number; members?: number; intervalMs: number; postgres?: Server; agents: Server[];
  /** The store's health transitions so far, and whether the warm-up waits (up to 30 s) for one per element. */
  transitions: { count: () => Promise<number>; elements: number; wait: boolean };
}): Promise<Measured> {
  const procs = specs.map((s) => {
    const file = join(o.dir, `${s.name}.json`);
    writeFileSync(file, JSON.stringify(s.config));
    const p = startNetpulse(s.name, file, s.cpu);
    if (s.cores) cpuGroup(s.name, { cores: s.cores, shares: MAX_SHARES }).add(p.child.pid!);
    return p;
  });
  const fatal = () => procs.map((p) => (p.child.exitCode !== null ? `${p.name} exited: ${p.logs().filter((l) => l.level >= 40).map((l) => l.msg).slice(-5).join(' | ')}` : '')).find(Boolean);
  try {
    await waitFor('every process polling (and, in a cluster, splitting by every member)', 120_000, async () => {
      for (const p of procs) {
        if (!p.url()) return false;
        const t = await p.metrics();
        if (o.members && metricValue(t, 'netpulse_cluster_members') !== o.members) return false;
        if (!(metricValue(t, 'netpulse_snmp_polls_total', '{outcome="answered"}') > 0)) return false;
      }
      return true;
    }, fatal);
    // Warm-up: at least `warmupMs` and, if asked, until the start's burst is written: every
    // element's health going from unknown to up, one store write each (in a cluster, fenced, and
    // not in netpulse_store_pending_writes: counted in the store itself).
    const warm = Date.now();
    let burstS: number | undefined;
    const burst = async () => {
      if (burstS === undefined && (await o.transitions.count().catch(() => 0)) >= o.transitions.elements) burstS = (Date.now() - warm) / 1000;
    };
    while (Date.now() - warm < o.warmupMs || (o.transitions.wait && burstS === undefined && Date.now() - warm < 30_000)) {
      await sleep(250);
      await burst();
    }
    const warmupS = (Date.now() - warm) / 1000;
    const snap = async () => {
      const each = await Promise.all(procs.map(async (p) => {
        const t = await p.metrics().catch(() => '');
        const n = (outcome: string) => metricValue(t, 'netpulse_snmp_polls_total', `{outcome="${outcome}"}`);
        return { polls: n('answered') + n('failed'), skipped: n('skipped'), cpu: cpuMs(p.child.pid!), leading: metricValue(t, 'netpulse_cluster_leading', `{member="${p.name}"}`) === 1 };
      }));
      return { wall: Date.now(), at: performance.now(), each, pg: o.postgres ? pgCpuMs(o.postgres.process.pid!) : 0, agents: o.agents.map((a) => cpuMs(a.process.pid!)), machine: machineMs() };
    };
    const a = await snap();
    const rss: number[] = [];
    let waitingMax = 0;
    while (performance.now() - a.at < o.measureMs) {
      await sleep(1000);
      await burst();
      for (const p of procs) {
        if (p.child.exitCode !== null) continue;
        try { rss.push(rssMb(p.child.pid!)); } catch { continue; }
        waitingMax = Math.max(waitingMax, metricValue(await p.metrics().catch(() => ''), 'netpulse_snmp_polls_waiting') || 0);
      }
    }
    const b = await snap();
    const transitions = await o.transitions.count().catch(() => NaN);
    const started = procs.map((p) => p.logs().find((l) => l.msg === 'snmp collector started')?.time as number);
    const leaderUp = (() => {
      for (const p of procs) {
        const logs = p.logs();
        const lease = logs.find((l) => l.msg === 'cluster: leading')?.time;
        if (lease === undefined) continue;
        const up = logs.find((l) => l.msg === LEADING)?.time;
        return up === undefined ? { pending: (Date.now() - lease) / 1000 } : { s: (up - lease) / 1000 };
      }
      return undefined;
    })();
    const exited = procs.map((p) => (p.child.exitCode !== null ? fatal() : undefined));
    await Promise.all(procs.map((p) => p.stop()));
    // How late each answered poll in the window started after its slot (the schedule's offsets are a hash of the target's name).
    const late: number[] = [];
    const pollers = new Map<string, Set<string>>();
    procs.forEach((p, i) => {
      for (const q of readPolls(join(o.dir, p.name), p.name, 0)) {
        if (!q.up || q.at < a.wall || q.at > b.wall) continue;
        (pollers.get(q.element) ?? pollers.set(q.element, new Set()).get(q.element)!).add(p.name);
        const l = (((q.at - started[i] - spreadOffset(q.element.toLowerCase(), o.intervalMs)) % o.intervalMs) + o.intervalMs) % o.intervalMs;
        late.push(l > o.intervalMs - 25 ? 0 : l); // a few ms early: the collector's start is known from its log line, a little after its clock started
      }
    });
    const secs = (b.at - a.at) / 1000;
    const per = procs.map((p, i) => ({ name: p.name, polls: b.each[i].polls - a.each[i].polls, cpuMs: b.each[i].cpu - a.each[i].cpu, leading: a.each[i].leading, ...(exited[i] && { exited: exited[i] }) }));
    const machine = b.machine.map((x, i) => (x.busy - a.machine[i].busy) / (x.total - a.machine[i].total));
    return {
      secs, procs: per, polls: per.reduce((n, p) => n + (Number.isFinite(p.polls) ? p.polls : 0), 0), skipped: b.each.reduce((n, x, i) => n + (x.skipped - a.each[i].skipped || 0), 0),
      cpuMs: per.reduce((n, p) => n + (Number.isFinite(p.cpuMs) ? p.cpuMs : 0), 0), rssMb: rss, waitingMax,
      pgCpuMs: b.pg - a.pg, agentsCpuMs: b.agents.map((x, i) => x - a.agents[i]), machineBusy: machine,
      late, lateShare: late.filter((x) => x > o.intervalMs / 10).length / Math.max(1, late.length), warmupS, transitions, ...(burstS !== undefined && { burstS }), ...(leaderUp && { leaderUp }),
      shared: [...pollers.values()].filter((x) => x.size > 1).length,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    for (const s of specs) {
      rmSync(join(o.dir, s.name), { recursive: true, force: true });
      if (s.cores) removeGroup(`${CGROUP}/${s.name}`);
    }
  }
}

/** Targets named BS-00000..., spread over the agents, each a base station of the topology. */
function targets(dir: string, n: number, agents: Server[]): object[] {
  const names = Array.from({ length: n }, (_, i) => `BS-${String(i).padStart(5, '0')}`);
  writeFileSync(join(dir, 'topology.yaml'), `elements:\n${names.map((e, i) => `  - { id: ${e}, kind: base_station, site: s${i} }\n`).join('')}`);
  return names.map((e, i) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: agents[i % agents.length].port }));
}

async function admin(postgres: Server & { url: string }, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: postgres.url });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}
async function freshDatabase(postgres: Server & { url: string }, name: string): Promise<string> {
  await admin(postgres, `CREATE DATABASE ${name}`);
  return postgres.url.replace(/\/postgres$/, `/${name}`);
}
/** Counts the health transitions in a round's store: its PostgreSQL database, or the SQLite file in its data directory. */
function transitionCounter(where: { url: string } | { file: string }) {
  let client: pg.Client | undefined;
  let lite: DatabaseSync | undefined;
  return {
    async count(): Promise<number> {
      if ('file' in where) {
        lite ??= new DatabaseSync(where.file, { readOnly: true });
        return Number((lite.prepare('SELECT COUNT(*) AS n FROM health_transitions').get() as { n: number }).n);
      }
      if (!client) {
        const c = new pg.Client({ connectionString: where.url });
        await c.connect();
        client = c;
      }
      return (await client.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM health_transitions')).rows[0].n;
    },
    async close() {
      await client?.end().catch(() => {});
      lite?.close();
    },
  };
}

/** Dropped after its round, so its autovacuum does not run into the next. */
const dropDatabase = (postgres: Server & { url: string }, name: string) => admin(postgres, `DROP DATABASE ${name} WITH (FORCE)`);

function base(dir: string, name: string, o: { intervalMs: number; targets: object[]; fsync: boolean }): Record<string, unknown> {
  return {
    daemon: { dataDir: join(dir, name), logFormat: 'json', logLevel: 'info', shutdownTimeout: '5s' },
    api: { port: 0, host: '127.0.0.1' }, topology: { file: join(dir, 'topology.yaml') },
    timeseries: { spool: { fsync: o.fsync } },
    snmp: { defaults: { interval: `${o.intervalMs}ms`, timeout: '1s', retries: 0, profiles: ['system'] }, targets: o.targets },
  };
}

const perPoll = (ms: number, polls: number) => (polls > 0 ? (ms / polls).toFixed(3) : 'n/a');
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

async function scaleOut(o: Options): Promise<void> {
  const AGENTS = 4;
  const postgres = await startPostgres();
  const agents = await Promise.all(Array.from({ length: AGENTS }, () => startSnmpd()));
  const dir = tempDir('bench-cluster-scale');
  const quota = o.memberCpu > 0 && cgroupsWork() ? o.memberCpu : 0;
  if (quota) {
    const infra = cpuGroup('infrastructure', { shares: MAX_SHARES });
    for (const pid of [...withChildren(postgres.process.pid!), ...agents.map((a) => a.process.pid!)]) infra.add(pid);
  }
  const demand = (o.targets * 1000) / o.interval;
  const results: { n: number; m: Measured }[] = [];
  try {
    const all = targets(dir, o.targets, agents);
    let k = 0;
    for (const n of [1, 2, 3, 1]) {
      const db = `scale_${++k}`;
      const url = await freshDatabase(postgres, db);
      const specs = Array.from({ length: n }, (_, i) => ({
        name: `r${k}-m${i}`, ...(quota ? { cores: quota } : { cpu: i % 2 }),
        config: { ...base(dir, `r${k}-m${i}`, { intervalMs: o.interval, targets: all, fsync: o.fsync }), store: { url }, cluster: { enabled: true, member: `r${k}-m${i}` } },
      }));
      const transitions = transitionCounter({ url });
      try {
        results.push({ n, m: await round(specs, { dir, warmupMs: 8000, measureMs: o.seconds * 1000, members: n, intervalMs: o.interval, postgres, agents, transitions: { count: transitions.count, elements: o.targets, wait: false } }) });
      } finally {
        await transitions.close();
      }
      await dropDatabase(postgres, db);
    }
  } finally {
    for (const a of agents) await a.stop();
    await postgres.stop();
    removeGroup(`${CGROUP}/infrastructure`);
  }
  line('CPU per member', quota ? `${quota} of a core each (a cgroup quota), the agents and PostgreSQL weighted ahead of the machine's other tenants` : 'pinned by taskset to a core (cgroups not writable here, or --member-cpu 0)');
  line('targets / interval / demand', `${fmt(o.targets)} / ${o.interval} ms / ${fmt(demand)} polls/s, ${AGENTS} snmpd agents, lease 10 s (default)`);
  line('series', `local files, fsync ${o.fsync ? 'on (the default without InfluxDB)' : 'off'}; SNMP concurrency 256 per member`);
  for (const { n, m } of results) {
    const rate = m.polls / m.secs;
    const roles = m.procs.map((p) => `${p.name.split('-')[1]}${p.leading ? ' (leader)' : ''} ${perPoll(p.cpuMs, p.polls)}${p.exited ? ` EXITED: ${p.exited}` : ''}`).join(', ');
    line(`${n} member(s)${quota ? `, ${+(quota * n).toFixed(2)} core(s) in all` : `, cores ${m.procs.map((_, i) => i % 2).join(',')}`}: polls/s sustained`, `${fmt(rate)}  (${pct(rate / demand)} of demand; skipped ${fmt(m.skipped / m.secs)}/s; targets polled by two members: ${m.shared})`);
    line('  polls started > interval / 10 late; p95 lateness, ms', `${pct(m.lateShare)}; ${fmt(percentile(sorted(m.late), 95))}  (waiting for a slot, max ${fmt(m.waitingMax)}; warm-up ${m.warmupS.toFixed(0)} s)`);
    line('  CPU ms per poll: all members / each', `${perPoll(m.cpuMs, m.polls)} / ${roles}`);
    line('  leader: lease taken -> its correlation up (log)', leaderUpText(m.leaderUp));
    line('  health transitions stored by the end (one per target)', `${fmt(m.transitions)} of ${fmt(o.targets)}${m.burstS === undefined ? '' : `, all within ${m.burstS.toFixed(1)} s of the first polls`}`);
    line('  CPU, % of one core: members / PostgreSQL / agents (each)', `${m.procs.map((p) => fmt((p.cpuMs / m.secs) / 10)).join(' + ')} / ${fmt(m.pgCpuMs / m.secs / 10)} / ${m.agentsCpuMs.map((x) => fmt(x / m.secs / 10)).join(', ')}`);
    const ours = m.cpuMs + m.pgCpuMs + m.agentsCpuMs.reduce((a, b) => a + b, 0);
    line('  machine busy: all / core 0, 1 / this benchmark\'s processes', `${pct(m.machineBusy[0])} / ${m.machineBusy.slice(1).map(pct).join(', ')} / ${pct(ours / m.secs / 1000 / (m.machineBusy.length - 1))}`);
  }
  const one = results.filter((r) => r.n === 1).map((r) => r.m.polls / r.m.secs);
  const ref = one.reduce((a, b) => a + b, 0) / one.length;
  for (const n of [2, 3]) {
    const r = results.find((x) => x.n === n)!.m;
    line(`RATIO ${n} members / 1 (mean of the two 1-member rounds)${n === 2 ? ', aim >= 1.8' : ''}`, ((r.polls / r.secs) / ref).toFixed(2));
  }
  // What the software would do with a core per member (and the agents and PostgreSQL elsewhere):
  // the busiest member, by its share of the polls and its CPU per poll, caps the rate.
  const cap = (m: Measured) => Math.min(...m.procs.map((p) => 1000 / ((p.polls / m.polls) * (p.cpuMs / p.polls))));
  const oneCap = results.filter((r) => r.n === 1).map((r) => cap(r.m));
  const capRef = oneCap.reduce((a, b) => a + b, 0) / oneCap.length;
  line('projected polls/s on a core per member (1 member, from CPU/poll)', `${fmt(capRef)}  (rounds: ${list(oneCap)})`);
  for (const n of [2, 3]) line(`RATIO projected, ${n} members / 1, a core each${n === 2 ? ' (aim >= 1.8)' : ''}`, (cap(results.find((x) => x.n === n)!.m) / capRef).toFixed(2));
  const two = results.find((x) => x.n === 2)!.m;
  const limits: string[] = [];
  if (two.machineBusy[0] > 0.9) limits.push(`the machine (${pct(two.machineBusy[0])} of its cores busy with 2 members, ${pct(1 - (two.cpuMs + two.pgCpuMs + two.agentsCpuMs.reduce((x, y) => x + y, 0)) / two.secs / 1000 / (two.machineBusy.length - 1) / two.machineBusy[0])} of that not this benchmark's)`);
  const hotAgent = Math.max(...two.agentsCpuMs) / two.secs / 1000;
  if (hotAgent > 0.8) limits.push(`an snmpd agent (${pct(hotAgent)} of a core)`);
  if (two.pgCpuMs / two.secs / 1000 > 0.5) limits.push(`PostgreSQL (${pct(two.pgCpuMs / two.secs / 1000)} of a core: the forwarded checks)`);
  line('what limits 2 members here', limits.join('; ') || 'none of the machine, the agents, PostgreSQL near its limit');
}

async function overhead(o: Options): Promise<void> {
  const N = 2000;
  const INTERVAL = 1000;
  const postgres = await startPostgres();
  const agents = await Promise.all(Array.from({ length: 2 }, () => startSnmpd()));
  const dir = tempDir('bench-cluster-overhead');
  const variants = [
    { name: 'SQLite, no cluster (reference)', members: 1, pg: false, cluster: false },
    { name: 'PostgreSQL, no cluster', members: 1, pg: true, cluster: false },
    { name: 'PostgreSQL, cluster of one (the leader)', members: 1, pg: true, cluster: true },
    { name: 'PostgreSQL, cluster of two (cores 0, 1), both', members: 2, pg: true, cluster: true },
  ];
  const got: Measured[][] = variants.map(() => []);
  try {
    const all = targets(dir, N, agents);
    let k = 0;
    for (let r = 0; r < o.rounds; r++) {
      for (const [v, x] of variants.entries()) {
        const db = `overhead_${++k}`;
        const url = x.pg ? await freshDatabase(postgres, db) : undefined;
        const specs = Array.from({ length: x.members }, (_, i) => {
          const name = `o${k}-m${i}`;
          return { name, cpu: i, config: { ...base(dir, name, { intervalMs: INTERVAL, targets: all, fsync: o.fsync }), ...(url && { store: { url } }), ...(x.cluster && { cluster: { enabled: true, member: name } }) } };
        });
        const transitions = transitionCounter(url ? { url } : { file: join(dir, specs[0].name, 'netpulse.db') });
        try {
          got[v].push(await round(specs, { dir, warmupMs: 6000, measureMs: o.seconds * 1000, intervalMs: INTERVAL, postgres, agents, ...(x.cluster && { members: x.members }), transitions: { count: transitions.count, elements: N, wait: true } }));
        } finally {
          await transitions.close();
        }
        if (url) await dropDatabase(postgres, db);
      }
    }
  } finally {
    for (const a of agents) await a.stop();
    await postgres.stop();
  }
  const cpu = (m: Measured) => m.cpuMs / m.polls;
  const withDb = (m: Measured) => (m.cpuMs + m.pgCpuMs) / m.polls;
  const rss = (m: Measured) => median(m.rssMb);
  line('targets / interval', `${fmt(N)} / ${INTERVAL} ms (${fmt((N * 1000) / INTERVAL)} polls/s), one process on core 0 unless said`);
  line('rounds, interleaved', `${o.rounds} of ${o.seconds} s each, after a warm-up (>= 6 s, the start's writes done)`);
  variants.forEach((x, v) => {
    const ms = got[v];
    line(`${x.name}: polls/s`, list(ms.map((m) => m.polls / m.secs)));
    line('  CPU ms per poll: netpulse / with PostgreSQL\'s (median)', `${median(ms.map(cpu)).toFixed(3)} / ${median(ms.map(withDb)).toFixed(3)}  (rounds: ${ms.map((m) => cpu(m).toFixed(3)).join(', ')})`);
    if (x.cluster) line('  leader: lease taken -> its correlation up (log)', ms.map((m) => leaderUpText(m.leaderUp)).join(', '));
    if (x.members > 1) {
      const role = (leading: boolean) => median(ms.flatMap((m) => m.procs.filter((p) => p.leading === leading).map((p) => p.cpuMs / p.polls))).toFixed(3);
      line('  CPU ms per own poll: leader / follower (median)', `${role(true)} / ${role(false)}`);
    }
    line(`  start's ${fmt(N)} health transitions in the store after, s`, ms.map((m) => (m.burstS === undefined ? '> 30' : m.burstS.toFixed(1))).join(', ') + (ms.every((m) => m.burstS !== undefined) ? '' : `  (${list(ms.map((m) => m.transitions))} at the end)`));
    line('  RSS per process, MB: median / max', `${median(ms.flatMap((m) => m.rssMb)).toFixed(0)} / ${Math.max(...ms.flatMap((m) => m.rssMb)).toFixed(0)}`);
  });
  // Each round against the reference round just before it: drift on a shared machine moves both alike.
  const pair = (v: number, w: number, f: (m: Measured) => number) => median(got[v].map((m, i) => f(m) / f(got[w][i]))).toFixed(2);
  line('RATIO CPU per poll: PostgreSQL / SQLite (the database)', `${pair(1, 0, cpu)}  (with PostgreSQL's CPU: ${pair(1, 0, withDb)})`);
  line('RATIO CPU per poll: cluster of one / PostgreSQL (the cluster)', `${pair(2, 1, cpu)}  (with PostgreSQL's CPU: ${pair(2, 1, withDb)})`);
  line('RATIO CPU per poll: cluster of two / PostgreSQL (+ forwarding)', `${pair(3, 1, cpu)}  (with PostgreSQL's CPU: ${pair(3, 1, withDb)})`);
  line('RATIO CPU per poll: cluster of one; of two / SQLite', `${pair(2, 0, cpu)}; ${pair(3, 0, cpu)}`);
  line('RATIO RSS: PostgreSQL / SQLite; cluster of one / PostgreSQL', `${pair(1, 0, rss)}; ${pair(2, 1, rss)}`);
}

export async function benchCluster(): Promise<void> {
  const o = options();
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => process.exit(130));
  line('machine', `${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`);
  if (o.only.includes('failover')) {
    console.log('-- failover: kill -9 of the leader during a failure');
    await failover(5, 0, o.trials);
  }
  if (o.only.includes('failover-load')) {
    console.log(`-- failover under load: the same with ${o.storm} base stations behind the switch, the cluster polling ${fmt(o.load)} more targets every second`);
    await failover(o.storm, o.load, o.loadTrials);
  }
  if (o.only.includes('scale')) {
    console.log('-- scale-out: 1, 2, 3 members on the same targets');
    await scaleOut(o);
  }
  if (o.only.includes('overhead')) {
    console.log('-- steady-state overhead of cluster mode, one process');
    await overhead(o);
  }
}

if (import.meta.main) {
  await benchCluster();
  process.exit(0);
}
