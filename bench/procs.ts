// The processes a benchmark runs beside it, and what /proc says of them: a netpulse daemon started
// as `npm start` starts it (so its CPU and memory are its own), any other server, CPU and RSS.
// Every process started here is killed when the benchmark exits, errors and signals included.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { START_FLAGS } from './lib.ts';

export const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
export const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const spawned = new Set<ChildProcess>();
process.on('exit', () => { for (const c of spawned) c.kill('SIGKILL'); });
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => process.exit(130));

export interface Proc {
  name: string;
  child: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** Its JSON log lines, parsed (netpulse's). */
  logs(): any[];
  /** SIGTERM, SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** Runs `cmd` until `stop`, its output kept; killed at exit. */
export function startProcess(name: string, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, env: { ...process.env, ...opts.env } });
  let out = '';
  // Bounded: a long round of an info-level daemon prints a lot; the start (ports) and the end (errors) matter.
  const keep = (d: Buffer) => { out += d; if (out.length > 4_000_000) out = out.slice(0, 1_000_000) + out.slice(-1_000_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => { out += `\nspawn error: ${err.message}`; });
  spawned.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => { spawned.delete(child); r(); }));
  return {
    name, child,
    get pid() { return child.pid!; },
    output: () => out,
    logs: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `netpulse start --config file` as `npm start` runs it (the same Node flags), in its own process. */
export function startNetpulse(name: string, file: string): Proc & { url(): string | undefined; metrics(): Promise<string> } {
  const p = startProcess(name, process.execPath, [...START_FLAGS, MAIN, 'start', '--config', file]);
  let url: string | undefined;
  const self = Object.assign(p, {
    url: () => (url ??= p.logs().find((l) => l.msg === 'api listening')?.url),
    metrics: async () => (await fetch(`${self.url()}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
  });
  return self;
}

/** Polls `check` until it returns something truthy; `fatal` (checked first) ends the wait with an error. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined | false> | T | undefined | false, fatal?: () => string | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const dead = fatal?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    const v = await Promise.resolve().then(check).catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Why a process is no longer running, for `waitFor`'s `fatal`. */
export const exitedText = (p: Proc) => (p.child.exitCode !== null || p.child.signalCode !== null ? `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.output().slice(-1500)}` : undefined);

/** A value of a Prometheus text exposition (`name{labels} value`); NaN when absent. */
export function metricValue(text: string, name: string, labels = ''): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}()[\]|.*+?^$\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** /proc/<pid>/stat's fields after the command name (field 3 on is index 0), or undefined once it exited. */
export function stat(pid: number | string): string[] | undefined {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); } catch { return undefined; }
}

/** A process's user + system CPU so far, ms (with its exited, waited-for children's when asked). */
export function cpuMs(pid: number, children = false): number {
  const f = stat(pid);
  return f ? (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * TICK_MS : NaN;
}

/**
 * The Debian packages a benchmark needs, `package:binary` pairs: installed the way tests/run.sh
 * installs them (apt-get update first) when running as root and one is missing; otherwise an
 * error naming them.
 */
export function requirePackages(pairs: string[]): void {
  const missing = pairs.filter((p) => !existsSync(p.slice(p.indexOf(':') + 1))).map((p) => p.slice(0, p.indexOf(':')));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`this benchmark needs Debian packages: ${missing.join(' ')} (run as root, or: sudo apt-get install ${missing.join(' ')})`);
  console.log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', ...missing]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${r.status})`);
  }
}
