import type { EventHub, LiveEvent } from '../events.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import { PostgresDb } from '../store/postgres.ts';

const CHANNEL = 'netpulse_events';
/** PostgreSQL refuses a payload over 8,000 bytes. */
const MAX_PAYLOAD = 7900;

/**
 * The leader's live events on every member's `/v1/events`: each event the leader publishes goes
 * out as a PostgreSQL notification (`pg_notify`, in publish order), and every member listening
 * passes on the ones that are not its own to its clients. Notifications are not durable: a
 * member cut off from the store misses events, as a client cut off from the stream does; what
 * the events say is in the store. An event too large for a notification is sent without its data
 * and the member's clients read the rest from the API.
 */
export class EventRelay {
  private readonly db: Db;
  private readonly member: string;
  private readonly log: Logger;
  private sending: Promise<void> = Promise.resolve();
  private stop: (() => Promise<void>) | undefined;
  sent = 0;
  received = 0;
  failed = 0;

  constructor(db: Db, member: string, log: Logger) {
    this.db = db;
    this.member = member;
    this.log = log;
  }

  /** Starts listening; `hub` gets the other members' events. */
  async start(hub: EventHub): Promise<void> {
    if (!(this.db instanceof PostgresDb)) throw new Error('the event relay needs PostgreSQL');
    this.stop = await this.db.listen(CHANNEL, (payload) => {
      let m: { from?: unknown; e?: LiveEvent };
      try {
        m = JSON.parse(payload) as typeof m;
      } catch {
        return; // not ours
      }
      if (m.from === this.member || !m.e || typeof m.e.type !== 'string') return;
      this.received++;
      hub.relay(m.e);
    }, (err) => this.log.warn({ err }, 'event relay: connection to the store lost; listening again'));
  }

  /** Sends one of this member's events to the others (in order; a failure is counted, never thrown). */
  send(e: LiveEvent): void {
    let payload = JSON.stringify({ from: this.member, e });
    if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ from: this.member, e: { type: e.type, data: { truncated: true } } });
    this.sending = this.sending.then(() => this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, payload])).then(() => { this.sent++; }, (err: Error) => {
      if (this.failed++ === 0) this.log.warn({ err }, 'event relay: cannot send an event to the other members');
    });
  }

  async close(): Promise<void> {
    await this.sending;
    await this.stop?.();
  }
}
