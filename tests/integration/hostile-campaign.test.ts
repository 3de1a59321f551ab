import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { startMosquitto, tempDir, type Server } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { netpulse, type NodeProcess } from '../helpers/process.ts';
import { hashToken } from '../../src/api/auth.ts';

/**
 * The fuzz campaign against a running daemon (a process of its own, as in production): thousands
 * of generated hostile inputs over MQTT and the API, with valid data between them. Afterwards the
 * process is alive, no answer was a 500, health and outages are as before, every valid input
 * arrived, and every refusal is counted in /metrics with its reason.
 */
const TOKENS = { crm: 'crm-token-0123456789abcdef', noc: 'noc-token-0123456789abcdef', admin: 'admin-token-0123456789abcdef', planner: 'planner-token-0123456789ab' };
const SEED = 20261201;
const MQTT_INPUTS = 3000;
const API_INPUTS = 3000;
const VALID = 100;

const ELEMENTS = ['CORE-1', 'AGG-1', 'BS-1', 'BS-2', 'NOPE', '', '__proto__', 'BS-1\n', 'x'.repeat(300)];
const time = fc.oneof(
  fc.constantFrom(0, -1, 1e20, 1e300, -1e15, 253402300799999, Date.UTC(2099, 0, 1), 1.5, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: false }),
  fc.constantFrom('1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', 'yesterday', '', '1e999', '2026-13-45T99:99:99Z'),
  fc.integer().map((n) => Date.now() * 1e6 + n), // ns, mostly plausible
);
const field = fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.json().map((j) => JSON.parse(j)), fc.constantFrom('1e999', 'NaN', '-0', '0x10', '   7  '));
/** JSON messages shaped like telemetry, with hostile values where it hurts. */
const jsonMessage = fc.record({ rsrp: field, ts: time, seq: field, __proto__: fc.option(fc.object()), extra: fc.option(fc.json()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
const line = fc.tuple(
  fc.constantFrom('fuzz', 'fuzz', 'reachability', 'lte_cell', 'interface', '#comment', 'lte\\ cell', ''),
  fc.oneof({ weight: 3, arbitrary: fc.constant('BS-1') }, { weight: 2, arbitrary: fc.constantFrom(...ELEMENTS) }), fc.constantFrom('snmp', 'icmp', 'mqtt', 'radio', ''),
  fc.constantFrom('up=false', 'up=true', 'oper_status=2i', 'rsrp_dbm=-140', 'seq=18446744073709551616u', 'x="unterminated', 'a=1,b', ''),
  fc.oneof(fc.constant(''), time.map(String)),
  fc.constantFrom('', ',cell_name=CORE-1', ',cell_name=BS-1', ',probe=snmp'),
).map(([m, el, probe, f, t, extra]) => `${m},element=${el},probe=${probe}${extra} ${f} ${t}`.trim());
/** Well-formed lines whose element, probe and time are what is hostile. */
const wellFormed = fc.tuple(fc.constantFrom('fuzz', 'reachability', 'lte_cell'), fc.constantFrom('BS-1', 'BS-2', 'CORE-1', 'NOPE'), fc.constantFrom('mqtt', 'snmp', 'icmp-lab'),
  fc.oneof(fc.integer({ min: -1e9, max: 1e9 }).map((d) => (Date.now() + d) * 1e6), fc.constantFrom(0, 1, 4102444800000000000, -1)))
  .map(([m, el, probe, t]) => `${m},element=${el},probe=${probe} up=false,v=1i ${t}`);
const linePayload = fc.array(fc.oneof(line, wellFormed), { minLength: 1, maxLength: 5 }).map((ls) => ls.join('\n'));
const bytes = fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b));
const mqttInput = fc.tuple(
  fc.constantFrom('tele/BS-1/json', 'tele/CORE-1/json', 'tele/NOPE/json', 'tele//json', 'tele/__proto__/json', 'lp/a', 'presence/BS-1', 'presence/CORE-1', 'presence/NOPE', 'other/topic', 'complaints/in'),
  fc.oneof(jsonMessage.map((s) => Buffer.from(s)), linePayload.map((s) => Buffer.from(s)), bytes, fc.constantFrom(Buffer.from('online'), Buffer.from('offline'), Buffer.alloc(70_000, 0x5b))),
);

const complaintBody = fc.record({
  id: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()), subscriberId: fc.oneof(fc.string({ maxLength: 80 }), fc.constant('S-1')),
  channel: fc.constantFrom('hotline', 'app', 'pigeon', ''), category: fc.constantFrom('no_service', 'other', 'x'),
  reportedAt: fc.oneof(time.map((t) => (typeof t === 'number' && Number.isFinite(t) && Math.abs(t) < 8.64e15 ? new Date(t).toISOString() : t)), fc.constant(new Date().toISOString())),
  text: fc.option(fc.string({ maxLength: 5000 })), cell: fc.option(fc.constantFrom(...ELEMENTS)),
  location: fc.option(fc.record({ lat: fc.double(), lon: fc.double() })),
}, { requiredKeys: [] });
/** Real routes with the methods they take (most of the campaign), and odd ones. */
const route = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(['POST', '/v1/complaints'], ['POST', '/v1/complaints/batch'], ['PATCH', '/v1/complaints/API-1'], ['POST', '/v1/maintenance'],
    ['DELETE', '/v1/maintenance/CHG-1'], ['POST', '/v1/subscribers/import?mode=replace'], ['POST', '/v1/subscribers/import'], ['POST', '/v1/alerts/x/ack'],
    ['POST', '/v1/credits/confirm'], ['PUT', '/v1/outages/BS-1@1/force-majeure'], ['POST', '/v1/suspected-outages/x/dismiss']) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('GET'), fc.constantFrom('/v1/outages?limit=-1', '/v1/outages?from=1e99', '/v1/outages?from=99999999999999999999', '/v1/elements/BS-1/availability?from=0&to=99999999999999999',
    '/v1/alerts?cursor=!!', '/v1/alerts?limit=0', '/v1/elements?cursor=nope', '/v1/credits?after=zzz', '/v1/credits?after=-1', '/v1/subscribers/S-1?days=1e9', '/v1/outages?cursor=' + Buffer.from('1e400|x').toString('base64url'))) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'), fc.constantFrom('/v1/outages/%00', '/v1/subscribers/%E0%A4%A', '/v1/../etc/passwd', '/v1/elements/' + 'x'.repeat(3000), '/v1/complaints/%0A', '/nowhere')) },
);
const apiInput = fc.record({
  route,
  token: fc.oneof({ weight: 6, arbitrary: fc.constant(TOKENS.admin) }, { weight: 3, arbitrary: fc.constantFrom(TOKENS.crm, TOKENS.noc, TOKENS.planner) }, { weight: 1, arbitrary: fc.constantFrom('wrong', '') }),
  type: fc.constantFrom('application/json', 'text/csv', 'application/x-ndjson', 'text/plain', ''),
  body: fc.oneof(complaintBody.map((c) => JSON.stringify(c)), complaintBody.map((c) => JSON.stringify({ items: [c, c] })), fc.json(), fc.string({ maxLength: 3000 }),
    fc.constantFrom('{"id":', 'id,tier,service,serving\n"broken', '\u0000\u0000', '{"__proto__":{"admin":true}}', '[]'.repeat(2000))),
});

