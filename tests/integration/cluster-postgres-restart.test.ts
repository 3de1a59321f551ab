import { describe, it, expect, vi, onTestFailed } from 'vitest';
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
/** How long PostgreSQL stays down: well past the lease, so the leader steps down meanwhile. */
const DOWN_MS = 5000;

/** Who leads, as every member agrees (each must answer); undefined while they do not. */
async function agreedLeader(members: readonly Member[]): Promise<{ member: string; epoch: number } | undefined> {
  const views = await Promise.all(members.map(clusterView));
  if (views.some((v) => v === undefined)) return undefined;
  const leaders = new Set(views.map((v) => v!.leader && `${v!.leader.member}@${v!.leader.epoch}`));
  if (leaders.size !== 1 || !views[0]!.leader) return undefined;
  return views[0]!.leader;
}

/** One sample of a member's self metrics, by its full name with labels (undefined while it does not answer). */
async function sample(m: Member, name: string): Promise<number | undefined> {
  try {
    const line = (await (await m.get('/metrics')).text()).split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  } catch {
    return undefined;
  }
}

/** A member's log about the cluster, the store and forwarding (and how it died, if it did), one short line each, for failure messages. */
const story = (m: Member) => m.p.output().split('\n').flatMap((l) => {
  if (!l.startsWith('{')) return /Error|throw|at /.test(l) ? [l] : [];
  let j: Record<string, any>;
  try { j = JSON.parse(l); } catch { return []; }
  const msg = String(j.msg ?? '');
  if (j.component === 'collector' || /cannot read the members|relay: connection to the store lost/.test(msg)) return [];
  const { level: _l, time, pid: _p, msg: _m, err, component, ...rest } = j;
  return [`${new Date(time).toISOString().slice(11, 23)} ${component ?? '-'} ${msg} ${JSON.stringify(rest)}${err ? ` (${String(err.message).slice(0, 100)})` : ''}`];
}).join('\n').slice(-8000);

/** `p`, failing at once (with its output) when a member's process exits before it settles: no member may exit here. */
function whileAlive<T>(members: readonly Member[], p: Promise<T>): Promise<T> {
  let settled = false;
  const died = new Promise<never>((_, reject) => {
    for (const m of members) {
      void m.p.exited().then((code) => {
        if (!settled) reject(new Error(`${m.name} exited (code ${code}, signal ${m.p.child.signalCode}):\n${m.p.output().slice(-4000)}`));
      });
    }
  });
  died.catch(() => {});
  return Promise.race([p, died]).finally(() => { settled = true; });
}

