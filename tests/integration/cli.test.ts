import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');

describe('netpulse start', () => {
  it('keeps running with nothing to poll until SIGTERM, then stops cleanly', async () => {
    const dir = tempDir('cli');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, `daemon: { dataDir: ${join(dir, 'data')}, logFormat: json }\n`);
    const child = spawn(process.execPath, [MAIN, 'start', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await expect.poll(() => out, { timeout: 20_000 }).toContain('netpulse started');
    const early = await Promise.race([exit, new Promise((r) => setTimeout(() => r('running'), 2_000))]);
    expect(early).toBe('running');
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toContain('netpulse stopped');
  });
});
