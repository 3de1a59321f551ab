import { describe, it, expect, vi } from 'vitest';
import { netpulse } from '../helpers/process.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnmpd, tempDir } from '../helpers/servers.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';


describe('an outage across a kill -9 of netpulse', () => {
  it('is continued after the restart, not duplicated or lost, and closes with its own times', async () => {
    const snmpd = await startSnmpd();
    const dir = tempDir('outage-kill');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: CORE-R1, kind: core, site: dc1 }\n');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, JSON.stringify({
      daemon: { dataDir: join(dir, 'data'), logFormat: 'json' },
      api: { port: 0 },
      topology: { file: join(dir, 'topology.yaml') },
      snmp: { defaults: { interval: '300ms', timeout: '200ms', retries: 0 }, targets: [{ name: 'r1', element: 'CORE-R1', host: '127.0.0.1', port: snmpd.port, profiles: ['system'] }] },
      outages: { confirmRecovery: '1s', evaluateEvery: '100ms' },
    }));
    const start = () => netpulse('start', '--config', cfg);
    // Read what the daemon committed, as a second reader of its SQLite file (WAL allows it).
    const outages = async () => {
      const s = new Store(new SqliteDb(join(dir, 'data', 'netpulse.db')));
      try { return await s.outages(); } catch { return []; } finally { await s.close(); }
    };
    let d = start();
    try {
      await vi.waitFor(() => expect(d.output()).toContain('netpulse started'), { timeout: 20_000 });
      await new Promise((r) => setTimeout(r, 1_000)); // a few good polls
      const downAt = Date.now();
      await snmpd.stop();
      await vi.waitFor(async () => expect((await outages()).map((o) => o.state)).toEqual(['open']), { timeout: 10_000, interval: 100 });
      const [opened] = await outages();
      expect(opened.root).toBe('CORE-R1');
      expect(opened.startedAt).toBeGreaterThanOrEqual(downAt - 400);

      await d.stop('SIGKILL');
      d = start();
      await vi.waitFor(() => expect(d.output()).toContain('continuing outages open before the restart'), { timeout: 20_000 });
      await new Promise((r) => setTimeout(r, 1_500)); // polls fail again after the restart
      expect((await outages()).map((o) => [o.id, o.state])).toEqual([[opened.id, 'open']]);

      const upAt = Date.now();
      await snmpd.restart();
      await vi.waitFor(async () => expect((await outages()).map((o) => o.state)).toEqual(['closed']), { timeout: 15_000, interval: 100 });
      const [closed] = await outages();
      expect(closed.id).toBe(opened.id);
      expect(closed.startedAt).toBe(opened.startedAt);
      expect(closed.clearedAt!).toBeGreaterThanOrEqual(upAt - 400);
      expect(d.output()).not.toContain('"msg":"outage opened"');
    } finally {
      await d.stop();
      await snmpd.stop();
    }
  });
});
