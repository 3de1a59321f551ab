import { describe, it, expect, vi } from 'vitest';
import { netpulse, type NodeProcess } from '../helpers/process.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnmpd, tempDir } from '../helpers/servers.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { hashToken } from '../../src/api/auth.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';
import { healthOf } from '../../correlators/health/repository.ts';


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
    const read = async <T,>(what: (s: Store) => Promise<T[]>): Promise<T[]> => {
      const s = new Store(new SqliteDb(join(dir, 'data', 'netpulse.db')));
      try { return await what(s); } catch { return []; } finally { await s.close(); }
    };
    const outages = () => read((s) => outagesOf(s).outages());
    const health = () => read((s) => healthOf(s).transitions('CORE-R1'));
    /** When a run logged `msg` last, by its own clock. */
    const loggedAt = (p: NodeProcess, msg: string) => p.output().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l).time as number).at(-1);
    let d = start();
    try {
      await vi.waitFor(() => expect(d.output()).toContain('netpulse started'), { timeout: 20_000 });
      // Good polls first: the daemon has seen the router up.
      await vi.waitFor(async () => expect((await health()).map((t) => t.to)).toEqual(['up']), { timeout: 10_000, interval: 100 });
      await snmpd.stop();
      await vi.waitFor(async () => expect((await outages()).map((o) => o.state)).toEqual(['open']), { timeout: 10_000, interval: 100 });
      const [opened] = await outages();
      expect(opened.root).toBe('CORE-R1');
      // Dated at the first failing poll: the observation that took the router from up to down.
      const [up, down] = await health();
      expect(down).toMatchObject({ from: 'up', to: 'down', at: opened.startedAt });
      expect(opened.startedAt).toBeGreaterThan(up.at);

      await d.stop('SIGKILL');
      d = start();
      await vi.waitFor(() => expect(d.output()).toContain('continuing outages open before the restart'), { timeout: 20_000 });
      // Polls fail again after the restart, and the outage stays the one it was.
      await vi.waitFor(() => expect(loggedAt(d, 'snmp target not answering')).toBeDefined(), { timeout: 10_000, interval: 100 });
      const failingAgainAt = loggedAt(d, 'snmp target not answering')!;
      expect((await outages()).map((o) => [o.id, o.state])).toEqual([[opened.id, 'open']]);

      await snmpd.restart();
      await vi.waitFor(async () => expect((await outages()).map((o) => o.state)).toEqual(['closed']), { timeout: 15_000, interval: 100 });
      const [closed] = await outages();
      expect(closed.id).toBe(opened.id);
      expect(closed.startedAt).toBe(opened.startedAt);
      // Cleared at the first good poll once the agent was back, which the new run made after it saw polls fail.
      expect((await health()).at(-1)).toMatchObject({ to: 'up', at: closed.clearedAt });
      expect(closed.clearedAt!).toBeGreaterThan(failingAgainAt);
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
