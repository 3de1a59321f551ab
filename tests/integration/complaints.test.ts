import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { tempDir } from '../helpers/servers.ts';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';
import type { FieldValue } from '../../src/sample.ts';
import { healthOf } from '../../correlators/health/repository.ts';

const TOKENS = { crm: 'crm-token-0123456789abcdef', noc: 'noc-token-0123456789abcdef', admin: 'admin-token-0123456789abcd' };
afterAll(() => stopDatabases());

describe.each(DATABASES.map(([kind, d]) => [kind, d.url] as const))('complaints on %s', (_kind, storeUrl) => {
  let daemon: Daemon;
  let base: string;
  // The operator's SMS gateway, as far as netpulse sees it: a webhook taking TMF681 messages.
  const messages: any[] = [];
  const gateway = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { messages.push({ ...JSON.parse(body), header: req.headers['x-netpulse-message-id'] }); res.end(); });
  });
  const json = async (path: string, token: keyof typeof TOKENS, body?: unknown, method = body === undefined ? 'GET' : 'POST') => {
    const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${TOKENS[token]}`, ...(body !== undefined && { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }) }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, body: await r.json() as any };
  };
  const fail = (element: string, up: boolean, t: number) => daemon.outages.write([1, 2].map((i) => ({ element, measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: t + i })));
  const t0 = Date.now() - 60_000;
  const at = (ms: number) => new Date(t0 + ms).toISOString();

  beforeAll(async () => {
    const dir = tempDir('complaints');
    writeFileSync(join(dir, 'topology.yaml'), `elements:
  - { id: CORE-1, kind: core, site: dc1, region: north }
  - { id: AGG-1, kind: aggregation, site: agg1, region: north, parents: [CORE-1] }
  - { id: BS-1, kind: base_station, site: n-01, region: north, parents: [AGG-1] }
  - { id: BS-3, kind: base_station, site: n-03, region: north, parents: [CORE-1] }
`);
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const gatewayUrl = `http://127.0.0.1:${(gateway.address() as { port: number }).port}/sms`;
    daemon = testDaemon({
      topology: { file: join(dir, 'topology.yaml') }, store: { url: await storeUrl() },
      complaints: { notify: { webhooks: [{ name: 'sms', url: gatewayUrl }] } },
      api: { tokens: [
        { name: 'crm', hash: hashToken(TOKENS.crm), roles: ['complaints'] },
        { name: 'noc', hash: hashToken(TOKENS.noc), roles: ['noc'] },
        { name: 'admin', hash: hashToken(TOKENS.admin), roles: ['admin'] },
      ] },
    }).daemon;
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
    const csv = 'id,tier,service,serving,region,plan,arpu\nA,vip,mobile,BS-1,north,5G-199,199\nB,standard,mobile,BS-1;BS-3,north,5G-59,59\nC,standard,mobile,BS-3,north,4G-29,29\n';
    expect((await json('/v1/subscribers/import?mode=replace', 'admin', csv)).body.loaded).toBe(3);
  });
  afterAll(async () => {
    await daemon?.stop();
    gateway.close();
  });

  it('follows complaints through an outage: unmatched, matched, matched late, wrong category, duplicate, restored', async () => {
    // Before any fault: B complains of slow data, C of no service. Neither matches yet.
    const early = await json('/v1/complaints', 'crm', { id: 'X0', subscriberId: 'B', channel: 'app', category: 'slow_data', reportedAt: at(0) });
    expect(early.status).toBe(201);
    expect(early.body).toMatchObject({ status: 'accepted', match: null, grade: 'general', relatedEntity: [] });
    const c = await json('/v1/complaints', 'crm', { id: 'X1', subscriberId: 'C', channel: 'hotline', category: 'no_service', reportedAt: at(1000), text: 'no signal at home' });
    expect(c.body.explanation).toEqual(['no known outage hit the subscriber around that time', 'serving elements: no data for BS-3']);

    // AGG-1 dies: BS-1 is cut off. A loses service, B is degraded (BS-3 still serves).
    fail('AGG-1', false, t0 + 2000);
    const [opened] = daemon.outages.tick(t0 + 3000);
    const outage = opened.outage.id;
    // Matched late: X0 came before the outage was seen, within the grace, and a degradation fits slow data.
    await expect.poll(async () => (await json('/v1/complaints/X0', 'crm')).body.status, { timeout: 5000 }).toBe('matched');
    const x0 = (await json('/v1/complaints/X0', 'crm')).body;
    expect(x0).toMatchObject({ match: { outageId: outage, impact: 'degraded' }, grade: 'major', relatedEntity: [{ id: outage, role: 'cause', '@referredType': 'ServiceProblem' }] });
    expect(x0.explanation).toContain('reported 2 s before the impact was seen');
    expect((await json('/v1/complaints/X1', 'crm')).body.status).toBe('accepted'); // C is not hit: stays unmatched

    // A VIP without service: matched at once, urgent, four hours to respond.
    const a = await json('/v1/complaints', 'crm', { id: 'X2', subscriberId: 'A', channel: 'hotline', category: 'no_service', reportedAt: at(5000) });
    expect(a.body).toMatchObject({ status: 'matched', grade: 'urgent', gradeReasons: ['VIP or enterprise customer without service'], match: { outageId: outage, impact: 'no_service', confidence: 0.97 } });
    expect(Date.parse(a.body.responseDue) - Date.parse(a.body.reportedAt)).toBe(4 * 3_600_000);
    expect(a.body.customer).toEqual({ tier: 'vip', arpu: 199, plan: '5G-199', complaintsLast30Days: 0, escalations: 0 });
    // The same complaint again is the same complaint.
    const again = await json('/v1/complaints', 'crm', { id: 'X2', subscriberId: 'A', channel: 'hotline', category: 'no_service', reportedAt: at(5000) });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, id: 'X2', match: { outageId: outage } } });
    // Billing never matches a network outage, even during one; it counts as A's earlier complaint.
    const bill = await json('/v1/complaints', 'crm', { id: 'X3', subscriberId: 'A', channel: 'web', category: 'billing', reportedAt: at(6000) });
    expect(bill.body).toMatchObject({ status: 'accepted', match: null, explanation: ['category billing is not about the network'], customer: { complaintsLast30Days: 1 } });

    // A batch: the good items are taken, the bad one named by its index and field.
    const batch = await json('/v1/complaints/batch', 'crm', { items: [
      { id: 'X4', subscriberId: 'B', channel: 'store', category: 'call_drop', reportedAt: at(7000) },
      { id: 'X5', subscriberId: 'B', channel: 'fax', category: 'call_drop', reportedAt: at(7000) },
    ] });
    expect(batch.body).toMatchObject({ accepted: 1, rejected: 1, items: [{ index: 0, complaint: { status: 'matched' } }, { index: 1, error: { field: 'channel' } }] });

    // The outage lists the complaints it explains.
    const linked = await json(`/v1/outages/${encodeURIComponent(outage)}/complaints`, 'noc');
    expect(linked.body.troubleTicket.map((t: any) => t.id)).toEqual(['X0', 'X2', 'X4']);

    // AGG-1 is repaired: its complaints move to "network restored".
    fail('AGG-1', true, t0 + 20_000);
    daemon.outages.tick(t0 + 21_000);
    await expect.poll(async () => (await json('/v1/complaints/X2', 'crm')).body.status, { timeout: 5000 }).toBe('network_restored');
    expect((await json('/v1/complaints/X2', 'crm')).body.restoredAt).toBe(at(20_001));
    expect((await json('/v1/complaints/X1', 'crm')).body.status).toBe('accepted');

    // Each change went to the subscriber (TMF681, through the operator's gateway), once.
    const states = (id: string) => messages.filter((m) => m.characteristic.some((c: any) => c.name === 'complaintId' && c.value === id)).map((m) => m.characteristic.find((c: any) => c.name === 'complaintState').value);
    await expect.poll(() => states('X2'), { timeout: 5000 }).toEqual(['matched', 'network_restored']);
    expect(states('X0')).toEqual(['accepted', 'matched', 'network_restored']);
    expect(states('X1')).toEqual(['accepted']);
    const m = messages.find((x) => x.id === 'complaint:X2#matched');
    expect(m).toMatchObject({ '@type': 'CommunicationMessage', messageType: 'SMS', receiver: [{ id: 'A', '@referredType': 'Subscriber' }], header: 'complaint:X2#matched' });
    expect(m.content).toContain('expected restoration by');
    expect(m.characteristic).toContainEqual({ name: 'outageId', value: outage });
  });

  it('raises a suspected outage from a burst of unmatched complaints, and monitoring confirms it', async () => {
    const more = 'id,tier,service,serving\n' + [1, 2, 3, 4, 5].map((i) => `D${i},standard,mobile,BS-3`).join('\n');
    expect((await json('/v1/subscribers/import', 'admin', more)).body.loaded).toBe(5);
    // C complained of no service at BS-3 in the first test; four more of its subscribers now do.
    for (const i of [1, 2, 3, 4]) {
      const r = await json('/v1/complaints', 'crm', { id: `S${i}`, subscriberId: `D${i}`, channel: 'app', category: 'no_service', reportedAt: at(30_000 + i * 1000) });
      expect(r.body.status).toBe('accepted');
    }
    const suspected = await json('/v1/suspected-outages', 'noc');
    expect(suspected.body.items).toMatchObject([{ element: 'BS-3', state: 'suspected', subscribers: 5, complaints: ['X1', 'S1', 'S2', 'S3', 'S4'] }]);
    const id = suspected.body.items[0].id;
    await expect.poll(async () => (await json(`/v1/alerts?outage=${encodeURIComponent(id)}`, 'noc')).body.items.length, { timeout: 5000 }).toBe(1);
    const alert = (await json(`/v1/alerts?outage=${encodeURIComponent(id)}`, 'noc')).body.items[0];
    expect(alert).toMatchObject({ event: 'suspected', probableCause: 'customerComplaints', alarmedObject: { id: 'BS-3' } });
    expect(alert.alarmDetails).toContain('5 subscribers complained within 15 min');
    // One more complaint does not raise it again.
    await json('/v1/complaints', 'crm', { id: 'S5', subscriberId: 'D5', channel: 'app', category: 'no_service', reportedAt: at(36_000) });
    expect((await json('/v1/suspected-outages', 'noc')).body.items).toHaveLength(1);
    // Monitoring sees BS-3 fail: the suspicion is confirmed by that outage, and the complaints match it.
    fail('BS-3', false, t0 + 40_000);
    const [opened] = daemon.outages.tick(t0 + 41_000);
    expect(opened.outage.root).toBe('BS-3');
    await expect.poll(async () => (await json('/v1/suspected-outages?state=confirmed', 'noc')).body.items.map((s: any) => s.outageId), { timeout: 5000 }).toEqual([opened.outage.id]);
    await expect.poll(async () => (await json('/v1/complaints/S1', 'crm')).body.match?.outageId, { timeout: 5000 }).toBe(opened.outage.id);
    expect((await json(`/v1/suspected-outages/${encodeURIComponent(id)}/dismiss`, 'noc', {})).status).toBe(404); // confirmed, not open
  });

  it('dismisses and expires suspicions, after which the element can raise again', async () => {
    const detector = daemon.complaints.detector;
    const raise = (element: string, at: number) => {
      for (let i = 0; i < 5; i++) detector.add({ id: `${element}-${at}-${i}`, subscriberId: `${element}-sub${i}`, at: at + i, elements: [element] });
    };
    // Straight through the detector and service: the suspicion's bookkeeping, not intake, is under test here.
    // Two hours after the complaints of the tests before, so no window holds theirs (whether matched yet or not).
    raise('BS-1', t0 + 2 * 3_600_000);
    expect(detector.active.map((s) => s.element)).toContain('BS-1');
    const store = daemon.store;
    await store.db.run(`INSERT INTO suspected_outages (id, element, since, raised_at, subscribers, complaints, probability, state, outage_id, updated_at) VALUES ('suspect:BS-1@1', 'BS-1', 1, $1, 5, '[]', 1e-6, 'suspected', NULL, $1)`, [t0]);
    expect((await json('/v1/suspected-outages/suspect%3ABS-1%401/dismiss', 'crm', {})).status).toBe(403);
    expect((await json('/v1/suspected-outages/suspect%3ABS-1%401/dismiss', 'noc', {})).body).toEqual({ id: 'suspect:BS-1@1', state: 'dismissed' });
    expect(detector.active.map((s) => s.element)).not.toContain('BS-1');
    await store.db.run(`INSERT INTO suspected_outages (id, element, since, raised_at, subscribers, complaints, probability, state, outage_id, updated_at) VALUES ('suspect:BS-1@2', 'BS-1', 2, $1, 5, '[]', 1e-6, 'suspected', NULL, $1)`, [t0]);
    expect((await daemon.complaints.expire(store, t0 + 23 * 3_600_000, 24 * 3_600_000))).toEqual([]);
    expect((await daemon.complaints.expire(store, t0 + 25 * 3_600_000, 24 * 3_600_000)).map((s) => [s.id, s.state])).toEqual([['suspect:BS-1@2', 'expired']]);
    expect((await json('/v1/suspected-outages?state=expired', 'noc')).body.items.map((s: any) => s.id)).toEqual(['suspect:BS-1@2']);
  });

  it('records handling, re-grades on escalation, and warns of each deadline once', async () => {
    const patch = (id: string, body: unknown) => json(`/v1/complaints/${id}`, 'crm', body, 'PATCH');
    const esc = await patch('X3', { escalations: 2 });
    expect(esc.body).toMatchObject({ grade: 'urgent', gradeReasons: ['escalated twice or more'], customer: { escalations: 2 } });
    expect(Date.parse(esc.body.responseDue) - Date.parse(esc.body.reportedAt)).toBe(4 * 3_600_000);
    const done = await patch('X1', { firstResponseAt: at(60_000), resolvedAt: at(120_000), resolution: 'BS-3 power restored', satisfied: true });
    expect(done.body).toMatchObject({ status: 'resolved', handling: { firstResponseAt: at(60_000), resolvedAt: at(120_000), resolution: 'BS-3 power restored', satisfied: true } });
    expect((await json('/v1/complaints/X1', 'crm')).body.status).toBe('resolved');
    await expect.poll(() => messages.filter((m) => m.id === 'complaint:X1#resolved').map((m) => m.content), { timeout: 5000 })
      .toEqual(['Your complaint X1 is resolved: BS-3 power restored. Thank you for your patience.']);
    expect((await patch('nope', { satisfied: true })).status).toBe(404);
    expect((await patch('X1', {})).body.error.field).toBe('firstResponseAt');
    expect((await patch('X1', { satisfied: 'yes' })).body.error.field).toBe('satisfied');
    // Five hours on, the urgent complaints' four-hour response deadlines have passed unmet: each is warned of once.
    const later = t0 + 5 * 3_600_000;
    const warned = await daemon.complaints.dueSoon(daemon.store, later, 3_600_000);
    const keys = warned.map((w) => `${w.complaint.id}:${w.deadline}:${w.missed}`);
    expect(keys).toContain('X2:response:true');
    expect(keys).toContain('X3:response:true');
    expect(keys.some((k) => k.startsWith('X1:'))).toBe(false); // resolved
    expect(await daemon.complaints.dueSoon(daemon.store, later, 3_600_000)).toEqual([]);
  });

  it('refuses bad bodies with the field, unknown ids with 404, and the wrong role with 403', async () => {
    const bad = await json('/v1/complaints', 'crm', { id: 'Y', subscriberId: 'A', channel: 'app', category: 'bad_weather', reportedAt: at(0) });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'category' } } });
    expect((await json('/v1/complaints', 'crm', { id: 'Y', subscriberId: 'A', channel: 'app', category: 'other', reportedAt: 'yesterday' })).body.error.field).toBe('reportedAt');
    expect((await json('/v1/complaints', 'crm', { id: 'Y', subscriberId: 'A', channel: 'app', category: 'other', reportedAt: at(0), colour: 'red' })).body.error.field).toBe('colour');
    expect((await json('/v1/complaints/nope', 'crm')).status).toBe(404);
    expect((await json('/v1/complaints', 'noc', { id: 'Z', subscriberId: 'A', channel: 'app', category: 'other', reportedAt: at(0) })).status).toBe(403);
    // Times from outside fall in a window around now, or are refused naming the field: no complaint
    // "overdue since 1970" pages the NOC, none from 2099 freezes a cell's suspicion window.
    for (const [reportedAt, why] of [['1970-01-01T00:00:00Z', /more than 30 d old$/], ['0001-01-01T00:00:00Z', /more than 30 d old$/],
      ['2099-01-01T00:00:00Z', /ahead of this host's clock$/], ['9999-12-31T23:59:59Z', /ahead of this host's clock$/]] as const) {
      const r = await json('/v1/complaints', 'crm', { id: `T-${reportedAt}`, subscriberId: 'A', channel: 'app', category: 'other', reportedAt });
      expect(r, reportedAt).toMatchObject({ status: 400, body: { error: { field: 'reportedAt', message: expect.stringMatching(why) } } });
      expect((await json(`/v1/complaints/${encodeURIComponent(`T-${reportedAt}`)}`, 'crm')).status).toBe(404);
    }
    const batch = await json('/v1/complaints/batch', 'crm', { items: [{ id: 'T-ok', subscriberId: 'A', channel: 'app', category: 'other', reportedAt: at(0) }, { id: 'T-1970', subscriberId: 'A', channel: 'app', category: 'other', reportedAt: '1970-01-01T00:00:00Z' }] });
    expect(batch.body).toMatchObject({ accepted: 1, rejected: 1, items: [{ index: 0 }, { index: 1, error: { field: 'reportedAt' } }] });
    expect((await json('/v1/complaints/T-ok', 'crm', { resolvedAt: '2099-01-01T00:00:00Z' }, 'PATCH')).body.error?.field).toBe('resolvedAt');
    // An unknown subscriber is still a complaint, kept and explained.
    const ghost = await json('/v1/complaints', 'crm', { id: 'G1', subscriberId: 'nobody', channel: 'app', category: 'no_service', reportedAt: at(0) });
    expect(ghost.body).toMatchObject({ status: 'accepted', explanation: ['subscriber nobody is not in the inventory'], customer: { tier: null } });
  });
});

