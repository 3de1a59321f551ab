import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { beforeTempDirsRemoved } from './temp.ts';

export const MAIN = join(import.meta.dirname, '../../src/main.ts');

export interface NodeProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Waits for it to exit after a signal (SIGTERM: a clean stop; SIGKILL: kill -9). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Waits for it to exit by itself; its exit code. */
  exited(): Promise<number | null>;
}

/** Children still running, until they exit. What a test left running when its file ends is killed then, before its temp dirs go. */
const running = new Map<ChildProcess, Promise<unknown>>();
beforeTempDirsRemoved(async () => {
  for (const child of running.keys()) child.kill('SIGKILL');
  await Promise.all(running.values());
});

/** Runs a script on this Node (24); `netpulse(...)` runs the daemon's CLI. */
export function node(args: string[]): NodeProcess {
  let out = '';
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  running.set(child, new Promise<void>((r) => { child.once('exit', () => r()); child.once('error', () => r()); }).then(() => { running.delete(child); }));
  return {
    child,
    output: () => out,
    exited: () => exit,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

export const netpulse = (...args: string[]) => node([MAIN, ...args]);
