import { hostname } from 'node:os';
import type { Kernel, Module } from '../module.ts';
import { module } from '../module.ts';
import { PollSchedule } from '../schedule.ts';
import { metric } from '../api/metrics.ts';
import { ok } from '../api/openapi.ts';
import { Cluster } from './cluster.ts';
import { owner } from './rendezvous.ts';

/**
 * This instance in a cluster (`cluster.enabled`, on PostgreSQL): it keeps its membership and
 * leadership leases (see `Cluster`), and knows the living members, so `owns(target)` splits the
 * polled targets between them by rendezvous hashing: a member's death moves only its targets,
 * polled again by the others at their next due poll after its lease ran out. Until the first
 * member list is read, this instance owns every target (nothing goes unpolled at start).
 * `GET /v1/cluster` shows the members, the leader and its epoch, and how many targets each polls.
 */
export function clusterModule(k: Kernel, targets: () => readonly string[]) {
  const { config, log } = k;
  const me = config.cluster.member ?? `${hostname()}:${config.api?.port ?? 0}`;
  const lease = config.cluster.lease;
  let cluster: Cluster | undefined;
  let members: string[] | undefined;
  const schedule = new PollSchedule(1, (_key, err) => log.warn({ err }, 'cluster: cannot read the members'));
  const owns = (target: string) => members === undefined || members.length === 0 || owner(target, members) === me;

  const m: Module = module('cluster', 'every', async () => {
    cluster = new Cluster(k.store().db, { member: me, address: config.api ? `${config.api.host}:${config.api.port}` : undefined, leaseMs: lease, log: log.child({ component: 'cluster' }) });
    await cluster.start();
    const refresh = async () => {
      const next = (await cluster!.status()).members.map((x) => x.id);
      if (members && next.join() !== members.join()) log.info({ members: next }, 'cluster members changed: targets move');
      members = next;
    };
    await refresh();
    schedule.start([{ key: 'members', intervalMs: Math.max(100, Math.floor(lease / 3)), firstRunMs: Math.max(100, Math.floor(lease / 3)), run: refresh }]);
  }, async () => {
    await schedule.stop();
    await cluster?.stop();
  }, {
    metrics: () => metric('netpulse_cluster_members', 'gauge', 'Members whose lease runs, as this instance last read them.', [[{}, members?.length ?? 0]])
      + metric('netpulse_cluster_leading', 'gauge', 'Whether this instance leads (1) or follows (0), with its epoch.', [[{ member: me }, cluster?.epoch === undefined ? 0 : 1]])
      + metric('netpulse_cluster_epoch', 'gauge', 'The epoch this instance leads with (0: it follows).', [[{ member: me }, cluster?.epoch ?? 0]]),
    routes: ({ route, roles }) => route({
      method: 'GET', url: '/v1/cluster', roles: roles.READ,
      summary: 'The cluster: its members (leases), the leader and its epoch, and how many targets each member polls',
      responses: ok('The cluster'),
    }, async () => {
      const s = await cluster!.status();
      const all = targets();
      const ids = s.members.map((x) => x.id);
      return {
        member: me, leading: cluster!.epoch !== undefined,
        leader: s.leader ? { member: s.leader.member, epoch: s.leader.epoch, leaseUntil: new Date(s.leader.leaseUntil).toISOString() } : null,
        members: s.members.map((x) => ({ id: x.id, address: x.address, leaseUntil: new Date(x.leaseUntil).toISOString(), targets: all.filter((t) => owner(t, ids) === x.id).length })),
      };
    }),
  });
  return { module: m, owns, cluster: () => cluster };
}
