import type { Logger } from '../log.ts';
import { bounded, type Module } from '../module.ts';

/**
 * Starts and stops a daemon's modules in order. Without a cluster that is all. In a cluster, the
 * modules that run on the leader only start when this member takes the leadership (after the
 * others are up, in their order), and losing it calls `deposed` once: modules cannot be taken
 * back, so the caller replaces the whole daemon with a follower.
 */
export class ModuleRunner {
  private readonly modules: readonly Module[];
  private readonly gated: (m: Module) => boolean;
  private readonly log: Logger;
  private readonly deposed: () => void;
  private readonly up = new Set<Module>();
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private leading: Promise<void> | undefined;
  private wasDeposed = false;
  /** Every module that runs everywhere is up. */
  started = false;
  /** The leader-only modules are up (always false outside a cluster: they start with the rest). */
  leaderUp = false;

  constructor(modules: readonly Module[], o: { cluster: boolean; log: Logger; deposed: () => void }) {
    this.modules = modules;
    this.gated = (m) => o.cluster && m.runs === 'leader';
    this.log = o.log;
    this.deposed = o.deposed;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      for (const m of this.modules) {
        if (this.gated(m)) continue;
        this.up.add(m);
        await m.start();
      }
      this.started = true;
    })();
    return this.starting;
  }

  /** The cluster's news: this member leads with `epoch`, or (undefined) does not any more. */
  leadership(epoch: number | undefined, member: string): void {
    if (epoch !== undefined && !this.leading && !this.stopping) {
      this.leading = (async () => {
        await this.starting;
        for (const m of this.modules) {
          if (!this.gated(m) || this.stopping) continue;
          this.up.add(m);
          await m.start();
        }
        this.leaderUp = !this.stopping;
        this.log.info({ member, epoch }, 'leading: correlation, impact, paging and settlement run here');
      })().catch((err) => {
        this.log.error({ err }, 'cannot start as the leader; stepping down');
        this.depose(member);
      });
    } else if (epoch === undefined && this.leading) this.depose(member);
  }

  private depose(member: string): void {
    if (this.wasDeposed || this.stopping) return;
    this.wasDeposed = true;
    this.leaderUp = false;
    this.log.warn({ member }, 'no longer the leader: this daemon stops; a new one joins as a follower');
    this.deposed();
  }

  /** Stops what was started, in reverse order, by `deadline`; idempotent. */
  stop(deadline: number): Promise<void> {
    if (!this.starting) return Promise.resolve(); // nothing started: nothing to stop (a later start stays stoppable)
    this.stopping ??= (async () => {
      await bounded(this.leading?.catch(() => {}) ?? Promise.resolve(), deadline, 'taking the leadership', this.log);
      for (const m of [...this.modules].reverse()) {
        if (this.up.has(m)) await m.stop(deadline).catch((err) => this.log.error({ err, module: m.name }, 'stopping a module failed'));
      }
    })();
    return this.stopping;
  }
}
