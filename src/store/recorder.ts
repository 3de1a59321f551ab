import type { Logger } from '../log.ts';
import { Store } from './store.ts';
import { FencedOut } from './fenced.ts';

/**
 * Writes to the store in the order things happened, off the correlators' path: each write is
 * queued and tried until it succeeds. While the database is unreachable the queue holds (and the
 * outage is logged once, the recovery once); `drain` waits for it at shutdown. In a cluster, a
 * leader's recorder writes through the fencing check: once a write is refused (another member
 * leads), nothing more is written; the queue is dropped (the new leader decides from the stored
 * state) and `fenced` is set.
 */
export class StoreRecorder {
  private readonly queue: { write: (s: Store) => Promise<void>; done: () => void; fail?: (err: unknown) => void }[] = [];
  /** A loop is writing; cleared in the same turn it finds the queue empty, so a write added after it is never left waiting. */
  private running = false;
  private failing = false;
  private stopped = false;
  /** Leader-only writes dropped because this member did not lead when they were tried. */
  dropped = 0;
  /** A write was refused by the fencing check: this recorder writes nothing more. */
  fenced = false;
  private readonly store: Store;
  private readonly log: Logger;

  /** Writes run per transaction: 1, or more where a transaction costs more than its statements (a fenced one). */
  private readonly batch: number;

  constructor(store: Store, log: Logger, batch = 1) {
    this.store = store;
    this.log = log;
    this.batch = batch;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a write; the promise settles once it is written (never, if the daemon stops first). */
  add(write: (s: Store) => Promise<void>): Promise<void> {
    if (this.fenced) return new Promise(() => {});
    const written = new Promise<void>((done) => this.queue.push({ write, done }));
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
    return written;
  }

  /**
   * Settles once everything queued before it is written; rejects (FencedOut) when this recorder
   * was fenced before that, so a caller that must not go on unless its writes landed never hangs.
   */
  settled(): Promise<void> {
    if (this.fenced) return Promise.reject(new FencedOut(0));
    const written = new Promise<void>((done, fail) => this.queue.push({ write: async () => {}, done, fail }));
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
    return written;
  }

  /** Writes until the queue is empty; it clears `running` in the same turn it finds it so, before any awaiting code runs. */
  private async loop(): Promise<void> {
    let delay = 100;
    let since = performance.now();
    while (this.queue.length > 0) {
      // SQLite writes block the process: after 20 ms of them, let the requests and timers waiting meanwhile in (a backlog of 50,000 writes is seconds).
      if (performance.now() - since > 20) {
        await new Promise((r) => setImmediate(r));
        since = performance.now();
        if (this.queue.length === 0) break;
      }
      try {
        const n = Math.min(this.batch, this.queue.length);
        if (n === 1) await this.queue[0].write(this.store);
        else await this.store.db.transaction(async (tx) => { const s = new Store(tx); for (const w of this.queue.slice(0, n)) await w.write(s); });
        for (const w of this.queue.splice(0, n)) w.done();
        if (this.failing) this.log.info({ pending: this.queue.length }, 'store reachable again');
        this.failing = false;
        delay = 100;
      } catch (err) {
        if (err instanceof FencedOut && err.epoch === 0) {
          // A leader-only write tried on a member that was not leading: only that write goes (the leader makes its own).
          if (this.dropped++ === 0) this.log.warn({ err }, 'a leader-only write was tried on a member that does not lead; dropped (logged once)');
          this.queue.shift()!.fail?.(err);
          continue;
        }
        if (err instanceof FencedOut) {
          this.log.error({ dropped: this.queue.length }, 'store writes refused by the fencing check: this instance no longer leads; its queued writes are dropped');
          this.fenced = true;
          for (const w of this.queue.splice(0)) w.fail?.(err);
          break;
        }
        if (!this.failing) this.log.error({ err, pending: this.queue.length }, 'store write failed; holding writes and retrying');
        this.failing = true;
        if (this.stopped) break;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
    this.running = false;
  }

  /** Waits until the queue is empty or the deadline passes; true when everything was written. */
  async drain(deadlineMs: number): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    while (this.queue.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    return this.queue.length === 0;
  }
}
