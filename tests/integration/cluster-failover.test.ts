import { describe, it, expect, vi, afterAll } from 'vitest';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { startSnmpd, startVictoriaMetrics, tempDir } from '../helpers/servers.ts';
import { member, clusterView, CLUSTER_TOKEN, type Member } from '../helpers/cluster.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { Store } from '../../src/store/store.ts';
import { Ledger } from '../../correlators/compensation/ledger.ts';
import { loadPolicies } from '../../correlators/compensation/policies.ts';
import { smallNetwork, subscribersOf, loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { billingJob, BILLING_SECRET } from '../helpers/billing.ts';

afterAll(() => stopDatabases());
const postgres = DATABASES.find(([kind]) => kind === 'PostgreSQL')![1];

/** A webhook receiver that keeps every alert it was sent. */
async function pager() {
  const received: { id: string; outageId: string; event: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { received.push(JSON.parse(body)); } catch { /* not an alert */ }
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { received, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/page`, close: () => new Promise((r) => server.close(r)) };
}

/** A client that honours 503 + Retry-After, as a complaint system or an importer should during a takeover. */
async function retrying(url: string, init: RequestInit): Promise<Response> {
  let last: Response | undefined;
  try {
    return await vi.waitFor(async () => {
      last = await fetch(url, init);
      if (last.status === 503) throw new Error(`503, retry after ${last.headers.get('retry-after')} s`);
      return last;
    }, { timeout: 10_000, interval: 100 });
  } catch {
    return last!; // still 503: the test's own assertion shows it
  }
}

/** Who leads, as every member agrees; undefined while one does not answer or they do not agree. */
async function agreedLeader(members: readonly Member[]): Promise<{ member: string; epoch: number } | undefined> {
  const views = await Promise.all(members.map(clusterView));
  const leaders = new Set(views.map((v) => v?.leader && `${v.leader.member}@${v.leader.epoch}`));
  if (views.some((v) => v === undefined) || leaders.size !== 1 || !views[0]!.leader) return undefined;
  return views[0]!.leader;
}

const TOPOLOGY = [
  '  - { id: SW-1, kind: aggregation, site: agg1 }',
  ...[1, 2, 3, 4, 5].map((b) => `  - { id: BS-${b}, kind: base_station, site: s${b}, parents: [SW-1] }`),
];

describe('three netpulse processes on one PostgreSQL (issue 19)', () => {
  it('a leader stopped (SIGSTOP) past its lease is replaced; woken (SIGCONT), its writes are refused by the fencing check and it rejoins as a follower', { timeout: 90_000 }, async () => {
    const snmpd = await startSnmpd();
    const url = (await postgres.url())!;
    const dir = tempDir('cluster-stop');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${TOPOLOGY.join('\n')}\n`);
    const config = {
      store: { url }, cluster: { lease: '1500ms' }, topology: { file: join(dir, 'topology.yaml') },
      snmp: { defaults: { interval: '300ms', timeout: '200ms', retries: 0 }, targets: ['SW-1', 'BS-1', 'BS-2', 'BS-3', 'BS-4', 'BS-5'].map((e) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: snmpd.port, profiles: ['system'] })) },
      outages: { evaluateEvery: '100ms' },
    };
    const members = ['np-a', 'np-b', 'np-c'].map((n) => member(dir, n, config));
    try {
      await vi.waitFor(async () => {
        const v = await clusterView(members[0]);
        expect(v?.members.length, members[0].p.output().slice(-3000)).toBe(3);
        expect(await agreedLeader(members)).toBeDefined();
      }, { timeout: 30_000, interval: 200 });
      const first = (await agreedLeader(members))!;
      const leader = members.find((m) => m.name === first.member)!;
      const others = members.filter((m) => m !== leader);
      // The followers forward their checks; the leader takes them in (its writes are fenced).
      await vi.waitFor(async () => expect(await (await leader.get('/metrics')).text()).toMatch(/netpulse_cluster_checks_total\{way="consumed"\} [1-9]/), { timeout: 10_000, interval: 100 });

      leader.p.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      await vi.waitFor(async () => {
        const now = await agreedLeader(others);
        expect(now?.member).not.toBe(first.member);
        expect(now!.epoch).toBeGreaterThan(first.epoch);
      }, { timeout: 10_000, interval: 50 });
      const tookOver = Date.now() - stoppedAt;
      // Stopped past the takeover, as a GC stall or a partition would keep it; now it wakes.
      leader.p.child.kill('SIGCONT');
      await vi.waitFor(() => expect(leader.logs().some((l) => l.msg === 'rejoined the cluster as a follower'), leader.p.output().split('\n').filter((l) => !/snmp|InfluxDB/.test(l)).join('\n').slice(-5000)).toBe(true), { timeout: 20_000, interval: 100 });
      const refused = leader.logs().filter((l) => /refused by the fencing check in the database/.test(l.msg ?? ''));
      expect(refused.length, leader.p.output().split('\n').filter((l) => /cluster|leader|fenc|deposed|rejoin|forward/.test(l)).join('\n').slice(-4000)).toBeGreaterThan(0);
      expect(refused[0].epoch, leader.p.output().split('\n').filter((l) => /cluster|leader|fenc|deposed|rejoin/.test(l)).join('\n').slice(-4000)).toBe(first.epoch);
      const metrics = await (await leader.get('/metrics')).text();
      expect(metrics).toMatch(new RegExp(`netpulse_cluster_fenced_writes_total\\{member="${leader.name}"\\} [1-9]`));
      const view = await clusterView(leader);
      expect(view?.leading).toBe(false);
      await vi.waitFor(async () => expect((await clusterView(leader))?.members.map((m) => m.id)).toEqual(['np-a', 'np-b', 'np-c']), { timeout: 10_000, interval: 100 });
      // Nothing the stale epoch tried was written after the takeover: every outage event of this run is the new leader's.
      const db = new PostgresDb(url);
      try {
        expect(Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM cluster_leader WHERE epoch > $1', [first.epoch]))[0].n)).toBe(1);
      } finally {
        await db.close();
      }
      console.log(leader.logs().filter((l) => l.msg === 'shutdown step timed out').map((l) => l.what).join(','));
      console.log(`takeover after SIGSTOP: ${tookOver} ms (lease 1500 ms); refused writes logged: ${refused.length}`);
    } finally {
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await snmpd.stop();
    }
  });

  it('kill -9 of a follower, then of the leader, during an open outage: polls go on, one outage, one page per change, a complaint on any member matched once', { timeout: 120_000 }, async () => {
    const snmpd = await startSnmpd();
    const vm = await startVictoriaMetrics();
    const hook = await pager();
    const url = (await postgres.url())!;
    const dir = tempDir('cluster-kill');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${TOPOLOGY.join('\n')}\n`);
    const targets = ['SW-1', 'BS-1', 'BS-2', 'BS-3', 'BS-4', 'BS-5'];
    const config = {
      store: { url }, cluster: { lease: '1500ms' }, topology: { file: join(dir, 'topology.yaml') },
      timeseries: { influx: { version: 1, url: `http://127.0.0.1:${vm.port}`, database: 'netpulse' }, flushInterval: '200ms' },
      snmp: { defaults: { interval: '300ms', timeout: '200ms', retries: 0 }, targets: targets.map((e) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: snmpd.port, profiles: ['system'] })) },
      outages: { evaluateEvery: '100ms', confirmRecovery: '1s' },
      alerts: { holdDown: '2s', webhooks: [{ name: 'noc', url: hook.url }] },
    };
    const members = ['np-a', 'np-b', 'np-c'].map((n) => member(dir, n, config));
    const db = new PostgresDb(url);
    // Outages folded into another (a base station's, found down after its switch's outage opened) are not failures of their own.
    const outages = () => db.query<{ id: string; root: string; state: string; reason: string }>('SELECT id, root, state, reason FROM outages WHERE merged_into IS NULL ORDER BY started_at');
    const started = Date.now();
    try {
      await vi.waitFor(async () => {
        expect((await clusterView(members[0]))?.members.length, members[0].p.output().slice(-2500)).toBe(3);
        expect(await agreedLeader(members)).toBeDefined();
      }, { timeout: 30_000, interval: 200 });
      const first = (await agreedLeader(members))!;
      const leader = members.find((m) => m.name === first.member)!;
      const [f1, f2] = members.filter((m) => m !== leader);

      // The inventory imported through a follower (a write: it reaches the leader, which imports it).
      const imported = await retrying(`${f1.url()}/v1/subscribers/import`, {
        method: 'POST', headers: { authorization: `Bearer ${CLUSTER_TOKEN}`, 'content-type': 'application/x-ndjson' },
        body: ['S-1', 'S-2'].map((id) => JSON.stringify({ id, tier: 'standard', service: 'mobile', serving: ['BS-2'], fee: 30 })).join('\n') + '\n',
      });
      expect(imported.status, await imported.clone().text()).toBeLessThan(300);
      expect(imported.headers.get('x-netpulse-forwarded-by')).toBe(f1.name);

      // A follower dies: its targets are polled by the others once its lease has run out.
      await f1.p.stop('SIGKILL');
      await vi.waitFor(async () => expect((await clusterView(leader))?.members.length).toBe(2), { timeout: 10_000, interval: 100 });

      // A NOC screen follows the live events and the alert stream on a follower: they are the leader's.
      const screen = new AbortController();
      const seen: Record<string, string> = { '/v1/events': '', '/v1/alerts/stream': '' };
      for (const path of Object.keys(seen)) {
        const stream = await fetch(`${f2.url()}${path}`, { headers: { authorization: `Bearer ${CLUSTER_TOKEN}` }, signal: screen.signal });
        void (async () => {
          try { for await (const chunk of stream.body!) seen[path] += Buffer.from(chunk).toString(); } catch { /* aborted */ }
        })();
      }

      // The switch and everything behind it stop answering: one outage, rooted at the switch, paged once.
      await snmpd.stop();
      await vi.waitFor(async () => expect((await outages()).map((o) => [o.root, o.state]), JSON.stringify(await outages())).toEqual([['SW-1', 'open']]), { timeout: 15_000, interval: 100 });
      await vi.waitFor(async () => {
        expect(hook.received.filter((a) => a.event === 'opened').length).toBe(1);
        expect(Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox'))[0].n)).toBe(0);
      }, { timeout: 10_000, interval: 100 });
      const [opened] = await outages();
      await vi.waitFor(() => {
        expect(seen['/v1/events']).toContain(`"outage":"${opened.id}","event":"opened"`);
        expect(seen['/v1/alerts/stream']).toMatch(new RegExp(`event: alert\\ndata: \\{"id":"[^"]+","outageId":"${opened.id}","event":"opened"`));
      }, { timeout: 5_000, interval: 50 });
      screen.abort();

      // A complaint filed on the follower is passed to the leader and matched to the outage, once.
      const complaint = await retrying(`${f2.url()}/v1/complaints`, {
        method: 'POST', headers: { authorization: `Bearer ${CLUSTER_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'C-1', subscriberId: 'S-1', channel: 'app', category: 'no_service', reportedAt: new Date().toISOString() }),
      });
      const complaintBody = await complaint.text();
      expect(complaint.headers.get('x-netpulse-forwarded-by'), complaintBody).toBe(f2.name);
      expect(complaint.status, complaintBody).toBeLessThan(300);

      // The leader dies during the outage; the survivor takes over and continues it.
      await leader.p.stop('SIGKILL');
      f1.restart(); // as systemd would
      leader.restart();
      // Another process leads with the next epoch (a restarted np-b, too, is a new leader) and continues the outage.
      await vi.waitFor(async () => expect((await agreedLeader([f2]))?.epoch).toBeGreaterThan(first.epoch), { timeout: 10_000, interval: 50 });
      const secondName = (await agreedLeader([f2]))!.member;
      const second = members.find((m) => m.name === secondName)!;
      await vi.waitFor(() => expect(second.logs().filter((l) => l.msg === 'continuing outages open before the restart').at(-1)?.outages).toEqual([opened.id]), { timeout: 10_000, interval: 100 });

      await snmpd.restart();
      await vi.waitFor(async () => expect((await outages()).map((o) => [o.id, o.state])).toEqual([[opened.id, 'closed']]), { timeout: 20_000, interval: 100 });
      await vi.waitFor(() => expect(hook.received.filter((a) => a.event === 'closed').length).toBe(1), { timeout: 10_000, interval: 100 });

      // One page per change of the outage: every alert (an id per change) delivered once, one opening, one clearing.
      const ids = hook.received.map((a) => a.id);
      expect(new Set(ids).size, JSON.stringify(hook.received.map((a) => [a.id, a.event]))).toBe(ids.length);
      expect(hook.received.every((a) => a.outageId === opened.id)).toBe(true);
      expect(hook.received.filter((a) => a.event === 'opened').length).toBe(1);
      expect(hook.received.filter((a) => a.event === 'cleared').length).toBe(1);
      const complaints = await db.query<{ id: string; outage_id: string | null }>('SELECT id, outage_id FROM complaints');
      expect(complaints, JSON.stringify(await db.query('SELECT id, outage_id, status, match_reasons FROM complaints')) + JSON.stringify(await db.query('SELECT id, root, state, merged_into, started_at FROM outages'))).toEqual([{ id: 'C-1', outage_id: opened.id }]);

      // Every target's polls, as VictoriaMetrics holds them (the killed members' spools delivered once they are
      // back, as systemd would bring them). A dead member's target is polled again within lease + interval of its
      // death; between two polls that adds the interval before the death and the poll's own timeout (+ slack for a
      // loaded machine: the test runs beside others on two cores).
      const gaps: Record<string, number> = {};
      await vi.waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${vm.port}/api/v1/export?match[]={__name__=~"reachability_.*"}&start=${Math.floor(started / 1000)}`);
        const series = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { metric: Record<string, string>; timestamps: number[] });
        for (const s of series) {
          const t = [...new Set(s.timestamps)].sort((a, b) => a - b);
          const el = s.metric.element ?? s.metric.target ?? '?';
          gaps[el] = Math.max(...t.slice(1).map((x, i) => x - t[i]));
        }
        expect(Object.keys(gaps).sort()).toEqual(targets.slice().sort());
        for (const [el, gap] of Object.entries(gaps)) expect(gap, el).toBeLessThanOrEqual(300 + 1500 + 300 + 200 + 500);
      }, { timeout: 20_000, interval: 500 });
      console.log(`largest gap between polls per target: ${JSON.stringify(gaps)}`);
    } finally {
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await db.close();
      await hook.close();
      await vm.stop();
      await snmpd.stop();
    }
  });

  it('kill -9 of the leader during a settlement, and of the next during delivery: exactly one credit per eligible subscriber, each applied once by the job', { timeout: 120_000 }, async () => {
    const url = (await postgres.url())!;
    const dir = tempDir('cluster-settle');
    const topology = smallNetwork();
    writeFileSync(join(dir, 'topology.yaml'), JSON.stringify({ elements: [...topology.elements.values()] }));
    // AGG-1 was down for 30 hours: 1,000 subscribers behind it, more degraded next door.
    const prepared = new Store(new PostgresDb(url));
    await loadNetwork(prepared, topology, subscribersOf(500));
    await new OutageWriter(prepared, topology).lasting('O-AGG1', 'AGG-1', Date.parse('2026-05-04T08:00:00Z'), 30);
    const expected = await new Ledger({ policies: () => loadPolicies([{ policy: 'operator-default' }]) }).settle(prepared, 'O-AGG1', Date.now(), 'preview');
    await prepared.close();
    const job = await billingJob();
    const config = {
      store: { url }, cluster: { lease: '1500ms' }, topology: { file: join(dir, 'topology.yaml') },
      compensation: { settle: 0, chunk: 100, deliver: { webhook: { name: 'billing', url: job.url, secret: BILLING_SECRET, batchSize: 20 }, retry: { minDelay: 20, maxDelay: 200 } } },
    };
    const db = new PostgresDb(url);
    const count = async (where = '') => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM credits ${where}`))[0].n);
    const until = async (cond: () => Promise<boolean> | boolean, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end && !(await cond())) await new Promise((r) => setTimeout(r, 5));
    };
    const members = ['np-a', 'np-b', 'np-c'].map((n) => member(dir, n, config));
    const leaderNow = async () => {
      await vi.waitFor(async () => expect(await agreedLeader(members)).toBeDefined(), { timeout: 20_000, interval: 50 });
      const name = (await agreedLeader(members))?.member;
      return members.find((m) => m.name === name)!;
    };
    const kills: string[] = [];
    try {
      // The leader dies while it writes the ledger; the next one while it delivers a batch.
      let leader = await leaderNow();
      await until(async () => (await count()) >= 300, 30_000);
      await leader.p.stop('SIGKILL');
      kills.push(`${leader.name} mid-ledger: ledger ${await count()}`);
      leader.restart();
      leader = await leaderNow();
      let hit = false;
      job.state.onBatch = () => { hit = true; leader.p.child.kill('SIGKILL'); };
      await until(() => hit, 30_000);
      job.state.onBatch = undefined;
      await leader.p.exited();
      kills.push(`${leader.name} with a batch in the air: delivered ${await count(`WHERE state = 'delivered'`)}, job ${job.applied.size}`);
      leader.restart();

      await until(async () => (await count(`WHERE state = 'delivered'`)) === expected.eligible && job.applied.size === expected.eligible, 60_000);
      const rows = (await db.query<{ id: string; subscriber_id: string; revision: number; state: string; amount_minor: number }>('SELECT id, subscriber_id, revision, state, amount_minor FROM credits'))
        .map((r) => ({ ...r, amount_minor: Number(r.amount_minor), revision: Number(r.revision) }));
      expect(rows.length, kills.join('\n')).toBe(expected.eligible);
      expect(new Set(rows.map((r) => r.subscriber_id)).size).toBe(expected.eligible);
      expect(rows.every((r) => r.revision === 0 && r.state === 'delivered')).toBe(true);
      expect(rows.reduce((a, r) => a + r.amount_minor, 0)).toBe(expected.owed.reduce((a, x) => a + x.amountMinor, 0));
      expect([...job.applied.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
      expect(job.state.differing).toBe(0);
      expect(job.state.badSignatures).toBe(0);
      console.log(`settlement across two leader kills: ${kills.join('; ')}; ${job.state.batches} batches, ${job.state.repeats} credits sent again (same id, same amount)`);
    } finally {
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await db.close();
      await job.close();
    }
  });
});
