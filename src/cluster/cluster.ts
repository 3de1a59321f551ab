import type { Db } from '../store/db.ts';
import type { Logger } from '../log.ts';
import { ClusterRepository, FencedOut } from './repository.ts';

export interface ClusterOptions {
  /** This instance's id, unique in the cluster. */
  member: string;
  /** Where its API answers, for the other members (read at each renewal: the port is known once the API listens). */
  address?: () => string | undefined;
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
  private readonly o: Required<Omit<ClusterOptions, 'address'>> & Pick<ClusterOptions, 'address'>;
  private timer: NodeJS.Timeout | undefined;
  private leading: { epoch: number; renewedAt: number } | undefined;
  private failing = false;
  private readonly listeners: ((epoch: number | undefined) => void)[] = [];
  private ticking: Promise<void> | undefined;
  private takeover: NodeJS.Timeout | undefined;
  private refusalLogged = false;
  private halted = false;
  private holdOffUntil = -Infinity;

  constructor(db: Db, o: ClusterOptions) {
    this.db = db;
    this.repo = new ClusterRepository(db);
    this.o = { heartbeatMs: Math.max(100, Math.floor(o.leaseMs / 3)), monotonic: () => performance.now(), ...o };
  }

  /** Called with the epoch when this member becomes the leader, and with undefined when it stops being it. */
  onLeadership(l: (epoch: number | undefined) => void): void {
    this.listeners.push(l);
  }

  /** The epoch this member last led with, as far as it knows (the database decides: see `fenced`). */
  get epoch(): number | undefined {
    return this.leading?.epoch;
  }

  /**
   * Whether this member leads and its lease, by its own monotonic clock, still runs: a process
   * that was paused (SIGSTOP, a GC stall) knows at once that its lease ran out, before any
   * renewal. What leaves the process (a page, a message) checks this just before it goes.
   */
  leads(): boolean {
    return this.leading !== undefined && this.o.monotonic() - this.leading.renewedAt < this.o.leaseMs;
  }

  /** Leader-only writes the database's fencing check refused in this process (a deposed leader's): kept across the daemons it runs in turn. */
  static refusedWrites = 0;

