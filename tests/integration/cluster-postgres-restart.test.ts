import { describe, it, expect, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, startSnmpd, tempDir } from '../helpers/servers.ts';
import { member, clusterView, type Member } from '../helpers/cluster.ts';
import { owner } from '../../src/cluster/rendezvous.ts';
import { PostgresDb } from '../../src/store/postgres.ts';

const NAMES = ['np-a', 'np-b', 'np-c'];
const ELEMENTS = ['SW-1', 'BS-1', 'BS-2', 'BS-3', 'BS-4', 'BS-5'];
const TOPOLOGY = [
  '  - { id: SW-1, kind: aggregation, site: agg1 }',
  ...[1, 2, 3, 4, 5].map((b) => `  - { id: BS-${b}, kind: base_station, site: s${b}, parents: [SW-1] }`),
];
const LEASE_MS = 2000;
const INTERVAL_MS = 300;
const TIMEOUT_MS = 200;
/** How long PostgreSQL stays down: well past the lease (the leader must step down meanwhile). */
const DOWN_MS = Number(process.env.PG_DOWN_MS ?? 5000);

/** Who leads, as every member that answers agrees; undefined while they do not agree. */
async function agreedLeader(members: readonly Member[]): Promise<{ member: string; epoch: number } | undefined> {
  const views = await Promise.all(members.map(clusterView));
  if (views.some((v) => v === undefined)) return undefined;
  const leaders = new Set(views.map((v) => v!.leader && `${v!.leader.member}@${v!.leader.epoch}`));
  if (leaders.size !== 1 || !views[0]!.leader) return undefined;
  return views[0]!.leader;
}

