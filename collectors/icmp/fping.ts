import { spawn } from 'node:child_process';

export interface FpingRound {
  /** Per target as given: one entry per probe sent, undefined where the reply never came. */
  results: Map<string, (number | undefined)[]>;
  /** fping's own complaints (unknown hosts, bad options), for the log. */
  errors: string[];
}

export interface FpingOptions {
  binary: string;
  count: number;
  periodMs: number;
  spacingMs: number;
  timeoutMs: number;
}

const LINE = /^(\S+)\s+:\s+((?:[\d.]+|-)(?:\s+(?:[\d.]+|-))*)\s*$/;

/** Reads fping's `-C` report: `host : 0.05 0.04 - 0.06`, one line per target. */
export function parseFpingReport(text: string): FpingRound {
  const results = new Map<string, (number | undefined)[]>();
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      errors.push(line.trim());
      continue;
    }
    results.set(m[1], m[2].trim().split(/\s+/).map((v) => (v === '-' ? undefined : Number(v))));
  }
  return { results, errors };
}

/**
 * One probe round over many targets with one fping process: `count` probes per target, `period`
 * apart, fping spacing any two probes by `spacing`. Targets go in on stdin (no argv limit).
 * fping needs CAP_NET_RAW, which Debian's package grants the binary itself: netpulse needs none.
 */
export function runFping(targets: readonly string[], o: FpingOptions, signal?: AbortSignal): Promise<FpingRound> {
  return new Promise((resolve, reject) => {
    const args = ['-C', String(o.count), '-q', '-p', String(o.periodMs), '-i', String(o.spacingMs), '-t', String(Math.min(o.timeoutMs, o.periodMs)), '-f', '-'];
    const child = spawn(o.binary, args, { stdio: ['pipe', 'ignore', 'pipe'], signal });
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      // 0: all answered, 1: some did not, 2: some names did not resolve. Anything else is a failure.
      if (code !== null && code <= 2) resolve(parseFpingReport(err));
      else reject(new Error(`fping exited with ${code ?? sig}: ${err.trim().slice(0, 300)}`));
    });
    child.stdin!.on('error', () => { /* fping exited early; reported on close */ });
    child.stdin!.end(targets.join('\n') + '\n');
  });
}
