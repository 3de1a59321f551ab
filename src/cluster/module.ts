import { hostname } from 'node:os';
import { z } from 'zod';
import type { Kernel, Module } from '../module.ts';
import { bounded, module } from '../module.ts';
import { PollSchedule } from '../schedule.ts';
import { metric } from '../api/metrics.ts';
import { ok } from '../api/openapi.ts';
import { Cluster } from './cluster.ts';
import { owner } from './rendezvous.ts';
import { Store } from '../store/store.ts';
import { FencedDb } from '../store/fenced.ts';
import { StoreRecorder } from '../store/recorder.ts';
import { EventRelay } from './relay.ts';
import type { LeaderRoute } from '../api/forward.ts';

const clusterQuery = z.strictObject({ targets: z.enum(['true', 'false']).optional().describe('list the targets each member polls') });

/**
 * This instance in a cluster (`cluster.enabled`, on PostgreSQL): it keeps its membership and
 * leadership leases (see `Cluster`), and knows the living members, so `owns(target)` splits the
 * polled targets between them by rendezvous hashing: a member's death moves only its targets,
 * polled again by the others at their next due poll after its lease ran out. Until the first
 * member list is read, this instance owns every target (nothing goes unpolled at start).
 * `GET /v1/cluster` shows the members, the leader and its epoch, and how many targets each polls.
 */
