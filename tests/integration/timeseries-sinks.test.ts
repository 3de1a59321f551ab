import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { startVictoriaMetrics, startInfluxdb, influxQuery, vmExport, tempDir, type Server } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink } from '../../src/sinks/spooled.ts';
import { InfluxWriter } from '../../src/sinks/influx.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Sample } from '../../src/sample.ts';

const SIM = { enabled: true, switches: 1, baseStations: 2, cellsPerBaseStation: 3, portsPerSwitch: 4, interval: '300ms' };

describe('the daemon writes SNMP data to VictoriaMetrics over the InfluxDB v2 API', () => {
  let vm: Server;
  beforeAll(async () => { vm = await startVictoriaMetrics(); });
  afterAll(() => vm?.stop());

  it('delivers interface, cell and reachability series with their tags', async () => {
    const { daemon } = testDaemon({
      sim: SIM,
      timeseries: { influx: { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'op', bucket: 'netpulse', token: 'x' }, flushInterval: '100ms' },
    });
    await daemon.start();
    try {
      await vi.waitFor(async () => {
        const cells = await vmExport(vm.port, 'lte_cell_rsrp_dbm');
        expect(cells.length).toBe(6); // 2 base stations x 3 cells
      }, { timeout: 20_000, interval: 250 });
      const cell = (await vmExport(vm.port, 'lte_cell_rsrp_dbm{cell_name="SIM-BS-0001-C2"}'))[0];
      expect(cell.metric).toMatchObject({ element: 'SIM-BS-0001', cell_index: '2', agent_host: '127.0.0.1' });
      expect(cell.values[0]).toBeLessThan(-70);
      expect(cell.values[0]).toBeGreaterThan(-115);
      await vi.waitFor(async () => {
        const ifs = await vmExport(vm.port, 'interface_ifOperStatus{element="SIM-SW-001"}');
        expect(ifs.map((s) => s.metric.ifName).sort()).toEqual(['Gi0/1', 'Gi0/2', 'Gi0/3', 'Gi0/4']);
      }, { timeout: 10_000, interval: 250 });
      await vi.waitFor(async () => {
        const bps = await vmExport(vm.port, 'interface_in_bps{ifName="Gi0/1"}');
        expect(bps[0]?.values.length).toBeGreaterThan(0);
      }, { timeout: 10_000, interval: 250 });
      await vi.waitFor(async () => {
        const up = await vmExport(vm.port, 'reachability_up{probe="snmp"}');
        expect(up.length).toBe(3);
        expect(up.every((s) => s.values.every((v) => v === 1))).toBe(true);
      }, { timeout: 10_000, interval: 250 });
    } finally {
      await daemon.stop();
    }
  });
});

describe('the daemon writes to VictoriaMetrics without the org, bucket and token it ignores', () => {
  let vm: Server;
  beforeAll(async () => { vm = await startVictoriaMetrics(); });
  afterAll(() => vm?.stop());

  it('over the InfluxDB 1.x API, with nothing but a url and a database name', async () => {
    const { daemon } = testDaemon({ sim: SIM, timeseries: { influx: { version: 1, url: `http://127.0.0.1:${vm.port}`, database: 'netpulse' }, flushInterval: '100ms' } });
    await daemon.start();
    try {
      await vi.waitFor(async () => expect((await vmExport(vm.port, 'lte_cell_rsrp_dbm')).length).toBe(6), { timeout: 20_000, interval: 250 });
    } finally {
      await daemon.stop();
    }
  });
});