describe('complaints over MQTT (Debian Mosquitto)', () => {
  it('stores each complaint once, names what is wrong with a bad one, and loses none while the daemon is down', async () => {
    const { startMosquitto } = await import('../helpers/servers.ts');
    const mqtt = (await import('mqtt')).default;
    const broker = await startMosquitto();
    const dir = tempDir('complaints-mqtt');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-1, kind: base_station, site: s1, region: north }\n');
    const token = 'crm-token-0123456789abcdef';
    const cfg = (dataDir: string) => ({
      daemon: { dataDir }, topology: { file: join(dir, 'topology.yaml') },
      complaints: { mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, topic: 'crm/complaints', clientId: 'netpulse-test-complaints' } },
      api: { tokens: [{ name: 'crm', hash: hashToken(token), roles: ['admin'] }] },
    });
    const dataDir = tempDir('complaints-mqtt-data');
    let { daemon, logs } = testDaemon(cfg(dataDir));
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'crm-publisher' });
    try {
      await daemon.start();
      const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
      await api('/v1/subscribers/import', { method: 'POST', body: 'id,tier,service,serving\nA,gold,mobile,BS-1\n', headers: { 'content-type': 'text/csv' } });
      await expect.poll(() => logs.some((l) => l.msg === 'complaint intake connected'), { timeout: 5000 }).toBe(true);
      const good = (id: string) => JSON.stringify({ id, subscriberId: 'A', channel: 'app', category: 'weak_signal', reportedAt: new Date().toISOString() });
      const from2099 = JSON.stringify({ id: 'M6', subscriberId: 'A', channel: 'app', category: 'weak_signal', reportedAt: '2099-01-01T00:00:00Z' });
      const withNul = JSON.stringify({ id: 'M7', subscriberId: 'A', channel: 'app', category: 'weak_signal', text: 'a\u0000b', reportedAt: new Date().toISOString() });
      for (const payload of [good('M1'), good('M1'), '{"id": "M2", broken', JSON.stringify({ id: 'M3', subscriberId: 'A', channel: 'app', category: 'noise', reportedAt: new Date().toISOString() }), from2099, withNul, good('M4')]) {
        await publisher.publishAsync('crm/complaints', payload, { qos: 1 });
      }
      await expect.poll(async () => (await api('/v1/complaints/M4')).status, { timeout: 5000 }).toBe(200);
      expect((await (await api('/v1/complaints/M1')).json()).category).toBe('weak_signal');
      expect((await api('/v1/complaints/M3')).status).toBe(404);
      expect((await api('/v1/complaints/M6')).status).toBe(404); // reported in 2099: refused, acknowledged, never redelivered
      expect((await api('/v1/complaints/M7')).status).toBe(404); // a NUL PostgreSQL cannot store: refused, not retried for ever
      const metrics = await (await fetch(`http://127.0.0.1:${daemon.apiPort}/metrics`)).text();
      expect(metrics).toContain('netpulse_complaint_messages_total{outcome="stored"} 2');
      expect(metrics).toContain('netpulse_complaint_messages_total{outcome="duplicate"} 1');
      expect(metrics).toContain('netpulse_complaint_messages_total{outcome="rejected"} 4');
      // Logged once per topic and field a minute (the second payload refusal is counted, not logged).
      expect(logs.filter((l) => l.msg === 'complaint message rejected').map((l) => l.field).sort()).toEqual(['category', 'payload', 'reportedAt']);

      // The daemon is down: the broker keeps what arrives for its session, and hands it over after.
      await daemon.stop();
      await publisher.publishAsync('crm/complaints', good('M5'), { qos: 1 });
      ({ daemon, logs } = testDaemon(cfg(dataDir)));
      await daemon.start();
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${daemon.apiPort}/v1/complaints/M5`, { headers: { authorization: `Bearer ${token}` } })).status, { timeout: 10_000 }).toBe(200);
    } finally {
      await publisher.endAsync();
      await daemon.stop();
      await broker.stop();
    }
  });
});

describe('complaints over MQTT across a kill -9', () => {
  it('stores every complaint exactly once: what was not acknowledged comes again, what comes twice is one', async () => {
    const { startMosquitto } = await import('../helpers/servers.ts');
    const { netpulse } = await import('../helpers/process.ts');
    const { SqliteDb } = await import('../../src/store/sqlite.ts');
    const mqtt = (await import('mqtt')).default;
    const broker = await startMosquitto();
    const dir = tempDir('complaints-kill');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-1, kind: base_station, site: s1, region: north }\n');
    writeFileSync(join(dir, 'subs.csv'), 'id,tier,service,serving\nA,gold,mobile,BS-1\n');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, JSON.stringify({
      daemon: { dataDir: join(dir, 'data'), logFormat: 'json' }, api: { port: 0 }, topology: { file: join(dir, 'topology.yaml') },
      complaints: { mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, topic: 'crm/complaints', clientId: 'np-complaints-kill' } },
    }));
    expect(await netpulse('import-subscribers', join(dir, 'subs.csv'), '--replace', '--config', cfg).exited()).toBe(0);
    const N = 1500;
    let d = netpulse('start', '--config', cfg);
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'crm-kill' });
    // What the daemon has committed, read beside it (WAL allows a second reader).
    const db = new SqliteDb(join(dir, 'data', 'netpulse.db'));
    const stored = async () => Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM complaints'))[0].n);
    try {
      await vi.waitFor(() => expect(d.output()).toContain('complaint intake connected'), { timeout: 20_000 });
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        const body = JSON.stringify({ id: `K${i}`, subscriberId: 'A', channel: 'app', category: 'slow_data', reportedAt: new Date(Date.now() - 3_600_000 + i * 1000).toISOString() });
        acks.push(publisher.publishAsync('crm/complaints', body, { qos: 1 }));
        if (i === N / 3) {
          // Mid-stream: some stored, the rest of what was sent still on its way.
          await vi.waitFor(async () => expect(await stored()).toBeGreaterThan(0), { timeout: 20_000, interval: 10 });
          await d.stop('SIGKILL');
        }
        if (i % 100 === 0) await acks[i]; // sent in steps, each taken by the broker before the next
      }
      await Promise.all(acks);
      d = netpulse('start', '--config', cfg); // the same session: the broker hands over what was never acknowledged
      await vi.waitFor(async () => expect(await stored()).toBe(N), { timeout: 40_000, interval: 500 });
    } finally {
      await db.close();
      await publisher.endAsync();
      await d.stop();
      await broker.stop();
    }
  });
});

describe('the outbox', () => {
  it('keeps alerts and subscriber messages owed to a dead webhook across a restart, and delivers them after', async () => {
    let up = false;
    const got: { path: string; id: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (!up) { res.statusCode = 503; res.end(); return; }
        got.push({ path: req.url!, id: JSON.parse(body).id });
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    const dir = tempDir('outbox');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-1, kind: base_station, site: s1, region: north }\n');
    const token = 'crm-token-0123456789abcdef';
    const dataDir = tempDir('outbox-data');
    const cfg = {
      daemon: { dataDir }, topology: { file: join(dir, 'topology.yaml') },
      alerts: { webhooks: [{ name: 'noc', url: `${url}/alerts` }] },
      complaints: { notify: { webhooks: [{ name: 'sms', url: `${url}/sms` }] } },
      api: { tokens: [{ name: 'crm', hash: hashToken(token), roles: ['admin'] }] },
    };
    let { daemon } = testDaemon(cfg);
    try {
      await daemon.start();
      const post = (path: string, body: string, type: string) => fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': type } });
      await post('/v1/subscribers/import', 'id,tier,service,serving\nA,gold,mobile,BS-1\n', 'text/csv');
      expect((await post('/v1/complaints', JSON.stringify({ id: 'W1', subscriberId: 'A', channel: 'app', category: 'billing', reportedAt: new Date().toISOString() }), 'application/json')).status).toBe(201);
      const t = Date.now();
      daemon.outages.write([1, 2].map((i) => ({ element: 'BS-1', measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: false, error: 'timeout' }, time: t + i })));
      daemon.outages.tick(t + 10);
      await expect.poll(async () => Number((await daemon.store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox'))[0].n), { timeout: 5000 }).toBe(2);
      await daemon.stop(); // the webhooks are still down: nothing delivered, nothing forgotten
      up = true;
      ({ daemon } = testDaemon(cfg));
      await daemon.start();
      await expect.poll(() => got.map((g) => `${g.path} ${g.id.split('#')[1]}`).sort(), { timeout: 10_000 }).toEqual(['/alerts opened@' + (t + 1), '/sms accepted']);
      await expect.poll(async () => Number((await daemon.store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox'))[0].n), { timeout: 5000 }).toBe(0);
    } finally {
      await daemon.stop();
      receiver.close();
    }
  });
});

describe('complaint grading from config', () => {
  it('takes grade rules and deadlines from config, and names a bad setting by its path', async () => {
    const dir = tempDir('complaints-config');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-1, kind: base_station, site: s1, region: north }\n');
    const token = 'crm-token-0123456789abcdef';
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      complaints: { gradeRules: [{ grade: 'urgent', reason: 'gold customers first', tiers: ['gold'] }], deadlines: { urgent: { respond: '1h', resolve: '8h' } } },
      api: { tokens: [{ name: 'crm', hash: hashToken(token), roles: ['admin'] }] },
    });
    try {
      await daemon.start();
      const api = (path: string, body: string, type: string) => fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': type } });
      await api('/v1/subscribers/import', 'id,tier,service,serving\nA,gold,mobile,BS-1\n', 'text/csv');
      const reported = Date.now() - 3_600_000; // any recent time: times from outside must fall in a window around now
      const r = await (await api('/v1/complaints', JSON.stringify({ id: 'K1', subscriberId: 'A', channel: 'web', category: 'billing', reportedAt: new Date(reported).toISOString() }), 'application/json')).json() as any;
      expect(r).toMatchObject({ grade: 'urgent', gradeReasons: ['gold customers first'], responseDue: new Date(reported + 3_600_000).toISOString(), resolutionDue: new Date(reported + 8 * 3_600_000).toISOString() });
    } finally {
      await daemon.stop();
    }
    expect(() => testDaemon({ complaints: { deadlines: { major: { respond: 'soon' } } } })).toThrow(/complaints\.deadlines\.major\.respond/);
  });
});

describe('an unmatched complaint is explained from the health at its reported time (issue 17)', () => {
  it('says a serving element was down then, though it is healthy now', async () => {
    const dir = tempDir('complaints-then');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-T, kind: base_station, site: t1, region: north }\n');
    const token = 'crm-token-0123456789abcdef';
    const { daemon } = testDaemon({ topology: { file: join(dir, 'topology.yaml') }, api: { tokens: [{ name: 'crm', hash: hashToken(token), roles: ['admin'] }] } });
    await daemon.start();
    try {
      const H = 3_600_000;
      const t = Date.now();
      const probe = (up: boolean, at: number) => ({ element: 'BS-T', measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: at });
      daemon.outages.write([probe(false, t - 2 * H), probe(false, t - 2 * H + 1)]);
      daemon.outages.write([probe(true, t - H), probe(true, t - H + 1)]);
      await vi.waitFor(async () => expect((await healthOf(daemon.store).transitions('BS-T')).map((x) => x.to)).toEqual(['down', 'up']), { timeout: 10_000, interval: 50 });
      const api = (path: string, body: string, type: string) => fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': type } });
      await api('/v1/subscribers/import', 'id,tier,service,serving\nLATE,gold,mobile,BS-T\n', 'text/csv'); // no impact on record for this subscriber
      const r = await (await api('/v1/complaints', JSON.stringify({ id: 'THEN-1', subscriberId: 'LATE', channel: 'app', category: 'weak_signal', reportedAt: new Date(t - 1.5 * H).toISOString() }), 'application/json')).json() as any;
      expect(r.match).toBeNull();
      expect(r.explanation).toEqual(['no known outage hit the subscriber around that time', 'serving elements: BS-T down']);
      const now = await (await api('/v1/complaints', JSON.stringify({ id: 'NOW-1', subscriberId: 'LATE', channel: 'app', category: 'weak_signal', reportedAt: new Date(t).toISOString() }), 'application/json')).json() as any;
      expect(now.explanation).toEqual(['no known outage hit the subscriber around that time', 'all serving elements healthy (BS-T)']);
    } finally {
      await daemon.stop();
    }
  });
});
