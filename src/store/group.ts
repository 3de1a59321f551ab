import type { Db } from './db.ts';

interface Write { sql: string; params: readonly unknown[]; resolve: (changes: number) => void; reject: (err: unknown) => void }

/**
 * Single-statement writes that arrive in the same turn of the event loop share one transaction,
 * so under load many commits cost one fsync (a group commit), and each caller still learns its
 * own outcome only once its write is durable. If the shared transaction fails, each write is
 * tried alone, so one bad write fails only its own caller.
 */
export class GroupCommit {
  private readonly db: Db;
  private pending: Write[] = [];
  private scheduled = false;

  constructor(db: Db) {
    this.db = db;
  }

  run(sql: string, params: readonly unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ sql, params, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const counts = await this.db.transaction(async (tx) => {
        const out: number[] = [];
        for (const w of batch) out.push(await tx.run(w.sql, w.params));
        return out;
      });
      batch.forEach((w, i) => w.resolve(counts[i]));
    } catch {
      for (const w of batch) await this.db.run(w.sql, w.params).then(w.resolve, w.reject);
    }
  }
}