/** One value of a member's self metrics (undefined while it does not answer). */
async function gauge(m: Member, name: string): Promise<number | undefined> {
  try {
    const text = await (await m.get('/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  } catch {
    return undefined;
  }
}

const cluster = (m: Member) => m.p.output().split('\n').filter((l) => /cluster|leader|deposed|rejoin|store|forward|fatal|cannot/i.test(l) && !/"snmp/.test(l)).join('\n').slice(-6000);

describe('PostgreSQL restarted under a three-member cluster (issue 19)', () => {
  // The switch's checks reach the leader through a follower's forwarding buffer, or are the leader's own.
  it.each([['a follower'], ['the leader']])('members hold their writes and resume; the switch failure while the store was away is recorded once, from its first failing poll (switch polled by %s)', { timeout: 90_000 }, async (polledBy) => {
    const pg = await startPostgres();
    const snmpd = await startSnmpd();
    const dir = tempDir('cluster-pg-restart');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${TOPOLOGY.join('\n')}\n`);
    const config = {
      store: { url: pg.url }, cluster: { lease: `${LEASE_MS}ms` }, topology: { file: join(dir, 'topology.yaml') },
      snmp: { defaults: { interval: `${INTERVAL_MS}ms`, timeout: `${TIMEOUT_MS}ms`, retries: 0 }, targets: ELEMENTS.map((e) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: snmpd.port, profiles: ['system'] })) },
      outages: { evaluateEvery: '100ms' },
    };
    // Who polls the switch with all three members up; the first member started leads.
    const switchOwner = owner('sw-1', NAMES)!;
    const firstName = polledBy === 'the leader' ? switchOwner : NAMES.find((n) => n !== switchOwner)!;
    const members: Member[] = [];
    const db = new PostgresDb(pg.url);
    let probing = true;
    let prober: Promise<void> | undefined;
    try {
      members.push(member(dir, firstName, config));
      await vi.waitFor(async () => expect((await clusterView(members[0]))?.leader?.member, cluster(members[0])).toBe(firstName), { timeout: 30_000, interval: 100 });
      for (const n of NAMES.filter((x) => x !== firstName)) members.push(member(dir, n, config));
      await vi.waitFor(async () => {
        for (const m of members) expect((await clusterView(m))?.members.map((x) => x.id), cluster(m)).toEqual(NAMES);
        expect((await agreedLeader(members))?.member).toBe(firstName);
      }, { timeout: 30_000, interval: 100 });
      const first = (await agreedLeader(members))!;
      const leader = members.find((m) => m.name === first.member)!;
      const poller = members.find((m) => m.name === switchOwner)!;
      // Under load: every element judged up, the followers' checks taken in by the leader.
      await vi.waitFor(async () => {
        const up = await db.query<{ element: string }>(`SELECT DISTINCT element FROM health_transitions WHERE to_state = 'up'`);
        expect(up.map((r) => r.element).sort()).toEqual([...ELEMENTS].sort());
        expect(await gauge(leader, 'netpulse_cluster_checks_total{way="consumed"}')).toBeGreaterThan(0);
      }, { timeout: 15_000, interval: 100 });

      // /readyz of every member, sampled all along (a member that rejoins listens on a new port).
      const probes: { member: string; at: number; status: number; body: string }[] = [];
      prober = (async () => {
        while (probing) {
          await Promise.all(members.map(async (m) => {
            const url = m.url();
            if (!url) return;
            const at = Date.now();
            try {
              const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
              probes.push({ member: m.name, at, status: r.status, body: await r.text() });
            } catch (err) {
              probes.push({ member: m.name, at, status: 0, body: (err as Error).message });
            }
          }));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      // PostgreSQL goes away (fast shutdown: the members' connections are cut).
      const pgStopAt = Date.now();
      await pg.stop();
      const pgDownAt = Date.now();
      // While it is away, the switch (and everything behind it, on the same agent) stops answering.
      const snmpdStopAt = Date.now();
      await snmpd.stop();
      const snmpdDownAt = Date.now();
      // Away longer than the lease: the leader steps down by its own clock; every member says it is not ready.
      await vi.waitFor(() => {
        expect(leader.logs().some((l) => l.msg === 'cluster: no longer the leader'), cluster(leader)).toBe(true);
        for (const n of NAMES) expect(probes.some((p) => p.member === n && p.at > pgDownAt && p.status === 503), `${n}: ${JSON.stringify(probes.filter((p) => p.member === n && p.at > pgStopAt - 500).map((p) => [p.at - pgStopAt, p.status, p.body.slice(0, 120)]))}\n${cluster(members.find((m) => m.name === n)!)}`).toBe(true);
        expect(Date.now() - pgStopAt).toBeGreaterThanOrEqual(DOWN_MS);
      }, { timeout: DOWN_MS + 10_000, interval: 50 });
      const pendingChecks = await gauge(poller, 'netpulse_cluster_checks_pending');
      const pendingWrites = await Promise.all(members.map((m) => gauge(m, 'netpulse_store_pending_writes')));
      const pgRestartAt = Date.now();
      await pg.restart();
      const pgBackAt = Date.now();

      // One leader again, every member in it, ready; the held checks delivered and taken in.
      await vi.waitFor(async () => {
        for (const m of members) expect(m.p.child.exitCode, `${m.name} exited:\n${cluster(m)}`).toBeNull();
        for (const m of members) expect((await clusterView(m))?.members.map((x) => x.id), cluster(m)).toEqual(NAMES);
        expect(await agreedLeader(members)).toBeDefined();
        for (const m of members) expect(probes.some((p) => p.member === m.name && p.at > pgBackAt && p.status === 200), m.name).toBe(true);
      }, { timeout: 30_000, interval: 100 });
      const clusterBackAt = Date.now();
      const outages = () => db.query<{ id: string; root: string; state: string; started_at: number }>('SELECT id, root, state, started_at FROM outages WHERE merged_into IS NULL ORDER BY started_at');
      await vi.waitFor(async () => {
        expect((await outages()).map((o) => [o.root, o.state]), JSON.stringify(await outages())).toEqual([['SW-1', 'open']]);
        expect(Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM forwarded_checks'))[0].n)).toBe(0);
        for (const m of members) {
          expect(await gauge(m, 'netpulse_cluster_checks_pending'), m.name).toBe(0);
          expect(await gauge(m, 'netpulse_store_pending_writes'), m.name).toBe(0);
          expect(await gauge(m, 'netpulse_cluster_checks_total{way="dropped"}'), m.name).toBe(0);
        }
      }, { timeout: 20_000, interval: 100 });
      const recordedAt = Date.now();
      probing = false;
      await prober;

      // Not ready while the store was away: no member said it was.
      const falseReady = probes.filter((p) => p.at > pgDownAt && p.at < pgRestartAt && p.status === 200);
      expect(falseReady, JSON.stringify(falseReady)).toEqual([]);
      // The switch's poller held its checks while the store was away (a follower's forwarding buffer).
      if (polledBy === 'a follower') expect(pendingChecks).toBeGreaterThan(0);
      // No member process exited; the deposed leader rejoined in-process.
      for (const m of members) expect(m.p.child.exitCode, `${m.name}:\n${cluster(m)}`).toBeNull();
      expect(leader.logs().some((l) => l.msg === 'rejoined the cluster as a follower'), cluster(leader)).toBe(true);
      const second = (await agreedLeader(members))!;
      // One new epoch: one takeover after the store came back, nobody led twice.
      const leadings = members.flatMap((m) => m.logs().filter((l) => l.msg === 'cluster: leading' && l.epoch > first.epoch).map((l) => `${m.name}@${l.epoch}`));
      expect(leadings, members.map(cluster).join('\n----\n')).toEqual([`${second.member}@${second.epoch}`]);
      expect(second.epoch).toBe(first.epoch + 1);

      // The outage, from the switch's first failing poll (after snmpd stopped, long before the store came back).
      const [outage] = await outages();
      const transitions = await db.query<{ element: string; at: number; from_state: string; to_state: string }>('SELECT element, at, from_state, to_state FROM health_transitions WHERE at >= $1 ORDER BY element, at', [snmpdStopAt - INTERVAL_MS]);
      const figures = {
        polledBy, leader: first.member, newLeader: second.member, switchPoller: switchOwner,
        pgDownMs: pgBackAt - pgStopAt, recoveryMs: clusterBackAt - pgBackAt, recordedMs: recordedAt - pgBackAt,
        outageStartAfterSnmpdStop: outage.started_at - snmpdStopAt, snmpdStopTookMs: snmpdDownAt - snmpdStopAt, outageStartBeforePgBack: pgBackAt - outage.started_at,
        pendingChecksOnPoller: pendingChecks, pendingWrites,
        readyz: Object.fromEntries(NAMES.map((n) => [n, probes.filter((p) => p.member === n && p.at > pgDownAt && p.at < pgBackAt).reduce((a, p) => ({ ...a, [p.status]: (a[p.status] ?? 0) + 1 }), {} as Record<number, number>)])),
        transitions: transitions.map((t) => `${t.element} ${t.from_state}->${t.to_state} @${t.at - snmpdStopAt}`),
      };
      console.log(JSON.stringify(figures, null, 1));
      expect(outage.started_at, JSON.stringify(figures)).toBeGreaterThanOrEqual(snmpdStopAt - INTERVAL_MS);
      expect(outage.started_at, JSON.stringify(figures)).toBeLessThanOrEqual(snmpdDownAt + INTERVAL_MS + TIMEOUT_MS + 200);
      // The switch's health transitions are stored: down once, at the outage's start.
      const sw = transitions.filter((t) => t.element === 'SW-1');
      expect(sw.map((t) => [t.to_state, t.at]), JSON.stringify(figures)).toEqual([['down', outage.started_at]]);
      // Nothing doubled: one transition per element and state.
      const keys = transitions.map((t) => `${t.element}>${t.to_state}`);
      expect(new Set(keys).size, JSON.stringify(figures)).toBe(keys.length);
      // (A base station's outage opened before the switch's and folded into it is not a failure of its own.)
      const opened = await db.query<{ outage_id: string }>(`SELECT e.outage_id FROM outage_events e JOIN outages o ON o.id = e.outage_id WHERE e.type = 'opened' AND o.merged_into IS NULL`);
      expect(opened.map((e) => e.outage_id)).toEqual([outage.id]);
    } finally {
      if (process.env.NP_DUMP) for (const m of members) writeFileSync(join(process.env.NP_DUMP, `${polledBy.replace(' ', '-')}-${m.name}.log`), m.p.output());
      probing = false;
      await prober;
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await db.close().catch(() => {});
      await snmpd.stop();
      await pg.stop();
    }
  });
});
