import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import type { Pipeline } from './pipeline.ts';
import type { Store } from './store/store.ts';
import type { StoreRecorder } from './store/recorder.ts';
import type { Topology } from './topology/topology.ts';
import type { EventHub } from './events.ts';
import type { RouteContext } from './api/http.ts';

/** The time every module reads: injected, so a test can run the daemon on a fake clock. */
export interface Clock {
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/**
 * One part of the daemon with a life of its own. The daemon is an ordered list of them: started in
 * order, stopped in reverse (what feeds another stops first, so in-flight data drains), each
 * `stop` by the shared deadline. `runs` says where it runs when several instances share the work:
 * on every instance (collectors, the API) or on the leader only (correlation, paging, settlement).
 */
export interface Module {
  readonly name: string;
  readonly runs: 'every' | 'leader';
  /** Brings it up; the modules before it are up. Called once. */
  start(): Promise<void>;
  /** Stops it by `deadline` (epoch ms), draining what it holds until then. Idempotent. */
  stop(deadline: number): Promise<void>;
  /** Its own metrics in Prometheus text format, when it has any. */
  metrics?(): string;
  /** Registers its HTTP routes (under /v1) with the API shell, once the modules before the API are up. */
  routes?(ctx: RouteContext): void;
}

/**
 * What every module may use, made once by the composition root: the config, the logger, the
 * clock, the pipeline, the live event hub, the topology in force, and (once the store module has
 * started) the store and its ordered writer.
 */
export interface Kernel {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly pipeline: Pipeline;
  readonly events: EventHub;
  topology(): Topology;
  /** The store; throws before the store module started. */
  store(): Store;
  /** The ordered store writer; undefined before the store module started. */
  recorder(): StoreRecorder | undefined;
  /**
   * In a cluster, on the leader-only modules' kernel: whether this member still leads by its own
   * monotonic clock. What leaves the process (a page, a message) checks it just before it goes;
   * what is written to the store is fenced by the database instead.
   */
  leads?(): boolean;
}

/** Waits for `p` until `deadline`, then goes on (logging what it gave up on). */
export function bounded<T>(p: Promise<T>, deadline: number, what: string, log: Logger): Promise<T | void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((r) => {
      timer = setTimeout(() => { log.warn({ what }, 'shutdown step timed out'); r(); }, Math.max(0, deadline - Date.now()));
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A module made of functions; `stop` runs once. */
export function module(name: string, runs: Module['runs'], start: () => Promise<void>, stop: (deadline: number) => Promise<void> = async () => {},
  more: Pick<Module, 'metrics' | 'routes'> = {}): Module {
  let stopping: Promise<void> | undefined;
  return { name, runs, start, stop: (deadline) => (stopping ??= stop(deadline)), ...more };
}
