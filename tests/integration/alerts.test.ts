import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { createServer, type Server as HttpServer } from 'node:http';
import mqtt from 'mqtt';
import { startMosquitto, type Server } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { verifySignature } from '../../correlators/alerts/notifier.ts';
import type { Alert } from '../../correlators/alerts/alert.ts';
import { hashToken } from '../../src/api/auth.ts';
import { alertsOf } from '../../correlators/alerts/repository.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';

const SECRET = 'a-webhook-secret-of-some-length';

/** A webhook receiver that refuses the first `refuse` deliveries with 503, then takes them. */
async function receiver(refuse: number): Promise<{ url: string; got: Alert[]; attempts: number; badSignatures: number; close(): void }> {
  const state = { got: [] as Alert[], attempts: 0, badSignatures: 0 };
  const server: HttpServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      state.attempts++;
      if (!verifySignature(req.headers['x-netpulse-signature'] as string | undefined, body, SECRET, Date.now()).ok) state.badSignatures++;
      if (state.attempts <= refuse) return void res.writeHead(503).end();
      state.got.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { url: `http://127.0.0.1:${port}/hooks/noc`, close: () => server.close() });
}

const SCREEN = 'screen-token-0123456789abcdef';

/** Reads an SSE stream into a list of alerts as they come. */
function sse(url: string, token: string): { alerts: Alert[]; close(): void } {
  const alerts: Alert[] = [];
  const ac = new AbortController();
  void (async () => {
    const r = await fetch(url, { signal: ac.signal, headers: { authorization: `Bearer ${token}` } });
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (data) alerts.push(JSON.parse(data.slice(6)));
      }
    }
  })().catch(() => {});
  return { alerts, close: () => ac.abort() };
}

describe('NOC alerts', () => {
  let broker: Server;
  beforeAll(async () => { broker = await startMosquitto(); });
  afterAll(() => broker?.stop());

  it('reach MQTT, a signed webhook (after retries) and SSE, once per change, with TMF642 fields; planned work is not paged', async () => {
    const hook = await receiver(2);
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'noc-screen' });
    const viaMqtt: Alert[] = [];
    sub.on('message', (_t, m) => viaMqtt.push(JSON.parse(m.toString())));
    await sub.subscribeAsync('noc/alerts', { qos: 1 });
    const { daemon } = testDaemon({
      snmp: { defaults: { timeout: '300ms', retries: 0 } },
      sim: { enabled: true, switches: 2, baseStations: 4, cellsPerBaseStation: 1, portsPerSwitch: 2, interval: '400ms' },
      outages: { confirmRecovery: '1s', evaluateEvery: '100ms',
        maintenance: [{ id: 'CHG-1', sites: ['SIM-SW-002-site'], start: '2020-01-01T00:00:00Z', end: '2099-01-01T00:00:00Z', reason: 'planned swap' }] },
      alerts: {
        webhooks: [{ name: 'noc', url: hook.url, secret: SECRET, timeout: '2s' }],
        mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, topic: 'noc/alerts' },
      },
      api: { tokens: [{ name: 'noc-screen', hash: hashToken(SCREEN), roles: ['dashboard'] }] },
    });
    await daemon.start();
    const stream = sse(`http://127.0.0.1:${daemon.apiPort}/v1/alerts/stream`, SCREEN);
    try {
      await vi.waitFor(() => expect(daemon.outages.health.get('SIM-BS-0001')?.state).toBe('up'), { timeout: 15_000 });
      await daemon.sim!.device('SIM-SW-001')!.stop();
      await vi.waitFor(() => expect(stream.alerts.map((a) => a.event)).toEqual(['opened']), { timeout: 10_000 });
      const raised = stream.alerts[0];
      expect(raised).toMatchObject({
        alarmType: 'communicationsAlarm', perceivedSeverity: 'critical', state: 'raised', isRootCause: true, ackState: 'unacknowledged',
        alarmedObject: { id: 'SIM-SW-001', '@referredType': 'aggregation' }, plannedOutageIndicator: 'InService',
        alarmDetails: 'aggregation SIM-SW-001 is down; 2 base stations behind it are unreachable because of it',
      });
      expect(raised.correlatedAlarm.map((c) => c.id)).toEqual(['SIM-BS-0001', 'SIM-BS-0001-C1', 'SIM-BS-0003', 'SIM-BS-0003-C1']);
      await vi.waitFor(() => {
        expect(viaMqtt.map((a) => a.id)).toEqual([raised.id]);
        expect(hook.got.map((a) => a.id)).toEqual([raised.id]); // refused twice, delivered on the third try
      }, { timeout: 15_000 });
      expect(hook.attempts).toBe(3);
      expect(hook.badSignatures).toBe(0);

      // Planned work on SIM-SW-002: recorded and shown, not paged.
      await daemon.sim!.device('SIM-SW-002')!.stop();
      await vi.waitFor(() => expect(stream.alerts.map((a) => [a.alarmedObject.id, a.plannedOutageIndicator])).toContainEqual(['SIM-SW-002', 'OutOfService']), { timeout: 10_000 });

      await daemon.sim!.device('SIM-SW-001')!.start();
      await vi.waitFor(() => expect(viaMqtt.map((a) => a.event)).toEqual(['opened', 'cleared', 'closed']), { timeout: 15_000 });
      expect(viaMqtt[1]).toMatchObject({ perceivedSeverity: 'cleared', state: 'cleared' });
      expect(viaMqtt.some((a) => a.alarmedObject.id === 'SIM-SW-002')).toBe(false);
      await vi.waitFor(() => expect(hook.got.map((a) => a.event)).toEqual(['opened', 'cleared', 'closed']), { timeout: 15_000 });

      // A NOC engineer acknowledges; the store has it.
      expect(await daemon.alerts!.ack(raised.id, 'noc-anna')).toBe(true);
      const stored = await alertsOf(daemon.store).alerts(raised.outageId);
      expect(stored.find((a) => a.id === raised.id)).toMatchObject({ ackState: 'acknowledged', ackBy: 'noc-anna' });
      expect(stored.map((a) => a.event)).toEqual(['opened', 'cleared', 'closed']); // each change once
    } finally {
      stream.close();
      await sub.endAsync();
      await daemon.stop();
      hook.close();
    }
  });

  it('pages what waits in the hold-down when the daemon stops, before stop returns', async () => {
    const hook = await receiver(0);
    const dir = tempDir('alerts-hold-stop');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: SW-1, kind: aggregation, site: s1 }\n');
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') }, api: null,
      alerts: { holdDown: '30s', webhooks: [{ name: 'noc', url: hook.url, secret: SECRET, timeout: '2s' }] },
    });
    await daemon.start();
    try {
      const now = Date.now();
      const fail = (t: number) => ({ element: 'SW-1', measurement: 'reachability', tags: { probe: 'icmp' }, fields: { up: false, error: 'timeout' }, time: t });
      daemon.outages.write([fail(now - 2000), fail(now - 1000)]);
      expect(daemon.outages.tick(now).map((e) => e.type)).toEqual(['opened']);
      await daemon.stop(); // 30 s before the hold would have ended
      expect(hook.got.map((a) => [a.event, a.alarmedObject.id])).toEqual([['opened', 'SW-1']]);
    } finally {
      await daemon.stop();
      hook.close();
    }
  });
});
