// The daemon's resident memory while polling 1,000 simulated devices (40 switches with 24 ports,
// 960 base stations with 3 cells) every 10 s and writing into VictoriaMetrics. The devices run in
// a process of their own; the daemon runs exactly as `netpulse start --config` does. Reference,
// in the same run: the same daemon with no target at all, so the ratio and the per-device figure
// show what polling costs above Node's own footprint.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startVictoriaMetrics, tempDir, vmExport } from '../tests/helpers/servers.ts';
import { line, fmt, START_FLAGS, rssMb } from './lib.ts';

const SWITCHES = 40;
const BASE_STATIONS = 960;
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 60);
const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const SIM = new URL('./fixtures/sim-agents.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSim(): Promise<{ child: ChildProcess; targets: unknown[] }> {
  const child = spawn(process.execPath, [SIM, String(SWITCHES), String(BASE_STATIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { child, targets: JSON.parse(first) };
}

/** Runs the daemon on a config for `seconds`, sampling its RSS every second. */
async function runDaemon(config: object, seconds: number): Promise<{ samples: number[]; pid: number }> {
  const dir = tempDir('bench-mem');
  const file = join(dir, 'netpulse.json'); // JSON is YAML: the daemon reads it as its config file
  writeFileSync(file, JSON.stringify({ ...config, daemon: { dataDir: join(dir, 'data'), logLevel: 'warn', logFormat: 'json' }, api: { port: 0 } }));
  const child = spawn(process.execPath, [...START_FLAGS, MAIN, 'start', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const samples: number[] = [];
  try {
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
      samples.push(rssMb(child.pid!));
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  return { samples, pid: child.pid! };
}

export async function benchMemory(): Promise<void> {
  const vm = await startVictoriaMetrics();
  const sim = await startSim();
  try {
    const influx = { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't' };
    const idle = await runDaemon({ timeseries: { influx } }, 10);
    const busy = await runDaemon({ timeseries: { influx }, snmp: { targets: sim.targets } }, SECONDS);
    // The last half of the run is the steady state: every device polled several times by then.
    const steady = busy.samples.slice(Math.floor(busy.samples.length / 2));
    const peak = Math.max(...busy.samples);
    const idleRss = Math.max(...idle.samples);
    const reach = await vmExport(vm.port, 'reachability_up');
    const answered = reach.reduce((n, s) => n + s.values.filter((v) => v === 1).length, 0);
    line('node flags (from the start script)', START_FLAGS.join(' ') || '(none)');
    line('devices polled (distinct targets with a reachability sample)', fmt(reach.length));
    line('polls answered (reachability up=1 points in VictoriaMetrics)', fmt(answered));
    line('daemon RSS with no targets, MB', idleRss.toFixed(1));
    line(`daemon RSS polling ${SWITCHES + BASE_STATIONS} devices, steady (median of last half), MB`, steadyMedian(steady).toFixed(1));
    line(`daemon RSS polling ${SWITCHES + BASE_STATIONS} devices, peak, MB (aim < 200)`, peak.toFixed(1));
    line('RATIO peak RSS / idle daemon RSS', (peak / idleRss).toFixed(2));
    line('memory per device above the idle daemon, KB', (((peak - idleRss) * 1024) / (SWITCHES + BASE_STATIONS)).toFixed(1));
  } finally {
    sim.child.kill('SIGTERM');
    await vm.stop();
  }
}

function steadyMedian(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

if (import.meta.main) await benchMemory();
