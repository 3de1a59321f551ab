import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxdb, influxQuery, type Server } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';

const DASHBOARD = JSON.parse(readFileSync(join(import.meta.dirname, '../../config/grafana/netpulse.json'), 'utf8'));
const panels = DASHBOARD.panels.filter((p: any) => p.type === 'timeseries');

/**
 * The shipped Grafana dashboard against what netpulse really writes: the simulator's SNMP and
 * MQTT series into a real InfluxDB 1.x, then every panel's query, with Grafana's macros filled
 * in the way Grafana does, must parse and return series.
 */
describe('the Grafana dashboard (config/grafana/netpulse.json)', () => {
  let influx: Server;
  beforeAll(async () => { influx = await startInfluxdb('netpulse'); }, 60_000);
  afterAll(() => influx?.stop());

  it('is importable: a datasource input, an element variable, and panels with queries', () => {
    expect(DASHBOARD.__inputs[0]).toMatchObject({ name: 'DS_INFLUXDB', pluginId: 'influxdb' });
    expect(DASHBOARD.templating.list.map((v: any) => v.name)).toEqual(['element']);
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) expect(p.targets.length, p.title).toBeGreaterThan(0);
  });

  it('every panel shows data from the series netpulse writes', async () => {
    const { daemon } = testDaemon({
      api: null,
      sim: { enabled: true, switches: 1, baseStations: 2, olts: 1, ponPortsPerOlt: 2, interval: '500ms', mqtt: { embedded: { port: 0 }, interval: '300ms' } },
      timeseries: { influx: { version: 1, url: `http://127.0.0.1:${influx.port}`, database: 'netpulse' }, flushInterval: '200ms' },
    });
    let unanswered = false;
    daemon.pipeline.add({ name: 'test-unanswered', write: (batch) => {
      if (batch.some((s) => s.element === 'SIM-BS-0002' && s.measurement === 'reachability' && s.tags.probe === 'snmp' && s.fields.up === false)) unanswered = true;
    } });
    await daemon.start();
    try {
      // One poll unanswered, so the "unanswered probes" panel has something to count.
      await daemon.sim!.device('SIM-BS-0002')!.stop();
      await vi.waitFor(() => expect(unanswered).toBe(true), { timeout: 15_000, interval: 50 });
      await daemon.sim!.device('SIM-BS-0002')!.start();
      const fill = (q: string) => q.replaceAll('$element', '.*').replaceAll('$timeFilter', 'time > now() - 10m').replaceAll('$__interval', '1s');
      for (const p of panels) {
        for (const t of p.targets) {
          await expect.poll(async () => {
            const r = await influxQuery(influx.port, fill(t.query), 'netpulse');
            const res = r.results[0];
            if (res.error) throw new Error(`${p.title}: ${res.error}`);
            return (res.series ?? []).length;
          }, { timeout: 15_000, message: `panel "${p.title}" has no data: ${t.query}` }).toBeGreaterThan(0);
        }
      }
      const values = await influxQuery(influx.port, 'SHOW TAG VALUES WITH KEY = "element"', 'netpulse');
      expect(values.results[0].series.flatMap((s: any) => s.values.map((v: string[]) => v[1]))).toContain('SIM-BS-0001');
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});
