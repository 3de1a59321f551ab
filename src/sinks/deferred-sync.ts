import { closeSync } from 'node:fs';

/**
 * The fdatasync of an append-only file, deferred and run off the event loop (the group commit's
 * way: see `Sink.persistDeferred`), for the spool and the local series files alike.
 *
 * - `written()` after a write whose sync is deferred; `sync(fd)` syncs it in libuv's thread pool.
 * - A file left behind (a segment rolled, the sink closed) is synced at once by its owner
 *   (`pending`, then `synced()`), and closed through `close(fd)`: after the syncs under way, so a
 *   closed number, reused by another file, is never what a sync in flight touches.
 * - Linux reports a write-back error to one fsync of the file only. A deferred sync that overlapped
 *   a failed write or sync (`failed()`: the flush timer's, a roll's) cannot vouch for its data: it
 *   fails, and the next sync covers the data again.
 */
export class DeferredSync {
  private unsynced = false;
  private syncing = 0;
  private readonly closing: number[] = [];
  private failures = 0;
  private readonly o: { syncAsync: (fd: number) => Promise<void>; error: (message: string, cause?: unknown) => Error };

  constructor(o: { syncAsync: (fd: number) => Promise<void>; error: (message: string, cause?: unknown) => Error }) {
    this.o = o;
  }

  /** Written with the sync deferred. */
  written(): void {
    this.unsynced = true;
  }

  /** Something was written and not yet synced. */
  get pending(): boolean {
    return this.unsynced;
  }

  /** Its owner synced the file itself (at a roll, at close). */
  synced(): void {
    this.unsynced = false;
  }

  /** A write or a sync of the file failed. */
  failed(): void {
    this.failures++;
  }

  /** Syncs what was written with the sync deferred; resolves at once when nothing waits. */
  async sync(fd: number | undefined): Promise<void> {
    if (!this.unsynced || fd === undefined) return;
    this.unsynced = false;
    const failures = this.failures;
    this.syncing++;
    try {
      await this.o.syncAsync(fd);
    } catch (err) {
      this.failures++;
      throw this.o.error(`cannot sync: ${(err as Error).message}`, err);
    } finally {
      if (--this.syncing === 0) for (const old of this.closing.splice(0)) closeSync(old);
    }
    if (this.failures !== failures) {
      this.unsynced = true; // synced again, and checked, by the next commit
      throw this.o.error('cannot vouch for a sync: a write or sync of the file failed while it ran');
    }
  }

  /** Closes a file once no sync is under way. */
  close(fd: number): void {
    if (this.syncing > 0) this.closing.push(fd);
    else closeSync(fd);
  }
}
