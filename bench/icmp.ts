// ICMP probing at scale: 1,000 loopback targets, 20 probes each per 60 s round (SmokePing's
// default), through the ICMP collector on the daemon's defaults. Reference in the same run: one
// bare fping process probing the same targets the same way. Reported: the CPU each takes per
// round (the node process plus its fping children), as a share of the 60 s interval.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { IcmpCollector } from '../collectors/icmp/collector.ts';
import { configSchema } from '../src/config/schema.ts';
import { createLogger } from '../src/log.ts';
import type { Batch } from '../src/sample.ts';
import { line } from './lib.ts';

const TARGETS = 1000;
const INTERVAL_S = 60;
const hosts = Array.from({ length: TARGETS }, (_, i) => `127.1.${i >> 8}.${(i & 255) + 1}`);

/** CPU seconds of this process and of its reaped children, from /proc (clock ticks at 100 Hz). */
function cpuSeconds(): { self: number; children: number } {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
}

async function measure(run: () => Promise<void>): Promise<{ wall: number; self: number; children: number }> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await run();
  const c1 = cpuSeconds();
  return { wall: (performance.now() - t0) / 1000, self: c1.self - c0.self, children: c1.children - c0.children };
}

export async function benchIcmp(): Promise<void> {
  const bare = await measure(() => new Promise<void>((resolve, reject) => {
    const child = spawn('fping', ['-C', '20', '-q', '-p', '1000', '-i', '1', '-f', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('close', (code) => (code !== null && code <= 2 ? resolve() : reject(new Error(`fping exited ${code}`))));
    child.stdin!.end(hosts.join('\n') + '\n');
  }));

  const config = configSchema.parse({ icmp: { targets: hosts.map((host, i) => ({ name: `t${i}`, host, element: `BS-${i}` })) } }).icmp;
  let samples = 0;
  let lossy = 0;
  const collector = new IcmpCollector({ config, logger: createLogger({ level: 'silent' }) });
  (collector as unknown as { emit: (b: Batch) => Promise<void> }).emit = async (b) => {
    for (const s of b) {
      if (s.measurement !== 'ping') continue;
      samples++;
      if ((s.fields.percent_packet_loss as number) > 0) lossy++;
    }
  };
  const ours = await measure(() => collector.round());

  line(`targets x probes per round (interval ${INTERVAL_S} s)`, `${TARGETS} x ${config.count}, period ${config.period} ms, spacing ${config.spacing} ms`);
  line('ping samples from the collector (targets with any loss)', `${samples} (${lossy})`);
  line('bare fping, one process: round wall s / CPU s', `${bare.wall.toFixed(1)} / ${(bare.self + bare.children).toFixed(2)}`);
  line('netpulse ICMP collector: round wall s / CPU s (node + fping)', `${ours.wall.toFixed(1)} / ${(ours.self + ours.children).toFixed(2)} (node ${ours.self.toFixed(2)}, fping ${ours.children.toFixed(2)})`);
  line(`netpulse CPU share of the ${INTERVAL_S} s interval, one core`, `${(((ours.self + ours.children) / INTERVAL_S) * 100).toFixed(2)} %`);
  line('RATIO netpulse CPU / bare fping CPU', ((ours.self + ours.children) / Math.max(0.01, bare.self + bare.children)).toFixed(2));
}

if (import.meta.main) await benchIcmp();
