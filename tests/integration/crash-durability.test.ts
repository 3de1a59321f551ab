import { describe, it, expect, vi } from 'vitest';
import { writeFileSync, readdirSync, statSync, existsSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxdb, influxQuery, tempDir } from '../helpers/servers.ts';
import { Spool } from '../../src/sinks/spool.ts';

import { node, MAIN } from '../helpers/process.ts';

function spoolBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).filter((f) => f.endsWith('.lp')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

/**
 * Every line in a spool not yet delivered, read with the spool's own reader from a copy (reading
 * commits, and the original must stay as the killed process left it).
 */
function spooledLines(dir: string): string[] {
  const copy = tempDir('spool-copy');
  cpSync(dir, copy, { recursive: true });
  const s = new Spool(copy, { maxBytes: 1 << 30, segmentBytes: 1 << 24 });
  s.open();
  const out: string[] = [];
  for (let c = s.read(100_000); c; c = s.read(100_000)) {
    out.push(...c.body.trim().split('\n'));
    s.commit(c.end, c.lines);
  }
  s.close();
  return out;
}

describe('kill -9', () => {
  it('the daemon replays a non-empty spool after a kill -9 and a restart', async () => {
    const influx = await startInfluxdb('crash');
    await influx.stop('SIGKILL'); // InfluxDB is down while the daemon collects
    const dataDir = tempDir('crash');
    const cfg = join(dataDir, 'netpulse.yaml');
    writeFileSync(cfg, `
daemon: { dataDir: ${dataDir}, logFormat: json }
api: { port: 0 }
timeseries:
  influx: { version: 1, url: "http://127.0.0.1:${influx.port}", database: crash, timeout: 1s }
  flushInterval: 100ms
  retry: { minDelay: 100ms, maxDelay: 500ms }
sim: { enabled: true, switches: 1, baseStations: 2, portsPerSwitch: 4, interval: 200ms }
`);
    const first = node([MAIN, 'start', '--config', cfg]);
    const spoolDir = join(dataDir, 'spool');
    try {
      await vi.waitFor(() => expect(spoolBytes(spoolDir)).toBeGreaterThan(20_000), { timeout: 20_000, interval: 100 });
    } finally {
      await first.stop('SIGKILL');
    }
    // What the killed daemon had accepted: the restart must deliver exactly this.
    const accepted = spooledLines(spoolDir);
    const reach = accepted.filter((l) => l.startsWith('reachability,'));
    expect(reach.length).toBeGreaterThan(5);
    const lastTimeNs = BigInt(accepted.at(-1)!.split(' ').at(-1)!);

    await influx.restart();
    const second = node([MAIN, 'start', '--config', cfg]);
    try {
      await vi.waitFor(async () => {
        const r = await influxQuery(influx.port, `SELECT count(up) FROM reachability WHERE time <= ${lastTimeNs}`, 'crash');
        expect(r.results[0].series?.[0].values[0][1]).toBe(reach.length);
      }, { timeout: 30_000, interval: 250 });
      expect(second.output()).toContain('replaying spool from previous run');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
      await influx.stop();
    }
  });

  it('loses at most the points gathered in the last flush interval', async () => {
    const dir = tempDir('bound');
    const flushMs = 200;
    const w = node([join(import.meta.dirname, '../fixtures/spool-writer.ts'), dir, String(flushMs)]);
    const allRead = new Promise((r) => w.child.once('close', r)); // all it printed read, not only exited
    await vi.waitFor(() => expect(w.output().split('\n').length).toBeGreaterThan(3000), { timeout: 20_000, interval: 20 });
    await w.stop('SIGKILL');
    await allRead;
    const printed = w.output().trim().split('\n').map((l) => l.split(' ').map(Number));
    const [lastN, lastTime] = printed.at(-1)!;
    const spooled = spooledLines(dir).map((l) => Number(/n=(\d+)i/.exec(l)![1]));
    // What reached the spool is a gapless prefix of what was written...
    expect(spooled).toEqual(Array.from({ length: spooled.length }, (_, k) => k));
    // ...missing only points from the last flush interval, on the writer's own clock (see the fixture).
    const lost = printed.filter(([n]) => n >= spooled.length);
    expect(lost.length).toBe(lastN + 1 - spooled.length);
    const oldestLostTime = lost[0]?.[1] ?? lastTime;
    expect(lastTime - oldestLostTime).toBeLessThan(flushMs);
  });
});
