// MQTT ingest end to end (receive, parse, map, persist into the spooled sink, acknowledge) against
// a bare mqtt.js client receiving the same QoS 1 JSON messages from the same Mosquitto, in
// interleaved rounds. Each round queues N messages for a persistent session while its client is
// away, then times the client draining them: the receiver's speed, not the publisher's.
import mqtt from 'mqtt';
import { startMosquitto, startVictoriaMetrics, tempDir } from '../tests/helpers/servers.ts';
import { MqttCollector } from '../collectors/mqtt/collector.ts';
import { Pipeline } from '../src/pipeline.ts';
import { SpooledSink } from '../src/sinks/spooled.ts';
import { Spool } from '../src/sinks/spool.ts';
import { InfluxWriter } from '../src/sinks/influx.ts';
import { createLogger } from '../src/log.ts';
import { mqttBroker } from '../src/config/schema.ts';
import { line, fmt, median } from './lib.ts';

const N = Number(process.env.BENCH_MQTT_MESSAGES ?? 20_000);
const ROUNDS = 3;
const TOPIC = (i: number) => `tele/BS-${i % 200}/cell/${i % 3}`;

async function preload(url: string, clientId: string, round: number): Promise<void> {
  // Register the session and its subscription, leave, then queue N messages for it.
  const c = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
  await c.subscribeAsync('tele/+/cell/+', { qos: 1 });
  await c.endAsync();
  const p = await mqtt.connectAsync(url, { clientId: `${clientId}-pub`, protocolVersion: 5 });
  const t0 = Date.now() - 3_600_000 + round * 100_000;
  for (let i = 0; i < N; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      batch.push(p.publishAsync(TOPIC(j), JSON.stringify({ rsrp: -90 - (j % 20), sinr: 10 + (j % 7), users: j % 200, ts: t0 + j }), { qos: 1 }));
    }
    await Promise.all(batch);
  }
  await p.endAsync();
}

export async function benchMqtt(): Promise<void> {
  const broker = await startMosquitto('max_inflight_messages 100');
  const vm = await startVictoriaMetrics();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const silent = createLogger({ level: 'silent' });
  try {
    const bareRates: number[] = [];
    const oursRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Reference: a bare client, same protocol and receive window, counting messages.
      await preload(url, `bare-${round}`, round);
      let got = 0;
      let t = 0;
      await new Promise<void>((resolve) => {
        const c = mqtt.connect(url, { clientId: `bare-${round}`, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 } });
        c.on('connect', () => { t = performance.now(); });
        c.on('message', () => { if (++got === N) { bareRates.push(N / ((performance.now() - t) / 1000)); void c.endAsync().then(resolve); } });
      });

      // netpulse: the MQTT collector, every message persisted into the spooled sink before its PUBACK.
      await preload(url, `netpulse-${round}`, round);
      const pipeline = new Pipeline(100_000, silent);
      const sink = new SpooledSink({
        name: 'influx', writer: new InfluxWriter({ version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't', timeout: 30_000 }),
        spool: new Spool(tempDir('bench-mqtt'), { maxBytes: 1 << 30, segmentBytes: 1 << 24 }),
        batchSize: 5000, flushIntervalMs: 1000, retry: { minDelayMs: 100, maxDelayMs: 1000 }, logger: silent,
      });
      sink.start();
      pipeline.addSink(sink);
      const collector = new MqttCollector({ logger: silent, broker: mqttBroker.parse({
        name: 'bench', url, clientId: `netpulse-${round}`, subscriptions: [{
          topic: 'tele/+/cell/+', format: 'json', element: '{1}', measurement: 'lte_cell', tags: { cell: '{1}-C{3}' },
          fields: { rsrp_dbm: '$.rsrp', sinr_db: '$.sinr', connected_users: { path: '$.users', type: 'int' } }, time: '$.ts',
        }],
      }) });
      t = performance.now();
      await collector.start(pipeline.emit);
      while (collector.stats.samples < N) await new Promise((r) => setImmediate(r));
      oursRates.push(N / ((performance.now() - t) / 1000));
      await collector.stop();
      await sink.close(30_000);
    }
    line(`bare mqtt.js client, QoS 1 JSON messages/s (${N} per round)`, `${fmt(median(bareRates))}  (rounds: ${bareRates.map(fmt).join(', ')})`);
    line('netpulse MQTT collector -> spool -> VictoriaMetrics, messages/s', `${fmt(median(oursRates))}  (rounds: ${oursRates.map(fmt).join(', ')})`);
    line('RATIO netpulse / bare mqtt.js (target >= 0.6)', `${median(oursRates.map((o, i) => o / bareRates[i])).toFixed(2)}  (median of round pairs)`);
  } finally {
    await broker.stop();
    await vm.stop();
  }
}

if (import.meta.main) await benchMqtt();
