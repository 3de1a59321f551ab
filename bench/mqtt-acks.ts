// MQTT acknowledgements under a steady stream, on the daemon's real path: a netpulse process
// (collector, pipeline, spool with its synced group commits, VictoriaMetrics) behind a relay that
// reads every packet between broker and daemon, so "unacknowledged at the broker" is measured on
// the wire. A steady QoS 1 stream of RATE messages/s for SECONDS; the daemon is killed (kill -9)
// half way and started again. The reference, in the same run: a bare mqtt.js client taking the
// same stream through the same relay (it acknowledges on receipt, persisting nothing).
import mqtt from 'mqtt';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, startVictoriaMetrics, tempDir, vmExport } from '../tests/helpers/servers.ts';
import { watchedLink } from '../tests/helpers/mqtt-wire.ts';
import { netpulse } from '../tests/helpers/process.ts';
import { line, fmt, median } from './lib.ts';

const RATE = Number(process.env.BENCH_MQTT_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const TOPIC = (i: number) => `tele/BS-${i % 200}/json`;

/** Publishes RATE messages a second (every 10 ms a slice) for `seconds`; resolves when the broker took them all. */
async function stream(url: string, clientId: string, seconds: number, each: (second: number) => void): Promise<number> {
  const p = await mqtt.connectAsync(url, { clientId, protocolVersion: 5 });
  const sent: Promise<unknown>[] = [];
  let seq = 0;
  const t0 = performance.now();
  let second = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(Math.floor(((performance.now() - t0) / 1000) * RATE), seconds * RATE);
      while (seq < due) sent.push(p.publishAsync(TOPIC(seq), JSON.stringify({ rsrp: -90 - (seq % 20), seq: seq++, ts: Date.now() }), { qos: 1 }));
      const s = Math.floor((performance.now() - t0) / 1000);
      while (second < s && second < seconds) each(second++);
      if (seq >= seconds * RATE && second >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  await Promise.all(sent);
  await p.endAsync();
  return seq;
}

export async function benchMqttAcks(): Promise<void> {
  const broker = await startMosquitto();
  const vm = await startVictoriaMetrics();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  try {
    // Reference: a bare client through its own relay, on the same stream.
    const bareLink = await watchedLink(broker.port);
    const bare = mqtt.connect(`mqtt://127.0.0.1:${bareLink.port}`, { clientId: 'bare-acks', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await new Promise<void>((r) => bare.on('connect', () => r()));
    await bare.subscribeAsync('tele/+/json', { qos: 1 });
    let bareGot = 0;
    bare.on('message', () => { bareGot++; });
    const bareUnacked: number[] = [];
    const tb = performance.now();
    const bareSent = await stream(url, 'pub-bare', SECONDS, () => bareUnacked.push(bareLink.state.unacked));
    while (bareGot < bareSent) await new Promise((r) => setTimeout(r, 10));
    const bareRate = bareSent / ((performance.now() - tb) / 1000);
    await bare.endAsync();
    bareLink.close();

    // netpulse, a process of its own, behind the relay; killed half way and started again.
    const dir = tempDir('bench-acks');
    const link = await watchedLink(broker.port);
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${Array.from({ length: 200 }, (_, i) => `  - { id: BS-${i}, kind: base_station, site: s${i} }\n`).join('')}`);
    writeFileSync(join(dir, 'netpulse.yaml'), JSON.stringify({
      daemon: { dataDir: join(dir, 'data'), logFormat: 'json' }, api: { port: 0 }, topology: { file: join(dir, 'topology.yaml') },
      timeseries: { influx: { version: 1, url: `http://127.0.0.1:${vm.port}`, database: 'bench' }, flushInterval: '500ms' },
      mqtt: { brokers: [{ name: 'edge', url: `mqtt://127.0.0.1:${link.port}`, clientId: 'np-bench-acks', subscriptions: [
        { topic: 'tele/+/json', format: 'json', element: '{1}', measurement: 'lte_cell', fields: { rsrp_dbm: '$.rsrp', seq: { path: '$.seq', type: 'int' } }, time: '$.ts', allow: { kinds: ['base_station'] } },
      ] }] },
    }));
    const start = () => netpulse('start', '--config', join(dir, 'netpulse.yaml'));
    let daemon = start();
    while (link.state.delivered === 0) await probe(url); // the daemon is up and subscribed
    const unacked: number[] = [];
    let atKill = { delivered: 0, unacked: 0 };
    let restarted: Promise<void> | undefined;
    const t0 = performance.now();
    const sent = await stream(url, 'pub-np', SECONDS, (s) => {
      unacked.push(link.state.unacked);
      if (s === Math.floor(SECONDS / 2) && !restarted) {
        restarted = (async () => {
          atKill = { delivered: link.state.delivered, unacked: link.state.unacked };
          await daemon.stop('SIGKILL');
          daemon = start();
        })();
      }
    });
    await restarted;
    // The restarted daemon's largest group commit, from its /metrics (what one PUBACK release covered).
    const listening = /"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"api listening"/g;
    const ports = [...daemon.output().matchAll(listening)].map((m) => m[1]);
    const metrics = ports.length > 0 ? await (await fetch(`http://127.0.0.1:${ports.at(-1)}/metrics`)).text() : '';
    const largestCommit = Number(/netpulse_mqtt_largest_commit_messages\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? NaN);
    // Delivered end to end: every seq in VictoriaMetrics.
    let inVm = 0;
    for (;;) {
      const series = await vmExport(vm.port, 'lte_cell_seq');
      inVm = new Set(series.flatMap((x) => x.values).filter((v) => v >= 0)).size;
      if (inVm >= sent) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const ourRate = sent / ((performance.now() - t0) / 1000);
    const before = unacked.slice(1, Math.floor(SECONDS / 2));
    const after = unacked.slice(Math.floor(SECONDS / 2) + 3);
    const redelivered = link.state.duplicates;
    line(`steady QoS 1 stream, ${fmt(RATE)} messages/s for ${SECONDS} s`, `${fmt(sent)} messages`);
    line('unacknowledged at the broker, sampled each second: max / median', `${fmt(Math.max(...before, ...after))} / ${fmt(median([...before, ...after]))}  (bare client: ${fmt(Math.max(...bareUnacked))} / ${fmt(median(bareUnacked))})`);
    line('largest group commit after the restart, messages (aim: max unacknowledged <= 2 of these)', fmt(largestCommit));
    line('RATIO max unacknowledged after the restart / largest commit (aim <= 2)', (Math.max(...after) / largestCommit).toFixed(2));
    line('redelivered after the kill -9 half way', `${fmt(redelivered)} (unacknowledged at the kill: ${fmt(atKill.unacked)}; one second of the stream: ${fmt(RATE)})`);
    line('RATIO redelivered / one second of the stream (aim < 1)', (redelivered / RATE).toFixed(2));
    line('end to end into VictoriaMetrics, messages/s (with the restart)', fmt(ourRate));
    line('bare mqtt.js receive rate, messages/s (reference)', fmt(bareRate));
    line('RATIO netpulse end to end / bare receive', (ourRate / bareRate).toFixed(2));
    await daemon.stop();
    link.close();
  } finally {
    await broker.stop();
    await vm.stop();
  }
}

/** A probe message (seq -1), then a short wait: the caller looks whether it reached the daemon. */
async function probe(url: string): Promise<void> {
  const p = await mqtt.connectAsync(url, { clientId: 'probe' });
  await p.publishAsync(TOPIC(0), JSON.stringify({ rsrp: -90, seq: -1, ts: Date.now() }), { qos: 1 });
  await p.endAsync();
  await new Promise((r) => setTimeout(r, 200));
}

if (import.meta.main) await benchMqttAcks();
