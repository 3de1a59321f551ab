import type { Db } from '../../src/store/db.ts';
import type { Message } from './notifier.ts';

/**
 * What is owed to each notifier, kept in the store until it was delivered: a `kill -9` or a
 * restart while a webhook is down loses no alert and no subscriber message. A message is written
 * here before it is queued and deleted once delivered; at start the rest is queued again, in order.
 * Delivery is at least once (a crash between sending and deleting sends it again), and every
 * message's id lets the receiver drop the repeat.
 *
 * It is the alerts' repository: every statement on the `outbox` table is here (the same on
 * SQLite and PostgreSQL), and `DeliveryLanes` reaches the table only through it.
 */
export class Outbox {
  private readonly db: () => Db;
  private readonly channel: string;
  private seq = Date.now() * 1000;

  constructor(channel: string, db: () => Db) {
    this.channel = channel;
    this.db = db;
  }

  async save(notifiers: readonly string[], m: Message): Promise<void> {
    const body = JSON.stringify(m);
    const seq = ++this.seq;
    await this.db().transaction(async (tx) => {
      for (const n of notifiers) {
        await tx.run('INSERT INTO outbox (channel, notifier, id, body, seq) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [this.channel, n, m.id, body, seq]);
      }
    });
  }

  /** Crosses a message off for one notifier: delivered (or dropped past the queue bound). */
  async forget(notifier: string, id: string): Promise<void> {
    await this.db().run('DELETE FROM outbox WHERE channel = $1 AND notifier = $2 AND id = $3', [this.channel, notifier, id]);
  }

  /** What each notifier is still owed, oldest first. */
  async pending(notifier: string): Promise<Message[]> {
    const rows = await this.db().query<{ body: string; seq: number }>('SELECT body, seq FROM outbox WHERE channel = $1 AND notifier = $2 ORDER BY seq', [this.channel, notifier]);
    for (const r of rows) this.seq = Math.max(this.seq, Number(r.seq));
    return rows.map((r) => JSON.parse(r.body) as Message);
  }
}
