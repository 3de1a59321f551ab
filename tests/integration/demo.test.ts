import { describe, it, expect } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testDaemon } from '../helpers/daemon.ts';
import { embeddedDefaults, DEMO } from '../../src/config/load.ts';
import { MqttCollector } from '../../collectors/mqtt/collector.ts';
import { hashToken } from '../../src/api/auth.ts';
import { SimNetwork } from '../../src/sim/network.ts';
import { prng, simSubscribers } from '../../src/sim/inventory.ts';
import { Story } from '../../src/sim/story.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Complaint } from '../../correlators/complaints/complaint.ts';
import type { MaintenanceWindow } from '../../correlators/outages/outage.ts';

describe('the demo on embedded defaults', () => {
  it('runs the simulator with its telemetry through the embedded MQTT broker', () => {
    const { config } = embeddedDefaults({});
    expect(config!.sim).toMatchObject({ enabled: true, mqtt: { url: null, embedded: { port: 18830 } } });
  });

  it('takes MQTT telemetry from the simulated base stations through its own broker (aedes), nothing installed', async () => {
    const { daemon } = testDaemon({ api: null, sim: { enabled: true, switches: 1, baseStations: 2, interval: '500ms', mqtt: { embedded: { port: 0 }, interval: '200ms' } } });
    try {
      await daemon.start();
      const mqtt = daemon.collectors.find((c): c is MqttCollector => c instanceof MqttCollector);
      expect(mqtt?.name).toBeDefined();
      await expect.poll(() => mqtt!.stats.messages, { timeout: 15_000 }).toBeGreaterThan(6);
      expect(mqtt!.stats.rejected).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  it('plays the storyline end to end: switch dies, one outage, complaints matched, repaired, credited; the dashboard token works', async () => {
    const token = 'story-test';
    // The demo's own configuration, its clock run faster: the first act (a switch losing power)
    // lasts 30 s instead of 50 s.
    const { daemon, logs, dataDir } = testDaemon({
      ...DEMO,
      api: { port: 0, tokens: [{ name: 't', hash: hashToken(token), roles: ['admin'] }] },
      sim: { ...DEMO.sim, interval: '500ms', mqtt: { embedded: { port: 0 }, interval: '500ms' }, story: { enabled: true, cycle: '360s', startAfter: '1s' } },
      outages: { confirmRecovery: '2s' },
      compensation: { ...DEMO.compensation, settle: '1s' },
    });
    await daemon.start();
    const get = async (path: string, auth = token) => {
      const r = await fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { headers: { authorization: `Bearer ${auth}` } });
      return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
    };
    try {
      // The generated inventory is in the store.
      const sub = await get('/v1/subscribers/SIM-000001');
      expect(sub.status).toBe(200);
      // The storyline's first act: SIM-SW-001 dies. One outage, rooted at the switch.
      let outage: any;
      await expect.poll(async () => {
        outage = (await get('/v1/outages?state=active')).body.items.find((o: any) => o.rootCause.id === 'SIM-SW-001');
        return outage?.affectedSubscribers?.subscribers ?? 0;
      }, { timeout: 30_000 }).toBeGreaterThan(20_000);
      expect(outage.impactedElements.length).toBe(13 + 36 + 16); // 12 stations + OLT, their cells and ports
      // Complaints follow and are matched to it.
      await expect.poll(async () => (await get(`/v1/outages/${encodeURIComponent(outage.id)}/complaints`)).body.items.length, { timeout: 30_000 }).toBeGreaterThan(3);
      const matched = (await get(`/v1/outages/${encodeURIComponent(outage.id)}/complaints`)).body.items;
      expect(matched.every((c: any) => c.match.outageId === outage.id)).toBe(true);
      // Repaired (at 30 s): closed, and the compensation issued.
      await expect.poll(async () => (await get(`/v1/outages/${encodeURIComponent(outage.id)}`)).body.state, { timeout: 60_000 }).toBe('closed');
      await expect.poll(async () => (await get(`/v1/compensation/totals?by=outage&outage=${encodeURIComponent(outage.id)}`)).body.items[0]?.entries ?? 0, { timeout: 30_000 }).toBeGreaterThan(15_000);
      // Nothing else became an outage of its own while the switch was down or coming back.
      const all = (await get('/v1/outages?limit=100')).body.items.filter((o: any) => o.rootCause.id.startsWith('SIM-BS-00') && !o.mergedInto && o.rootCause.kind === 'base_station');
      expect(all).toEqual([]);
      expect(logs.some((l) => l.msg === 'demo story: SIM-SW-001 repaired: power restored')).toBe(true);
      expect(logs.some((l) => l.msg === 'generated subscriber inventory loaded' && l.loaded === 100_000)).toBe(true);
      // The dashboard's token, made on first start and kept in the data directory (owner-only), reads as the NOC.
      const dashboard = readFileSync(join(dataDir, 'dashboard-token'), 'utf8').trim();
      expect(statSync(join(dataDir, 'dashboard-token')).mode & 0o777).toBe(0o600);
      expect((await get('/v1/elements?kind=aggregation', dashboard)).body.items.map((e: any) => e.id)).toEqual(['SIM-SW-001', 'SIM-SW-002', 'SIM-SW-003', 'SIM-SW-004']);
      expect((await get('/v1/compensation/policies', dashboard)).status).toBe(200);
      // It reads and acknowledges; it cannot silence pages and compensation with a maintenance window.
      const window = await fetch(`http://127.0.0.1:${daemon.apiPort}/v1/maintenance`, {
        method: 'POST', headers: { authorization: `Bearer ${dashboard}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'sneaky', sites: ['any'], start: new Date().toISOString(), end: new Date(Date.now() + 3_600_000).toISOString() }),
      });
      expect(window.status).toBe(403);
      // The address is logged, the token never is (it stays in the file, read by whoever may).
      expect(logs.some((l) => l.msg?.startsWith('NOC dashboard') && l.url.endsWith('/ui/') && l.tokenFile === join(dataDir, 'dashboard-token'))).toBe(true);
      expect(JSON.stringify(logs)).not.toContain(dashboard);
    } finally {
      await daemon.stop();
    }
  }, 150_000);

  it('the story, stepped by hand: complaints follow the faults, planned work is announced ahead for its own slot', async () => {
    const cfg = embeddedDefaults({}).config!;
    const net = new SimNetwork({ ...cfg.sim, mqtt: { ...cfg.sim.mqtt, embedded: null } });
    const subscribers = [...simSubscribers(net.elements(), 20_000)];
    const complaints: Complaint[] = [];
    const windows: MaintenanceWindow[] = [];
    const told: string[] = [];
    const { logger } = memoryLogger();
    const story = new Story(net, subscribers, { ...cfg.sim.story, noisePerMinute: 6 }, {
      complain: async (c) => { complaints.push(c); },
      plan: async (w) => { windows.push(w); },
      told: (line) => told.push(line),
      logger,
      random: prng(7), // the same draws every run: the counts below are about the story, not luck
    });
    const t0 = Date.UTC(2026, 10, 22, 9, 0, 0);
    story.start(t0);
    await story.stop(); // driven by hand from here
    try {
      for (let t = t0; t <= t0 + 15_000 + 320_000; t += 1000) story.step(t);
      await story.stop();
      const turn = t0 + 15_000;
      // The switch failure's wave: SIM-SW-001's subscribers, network categories, reported before they arrive.
      const behindSw1 = new Set(net.elements().filter((e) => e.region === 'north' && e.kind !== 'aggregation').map((e) => e.id));
      const wave = complaints.filter((c) => c.reportedAt >= turn && c.reportedAt < turn + 70_000 && c.category === 'no_service');
      // About 5,500 of the 20,000 are behind it: 40 a minute per 27,000 hit, for 65 s, half of them "no service".
      expect(wave.length).toBeGreaterThanOrEqual(6);
      const byId = new Map(subscribers.map((x) => [x.id, x]));
      expect(wave.every((c) => byId.get(c.subscriberId)!.serving.some((e) => behindSw1.has(e)))).toBe(true);
      expect(new Set(complaints.map((c) => c.id)).size).toBe(complaints.length);
      // Noise: non-network categories come in too.
      expect(complaints.some((c) => c.category === 'billing' || c.category === 'service_attitude')).toBe(true);
      // Planned work: announced at 300 s into the turn, for 375 s to 450 s (more than the demo policy's minute ahead).
      expect(windows).toHaveLength(1);
      expect(windows[0]).toMatchObject({ elements: ['SIM-BS-0026'], start: turn + 375_000, end: turn + 450_000 });
      expect(told[0]).toBe('SIM-SW-001 loses power: it and the 13 devices behind it go dark');
    } finally {
      await net.stop();
    }
  });

  it('live events on the API: bearer token required, then every health change and outage as it happens', async () => {
    const token = 'events-test';
    const { daemon } = testDaemon({
      api: { port: 0, tokens: [{ name: 'noc', hash: hashToken(token), roles: ['noc'] }] },
      sim: { enabled: true, switches: 1, baseStations: 2, interval: '300ms' },
      outages: { confirmRecovery: '1s' },
    });
    await daemon.start();
    const ac = new AbortController();
    try {
      const url = `http://127.0.0.1:${daemon.apiPort}/v1/events`;
      expect((await fetch(url)).status).toBe(401);
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const until = async (re: RegExp) => {
        const deadline = Date.now() + 20_000;
        while (!re.test(text) && Date.now() < deadline) text += (await reader.read()).value ?? '';
        return re.test(text);
      };
      expect(await until(/event: health\ndata: \{"element":"SIM-SW-001","from":"unknown","to":"up"/)).toBe(true);
      await daemon.sim!.device('SIM-BS-0002')!.stop();
      expect(await until(/event: outage\ndata: \{"outage":"SIM-BS-0002@\d+","event":"opened"/)).toBe(true);
      expect(await until(/event: alert\ndata: \{"id":"[^"]+","outageId":"SIM-BS-0002@/)).toBe(true);
      expect(text).toMatch(/^: netpulse live events\nretry: 3000\n\nid: 1\n/);
      const metrics = await (await fetch(`http://127.0.0.1:${daemon.apiPort}/metrics`)).text();
      expect(metrics).toContain('netpulse_live_listeners 1');
      // A poller falling behind shows: polls skipped because the target's last one still ran.
      expect(metrics).toMatch(/netpulse_snmp_polls_total\{outcome="skipped"\} \d+/);
      expect(metrics).toMatch(/netpulse_snmp_polls_waiting \d+/);
    } finally {
      ac.abort();
      await daemon.stop();
    }
  }, 60_000);
});