  async start(): Promise<void> {
    if (this.timer) return;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.heartbeatMs);
    this.timer.unref();
  }

  /** Renews the membership and tries (or keeps) the leadership; the timer calls it, tests may too. */
  tick(): Promise<void> {
    // A renewal that hangs (a connection black-holed by a partition) counts as failed after a lease, so the next can run.
    let watchdog: NodeJS.Timeout | undefined;
    this.ticking ??= Promise.race([this.renew(), new Promise<void>((r) => {
      watchdog = setTimeout(() => {
        if (!this.failing) this.o.log.error({ member: this.o.member }, 'cluster lease renewal hangs; counted as failed');
        this.failing = true;
        r();
      }, this.o.leaseMs);
      watchdog.unref();
    })]).finally(() => {
      clearTimeout(watchdog);
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Renews nothing more (a deposed daemon, until it is stopped): it must not take the leadership back. */
  halt(): void {
    this.halted = true;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.takeover);
  }

  private async renew(): Promise<void> {
    if (this.halted) return;
    const started = this.o.monotonic();
    try {
      await this.repo.heartbeat(this.o.member, this.o.address?.(), this.o.leaseMs);
      if (this.leading) {
        // The leader renews through the fencing check, as any leader-only write: after a pause
        // past its lease, this first write is refused there, and it steps down.
        try {
          const epoch = this.leading.epoch;
          await this.fenced((tx) => this.repo.renew(tx, epoch, this.o.leaseMs));
          this.leading.renewedAt = started;
          this.recovered();
          return;
        } catch (err) {
          if (!(err instanceof FencedOut)) throw err;
          return; // refused and stepped down; the next renewal looks for the leader
        }
      }
      // Back in touch after the store was away: every lease ran out meanwhile, the leader's too. It
      // gets a lease to renew (and lead on with what it holds) before anybody takes over.
      if (this.recovered()) this.holdOffUntil = this.o.monotonic() + this.o.leaseMs;
      if (this.o.monotonic() < this.holdOffUntil) return;
      const lead = await this.repo.lead(this.o.member, this.o.leaseMs);
      if (lead) this.change(lead.epoch, started);
      else {
        // A standby tries again just after the leader's lease would run out, not a heartbeat later.
        const held = await this.repo.leader();
        clearTimeout(this.takeover);
        if (held && this.timer) {
          this.takeover = setTimeout(() => void this.tick(), held.remainingMs + 25);
          this.takeover.unref();
        }
      }
    } catch (err) {
      // A takeover that waited its lock_timeout out (the old leader's writes still in flight): not now, not a store outage.
      if ((err as { code?: string }).code === '55P03') return;
      if (!this.failing) this.o.log.error({ err, member: this.o.member }, 'cluster lease renewal failed');
      this.failing = true;
      // Unable to renew: past its lease this member stops acting as the leader by its own clock
      // (`leads()`: nothing leaves the process), but keeps its epoch. Back in touch, it leads on
      // if nobody took over (its epoch is still the row's), and is deposed if somebody did.
    }
  }

  /** The store answers: true when it did not a moment ago. */
  private recovered(): boolean {
    const was = this.failing;
    if (was) this.o.log.info({ member: this.o.member }, 'cluster store reachable again');
    this.failing = false;
    return was;
  }

  private change(epoch: number | undefined, at: number): void {
    const was = this.leading?.epoch;
    this.leading = epoch === undefined ? undefined : { epoch, renewedAt: at };
    if (epoch !== undefined) this.refusalLogged = false;
    this.o.log.info({ member: this.o.member, epoch, was }, epoch === undefined ? 'cluster: no longer the leader' : 'cluster: leading');
    for (const l of this.listeners) l(epoch);
  }

  /**
   * Runs a leader-only write in one transaction that first checks, in the database, that this
   * member's epoch still leads with a running lease, holding the fencing lock shared until it
   * commits (a takeover waits for it). Throws FencedOut when it does not: the write is not made.
   */
  readonly fenced = <T>(fn: (tx: Db) => Promise<T>): Promise<T> => {
    // The database decides, not this process's view of its lease: a write tried after a pause goes
    // there with the epoch it led with, and is refused there when another member took over.
    const epoch = this.leading?.epoch;
    if (epoch === undefined) return Promise.reject(this.refuse(new FencedOut(0)));
    return this.db.transaction(async (tx) => {
      await this.repo.fence(tx, epoch, this.o.leaseMs / 2);
      return fn(tx);
    }).catch((err: unknown) => {
      throw err instanceof FencedOut ? this.refuse(err, true) : err;
    });
  };

  /**
   * A refused write: counted, logged, and this member is not the leader any more. The database's
   * refusals (a write tried with an epoch that lost the lease) are each logged; refusals here, of
   * writes tried once this member knew it did not lead, once per lost leadership.
   */
  private refuse(err: FencedOut, inDatabase = false): FencedOut {
    if (inDatabase) Cluster.refusedWrites++;
    if (inDatabase) this.o.log.error({ member: this.o.member, epoch: err.epoch }, 'cluster: a leader-only write was refused by the fencing check in the database (another member leads)');
    else if (!this.refusalLogged) this.o.log.warn({ member: this.o.member }, 'cluster: leader-only writes refused: this member does not lead');
    this.refusalLogged = !inDatabase;
    if (this.leading) this.change(undefined, this.o.monotonic());
    return err;
  }

  /** The members whose leases run, and the leader with its epoch. */
  async status(): Promise<{ member: string; members: { id: string; address: string | null; leaseUntil: number; remainingMs: number }[]; leader?: { member: string; epoch: number; leaseUntil: number; remainingMs: number } }> {
    const [members, leader] = await Promise.all([this.repo.members(), this.repo.leader()]);
    return { member: this.o.member, members, ...(leader && { leader }) };
  }

  /** Leaves the cluster: the membership goes and, if this member led, a standby takes over at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.takeover);
    await this.ticking;
    if (this.leading) this.change(undefined, this.o.monotonic());
    await this.repo.leave(this.o.member).catch((err) => this.o.log.warn({ err }, 'cluster: could not say goodbye (the lease will run out)'));
  }
}
