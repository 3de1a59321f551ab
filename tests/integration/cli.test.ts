import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { netpulse } from '../helpers/process.ts';

describe('netpulse start', () => {
  it('keeps running with nothing to poll until SIGTERM, then stops cleanly', async () => {
    const dir = tempDir('cli');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, `daemon: { dataDir: ${join(dir, 'data')}, logFormat: json }\napi: { port: 0 }\n`);
    const d = netpulse('start', '--config', cfg);
    await expect.poll(() => d.output(), { timeout: 20_000 }).toContain('netpulse started');
    // Start-up is over and nothing is polled: it still answers, and has not exited by itself.
    const api = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"api listening"/.exec(d.output())![1];
    expect((await fetch(`${api}/metrics`)).status).toBe(200);
    expect([d.child.exitCode, d.child.signalCode]).toEqual([null, null]);
    expect(await d.stop()).toBe(0);
    expect(d.output()).toContain('netpulse stopped');
  });

});

describe('netpulse import-subscribers', () => {
  it('refuses a replace with rejected rows unless a bound allows them, names each bad row by line, and exits 1 when some were rejected', async () => {
    const dir = tempDir('cli-import');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, `daemon: { dataDir: ${join(dir, 'data')} }\napi: null\nsim: { enabled: true, switches: 1, baseStations: 2 }\n`);
    writeFileSync(join(dir, 'subs.csv'), 'id,tier,service,serving,region\n1380001,gold,mobile,SIM-BS-0001-C1;SIM-BS-0002-C3,north\n1380002,vip,mobile,NOPE,north\n');
    const refused = netpulse('import-subscribers', join(dir, 'subs.csv'), '--replace', '--config', cfg);
    expect(await refused.exited()).toBe(1);
    expect(refused.output()).toContain('subs.csv:3: serving: unknown element(s) NOPE');
    expect(refused.output()).toContain('subs.csv: refused, nothing changed: 1 of 2 rows rejected (50 %), over the bound of 0 % for a replace');
    const p = netpulse('import-subscribers', join(dir, 'subs.csv'), '--replace', '--max-rejected', '0.5', '--config', cfg);
    expect(await p.exited()).toBe(1);
    expect(p.output()).toMatch(/subs\.csv: 1 loaded, 1 rejected of 2 rows/);
  });
});
