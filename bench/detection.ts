// Detection: 1,000 polled elements (40 simulated switches, 960 base stations, every 10 s); one
// switch at a time dies. Measured per switch: from its first missed poll (the outage's start, the
// first failing observation) to the outage opened with its base stations attributed. Target: p95
// at most one poll interval plus 5 s. The daemon's own code path, in this process.
import { testDaemon } from '../tests/helpers/daemon.ts';
import type { OutageEvent } from '../correlators/outages/outage.ts';
import { line, fmt } from './lib.ts';

const INTERVAL_MS = 10_000;
const TRIALS = Number(process.env.BENCH_DETECTION_TRIALS ?? 8);

export async function benchDetection(): Promise<void> {
  const { daemon } = testDaemon({
    daemon: { logLevel: 'warn' },
    sim: { enabled: true, switches: 40, baseStations: 960, cellsPerBaseStation: 3, portsPerSwitch: 24, interval: `${INTERVAL_MS}ms` },
  });
  const opened: OutageEvent[] = [];
  const openedAt = new Map<string, number>();
  daemon.outages.onEvent((e) => {
    if (e.type === 'opened') {
      opened.push(e);
      openedAt.set(e.outage.root, Date.now());
    }
  });
  await daemon.start();
  const delays: number[] = [];
  try {
    // Everyone polled twice: health known for all.
    await waitFor(() => daemon.outages.health.all.size >= 1000 + 960 * 3, 60_000);
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 2));
    for (let i = 1; i <= TRIALS; i++) {
      const name = `SIM-SW-${String(i).padStart(3, '0')}`;
      await daemon.sim!.device(name)!.stop();
      await waitFor(() => openedAt.has(name), INTERVAL_MS * 4);
      const e = opened.find((x) => x.outage.root === name)!;
      if (e.outage.impacted.filter((x) => !x.element.includes('-C')).length !== 24) throw new Error(`${name}: ${e.outage.impacted.length} impacted`);
      delays.push(openedAt.get(name)! - e.outage.startedAt);
      await daemon.sim!.device(name)!.start();
    }
  } finally {
    await daemon.stop();
  }
  const sorted = [...delays].sort((a, b) => a - b);
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
  line('polled elements / poll interval', `1,000 / ${INTERVAL_MS / 1000} s (timeout 2 s, 1 retry)`);
  line('first missed poll -> outage opened with 24 base stations, ms', `${sorted.map(fmt).join(', ')}`);
  line('p95 detection, ms (target <= interval + 5 s = 15,000)', fmt(p95));
  line('RATIO target / p95 (>= 1 meets it)', ((INTERVAL_MS + 5000) / p95).toFixed(2));
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (import.meta.main) {
  await benchDetection();
  process.exit(0);
}
