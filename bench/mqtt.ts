// MQTT ingest, counted until VictoriaMetrics has every point (issue 21). Each round queues N QoS 1
// JSON messages at Mosquitto for a persistent session while its receiver is away, starts the
// receiver (its own process) and times from its connection until a count in VictoriaMetrics finds
// all N points of the round (the round is a tag): the receiver's speed to durable storage.
//
// netpulse: `netpulse start --config` as `npm start` runs it: the MQTT collector (each message
//   acknowledged after its group commit to the spool, fdatasync on: the defaults), the pipeline,
//   health on the 200 stations of its topology, the sink into VictoriaMetrics.
// Reference: bench/mqtt-bare.ts, a bare mqtt.js receiver writing the same points with the bare
//   @influxdata/influxdb-client (acknowledging on receipt, persisting nothing).
// Rounds interleaved, the first of each pair alternating. CPU of each receiver process from /proc.
//   node bench/mqtt.ts   (BENCH_MQTT_MESSAGES=20000 BENCH_MQTT_ROUNDS=3)
import mqtt from 'mqtt';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, startVictoriaMetrics, tempDir, type Server } from '../tests/helpers/servers.ts';
import { startNetpulse, startProcess, waitFor, exitedText, cpuMs, type Proc } from './procs.ts';
import { promQuery } from './peers.ts';
import { line, fmt, median } from './lib.ts';

const N = Number(process.env.BENCH_MQTT_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_MQTT_ROUNDS ?? 3);
const STATIONS = 200;
/** Messages the broker may send before the receiver acknowledged them: netpulse's `maxInFlight` (default 1,000), the bare client's Receive Maximum alike. */
const IN_FLIGHT = Number(process.env.BENCH_MQTT_INFLIGHT ?? 1000);
const TOPIC = (i: number) => `tele/BS-${i % STATIONS}/cell/${i % 3}`;
const BARE = new URL('./mqtt-bare.ts', import.meta.url).pathname;

/** Registers the session with its subscription, leaves, then queues N messages for it (their times an hour back, distinct per round). */
async function preload(url: string, clientId: string, round: number): Promise<void> {
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

/** Points of round `tag` in VictoriaMetrics now. */
async function stored(vm: Server, tag: string): Promise<number> {
  await fetch(`http://127.0.0.1:${vm.port}/internal/force_flush`);
  const r = await promQuery(vm.port, `sum(count_over_time(lte_cell_rsrp_dbm{round="${tag}"}[3h]))`);
  return Number(r[0]?.value?.[1] ?? 0);
}

interface Run { rate: number; cpuMsPerMsg: number }

/** Starts `proc`, waits for its connection (`connectedAt` reads it from its output), then for all N points in VictoriaMetrics. */
async function drain(proc: Proc, vm: Server, tag: string, connectedAt: () => number | undefined): Promise<Run> {
  try {
    const t0 = await waitFor(`${proc.name} connected`, 60_000, connectedAt, () => exitedText(proc));
    const c0 = cpuMs(proc.pid);
    await waitFor(`${N} points of ${tag} in VictoriaMetrics`, 300_000, async () => (await stored(vm, tag)) >= N, () => exitedText(proc));
    const t1 = Date.now();
    return { rate: N / ((t1 - t0) / 1000), cpuMsPerMsg: (cpuMs(proc.pid) - c0) / N };
  } finally {
    await proc.stop();
  }
}

export async function benchMqtt(): Promise<void> {
  const broker = await startMosquitto(`max_inflight_messages ${IN_FLIGHT}`);
  const vm = await startVictoriaMetrics();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const dir = tempDir('bench-mqtt');
  writeFileSync(join(dir, 'topology.yaml'), `elements:\n${Array.from({ length: STATIONS }, (_, i) => `  - { id: BS-${i}, kind: base_station, site: s${i} }\n`).join('')}`);
  const bare: Run[] = [];
  const ours: Run[] = [];
  try {
    for (let i = 0; i < ROUNDS * 2; i++) {
      const round = Math.floor(i / 2);
      const oursNow = (i % 2 === 0) === (round % 2 === 0);
      const tag = `${oursNow ? 'np' : 'bare'}-${round}`;
      const clientId = `bench-${tag}`;
      await preload(url, clientId, round);
      if (oursNow) {
        const file = join(dir, `${tag}.json`);
        writeFileSync(file, JSON.stringify({
          daemon: { dataDir: join(dir, tag), logFormat: 'json', logLevel: 'info', shutdownTimeout: '10s' },
          api: { port: 0, host: '127.0.0.1' }, topology: { file: join(dir, 'topology.yaml') },
          timeseries: { influx: { version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't' } },
          mqtt: { brokers: [{ name: 'bench', url, clientId, sessionExpiry: '1h', maxInFlight: IN_FLIGHT, subscriptions: [{
            topic: 'tele/+/cell/+', format: 'json', element: '{1}', measurement: 'lte_cell', tags: { cell: '{1}-C{3}', round: tag },
            fields: { rsrp_dbm: '$.rsrp', sinr_db: '$.sinr', connected_users: { path: '$.users', type: 'int' } }, time: '$.ts',
          }] }] },
        }));
        const p = startNetpulse(tag, file);
        ours.push(await drain(p, vm, tag, () => p.logs().find((l) => l.msg === 'mqtt connected')?.time));
        rmSync(join(dir, tag), { recursive: true, force: true });
      } else {
        const p = startProcess(tag, process.execPath, [BARE, url, clientId, `http://127.0.0.1:${vm.port}`, tag, String(IN_FLIGHT)]);
        bare.push(await drain(p, vm, tag, () => p.logs().find((l) => l.msg === 'connected')?.time));
      }
    }
    line(`bare mqtt.js + influxdb-client -> VictoriaMetrics, messages/s (${fmt(N)} a round, ${IN_FLIGHT} in flight)`, `${fmt(median(bare.map((r) => r.rate)))}  (rounds: ${bare.map((r) => fmt(r.rate)).join(', ')})`);
    line('netpulse process (collector, spool fsynced, health) -> VictoriaMetrics', `${fmt(median(ours.map((r) => r.rate)))}  (rounds: ${ours.map((r) => fmt(r.rate)).join(', ')})`);
    line('CPU ms per message: netpulse / bare', `${median(ours.map((r) => r.cpuMsPerMsg)).toFixed(3)} / ${median(bare.map((r) => r.cpuMsPerMsg)).toFixed(3)}`);
    line('RATIO netpulse / bare, messages/s until all in VictoriaMetrics', `${median(ours.map((o, k) => o.rate / bare[k].rate)).toFixed(2)}  (median of round pairs)`);
  } finally {
    await broker.stop();
    await vm.stop();
  }
}

if (import.meta.main) {
  await benchMqtt();
  process.exit(0);
}
