import { describe, it, expect, vi, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { startMosquitto, startVictoriaMetrics, vmExport, tempDir } from '../helpers/servers.ts';
import { member, clusterView, type Member } from '../helpers/cluster.ts';

afterAll(() => stopDatabases());
const postgres = DATABASES.find(([kind]) => kind === 'PostgreSQL')![1];

/** Who leads, as every member that answers agrees; undefined while they do not agree. */
async function agreedLeader(members: readonly Member[]): Promise<{ member: string; epoch: number } | undefined> {
  const views = (await Promise.all(members.map(clusterView))).filter((v) => v !== undefined);
  const leaders = new Set(views.map((v) => v.leader && `${v.leader.member}@${v.leader.epoch}`));
  if (views.length === 0 || leaders.size !== 1 || !views[0].leader) return undefined;
  return views[0].leader;
}

/** The last lines of a member's output that speak of MQTT, the cluster or the sink, for failure messages. */
function tail(m: Member): string {
  return `--- ${m.name}\n${m.p.output().split('\n').filter((l) => /mqtt|cluster|lead|sink|spool|influx|error|fatal/i.test(l)).join('\n').slice(-3000)}`;
}

/** 3, 4, 5, 9 as "3-5 9". */
function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let k = 0; k < ns.length; k++) {
    const from = ns[k];
    while (k + 1 < ns.length && ns[k + 1] === ns[k] + 1) k++;
    out.push(from === ns[k] ? `${from}` : `${from}-${ns[k]}`);
  }
  return out.join(' ');
}

const ELEMENTS = Array.from({ length: 10 }, (_, i) => `BS-${i + 1}`);
/** Message i: its element, its timestamp (distinct per message) and its two values, all derived from i. */
const elementOf = (i: number) => ELEMENTS[i % ELEMENTS.length];
const rsrpOf = (i: number) => -60 - (i % 400) / 8; // multiples of 1/8: exact in binary, so compared with ===