afterAll(() => stopDatabases());

describe.each(DATABASES)('a fuzz campaign against a running daemon on %s', (_kind, d) => {
  let broker: Server;
  beforeAll(async () => { broker = await startMosquitto(); });
  afterAll(() => broker?.stop());

  it(`stays up, answers no 500, changes no health or outage, keeps every valid input, and counts every refusal`, async () => {
    const dir = tempDir('campaign');
    const dataDir = join(dir, 'data');
    writeFileSync(join(dir, 'topology.yaml'), `elements:
  - { id: CORE-1, kind: core, site: dc1, region: north }
  - { id: AGG-1, kind: aggregation, site: agg1, region: north, parents: [CORE-1] }
  - { id: BS-1, kind: base_station, site: s1, region: north, parents: [AGG-1] }
  - { id: BS-2, kind: base_station, site: s2, region: north, parents: [AGG-1] }
`);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const storeUrl = await d.url();
    writeFileSync(join(dir, 'netpulse.yaml'), JSON.stringify({
      daemon: { dataDir, logFormat: 'json' },
      store: { url: storeUrl },
      topology: { file: join(dir, 'topology.yaml') },
      timeseries: { flushInterval: '200ms' },
      outages: { evaluateEvery: '200ms' },
      alerts: { holdDown: '0s' },
      api: { port: 0, authFailures: 1_000_000, rateLimit: 1_000_000, bodyLimit: '64KiB', importLimit: '64KiB', tokens: [
        { name: 'crm', hash: hashToken(TOKENS.crm), roles: ['complaints'] }, { name: 'noc', hash: hashToken(TOKENS.noc), roles: ['noc'] },
        { name: 'admin', hash: hashToken(TOKENS.admin), roles: ['admin'] }, { name: 'planner', hash: hashToken(TOKENS.planner), roles: ['maintenance'] },
      ] },
      complaints: { mqtt: { url, topic: 'complaints/in', clientId: 'np-campaign-complaints' } },
      // What the hostile channels are allowed to say can never judge health: BS-2's presence is never
      // sent, `fuzz` is a measurement no health rule reads, and no generated line names the lab probe.
      mqtt: { brokers: [{ name: 'edge', url, clientId: 'np-campaign', presence: { topic: 'presence/+', element: '{1}', allow: { elements: ['BS-2'] } }, subscriptions: [
        { topic: 'valid/BS-2/json', format: 'json', element: '{1}', measurement: 'lte_cell', fields: { rsrp_dbm: '$.rsrp', seq: { path: '$.seq', type: 'int' } }, time: '$.ts' },
        { topic: 'tele/+/json', format: 'json', element: '{1}', measurement: 'fuzz', fields: { rsrp_dbm: '$.rsrp', seq: { path: '$.seq', type: 'int' } }, time: '$.ts', maxPayload: '64KiB', allow: { kinds: ['base_station'] } },
        { topic: 'lp/#', format: 'line', precision: 'ns', allow: { elements: ['BS-*'], measurements: ['reachability', 'fuzz', 'interface'], probes: ['icmp-lab'] } },
      ] }] },
    }));
    const daemon: NodeProcess = netpulse('start', '--config', join(dir, 'netpulse.yaml'));
    const publisher = await mqtt.connectAsync(url, { clientId: 'campaign-pub' });
    try {
      const listening = /"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*"msg":"api listening"/;
      await vi.waitFor(() => expect(daemon.output()).toMatch(listening), { timeout: 30_000 });
      const port = Number(listening.exec(daemon.output())![1]);
      const base = `http://127.0.0.1:${port}`;
      const call = async (method: string, p: string, token: string, body?: string, type = 'application/json') => {
        const r = await fetch(base + p, { method, headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && type && { 'content-type': type }) }, ...(body !== undefined && { body }) });
        return { status: r.status, text: await r.text() };
      };
      const metric = async (name: string) => {
        const text = (await call('GET', '/metrics', '')).text;
        return [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => [m[1] ?? '', Number(m[2])] as const);
      };
      await vi.waitFor(async () => expect((await metric('netpulse_mqtt_messages_total')).length).toBeGreaterThan(0), { timeout: 20_000 });
      // Subscriptions in place: a probe gets through (probes sent before that may be lost: they are not counted).
      let seq = 0;
      const valid = () => publisher.publishAsync('valid/BS-2/json', JSON.stringify({ rsrp: -90, seq: seq++, ts: Date.now() }), { qos: 1 });
      await vi.waitFor(async () => {
        await publisher.publishAsync('valid/BS-2/json', JSON.stringify({ rsrp: -90, seq: -1, ts: Date.now() }), { qos: 1 });
        expect((await metric('netpulse_mqtt_messages_total')).find(([l]) => l.includes('outcome="accepted"'))?.[1]).toBeGreaterThan(0);
      }, { timeout: 20_000, interval: 200 });
      const warmup = (await metric('netpulse_mqtt_messages_total')).reduce((n, [, v]) => n + v, 0);
      const elementsBefore = JSON.parse((await call('GET', '/v1/elements', TOKENS.noc)).text).items.map((e: any) => [e.id, e.state]);

      // MQTT: hostile messages with a valid telemetry message and a valid complaint every so often.
      const hostile = fc.sample(mqttInput, { seed: SEED, numRuns: MQTT_INPUTS });
      let complaintsSent = 0;
      for (const [i, [topic, payload]] of hostile.entries()) {
        await publisher.publishAsync(topic, payload, { qos: 1 });
        if (i % Math.floor(MQTT_INPUTS / VALID) === 0) {
          await valid();
          await publisher.publishAsync('complaints/in', JSON.stringify({ id: `MQ-${complaintsSent++}`, subscriberId: 'S-1', channel: 'app', category: 'no_service', reportedAt: new Date().toISOString() }), { qos: 1 });
        }
      }
      // API: hostile requests, a valid complaint every so often.
      const statuses = new Map<number, number>();
      const requests = fc.sample(apiInput, { seed: SEED, numRuns: API_INPUTS });
      let apiComplaints = 0;
      for (const [i, r] of requests.entries()) {
        const [method, p] = r.route;
        const res = await call(method, p, r.token, method === 'GET' || method === 'DELETE' ? undefined : r.body, r.type);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 200)}`);
        if (i % Math.floor(API_INPUTS / VALID) === 0) {
          const ok = await call('POST', '/v1/complaints', TOKENS.crm, JSON.stringify({ id: `API-${apiComplaints++}`, subscriberId: 'S-1', channel: 'web', category: 'slow_data', reportedAt: new Date().toISOString() }));
          expect(ok.status).toBe(201);
        }
      }

      // Every valid input arrived: the complaints are stored, the samples are in the series files.
      await vi.waitFor(async () => {
        for (const id of [...Array.from({ length: complaintsSent }, (_, i) => `MQ-${i}`), ...Array.from({ length: apiComplaints }, (_, i) => `API-${i}`)]) {
          expect((await call('GET', `/v1/complaints/${id}`, TOKENS.crm)).status, id).toBe(200);
        }
      }, { timeout: 20_000, interval: 500 });
      await vi.waitFor(() => {
        const seriesDir = join(dataDir, 'series');
        const text = existsSync(seriesDir) ? readdirSync(seriesDir).map((f) => readFileSync(join(seriesDir, f), 'utf8')).join('') : '';
        const seen = new Set([...text.matchAll(/^lte_cell,element=BS-2 .*seq=(\d+)i/gm)].map((m) => Number(m[1])));
        expect(seen.size).toBe(seq);
      }, { timeout: 20_000, interval: 500 });

      // Health and outages as before: nothing hostile judged an element or opened an outage.
      expect(JSON.parse((await call('GET', '/v1/elements', TOKENS.noc)).text).items.map((e: any) => [e.id, e.state])).toEqual(elementsBefore);
      expect(JSON.parse((await call('GET', '/v1/outages', TOKENS.noc)).text).items).toEqual([]);

      // Every message is accounted for, and every refusal counted with its reason.
      // Everything the broker delivered (not other/topic: nothing subscribes to it) is counted once.
      const telemetry = warmup + MQTT_INPUTS - hostile.filter(([t]) => t === 'complaints/in' || t === 'other/topic').length + seq;
      await vi.waitFor(async () => {
        const counted = (await metric('netpulse_mqtt_messages_total')).reduce((n, [, v]) => n + v, 0);
        expect(counted).toBe(telemetry);
      }, { timeout: 20_000, interval: 500 });
      const refusedMqtt = await metric('netpulse_mqtt_refused_total');
      const reasons = refusedMqtt.map(([l]) => /reason="([^"]+)"/.exec(l)![1]).sort();
      expect(reasons).toEqual(expect.arrayContaining(['element_not_allowed', 'malformed', 'probe_not_allowed', 'time_ahead', 'time_too_old', 'too_large', 'unknown_element']));
      const refusedApi = await metric('netpulse_api_refused_total');
      const fourxx = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
      expect(refusedApi.reduce((n, [, v]) => n + v, 0), JSON.stringify({ statuses: [...statuses], refusedApi })).toBe(fourxx);
      const complaintsRefused = (await metric('netpulse_complaint_messages_total')).find(([l]) => l.includes('rejected'))?.[1] ?? 0;
      expect(complaintsRefused).toBeGreaterThan(0);
      console.log(JSON.stringify({
        database: _kind, mqtt: { sent: MQTT_INPUTS + 2 * complaintsSent + seq, refused: Object.fromEntries(refusedMqtt.map(([l, v]) => [/reason="([^"]+)"/.exec(l)![1], v])), complaintsRefused },
        api: { sent: API_INPUTS + apiComplaints, statuses: Object.fromEntries(statuses), refused: Object.fromEntries(refusedApi.map(([l, v]) => [/code="([^"]+)"/.exec(l)![1], v])) },
      }));
      // Alive, and still stops cleanly.
      expect(daemon.child.exitCode).toBeNull();
      expect(daemon.output().split('\n').filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    } finally {
      await publisher.endAsync();
      expect(await daemon.stop()).toBe(0);
    }
  }, 240_000);
});
