import { readFileSync } from 'node:fs';

/** Shared bits of the benchmarks: timing loops and printing. Benchmarks print ratios against a
 * reference measured in the same run, because absolute rates wander on a shared machine. */

export async function forDuration(ms: number, workers: number, once: (worker: number) => Promise<void>): Promise<{ ops: number; seconds: number }> {
  const end = performance.now() + ms;
  const t0 = performance.now();
  let ops = 0;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (performance.now() < end) {
      await once(w);
      ops++;
    }
  }));
  return { ops, seconds: (performance.now() - t0) / 1000 };
}

export function rate(r: { ops: number; seconds: number }): number {
  return r.ops / r.seconds;
}

export function line(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`);
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Node's flags from `npm start` (e.g. the young-generation cap), so a benchmarked daemon runs as users run it. */
export const START_FLAGS = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const words: string[] = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('src/main.ts'));
})();

/** A process's resident memory now, and its peak, in MB (from /proc). */
export function rssMb(pid: number, which: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${which}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
