import type { Db } from '../store/db.ts';
import type { Logger } from '../log.ts';
import { ClusterRepository, FencedOut } from './repository.ts';

export interface ClusterOptions {
  /** This instance's id, unique in the cluster. */
  member: string;
  /** Where its API answers (for `GET /v1/cluster`). */
  address?: string;
  /** A member (and the leader) not renewed for this long is out. */
  leaseMs: number;
  /** How often leases are renewed (well under `leaseMs`: a third of it by default). */
  heartbeatMs?: number;
  log: Logger;
  /** A monotonic clock for the leader's own view of its lease (performance.now by default). */
  monotonic?: () => number;
}

/**
 * One instance's place in a cluster of netpulse instances sharing a PostgreSQL store: it renews
 * its membership lease and, if no other member holds a running leadership lease, takes it, with an
 * epoch that grows at each change of leader. Every leader-only write goes through `fenced`, which
 * checks in the write's own transaction that this epoch still leads, so a deposed leader that
 * wakes up after a long pause (SIGSTOP, a GC stall, a partition) cannot write. A leader that cannot
 * renew for a lease (the database unreachable) steps down on its own, by its monotonic clock.
 */
export class Cluster {
  private readonly repo: ClusterRepository;
  private readonly db: Db;
  private readonly o: Required<Omit<ClusterOptions, 'address'>> & { address?: string };
  private timer: NodeJS.Timeout | undefined;
  private leading: { epoch: number; renewedAt: number } | undefined;
  private failing = false;
  private readonly listeners: ((epoch: number | undefined) => void)[] = [];
  private ticking: Promise<void> | undefined;

  constructor(db: Db, o: ClusterOptions) {
    this.db = db;
    this.repo = new ClusterRepository(db);
    this.o = { heartbeatMs: Math.max(100, Math.floor(o.leaseMs / 3)), monotonic: () => performance.now(), ...o };
  }

  /** Called with the epoch when this member becomes the leader, and with undefined when it stops being it. */
  onLeadership(l: (epoch: number | undefined) => void): void {
    this.listeners.push(l);
  }

  /** The epoch this member leads with, or undefined when it does not lead. */
  get epoch(): number | undefined {
    return this.leading?.epoch;
  }

  async start(): Promise<void> {
    if (this.timer) return;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.heartbeatMs);
    this.timer.unref();
  }

  /** Renews the membership and tries (or keeps) the leadership; the timer calls it, tests may too. */
  tick(): Promise<void> {
    this.ticking ??= this.renew().finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  private async renew(): Promise<void> {
    const started = this.o.monotonic();
    try {
      await this.repo.heartbeat(this.o.member, this.o.address, this.o.leaseMs);
      const lead = await this.repo.lead(this.o.member, this.o.leaseMs);
      if (this.failing) this.o.log.info({ member: this.o.member }, 'cluster store reachable again');
      this.failing = false;
      if (lead && lead.epoch !== this.leading?.epoch) this.change(lead.epoch, started);
      else if (lead) this.leading!.renewedAt = started;
      else if (this.leading) this.change(undefined, started);
    } catch (err) {
      if (!this.failing) this.o.log.error({ err, member: this.o.member }, 'cluster lease renewal failed');
      this.failing = true;
      // Unable to renew for a lease: assume another member took over (it may have), and step down.
      if (this.leading && this.o.monotonic() - this.leading.renewedAt >= this.o.leaseMs - this.o.heartbeatMs) this.change(undefined, started);
    }
  }

  private change(epoch: number | undefined, at: number): void {
    const was = this.leading?.epoch;
    this.leading = epoch === undefined ? undefined : { epoch, renewedAt: at };
    this.o.log.info({ member: this.o.member, epoch, was }, epoch === undefined ? 'cluster: no longer the leader' : 'cluster: leading');
    for (const l of this.listeners) l(epoch);
  }

  /**
   * Runs a leader-only write in one transaction that first checks this member's epoch still
   * leads (and holds the leader row against a takeover until it commits). Throws FencedOut when
   * it does not: the write is not made.
   */
  fenced<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const epoch = this.leading?.epoch;
    if (epoch === undefined) return Promise.reject(new FencedOut(0));
    return this.db.transaction(async (tx) => {
      await this.repo.fence(tx, epoch);
      return fn(tx);
    });
  }

  /** The members whose leases run, and the leader with its epoch. */
  async status(): Promise<{ member: string; members: { id: string; address: string | null; leaseUntil: number }[]; leader?: { member: string; epoch: number; leaseUntil: number } }> {
    const [members, leader] = await Promise.all([this.repo.members(), this.repo.leader()]);
    return { member: this.o.member, members, ...(leader && { leader }) };
  }

  /** Leaves the cluster: the membership goes and, if this member led, a standby takes over at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    if (this.leading) this.change(undefined, this.o.monotonic());
    await this.repo.leave(this.o.member).catch((err) => this.o.log.warn({ err }, 'cluster: could not say goodbye (the lease will run out)'));
  }
}