describe('MQTT telemetry through a shared subscription in a three-member cluster (issue 19)', () => {
  it('QoS 1 messages published while members are killed (-9) and restarted all land in the time series, as sent', { timeout: 120_000 }, async () => {
    const [broker, vm, url] = await Promise.all([startMosquitto(), startVictoriaMetrics(), postgres.url()]);
    const dir = tempDir('cluster-mqtt');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${ELEMENTS.map((e) => `  - { id: ${e}, kind: base_station, site: ${e.toLowerCase()} }\n`).join('')}`);
    // Every member: the same broker and shared subscription; a client id of its own, fixed across its
    // restarts, so the broker keeps its session and what it had sent it unacknowledged (netpulse always
    // connects without a clean start; MQTT 5 with a session expiry, so the session outlives a kill -9).
    const config = (name: string) => ({
      store: { url }, cluster: { lease: '1500ms' }, topology: { file: join(dir, 'topology.yaml') },
      timeseries: { influx: { version: 1, url: `http://127.0.0.1:${vm.port}`, database: 'netpulse' }, flushInterval: '100ms' },
      mqtt: { brokers: [{
        name: 'edge', url: `mqtt://127.0.0.1:${broker.port}`, clientId: `netpulse-${name}`, protocolVersion: 5, sessionExpiry: '1h', reconnectPeriod: '200ms',
        subscriptions: [{
          topic: 'tele/+/json', share: 'netpulse', qos: 1, format: 'json', element: '{1}', measurement: 'lte_cell',
          fields: { rsrp_dbm: '$.rsrp', seq: { path: '$.seq', type: 'int' } }, time: '$.ts', allow: { kinds: ['base_station'] },
        }],
      }] },
    });
    const members = ['np-a', 'np-b', 'np-c'].map((n) => member(dir, n, config(n)));
    const subscribed = (m: Member) => m.logs().some((l) => l.msg === 'mqtt subscribed');
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'cluster-mqtt-pub', clean: false, reconnectPeriod: 200 });
    const N = 4000;
    const CHUNK = 20; // messages in flight at once, the next chunk once the broker acknowledged these
    const t0 = Date.now() - 600_000; // message i is timestamped t0 + i ms: in the past, one per message
    let published = 0;
    let halted = false; // the test ended early (a failure): the publisher stops
    const kills: { member: string; leader: boolean; atMessage: number; restartedAtMessage?: number; takenAtRejoin?: number }[] = [];
    try {
      await vi.waitFor(async () => {
        expect((await clusterView(members[0]))?.members.length, members.map(tail).join('\n')).toBe(3);
        expect(await agreedLeader(members)).toBeDefined();
        for (const m of members) expect(subscribed(m), tail(m)).toBe(true);
      }, { timeout: 30_000, interval: 200 });

      const acked: Promise<unknown>[] = [];
      // The stream waits at 45 % and at 90 % for the kill before it to be over (the member back in its group), so both
      // kills fall inside the stream however slow the machine is.
      const back: (() => void)[] = [];
      const gates = [0.45, 0.9].map((share) => ({ at: Math.floor(share * N), open: new Promise<void>((r) => back.push(r)) }));
      const stream = (async () => {
        const start = performance.now();
        while (published < N && !halted) {
          const gate = gates.find((g) => published >= g.at);
          if (gate) {
            await gate.open;
            gates.splice(gates.indexOf(gate), 1);
          }
          // Paced by the broker: a chunk at a time, the next once the broker acknowledged this one.
          const chunk: Promise<unknown>[] = [];
          for (const due = Math.min(N, published + CHUNK); published < due; published++) {
            const i = published;
            const sent = publisher.publishAsync(`tele/${elementOf(i)}/json`, JSON.stringify({ seq: i, rsrp: rsrpOf(i), ts: t0 + i }), { qos: 1 });
            sent.catch(() => {}); // awaited below; after a failure, ending the publisher rejects what is pending
            acked.push(sent);
            chunk.push(sent);
          }
          await Promise.allSettled(chunk);
        }
        return performance.now() - start;
      })();
      const reached = (share: number) => vi.waitFor(() => expect(published).toBeGreaterThanOrEqual(share * N), { timeout: 30_000, interval: 5 });
      /** kill -9 of `m` at `from` of the stream; started again (as systemd would) at `to`, then back in the group. */
      const killAndRestart = async (m: Member, from: number, to: number) => {
        await reached(from);
        const leader = (await agreedLeader(members.filter((x) => x !== m)))?.member === m.name;
        await m.p.stop('SIGKILL');
        const kill: (typeof kills)[number] = { member: m.name, leader, atMessage: published };
        kills.push(kill);
        await reached(to);
        m.restart();
        kill.restartedAtMessage = published;
        await vi.waitFor(() => expect(subscribed(m), tail(m)).toBe(true), { timeout: 20_000, interval: 50 });
        // It took its session back: what the broker held for it (unacknowledged, or queued while it was away) comes to it.
        expect(m.logs().find((l) => l.msg === 'mqtt connected')?.sessionPresent, tail(m)).toBe(true);
        kill.takenAtRejoin = await vi.waitFor(async () => {
          const text = await (await m.get('/metrics')).text();
          return Number(/netpulse_mqtt_messages_total\{broker="mqtt:edge",outcome="accepted"\} (\d+)/.exec(text)![1]);
        }, { timeout: 10_000, interval: 50 });
      };
      // The leader first, then a follower (not the member killed before).
      const leaderName = (await agreedLeader(members))!.member;
      const victim1 = members.find((m) => m.name === leaderName)!;
      await killAndRestart(victim1, 0.15, 0.3);
      back[0]();
      const leaderNow = await vi.waitFor(async () => (await agreedLeader(members))!.member, { timeout: 10_000, interval: 50 });
      const victim2 = members.find((m) => m !== victim1 && m.name !== leaderNow)!;
      await killAndRestart(victim2, 0.5, 0.65);
      back[1]();
      const tookMs = await stream;
      await Promise.all(acked); // the broker has every message (PUBACK to the publisher)
      expect(kills.every((k) => k.restartedAtMessage! < N), JSON.stringify(kills)).toBe(true);

      // What VictoriaMetrics holds: for message i, a point at t0 + i in the series of its element, in
      // both fields. VictoriaMetrics keeps a point written twice twice (no -dedup), so duplicates show.
      type Point = { element: string; field: string; ts: number; value: number };
      const points = async (): Promise<Point[]> => (await vmExport(vm.port, '{__name__=~"lte_cell_(seq|rsrp_dbm)"}'))
        .flatMap((s) => s.timestamps.map((ts, k) => ({ element: s.metric.element, field: s.metric.__name__, ts, value: s.values[k] })));
      const key = (field: string, element: string, ts: number) => `${field}|${element}|${ts}`;
      const expected = new Map<string, number>();
      for (let i = 0; i < N; i++) {
        expected.set(key('lte_cell_seq', elementOf(i), t0 + i), i);
        expected.set(key('lte_cell_rsrp_dbm', elementOf(i), t0 + i), rsrpOf(i));
      }
      let got: Point[] = [];
      const byKey = new Map<string, number[]>();
      await vi.waitFor(async () => {
        got = await points();
        byKey.clear();
        for (const p of got) {
          const k = key(p.field, p.element, p.ts);
          byKey.set(k, [...(byKey.get(k) ?? []), p.value]);
        }
        const missing = [...expected.keys()].filter((k) => !byKey.has(k));
        const lost = [...new Set(missing.map((k) => Number(k.split('|')[2]) - t0))].sort((x, y) => x - y);
        expect(lost.length, `${lost.length} messages missing from VictoriaMetrics, by seq: ${ranges(lost).slice(0, 1500)}; kills: ${JSON.stringify(kills)}\n${members.map(tail).join('\n')}`).toBe(0);
      }, { timeout: 30_000, interval: 500 });

      const unexpected = [...byKey.keys()].filter((k) => !expected.has(k));
      const wrong = [...byKey].filter(([k, vs]) => expected.has(k) && vs.some((v) => v !== expected.get(k))).map(([k, vs]) => `${k}: ${vs.join(',')} (sent ${expected.get(k)})`);
      const duplicated = [...byKey].filter(([, vs]) => vs.length > 1);
      const figures = {
        sent: N, publishedInMs: Math.round(tookMs), kills,
        landed: { seq: got.filter((p) => p.field === 'lte_cell_seq').length, rsrp_dbm: got.filter((p) => p.field === 'lte_cell_rsrp_dbm').length },
        distinctMessages: new Set(got.filter((p) => p.field === 'lte_cell_seq').map((p) => p.ts)).size,
        duplicatePoints: { seq: duplicated.filter(([k]) => k.startsWith('lte_cell_seq|')).reduce((n, [, vs]) => n + vs.length - 1, 0), rsrp_dbm: duplicated.filter(([k]) => k.startsWith('lte_cell_rsrp_dbm|')).reduce((n, [, vs]) => n + vs.length - 1, 0) },
        mostCopies: Math.max(1, ...duplicated.map(([, vs]) => vs.length)),
      };
      console.log(JSON.stringify(figures));
      expect(unexpected, 'points no message carried').toEqual([]);
      // Every copy of a point is the point sent: same series, timestamp and value, so the series reads the same.
      expect(wrong, 'points whose value is not the one sent').toEqual([]);
      expect(figures.distinctMessages).toBe(N);
    } finally {
      halted = true;
      await publisher.endAsync(true);
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await vm.stop();
      await broker.stop();
    }
  });
});
