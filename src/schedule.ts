/**
 * Runs the daemon's periodic jobs (SNMP polls, ICMP rounds, MQTT staleness checks, the complaint
 * deadline check) the way a polling runtime should: each job's first run is offset by a hash of its key so a thousand
 * targets on one interval are spread over it instead of firing together; at most `concurrency`
 * runs at once; a job whose previous run is still going when it is due again is skipped (counted
 * as an overrun), so one slow or dead target holds one slot and never delays the others beyond
 * that. Timers are unref-ed (they never keep the process alive); `start` and `stop` are
 * idempotent, and `stop` resolves once no run is under way.
 */
export interface ScheduledJob {
  key: string;
  intervalMs: number;
  run: () => Promise<void>;
  /** The first run this long after `start` (0: at once); default a stable spread over the interval. */
  firstRunMs?: number;
  /** Called when the job is due while its previous run still goes (the run is skipped). */
  onOverrun?: () => void;
  /**
   * Asked when the job is due: true, and this run is passed over (not run, no slot taken, not an
   * overrun): another instance of a cluster polls the target now. Called on every due time, so cheap.
   */
  skip?: () => boolean;
}

export interface ScheduleStats {
  runs: number;
  overruns: number;
  running: number;
  waiting: number;
}

/** FNV-1a, for a stable spread of first runs across the interval. */
export function spreadOffset(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % Math.max(1, Math.floor(intervalMs));
}

export class PollSchedule {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly busy = new Set<string>();
  private readonly queue: Array<() => void> = [];
  private active = 0;
  private stopped = true;
  private readonly inflight = new Set<Promise<void>>();
  readonly stats: ScheduleStats = { runs: 0, overruns: 0, running: 0, waiting: 0 };
  private readonly concurrency: number;
  private readonly onError: (key: string, err: unknown) => void;

  constructor(concurrency: number, onError: (key: string, err: unknown) => void) {
    this.concurrency = concurrency;
    this.onError = onError;
  }

  start(jobs: readonly ScheduledJob[]): void {
    if (!this.stopped) return;
    this.stopped = false;
    const t0 = Date.now();
    for (const job of jobs) {
      const offset = job.firstRunMs ?? spreadOffset(job.key, job.intervalMs);
      this.arm(job, t0 + offset, 0, t0);
    }
  }

  /** Fixed-rate timing: run k is due at first + k * interval, so timing does not drift. */
  private arm(job: ScheduledJob, first: number, k: number, now = Date.now()): void {
    if (this.stopped) return;
    let due = first + k * job.intervalMs;
    if (due < now) {
      // Fell behind (event loop stalled): skip the missed runs rather than bursting them.
      const missed = Math.ceil((now - due) / job.intervalMs);
      k += missed;
      due = first + k * job.intervalMs;
    }
    const timer = setTimeout(() => {
      this.fire(job);
      this.arm(job, first, k + 1);
    }, due - now);
    timer.unref();
    this.timers.set(job.key, timer);
  }

  private fire(job: ScheduledJob): void {
    let skip = false;
    try {
      skip = job.skip?.() ?? false;
    } catch (err) {
      this.onError(job.key, err); // a broken skip runs the job rather than stop it
    }
    if (skip) return;
    if (this.busy.has(job.key)) {
      this.stats.overruns++;
      job.onOverrun?.();
      return;
    }
    this.busy.add(job.key);
    const p = this.acquire()
      .then(async () => {
        if (this.stopped) return;
        this.stats.runs++;
        try {
          await job.run();
        } catch (err) {
          this.onError(job.key, err);
        }
      })
      .finally(() => {
        this.release();
        this.busy.delete(job.key);
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      this.stats.running = this.active;
      return Promise.resolve();
    }
    this.stats.waiting++;
    return new Promise((resolve) => this.queue.push(() => {
      this.stats.waiting--;
      resolve();
    }));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next(); // hand the slot over
    else this.active--;
    this.stats.running = this.active;
  }

  /** Stops firing new runs and waits for the ones under way (bounded by the caller's deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // Queued runs see `stopped` and return at once.
    await Promise.allSettled([...this.inflight]);
  }
}
