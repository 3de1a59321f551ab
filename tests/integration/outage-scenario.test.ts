import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnmpd, tempDir, type Server } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { testDaemon } from '../helpers/daemon.ts';
import type { OutageEvent } from '../../correlators/outages/outage.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

/** The store the daemon keeps its outages in: SQLite (the default) or a fresh PostgreSQL database. */
const STORES = DATABASES.map(([kind, d]) => [kind, d.url] as const);
afterAll(() => stopDatabases());

describe.each(STORES)('an aggregation switch dies on real agents (store: %s)', (_kind, storeUrl) => {
  let snmpd: Server;
  beforeAll(async () => { snmpd = await startSnmpd(); });
  afterAll(() => snmpd?.stop());

  it('is one outage with the right root cause and impacted base stations, closed with the right times', async () => {
    const url = await storeUrl();
    const dir = tempDir('scenario');
    const topo = join(dir, 'topology.yaml');
    // The core router is Debian's snmpd; the simulated switches hang below it.
    writeFileSync(topo, 'elements:\n  - { id: CORE-R1, kind: core, site: dc1, region: north }\n');
    const { daemon, logs } = testDaemon({
      topology: { file: topo },
      snmp: {
        defaults: { timeout: '300ms', retries: 0, interval: '500ms' },
        targets: [{ name: 'core-r1', element: 'CORE-R1', host: '127.0.0.1', port: snmpd.port, profiles: ['system'] }],
      },
      sim: { enabled: true, switches: 2, baseStations: 4, cellsPerBaseStation: 2, portsPerSwitch: 2, interval: '500ms', uplink: 'CORE-R1' },
      outages: { confirmRecovery: '2s', evaluateEvery: '200ms' },
      store: { url },
    });
    const events: OutageEvent[] = [];
    daemon.outages.onEvent((e) => events.push(e));
    // The switch's SNMP polls as the daemon saw them, in order: when each started and whether it was answered.
    const polls: { time: number; up: boolean }[] = [];
    daemon.pipeline.add({ name: 'test-polls', write: (batch) => {
      for (const s of batch) if (s.element === 'SIM-SW-001' && s.measurement === 'reachability') polls.push({ time: s.time, up: s.fields.up === true });
    } });
    await daemon.start();
    try {
      await vi.waitFor(() => {
        for (const id of ['CORE-R1', 'SIM-SW-001', 'SIM-BS-0001', 'SIM-BS-0001-C1']) expect(daemon.outages.health.get(id)?.state, id).toBe('up');
      }, { timeout: 15_000, interval: 100 });
      const sw = daemon.sim!.device('SIM-SW-001')!;
      const answeredBefore = polls.length;
      expect(polls.every((p) => p.up)).toBe(true);
      await sw.stop();
      await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('opened'), { timeout: 10_000, interval: 100 });
      const opened = events.find((e) => e.type === 'opened')!.outage;
      expect(opened.root).toBe('SIM-SW-001');
      // Base stations alternate between the two switches: 1 and 3 are behind SIM-SW-001.
      expect(opened.impacted.map((i) => i.element)).toEqual(['SIM-BS-0001', 'SIM-BS-0001-C1', 'SIM-BS-0001-C2', 'SIM-BS-0003', 'SIM-BS-0003-C1', 'SIM-BS-0003-C2']);
      // Dated at the first poll the stopped switch left unanswered (every poll before it was answered).
      const failed = polls.findIndex((p) => !p.up);
      expect(failed).toBeGreaterThanOrEqual(answeredBefore);
      expect(opened.startedAt).toBe(polls[failed].time);
      expect(events.filter((e) => e.type === 'opened')).toHaveLength(1); // one outage, nothing for the base stations
      expect(logs.some((l) => l.msg === 'outage opened' && l.root === 'SIM-SW-001' && l.impacted === 6)).toBe(true);

      const failedBefore = polls.length;
      await sw.start();
      await vi.waitFor(() => expect(events.map((e) => e.type)).toEqual(['opened', 'cleared', 'closed']), { timeout: 15_000, interval: 100 });
      const cleared = events[1].outage;
      // Cleared at the first poll answered again, after it came back; every poll in between went unanswered.
      const answered = polls.findIndex((p, i) => i > failed && p.up);
      expect(answered).toBeGreaterThanOrEqual(failedBefore);
      expect(polls.slice(failed, answered).every((p) => !p.up)).toBe(true);
      expect(cleared.clearedAt).toBe(polls[answered].time);
      expect(events[2].outage.closedAt! - cleared.clearedAt!).toBeGreaterThanOrEqual(2_000);
      expect(daemon.outages.outages.outages).toEqual([]);
      await vi.waitFor(async () => {
        const kept = await outagesOf(daemon.store).outages();
        expect(kept.map((o) => [o.id, o.state, o.startedAt, o.clearedAt])).toEqual([[opened.id, 'closed', opened.startedAt, cleared.clearedAt]]);
      }, { timeout: 5_000 });
      expect(daemon.store.db.kind).toBe(url ? 'postgres' : 'sqlite');
    } finally {
      await daemon.stop();
    }
  });
});