export function clusterModule(k: Kernel, targets: () => readonly string[], apiPort: () => number | undefined) {
  const { config, log } = k;
  const me = config.cluster.member ?? `${hostname()}:${config.api?.port ?? 0}`;
  const lease = config.cluster.lease;
  let cluster: Cluster | undefined;
  const listeners: ((epoch: number | undefined) => void)[] = [];
  // The leader-only modules' store: every write fenced by this member's epoch, in an ordered writer of its own.
  let fencedStore: Store | undefined;
  let fencedRecorder: StoreRecorder | undefined;
  const leader: Kernel = {
    ...k,
    store: () => (fencedStore ??= new Store(new FencedDb(k.store().db, (fn) => (cluster ? cluster.fenced(fn) : Promise.reject(new Error('the cluster starts with the daemon')))))),
    // Up to 200 writes share a fenced transaction: the check and the lock are paid once, not per write.
    recorder: () => (k.recorder() ? (fencedRecorder ??= new StoreRecorder(leader.store(), log.child({ component: 'store', fenced: true }), 200)) : undefined),
    leads: () => cluster?.leads() ?? false,
  };
  let members: string[] | undefined;
  let view: Awaited<ReturnType<Cluster['status']>> | undefined;
  let relay: EventRelay | undefined;
  let stopExpiry = () => {};
  const advertised = () => {
    if (config.cluster.advertise) return config.cluster.advertise;
    const port = apiPort();
    if (!config.api || port === undefined) return undefined;
    const host = config.api.host === '0.0.0.0' || config.api.host === '::' ? hostname() : config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
    return `http://${host}:${port}`;
  };
  const schedule = new PollSchedule(1, (_key, err) => log.warn({ err }, 'cluster: cannot read the members'));
  // A member that just joined splits the targets as the others still do (without it) until they
  // have read the list again (a third of a lease): it takes its share only then, so no target is
  // polled by two members at a join.
  let joinedAt = 0;
  const refreshMs = Math.max(100, Math.floor(lease / 3));
  // Asked at every poll slot of every target: the answers are kept until the list (or the join window) changes.
  let answers = new Map<string, boolean>();
  let answered: { list: string[] | undefined; joining: boolean } = { list: undefined, joining: false };
  const owns = (target: string) => {
    if (members === undefined || members.length === 0) return true;
    const joining = performance.now() - joinedAt < refreshMs + 100;
    if (answered.list !== members || answered.joining !== joining) {
      answers = new Map();
      answered = { list: members, joining };
    }
    let mine = answers.get(target);
    if (mine === undefined) {
      const seen = joining ? members.filter((x) => x !== me) : members;
      mine = seen.length === 0 ? true : owner(target, seen) === me;
      answers.set(target, mine);
    }
    return mine;
  };

  const m: Module = module('cluster', 'every', async () => {
    cluster = new Cluster(k.store().db, { member: me, address: advertised, leaseMs: lease, log: log.child({ component: 'cluster' }) });
    for (const l of listeners) cluster.onLeadership(l);
    // The leader's live events reach every member's /v1/events.
    relay = new EventRelay(k.store().db, me, log.child({ component: 'relay' }));
    await relay.start(k.events);
    k.events.tap((e) => { if (cluster?.leads()) relay?.send(e); });
    await cluster.start();
    joinedAt = performance.now();
    // The member list is read every third of a lease, and again just after the first lease of
    // another member would run out: a dead member's targets move as soon as its lease has.
    let expiry: NodeJS.Timeout | undefined;
    // After the store was away every lease ran out: the members renew one by one, so for a lease the
    // list only grows (the targets stay where they were, and nothing polled twice or judged late).
    let failed = false;
    let keepUntil = 0;
    const refresh = async () => {
      try {
        view = await cluster!.status();
      } catch (err) {
        failed = true;
        throw err;
      }
      if (failed) keepUntil = performance.now() + lease;
      failed = false;
      let next = view.members.map((x) => x.id);
      if (members && performance.now() < keepUntil) next = [...new Set([...members, ...next])].sort();
      if (members && next.join() !== members.join()) log.info({ members: next }, 'cluster members changed: targets move');
      if (!members || next.join() !== members.join()) members = next; // the same list: `owns` keeps its answers
      const soonest = Math.min(...view.members.filter((x) => x.id !== me).map((x) => x.remainingMs));
      clearTimeout(expiry);
      if (Number.isFinite(soonest)) {
        expiry = setTimeout(() => void refresh().catch((err) => log.warn({ err }, 'cluster: cannot read the members')), soonest + 25);
        expiry.unref();
      }
    };
    stopExpiry = () => clearTimeout(expiry);
    await refresh();
    schedule.start([{ key: 'members', intervalMs: Math.max(100, Math.floor(lease / 3)), firstRunMs: Math.max(100, Math.floor(lease / 3)), run: refresh }]);
  }, async (deadline) => {
    await schedule.stop();
    stopExpiry();
    // What the leader-only modules queued is written (fenced) before the leadership is given up.
    if (fencedRecorder) await bounded(fencedRecorder.drain(Math.floor(Math.max(0, deadline - Date.now()) * 0.5)), deadline, 'fenced store writes', log);
    await cluster?.stop();
    await relay?.close();
  }, {
    metrics: () => metric('netpulse_cluster_members', 'gauge', 'Members whose lease runs, as this instance last read them.', [[{}, members?.length ?? 0]])
      + metric('netpulse_cluster_pending_writes', 'gauge', 'Leader-only store writes queued (fenced), as netpulse_store_pending_writes for the rest.', [[{}, fencedRecorder?.pending ?? 0]])
      + metric('netpulse_cluster_leading', 'gauge', 'Whether this instance leads (1) or follows (0), with its epoch.', [[{ member: me }, cluster?.epoch === undefined ? 0 : 1]])
      + metric('netpulse_cluster_epoch', 'gauge', 'The epoch this instance leads with (0: it follows).', [[{ member: me }, cluster?.epoch ?? 0]])
      + metric('netpulse_cluster_events_relayed_total', 'counter', 'Live events sent to the other members (as the leader) and received from the leader.', [[{ way: 'sent' }, relay?.sent ?? 0], [{ way: 'received' }, relay?.received ?? 0], [{ way: 'failed' }, relay?.failed ?? 0]])
      + metric('netpulse_cluster_fenced_writes_total', 'counter', 'Leader-only writes the fencing check refused (this instance wrote as a leader it no longer was).', [[{ member: me }, Cluster.refusedWrites]]),
    routes: ({ route, roles }) => route({
      method: 'GET', url: '/v1/cluster', roles: roles.READ, query: clusterQuery,
      summary: 'The cluster: its members (leases), the leader and its epoch, and how many targets each member polls (which ones with ?targets=true)',
      responses: ok('The cluster'),
    }, async (_req, _reply, input) => {
      const list = input.query().targets === 'true';
      const s = await cluster!.status();
      const all = targets();
      const ids = s.members.map((x) => x.id);
      return {
        member: me, leading: cluster!.epoch !== undefined,
        leader: s.leader ? { member: s.leader.member, epoch: s.leader.epoch, leaseUntil: new Date(s.leader.leaseUntil).toISOString() } : null,
        members: s.members.map((x) => {
          const polled = all.filter((t) => owner(t, ids) === x.id);
          return { id: x.id, address: x.address, leaseUntil: new Date(x.leaseUntil).toISOString(), targets: polled.length, ...(list && { polls: polled }) };
        }),
      };
    }),
  });
  return {
    module: m, owns, member: () => me, cluster: () => cluster,
    /** The kernel the leader-only modules are built with: the same, but their writes are fenced. */
    leader,
    /** Called with the epoch when this member takes the leadership, with undefined when it loses it. */
    onLeadership: (l: (epoch: number | undefined) => void) => { listeners.push(l); cluster?.onLeadership(l); },
    /** Where requests for the leader go (see api/forward.ts); `up`: this member's leader-only modules are started. */
    route: (up: () => boolean): LeaderRoute => ({
      member: me,
      target: () => {
        // Holding an epoch whose lease ran out by its own clock (cut off from the store, or paused): nobody to send to.
        if (cluster?.epoch !== undefined) return cluster.leads() && up() ? 'self' : undefined;
        const leader = view?.leader && view.members.find((x) => x.id === view!.leader!.member);
        return leader?.address ?? undefined;
      },
    }),
  };
}