describe('the daemon writes to a real InfluxDB 1.x', () => {
  let influx: Server;
  beforeAll(async () => { influx = await startInfluxdb('netpulse'); });
  afterAll(() => influx?.stop());

  it('delivers series queryable with InfluxQL, typed as written', async () => {
    const { daemon } = testDaemon({
      sim: SIM,
      timeseries: { influx: { version: 1, url: `http://127.0.0.1:${influx.port}`, database: 'netpulse', retentionPolicy: 'autogen' }, flushInterval: '100ms' },
    });
    await daemon.start();
    try {
      await vi.waitFor(async () => {
        const r = await influxQuery(influx.port, `SELECT last(rsrp_dbm) FROM lte_cell GROUP BY cell_name`, 'netpulse');
        expect(r.results[0].series?.length).toBe(6);
      }, { timeout: 20_000, interval: 250 });
      const r = await influxQuery(influx.port, `SELECT connected_users, oper_status, sinr_db FROM lte_cell WHERE cell_name = 'SIM-BS-0002-C3' LIMIT 1`, 'netpulse');
      const [time, users, status, sinr] = r.results[0].series[0].values[0];
      expect(typeof time).toBe('string');
      expect(Number.isInteger(users)).toBe(true);
      expect(status).toBe(1);
      expect(sinr).toBeGreaterThan(0);
      await vi.waitFor(async () => {
        const keys = await influxQuery(influx.port, 'SHOW FIELD KEYS FROM interface', 'netpulse');
        const types = Object.fromEntries(keys.results[0].series?.[0].values ?? []);
        expect(types).toMatchObject({ ifHCInOctets: 'integer', ifOperStatus: 'integer', in_bps: 'float' });
      }, { timeout: 10_000, interval: 250 });
    } finally {
      await daemon.stop();
    }
  });
});

describe('an InfluxDB outage loses nothing', () => {
  // InfluxDB 1.x acknowledges a write once it is in its WAL, so killing it with SIGKILL tests our
  // side alone. (VictoriaMetrics acknowledges before it persists: a SIGKILL there loses its own
  // last second, which is why this runs against InfluxDB.)
  it('spools while InfluxDB is killed and delivers every point once it is back', async () => {
    const influx = await startInfluxdb('outage');
    const { logger, lines: logs } = memoryLogger();
    const sink = new SpooledSink({
      name: 'influx', writer: new InfluxWriter({ version: 1, url: `http://127.0.0.1:${influx.port}`, database: 'outage', timeout: 2000 }),
      spool: new Spool(tempDir('spool'), { maxBytes: 1 << 26, segmentBytes: 1 << 16 }),
      batchSize: 500, flushIntervalMs: 50, retry: { minDelayMs: 50, maxDelayMs: 500 }, logger,
    });
    sink.start();
    const t0 = Date.now() - 60_000;
    const point = (i: number): Sample => ({ element: 'seq', measurement: 'seqtest', tags: { run: 'outage' }, fields: { n: BigInt(i) }, time: t0 + i });
    let i = 0;
    const writeSome = (n: number) => { for (const end = i + n; i < end; i++) sink.write([point(i)]); };
    const count = async () => {
      const r = await influxQuery(influx.port, 'SELECT count(n), sum(n) FROM seqtest', 'outage');
      return r.results[0].series?.[0].values[0].slice(1) ?? [0, 0];
    };
    try {
      writeSome(3000);
      await vi.waitFor(() => expect(sink.stats.written).toBe(3000), { timeout: 10_000 });
      await influx.stop('SIGKILL');
      writeSome(5000); // while InfluxDB is gone
      await vi.waitFor(() => expect(sink.stats.sendErrors).toBeGreaterThan(0), { timeout: 10_000 });
      writeSome(2000);
      await sink.flush();
      expect(sink.stats.accepted).toBe(10_000);
      expect(sink.stats.written).toBe(3000);
      await influx.restart();
      expect(await sink.drained(30_000)).toBe(true);
      // Every point, each once: 10,000 points whose values 0..9999 sum to 49,995,000.
      expect(await count()).toEqual([10_000, 49_995_000]);
      expect(logs.filter((l) => l.msg.includes('unreachable')).length).toBe(1);
      expect(logs.filter((l) => l.msg.includes('reachable again')).length).toBe(1);
    } finally {
      await sink.close(1000);
      await influx.stop();
    }
  });
});
