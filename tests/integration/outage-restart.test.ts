import { describe, it, expect, vi } from 'vitest';
import { netpulse } from '../helpers/process.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnmpd, tempDir } from '../helpers/servers.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { hashToken } from '../../src/api/auth.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';


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
      try { return await outagesOf(s).outages(); } catch { return []; } finally { await s.close(); }
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

describe('health across a kill -9 of netpulse (issue 16)', () => {
  it('is restored per element and source: a degraded cell stays degraded, its outage open, until its source speaks or goes stale', async () => {
    const { startMosquitto } = await import('../helpers/servers.ts');
    const mqtt = (await import('mqtt')).default;
    const broker = await startMosquitto();
    const dir = tempDir('health-kill');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-H, kind: base_station, site: h1 }\n  - { id: BS-H-C1, kind: cell, site: h1, parents: [BS-H] }\n');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, JSON.stringify({
      daemon: { dataDir: join(dir, 'data'), logFormat: 'json' }, topology: { file: join(dir, 'topology.yaml') },
      api: { port: 0, tokens: [{ name: 'noc', hash: hashToken('noc-token-0123456789abcdef'), roles: ['noc'] }] },
      health: { staleAfter: '1h' }, outages: { evaluateEvery: '100ms' },
      mqtt: { brokers: [{ name: 'edge', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-health-kill', subscriptions: [
        { topic: 'tele/+/+', format: 'json', element: '{1}', measurement: 'lte_cell', tags: { cell_name: '{2}' }, fields: { rsrp_dbm: '$.rsrp' }, allow: { elements: ['BS-H*'] }, staleAfter: '1h' },
      ] }] },
    }));
    const outages = async () => {
      const s = new Store(new SqliteDb(join(dir, 'data', 'netpulse.db')));
      try { return await outagesOf(s).outages(); } catch { return []; } finally { await s.close(); }
    };
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'health-pub' });
    let d = netpulse('start', '--config', cfg);
    try {
      await vi.waitFor(() => expect(d.output()).toContain('mqtt connected'), { timeout: 20_000 });
      // Poor RSRP, said until the degradation outage opens.
      await vi.waitFor(async () => {
        await publisher.publishAsync('tele/BS-H/BS-H-C1', JSON.stringify({ rsrp: -130 }), { qos: 1 });
        expect((await outages()).map((o) => [o.root, o.severity, o.state])).toEqual([['BS-H-C1', 'degradation', 'open']]);
      }, { timeout: 15_000, interval: 200 });
      await d.stop('SIGKILL');
      d = netpulse('start', '--config', cfg);
      await vi.waitFor(() => expect(d.output()).toContain('"msg":"element health restored from the last run"'), { timeout: 20_000 });
      await vi.waitFor(() => expect(d.output()).toMatch(/"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"api listening"/), { timeout: 10_000 });
      const port = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"api listening"/.exec(d.output())![1]);
      const cell = await (await fetch(`http://127.0.0.1:${port}/v1/elements/BS-H-C1`, { headers: { authorization: 'Bearer noc-token-0123456789abcdef' } })).json();
      // As the last run left it, before any new telemetry (it was `unknown` here, its outage open for ever).
      expect(cell.health).toMatchObject({ state: 'degraded', reason: expect.stringMatching(/^RSRP -130 dBm/) });
      // Good telemetry again closes the outage it continued (two good checks, then the recovery confirmation).
      for (let i = 0; i < 3; i++) await publisher.publishAsync('tele/BS-H/BS-H-C1', JSON.stringify({ rsrp: -80 }), { qos: 1 });
      await vi.waitFor(async () => expect((await outages()).map((o) => o.state)).not.toContain('open'), { timeout: 20_000, interval: 200 });
      expect((await outages()).length).toBe(1); // continued, not opened again
    } finally {
      await publisher.endAsync();
      await d.stop();
      await broker.stop();
    }
  }, 90_000);
});
