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
    const exited = new Promise((r) => d.child.once('exit', () => r('exited')));
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 2_000))])).toBe('running');
    expect(await d.stop()).toBe(0);
    expect(d.output()).toContain('netpulse stopped');
  });
});
