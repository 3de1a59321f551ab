import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { netpulse } from '../helpers/process.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto, startMosquittoTls, startVictoriaMetrics, vmExport, tempDir, type Server } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { watchedLink } from '../helpers/mqtt-wire.ts';
import { MqttCollector } from '../../collectors/mqtt/collector.ts';
import { MqttNotifier } from '../../correlators/alerts/notifier.ts';
import { readFileSync } from 'node:fs';
import { mqttBroker } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Batch } from '../../src/sample.ts';


/** Publishes with Debian's mosquitto_pub: a foreign client, not ours. */
function pub(port: number, topic: string, message: string, extra: string[] = []): void {
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message, ...extra]);
}

const CELL_SUB = {
  topic: 'tele/+/cell/+', format: 'json', element: '{1}', measurement: 'lte_cell',
  tags: { cell: '{1}-C{3}' }, fields: { rsrp_dbm: '$.rsrp', seq: { path: '$.seq', type: 'int' } }, time: '$.ts',
};

/** A time inside the window sample times must fall in. */
const RECENT = Date.now() - 3_600_000;

/** The elements these tests publish for: a subscription speaks only for elements in the topology. */
function topology(): { file: string } {
  const file = join(tempDir('mqtt-topology'), 'topology.yaml');
  writeFileSync(file, `elements:\n${['BS-1', 'BS-2', 'BS-3', 'BS-R', 'BS-C', 'BS-K', 'BS-P', 'BS-Q'].map((id) => `  - { id: ${id}, kind: base_station, site: ${id.toLowerCase()} }\n`).join('')}`);
  return { file };
}

/** How many distinct points of a series VictoriaMetrics holds (redeliveries share a timestamp). */
async function distinctPoints(vmPort: number, match: string): Promise<number> {
  const series = await vmExport(vmPort, match);
  return new Set(series.flatMap((s) => s.timestamps.map((t) => `${JSON.stringify(s.metric)}@${t}`))).size;
}

