import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, tempDir, type Server } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { MqttCollector } from '../../collectors/mqtt/collector.ts';

const TOKEN = 'noc-token-0123456789abcdef';

/** Publishes with Debian's mosquitto_pub: a foreign client, as a hostile publisher would be. */
function pub(port: number, topic: string, message: string): void {
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message]);
}

describe('MQTT input is trusted only as far as its subscription allows (real Mosquitto)', () => {
  let broker: Server;
  beforeAll(async () => { broker = await startMosquitto(); });
  afterAll(() => broker?.stop());

  it('refuses odd times and elements, measurements and probes a subscription may not speak for; valid data around them arrives', async () => {
    const dir = tempDir('mqtt-trust');
    writeFileSync(join(dir, 'topology.yaml'), `elements:
  - { id: CORE-1, kind: core, site: dc1, region: north }
  - { id: AGG-1, kind: aggregation, site: agg1, region: north, parents: [CORE-1] }
  - { id: BS-1, kind: base_station, site: s1, region: north, parents: [AGG-1] }
  - { id: BS-2, kind: base_station, site: s2, region: north, parents: [AGG-1] }
  - { id: BS-3, kind: base_station, site: s3, region: north, parents: [AGG-1] }
`);
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      outages: { evaluateEvery: '100ms' },
      api: { tokens: [{ name: 'noc', hash: hashToken(TOKEN), roles: ['noc'] }] },
      mqtt: { brokers: [{ name: 'edge', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'np-trust', subscriptions: [
        { topic: 'tele/+/json', format: 'json', element: '{1}', measurement: 'lte_cell', fields: { rsrp_dbm: '$.rsrp' }, time: '$.ts', allow: { kinds: ['base_station'] } },
        { topic: 'lp/#', format: 'line', precision: 'ns', allow: { elements: ['BS-*'], measurements: ['lte_cell', 'reachability'] } },
      ] }] },
    });
    await daemon.start();
    const mq = daemon.collectors.find((c) => c.name === 'mqtt:edge') as MqttCollector;
    const api = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: r.status, body: await r.json() };
    };
    try {
      await vi.waitFor(() => expect(mq.connected).toBe(true), { timeout: 10_000 });
      const now = Date.now();
      // Subscriptions take effect at the broker shortly after connect: publish until the first sample lands.
      await vi.waitFor(() => {
        pub(broker.port, 'tele/BS-1/json', JSON.stringify({ rsrp: -90, ts: now * 1e6 })); // a nanosecond epoch
        expect(mq.stats.samples).toBeGreaterThan(0);
      }, { timeout: 10_000, interval: 200 });
      const ns = now * 1e6;
      const hostile: [string, string][] = [
        ['tele/BS-1/json', JSON.stringify({ rsrp: -80, ts: Date.UTC(2099, 0, 1) })],            // far future: would hide later failures
        ['tele/BS-1/json', JSON.stringify({ rsrp: -80, ts: 0 })],                               // 1970
        ['tele/BS-1/json', JSON.stringify({ rsrp: -80, ts: '9999-12-31T23:59:59Z' })],
        ['tele/BS-1/json', JSON.stringify({ rsrp: -80, ts: 1e300 })],
        ['tele/AGG-1/json', JSON.stringify({ rsrp: -80 })],                                     // not a base station
        ['tele/NOPE-7/json', JSON.stringify({ rsrp: -80 })],                                    // not in the topology
        ['lp/x', `reachability,element=CORE-1,probe=snmp up=false ${ns}\nreachability,element=CORE-1,probe=snmp up=false ${ns + 1}`],
        ['lp/x', `reachability,element=BS-2,probe=snmp up=false ${ns}`],                       // a probe it may not claim
        ['lp/x', `lte_cell,element=BS-1,cell_name=CORE-1 oper_status=2i ${ns}`],                // a cell tag naming the core
        ['lp/x', `interface,element=BS-1 in_octets=1i ${ns}`],                                  // a measurement not allowed
        ['lp/x', `reachability,element=BS-3,probe=mqtt up=true ${Date.UTC(2099, 0, 1)}000000`], // an "ok" from 2099
      ];
      for (const [topic, message] of hostile) pub(broker.port, topic, message);
      // The valid data around them: BS-1's radio at a µs epoch, and a real failure of BS-3 said twice.
      pub(broker.port, 'tele/BS-1/json', JSON.stringify({ rsrp: -101.5, ts: (now + 1) * 1000 }));
      pub(broker.port, 'lp/y', `reachability,element=BS-3,probe=mqtt up=false ${ns + 2}\nreachability,element=BS-3,probe=mqtt up=false ${ns + 3}`);

      await vi.waitFor(() => expect(daemon.outages.outages.outages.map((o) => o.root)).toEqual(['BS-3']), { timeout: 10_000 });
      const refused = Object.fromEntries(mq.stats.refused);
      expect(refused).toEqual({ time_ahead: 3, time_too_old: 1, time_invalid: 1, element_not_allowed: 4, unknown_element: 1, probe_not_allowed: 1, measurement_not_allowed: 1 });
      // Nothing hostile changed health: the core and BS-2 were never judged, BS-3's 2099 "ok" hid nothing.
      expect(daemon.outages.health.get('CORE-1')).toBeUndefined();
      expect(daemon.outages.health.get('BS-2')).toBeUndefined();
      expect(daemon.outages.health.get('BS-3')?.state).toBe('down');
      // Times are integer ms whatever unit came in; the API answers for every element.
      const bs1 = await api('/v1/elements/BS-1');
      expect(bs1.status).toBe(200);
      expect(bs1.body.measurements.find((m: any) => m.measurement === 'lte_cell')).toMatchObject({ time: new Date(now + 1).toISOString(), latest: { rsrp_dbm: -101.5 } });
      expect((await api('/v1/elements')).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${daemon.apiPort}/metrics`)).text();
      for (const [reason, n] of Object.entries(refused)) expect(metrics).toContain(`netpulse_mqtt_refused_total{broker="mqtt:edge",reason="${reason}"} ${n}`);
    } finally {
      await daemon.stop();
    }
  });
});