describe('PostgreSQL restarted under a three-member cluster (issue 19)', () => {
  // The switch's checks reach the leader through a follower's forwarding buffer, or they are the leader's own.
  it.each([['a follower'], ['the leader']])('the members hold their writes and resume; the switch failure while the store was away is recorded once, from its first failing poll (switch polled by %s)', { timeout: 90_000 }, async (polledBy) => {
    const pg = await startPostgres();
    const snmpd = await startSnmpd();
    const dir = tempDir('cluster-pg-restart');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${TOPOLOGY.join('\n')}\n`);
    const config = {
      store: { url: pg.url }, cluster: { lease: `${LEASE_MS}ms` }, topology: { file: join(dir, 'topology.yaml') },
      snmp: { defaults: { interval: `${INTERVAL_MS}ms`, timeout: `${TIMEOUT_MS}ms`, retries: 0 }, targets: ELEMENTS.map((e) => ({ name: e.toLowerCase(), element: e, host: '127.0.0.1', port: snmpd.port, profiles: ['system'] })) },
      outages: { evaluateEvery: '100ms' },
    };
    // Who polls the switch while all three members are up; the member started first leads.
    const switchPoller = owner('sw-1', NAMES)!;
    const firstName = polledBy === 'the leader' ? switchPoller : NAMES.find((n) => n !== switchPoller)!;
    const members: Member[] = [];
    const db = new PostgresDb(pg.url);
    const probes: { member: string; at: number; status: number; body: string }[] = [];
    let stopProbing = async () => {};
    onTestFailed(() => console.log(`${members.map((m) => `---- ${m.name}\n${story(m)}`).join('\n')}\n---- PostgreSQL (the end of its log)\n${pg.output().slice(-3000)}`));
    try {
      members.push(member(dir, firstName, config));
      await whileAlive(members, vi.waitFor(async () => expect((await clusterView(members[0]))?.leader?.member, story(members[0])).toBe(firstName), { timeout: 30_000, interval: 100 }));
      for (const n of NAMES.filter((x) => x !== firstName)) members.push(member(dir, n, config));
      await whileAlive(members, vi.waitFor(async () => {
        for (const m of members) expect((await clusterView(m))?.members.map((x) => x.id), story(m)).toEqual(NAMES);
        expect((await agreedLeader(members))?.member).toBe(firstName);
      }, { timeout: 30_000, interval: 100 }));
      const first = (await agreedLeader(members))!;
      const leader = members.find((m) => m.name === first.member)!;
      const poller = members.find((m) => m.name === switchPoller)!;
      // Under load: every element judged up, the followers' checks taken in by the leader.
      await whileAlive(members, vi.waitFor(async () => {
        const up = await db.query<{ element: string }>(`SELECT DISTINCT element FROM health_transitions WHERE to_state = 'up'`);
        expect(up.map((r) => r.element).sort()).toEqual([...ELEMENTS].sort());
        expect(await sample(leader, 'netpulse_cluster_checks_total{way="consumed"}')).toBeGreaterThan(0);
      }, { timeout: 15_000, interval: 100 }));

      // Every member's /readyz, sampled all along (a member that rejoins listens again on another port).
      // A sampler on an interval (a probe round never overlaps the last): no wait in the test's own flow.
      const probeAll = () => Promise.all(members.map(async (m) => {
        const url = m.url();
        if (!url) return;
        const at = Date.now();
        try {
          const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
          probes.push({ member: m.name, at, status: r.status, body: await r.text() });
        } catch (err) {
          probes.push({ member: m.name, at, status: 0, body: (err as Error).message }); // not listening (rejoining) or too slow
        }
      })).then(() => {});
      let round: Promise<void> | undefined;
      const sampler = setInterval(() => { round ??= probeAll().finally(() => { round = undefined; }); }, 100);
      stopProbing = async () => {
        clearInterval(sampler);
        await round;
      };
      const readyz = (n: string, from: number, to = Infinity) => probes.filter((p) => p.member === n && p.at > from && p.at < to);

      // PostgreSQL goes away (a fast shutdown: the members' connections are cut)...
      const pgStopAt = Date.now();
      await pg.stop();
      const pgDownAt = Date.now();
      // ...and while it is away the switch (and everything behind it, on the same agent) stops answering.
      const snmpdStopAt = Date.now();
      await snmpd.stop();
      const snmpdDownAt = Date.now();
      // Away for longer than the lease: the leader stops acting by its own clock (nothing leaves it) but keeps
      // its epoch and what it judged; every member says it is not ready.
      await whileAlive(members, vi.waitFor(() => {
        for (const m of members) expect(readyz(m.name, pgStopAt).some((p) => p.status === 503), `${m.name}: ${JSON.stringify(readyz(m.name, pgStopAt).map((p) => [p.at - pgStopAt, p.status]))}\n${story(m)}`).toBe(true);
        expect(Date.now() - pgStopAt).toBeGreaterThanOrEqual(DOWN_MS);
      }, { timeout: DOWN_MS + 10_000, interval: 50 }));
      const heldChecks = await sample(poller, 'netpulse_cluster_checks_pending');
      const pgRestartAt = Date.now();
      await pg.restart(); // the same port and data directory
      const pgBackAt = Date.now();

      // One leader again, all three members in it, each ready.
      await whileAlive(members, vi.waitFor(async () => {
        for (const m of members) expect((await clusterView(m))?.members.map((x) => x.id), story(m)).toEqual(NAMES);
        expect(await agreedLeader(members)).toBeDefined();
        for (const m of members) expect(readyz(m.name, pgBackAt).some((p) => p.status === 200), m.name).toBe(true);
      }, { timeout: 30_000, interval: 100 }));
      const clusterBackAt = Date.now();
      // The failure recorded (the switch's outage; every element's health), and what the members held while the
      // store was away written and taken in. (Checks flow all the time, the agent's failures too: drained means that
      // no check from before the store came back is still queued anywhere, and no member's buffer holds more than
      // the last moment's checks.)
      const outages = () => db.query<{ id: string; root: string; state: string; started_at: number }>('SELECT id, root, state, started_at FROM outages WHERE merged_into IS NULL ORDER BY started_at');
      const queued = async () => (await db.query<{ member: string; n: number }>('SELECT member, COUNT(*) AS n FROM forwarded_check_batches WHERE first_at < $1 GROUP BY member ORDER BY member', [pgBackAt])).map((r) => `${r.member}: ${r.n}`);
      await whileAlive(members, vi.waitFor(async () => {
        expect((await outages()).map((o) => [o.root, o.state]), JSON.stringify(await outages())).toEqual([['SW-1', 'open']]);
        const down = await db.query<{ element: string }>(`SELECT DISTINCT element FROM health_transitions WHERE to_state = 'down' AND at >= $1`, [snmpdStopAt - INTERVAL_MS]);
        expect(down.map((r) => r.element).sort()).toEqual([...ELEMENTS].sort());
        expect(await queued(), 'forwarded checks from before the store came back, not taken in').toEqual([]);
        for (const m of members) {
          expect(await sample(m, 'netpulse_cluster_checks_pending'), `${m.name}: checks waiting to be forwarded`).toBeLessThanOrEqual(10);
          expect(await sample(m, 'netpulse_store_pending_writes'), `${m.name}: store writes queued`).toBe(0);
          expect(await sample(m, 'netpulse_cluster_checks_total{way="dropped"}'), `${m.name}: checks dropped`).toBe(0);
        }
      }, { timeout: 20_000, interval: 100 }));
      const recordedAt = Date.now();
      await stopProbing();

      const [outage] = await outages();
      const second = (await agreedLeader(members))!;
      const leadings = members.flatMap((m) => m.logs().filter((l) => l.msg === 'cluster: leading' && l.epoch > first.epoch).map((l) => `${m.name}@${l.epoch}`));
      const transitions = await db.query<{ element: string; at: number; to_state: string }>('SELECT element, at, to_state FROM health_transitions WHERE at >= $1 ORDER BY element, at', [snmpdStopAt - INTERVAL_MS]);
      const figures = {
        polledBy, leader: first, newLeader: second, leadings, switchPoller, heldChecks,
        pgStopTookMs: pgDownAt - pgStopAt, pgDownMs: pgBackAt - pgStopAt, clusterBackMs: clusterBackAt - pgBackAt, recordedMs: recordedAt - pgBackAt,
        outageStartAfterSnmpdStopMs: outage.started_at - snmpdStopAt, outageStartBeforePgBackMs: pgBackAt - outage.started_at,
        readyzWhileDown: Object.fromEntries(NAMES.map((n) => [n, readyz(n, pgDownAt, pgRestartAt).reduce((a, p) => ({ ...a, [p.status]: (a[p.status] ?? 0) + 1 }), {} as Record<number, number>)])),
        transitionsAfterSnmpdStopMs: transitions.map((t) => `${t.element}>${t.to_state}@${t.at - snmpdStopAt}`),
      };
      console.log(JSON.stringify(figures));
      const why = JSON.stringify(figures);

      // Each of these is checked (and reported) on its own.
      // No member process exited; the leader was not deposed: nobody could take over while the store was away,
      // and once it was back the leader renewed first (the others give it a lease to).
      for (const m of members) expect.soft(m.p.child.exitCode, m.name).toBeNull();
      expect.soft(leader.logs().some((l) => l.msg === 'cluster: no longer the leader'), story(leader)).toBe(false);
      // Never ready while the store was away.
      expect.soft(NAMES.flatMap((n) => readyz(n, pgDownAt, pgRestartAt).filter((p) => p.status === 200)), why).toEqual([]);
      // A follower held the switch's checks while the store was away.
      if (polledBy === 'a follower') expect.soft(heldChecks, why).toBeGreaterThan(0);
      // No takeover: the same leader with the same epoch, its judgement of the failure kept.
      expect.soft(leadings, why).toEqual([]);
      expect.soft([second.member, second.epoch], why).toEqual([first.member, first.epoch]);
      // The outage began at the first failing poll after snmpd stopped (a poll or two, and its timeout): not when the store came back.
      const firstFailingPoll = (at: number) => at >= snmpdStopAt - INTERVAL_MS && at <= snmpdDownAt + 2 * INTERVAL_MS + TIMEOUT_MS + 200;
      expect.soft(firstFailingPoll(outage.started_at), why).toBe(true);
      // The switch's health transition is stored, once, dated at its own first failing poll...
      const sw = transitions.filter((t) => t.element === 'SW-1');
      expect.soft(sw.map((t) => t.to_state), why).toEqual(['down']);
      expect.soft(firstFailingPoll(sw[0]?.at ?? NaN), why).toBe(true);
      // ...and so is every base station's, whichever member polled it: nothing judged while the store was away is lost.
      expect.soft(transitions.filter((t) => !firstFailingPoll(t.at)).map((t) => `${t.element}>${t.to_state}@${t.at - snmpdStopAt}`), why).toEqual([]);
      // Nothing stored twice.
      const keys = transitions.map((t) => `${t.element}>${t.to_state}`);
      expect.soft(keys.filter((k, i) => keys.indexOf(k) !== i), why).toEqual([]);
      // Opened once (a base station's outage opened before the switch's and folded into it is no failure of its own).
      const opened = await db.query<{ outage_id: string }>(`SELECT e.outage_id FROM outage_events e JOIN outages o ON o.id = e.outage_id WHERE e.type = 'opened' AND o.merged_into IS NULL`);
      expect.soft(opened.map((e) => e.outage_id), why).toEqual([outage.id]);
    } finally {
      await stopProbing();
      await Promise.all(members.map((m) => m.p.stop('SIGKILL')));
      await db.close().catch(() => {});
      await snmpd.stop();
      await pg.stop();
    }
  });
});