describe('MQTT telemetry from Mosquitto into VictoriaMetrics', () => {
  let broker: Server;
  let vm: Server;
  beforeAll(async () => { [broker, vm] = await Promise.all([startMosquitto(), startVictoriaMetrics()]); });
  afterAll(async () => { await broker?.stop(); await vm?.stop(); });

  const influx = () => ({ influx: { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't' }, flushInterval: '100ms' });

  it('maps JSON, line protocol and plain values; bad messages are counted per topic and never block the good ones', async () => {
    const { daemon, logs } = testDaemon({
      topology: topology(), timeseries: influx(),
      mqtt: { brokers: [{ name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-formats', subscriptions: [
        CELL_SUB,
        { topic: 'lp/+', format: 'line', element: '{1}', precision: 'ms' },
        { topic: 'site/+/+/+', format: 'value', element: '{2}', measurement: 'env', field: '{3}', tags: { site: '{1}' } },
      ] }] },
    });
    await daemon.start();
    const mq = daemon.collectors.find((c) => c.name === 'mqtt:main') as MqttCollector;
    try {
      await mq.subscribed();
      const now = Date.now();
      pub(broker.port, 'tele/BS-1/cell/1', JSON.stringify({ rsrp: -97.5, seq: 1, ts: now }));
      pub(broker.port, 'tele/BS-1/cell/1', '{"rsrp": -9');                         // truncated JSON
      pub(broker.port, 'tele/BS-1/cell/2', JSON.stringify({ rsrp: 'weak', ts: now })); // text where a number belongs
      pub(broker.port, 'tele/BS-1/cell/2', JSON.stringify({ rsrp: -101, seq: 2, ts: now }));
      pub(broker.port, 'lp/BS-2', `lte_cell,cell=BS-2-C1 rsrp_dbm=-88.25 ${now}\ngarbage here\nlte_cell,cell=BS-2-C2 rsrp_dbm=-90 ${now}`);
      pub(broker.port, 'site/S1/BS-3/temperature_c', '41.5');
      pub(broker.port, 'site/S1/BS-3/temperature_c', 'hot');
      const blobber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'blob' });
      await blobber.publishAsync('tele/BS-1/cell/3', Buffer.alloc(10 * 1024 * 1024, 0x7b), { qos: 1 }); // 10 MB of "{"
      await blobber.publishAsync('tele/BS-1/cell/3', JSON.stringify({ rsrp: -99, seq: 3, ts: now }), { qos: 1 });
      await blobber.endAsync();
      await vi.waitFor(async () => {
        const cells = await vmExport(vm.port, 'lte_cell_rsrp_dbm');
        expect(cells.map((s) => [s.metric.cell, s.values[0]]).sort()).toEqual([
          ['BS-1-C1', -97.5], ['BS-1-C2', -101], ['BS-1-C3', -99], ['BS-2-C1', -88.25], ['BS-2-C2', -90]]);
        const env = await vmExport(vm.port, 'env_temperature_c');
        expect(env.map((s) => [s.metric.element, s.metric.site, s.values[0]])).toEqual([['BS-3', 'S1', 41.5]]);
      }, { timeout: 15_000, interval: 250 });
      expect(mq.stats.rejected).toBe(4);
      expect(Object.fromEntries(mq.stats.rejectedByTopic)).toEqual({ 'tele/BS-1/cell/1': 1, 'tele/BS-1/cell/2': 1, 'tele/BS-1/cell/3': 1, 'site/S1/BS-3/temperature_c': 1 });
      const rejected = logs.filter((l) => l.msg === 'mqtt message rejected; acknowledged and dropped');
      expect(rejected.map((l) => l.topic).sort()).toEqual(['site/S1/BS-3/temperature_c', 'tele/BS-1/cell/1', 'tele/BS-1/cell/2', 'tele/BS-1/cell/3']);
      expect(rejected.find((l) => l.topic === 'tele/BS-1/cell/3').reason).toMatch(/10485760 bytes is over maxPayload/);
      expect(rejected.find((l) => l.topic === 'tele/BS-1/cell/1').reason).toMatch(/not JSON/);
      expect(logs.some((l) => l.msg === 'mqtt values left out' && l.topic === 'lp/BS-2')).toBe(true);
    } finally {
      await daemon.stop();
    }
  });

  it('loses nothing across a broker restart mid-stream', async () => {
    const N = 1500;
    const { daemon } = testDaemon({
      topology: topology(), timeseries: influx(),
      mqtt: { brokers: [{ name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-restart', reconnectPeriod: '200ms', subscriptions: [CELL_SUB] }] },
    });
    await daemon.start();
    const mq = daemon.collectors[0] as MqttCollector;
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pub-restart', clean: false, reconnectPeriod: 200 });
    try {
      await mq.subscribed();
      const t0 = Date.now() - 60_000;
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        if (i === N / 2) {
          await broker.stop(); // SIGTERM: Mosquitto saves its sessions and queues, then exits
          await broker.restart();
        }
        acks.push(publisher.publishAsync('tele/BS-R/cell/1', JSON.stringify({ rsrp: -90 - (i % 20), seq: i, ts: t0 + i }), { qos: 1 }));
        if (i % 50 === 0) await Promise.all(acks); // a steady stream: the broker has taken what was sent so far
      }
      await Promise.all(acks); // the broker accepted every message
      await vi.waitFor(async () => {
        expect(await distinctPoints(vm.port, 'lte_cell_seq{element="BS-R"}')).toBe(N);
      }, { timeout: 30_000, interval: 500 });
      expect(broker.output()).not.toMatch(/Error saving/); // the broker really kept its state
    } finally {
      await publisher.endAsync();
      await daemon.stop();
    }
  });

  it('loses nothing when the network between netpulse and the broker is cut, twice', async () => {
    const N = 2000;
    const link = await watchedLink(broker.port);
    const { daemon, logs } = testDaemon({
      topology: topology(), timeseries: influx(),
      mqtt: { brokers: [{ name: 'main', url: `mqtt://127.0.0.1:${link.port}`, clientId: 'np-cut', reconnectPeriod: '200ms', subscriptions: [CELL_SUB] }] },
    });
    await daemon.start();
    const mq = daemon.collectors[0] as MqttCollector;
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pub-cut' });
    try {
      await mq.subscribed();
      const t0 = Date.now() - 90_000;
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        if (i === 700 || i === 1400) {
          await vi.waitFor(() => expect(mq.connected).toBe(true), { timeout: 10_000 });
          link.cut(); // mid-stream: messages in flight on the wire are lost with it
        }
        acks.push(publisher.publishAsync('tele/BS-C/cell/1', JSON.stringify({ rsrp: -85, seq: i, ts: t0 + i }), { qos: 1 }));
        if (i % 50 === 0) await Promise.all(acks); // a steady stream: the broker has taken what was sent so far
      }
      await Promise.all(acks);
      await vi.waitFor(async () => {
        expect(await distinctPoints(vm.port, 'lte_cell_seq{element="BS-C"}')).toBe(N);
      }, { timeout: 30_000, interval: 500 });
      expect(logs.filter((l) => /mqtt connection lost/.test(l.msg))).toHaveLength(2);
    } finally {
      await publisher.endAsync();
      await daemon.stop();
      link.close();
    }
  });

  it('loses nothing across a kill -9 of netpulse: unacknowledged messages come again', async () => {
    const N = 3000;
    const dir = tempDir('mqtt-kill');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, JSON.stringify({
      daemon: { dataDir: join(dir, 'data'), logFormat: 'json' },
      api: { port: 0 },
      topology: topology(),
      timeseries: influx(),
      // MQTT 3.1.1 here (the others run 5): its persistent session is clean=false alone.
      mqtt: { brokers: [{ name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-kill', protocolVersion: 4, subscriptions: [CELL_SUB] }] },
    }));
    const startDaemon = () => netpulse('start', '--config', cfg);
    let d = startDaemon();
    await vi.waitFor(() => expect(d.output()).toContain('mqtt subscribed'), { timeout: 20_000 });
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pub-kill' });
    try {
      const t0 = Date.now() - 120_000;
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        acks.push(publisher.publishAsync('tele/BS-K/cell/1', JSON.stringify({ rsrp: -80, seq: i, ts: t0 + i }), { qos: 1 }));
        if (i === N / 3) await d.stop('SIGKILL'); // mid-stream: some messages persisted, some in flight
        if (i % 100 === 0) await Promise.all(acks); // a steady stream: the broker has taken what was sent so far
      }
      await Promise.all(acks);
      d = startDaemon(); // same client id: the broker delivers what was never acknowledged
      await vi.waitFor(async () => {
        expect(await distinctPoints(vm.port, 'lte_cell_seq{element="BS-K"}')).toBe(N);
      }, { timeout: 40_000, interval: 500 });
    } finally {
      await publisher.endAsync();
      await d.stop();
    }
  });

  it('never acknowledges what it could not persist: the broker delivers it again', async () => {
    const N = 600;
    const seqs = new Set<bigint>();
    let attempts = 0;
    let failFor = 150; // the first durable emits fail, as with a full disk
    const emit = async (batch: Batch, opts?: { durable?: boolean }) => {
      expect(opts?.durable).toBe(true);
      attempts++;
      await new Promise((r) => setImmediate(r));
      if (failFor-- > 0) throw new Error('ENOSPC: no space left on device');
      for (const s of batch) seqs.add(s.fields.seq as bigint);
    };
    const { logger, lines } = memoryLogger();
    const collector = new MqttCollector({ logger, broker: mqttBroker.parse({
      name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-enospc', reconnectPeriod: '100ms', subscriptions: [CELL_SUB] }) });
    await collector.start(emit);
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pub-enospc' });
    try {
      await collector.subscribed();
      await Promise.all(Array.from({ length: N }, (_, i) =>
        publisher.publishAsync('tele/BS-F/cell/1', JSON.stringify({ rsrp: -80, seq: i, ts: RECENT + i }), { qos: 1 })));
      await vi.waitFor(() => expect(seqs.size).toBe(N), { timeout: 30_000, interval: 100 });
      expect(collector.stats.persistFailures).toBeGreaterThan(0);
      expect(attempts).toBeGreaterThan(N); // the refused ones came again
      expect(lines.some((l) => /cannot persist mqtt samples/.test(l.msg))).toBe(true);
    } finally {
      await publisher.endAsync();
      await collector.stop();
    }
  });

  it('turns birth and last-will messages into reachability (a will is decisive: down at once, and it stays down), and silence into staleness', async () => {
    const { daemon } = testDaemon({
      topology: topology(), timeseries: influx(),
      mqtt: { brokers: [{ name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-presence',
        presence: { topic: 'presence/+', element: '{1}' },
        subscriptions: [{ ...CELL_SUB, staleAfter: '1500ms' }] }] },
    });
    await daemon.start();
    const mq = daemon.collectors[0] as MqttCollector;
    try {
      await mq.subscribed();
      // A base station's agent: "online" when it connects, the broker publishes its will when it dies.
      const agent = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        clientId: 'bs-p', will: { topic: 'presence/BS-P', payload: Buffer.from('offline'), qos: 1, retain: true },
      });
      await agent.publishAsync('presence/BS-P', 'online', { qos: 1, retain: true });
      await agent.publishAsync('tele/BS-P/cell/1', JSON.stringify({ rsrp: -95, seq: 1 }), { qos: 1 });
      await vi.waitFor(async () => {
        const r = await vmExport(vm.port, 'reachability_up{element="BS-P",probe="mqtt"}');
        expect(r[0]?.values).toContain(1);
      }, { timeout: 10_000, interval: 250 });
      agent.stream.destroy(); // dies without DISCONNECT: the broker sends the will
      await vi.waitFor(async () => {
        const reasons = await vmExport(vm.port, 'reachability_up{element="BS-P",probe="mqtt"}');
        expect(reasons[0].values.at(-1)).toBe(0);
      }, { timeout: 10_000, interval: 250 });
      // MQTT is this station's only source: one will is enough to put it down and open its outage
      // (it used to be one failed check of the two needed, then `unknown`, never an outage).
      await vi.waitFor(() => {
        daemon.outages.tick(Date.now());
        expect(daemon.outages.outages.outages.map((o) => [o.root, o.state])).toEqual([['BS-P', 'open']]);
      }, { timeout: 10_000, interval: 100 });
      // Its last word stands: long past staleAfter it is still down, not unknown.
      daemon.outages.tick(Date.now() + 3_600_000);
      expect(daemon.outages.health.get('BS-P')?.state).toBe('down');
      // A station that merely falls silent goes stale.
      await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'bs-q' }).then(async (q) => {
        await q.publishAsync('tele/BS-Q/cell/1', JSON.stringify({ rsrp: -95, seq: 1 }), { qos: 1 });
        await q.endAsync();
      });
      await vi.waitFor(async () => {
        const stale = await vmExport(vm.port, 'reachability_stale{element="BS-Q"}');
        expect(stale[0]?.values).toContain(1);
      }, { timeout: 10_000, interval: 250 });
    } finally {
      await daemon.stop();
    }
  });

  it('the simulated base stations publish telemetry and presence that the daemon takes in', async () => {
    const { daemon } = testDaemon({
      topology: topology(), timeseries: influx(),
      sim: { enabled: true, switches: 0, baseStations: 2, cellsPerBaseStation: 3, interval: '1s', mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, interval: '300ms' } },
    });
    await daemon.start();
    try {
      await vi.waitFor(async () => {
        const cells = await vmExport(vm.port, 'lte_cell_sinr_db{source="mqtt"}');
        expect(cells.map((c) => c.metric.cell_name).sort()).toEqual(['SIM-BS-0001-C1', 'SIM-BS-0001-C2', 'SIM-BS-0001-C3', 'SIM-BS-0002-C1', 'SIM-BS-0002-C2', 'SIM-BS-0002-C3']);
        const up = await vmExport(vm.port, 'reachability_up{probe="mqtt",element="SIM-BS-0002"}');
        expect(up[0]?.values).toContain(1);
      }, { timeout: 20_000, interval: 300 });
      await daemon.sim!.device('SIM-BS-0002')!.stop(); // the station dies: its will says offline
      await vi.waitFor(async () => {
        const up = await vmExport(vm.port, 'reachability_up{probe="mqtt",element="SIM-BS-0002"}');
        expect(up[0].values.at(-1)).toBe(0);
      }, { timeout: 10_000, interval: 300 });
    } finally {
      await daemon.stop();
    }
  });

  it('splits one stream between instances in a shared subscription group', async () => {
    const make = (id: string) => {
      const seqs: bigint[] = [];
      const c = new MqttCollector({ logger: memoryLogger().logger, broker: mqttBroker.parse({
        name: id, url: `mqtt://127.0.0.1:${broker.port}`, clientId: id, subscriptions: [{ ...CELL_SUB, share: 'netpulse' }] }) });
      return { c, seqs, start: () => c.start(async (b: Batch) => { for (const s of b) seqs.push(s.fields.seq as bigint); }) };
    };
    const a = make('np-share-a');
    const b = make('np-share-b');
    await a.start();
    await b.start();
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pub-share' });
    try {
      await Promise.all([a.c.subscribed(), b.c.subscribed()]);
      await Promise.all(Array.from({ length: 200 }, (_, i) =>
        publisher.publishAsync('tele/BS-S/cell/1', JSON.stringify({ rsrp: -80, seq: i, ts: RECENT + i }), { qos: 1 })));
      await vi.waitFor(() => expect(a.seqs.length + b.seqs.length).toBe(200), { timeout: 10_000 });
      expect(a.seqs.length).toBeGreaterThan(0);
      expect(b.seqs.length).toBeGreaterThan(0);
      expect(new Set([...a.seqs, ...b.seqs]).size).toBe(200); // each message to one of them
    } finally {
      await publisher.endAsync();
      await a.c.stop();
      await b.c.stop();
    }
  });
});

describe('MQTT over TLS with a username and password', () => {
  let broker: Server & { ca: string };
  beforeAll(async () => { broker = await startMosquittoTls('netpulse', 's3cret-pw'); });
  afterAll(() => broker?.stop());

  const collector = (password: string, ca?: string) => {
    const { logger, lines } = memoryLogger();
    const got: Batch[] = [];
    const c = new MqttCollector({ logger, broker: mqttBroker.parse({
      name: 'tls', url: `mqtts://127.0.0.1:${broker.port}`, clientId: `np-tls-${password}`, username: 'netpulse', password,
      tls: ca ? { ca } : undefined, reconnectPeriod: '300ms', subscriptions: [CELL_SUB] }) });
    return { c, got, lines, start: () => c.start(async (b: Batch) => { got.push(b); }) };
  };

  it('takes telemetry with the right CA and password', async () => {
    const ok = collector('s3cret-pw', broker.ca);
    await ok.start();
    try {
      await ok.c.subscribed();
      execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', broker.ca, '-u', 'netpulse', '-P', 's3cret-pw',
        '-q', '1', '-t', 'tele/BS-T/cell/1', '-m', JSON.stringify({ rsrp: -88, seq: 1, ts: RECENT })]);
      await vi.waitFor(() => expect(ok.got.flat().map((s) => s.element)).toEqual(['BS-T']), { timeout: 10_000 });
      expect(JSON.stringify(ok.lines)).not.toContain('s3cret-pw');
    } finally {
      await ok.c.stop();
    }
  });

  it('says why it cannot connect with a wrong password or an unknown CA, and keeps trying without crashing', async () => {
    const wrong = collector('wrong-pw', broker.ca);
    const untrusted = collector('s3cret-pw');
    await wrong.start();
    await untrusted.start();
    try {
      await vi.waitFor(() => {
        expect(wrong.lines.some((l) => l.msg === 'mqtt error' && /Not authorized|Bad User Name or Password/i.test(l.reason))).toBe(true);
        expect(untrusted.lines.some((l) => l.msg === 'mqtt error' && /certificate/i.test(l.reason))).toBe(true);
      }, { timeout: 10_000 });
      expect(wrong.c.connected).toBe(false);
      expect(JSON.stringify(wrong.lines)).not.toContain('wrong-pw');
    } finally {
      await wrong.c.stop();
      await untrusted.c.stop();
    }
  });

  it('the complaint intake and the alert notifier take the same TLS settings', async () => {
    const secure = { username: 'netpulse', password: 's3cret-pw', tls: { ca: broker.ca } };
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const { daemon, logs } = testDaemon({ api: null, complaints: { mqtt: { url, topic: 'crm/complaints', clientId: 'np-tls-complaints', ...secure } } });
    const notifier = new MqttNotifier({ url, topic: 'noc/alerts', clientId: 'np-tls-alerts', ...secure });
    const noc = await mqtt.connectAsync(url, { clientId: 'noc-tls', username: 'netpulse', password: 's3cret-pw', ca: readFileSync(broker.ca) });
    const got: string[] = [];
    noc.on('message', (_t, m) => got.push(m.toString()));
    await noc.subscribeAsync('noc/alerts', { qos: 1 });
    await daemon.start();
    try {
      await vi.waitFor(() => expect(logs.some((l) => l.msg === 'complaint intake connected')).toBe(true), { timeout: 10_000 });
      await noc.publishAsync('crm/complaints', '{"id": ', { qos: 1 }); // malformed: counted as rejected
      await vi.waitFor(() => expect(daemon.metrics()).toContain('netpulse_complaint_messages_total{outcome="rejected"} 1'), { timeout: 10_000 });
      await vi.waitFor(() => notifier.send({ id: 'a-1' }), { timeout: 10_000, interval: 100 }); // refused until connected
      await vi.waitFor(() => expect(got.map((m) => JSON.parse(m).id)).toEqual(['a-1']), { timeout: 10_000 });
      expect(JSON.stringify(logs)).not.toContain('s3cret-pw');
    } finally {
      await noc.endAsync();
      await notifier.close();
      await daemon.stop();
    }
  });
});
