import { randomUUID } from 'node:crypto';
import type { EventHub, LiveEvent } from '../events.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import { PostgresDb } from '../store/postgres.ts';

const CHANNEL = 'netpulse_events';
/** PostgreSQL refuses a payload of 8,000 bytes or more: larger events go in parts, base64 (ASCII: a character a byte, nothing to escape). */
const MAX_PAYLOAD = 7900;
const PART = 7000;

/**
 * The leader's live events on every member's `/v1/events`: each event the leader publishes goes
 * out as a PostgreSQL notification (`pg_notify`, in publish order), and every member listening
 * passes on the ones that are not its own to its clients. Notifications are not durable: a
 * member cut off from the store misses events, as a client cut off from the stream does; what
 * the events say is in the store. An event too large for one notification (an alert naming many
 * impacted elements) goes in parts, in order, and is put together again on arrival.
 */
export class EventRelay {
  private readonly db: Db;
  private readonly member: string;
  private readonly log: Logger;
  private sending: Promise<void> = Promise.resolve();
  private stop: (() => Promise<void>) | undefined;
  private seq = 0;
  /** This relay's run: a rejoined daemon's event numbers start again, so parts are keyed by run too. */
  private readonly run = randomUUID();
  /** Parts received of events sent in several, by sender and event number. */
  private readonly parts = new Map<string, string[]>();
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
      let m: { from?: unknown; run?: unknown; e?: LiveEvent; part?: [number, number, number]; text?: string };
      try {
        m = JSON.parse(payload) as typeof m;
      } catch {
        return; // not ours
      }
      if (m.from === this.member || typeof m.from !== 'string') return;
      if (m.part && typeof m.text === 'string') {
        // [event number, this part, parts]: the last part completes it.
        const [n, i, of] = m.part;
        const key = `${m.from}#${String(m.run)}#${n}`;
        const got = this.parts.get(key) ?? [];
        if (i !== got.length) return void this.parts.delete(key); // a part was missed: the event is dropped, as a lost one would be
        got.push(m.text);
        if (got.length < of) {
          this.parts.set(key, got);
          // Parts of events whose sender died mid-way are never completed: only the latest few are kept.
          if (this.parts.size > 64) this.parts.delete(this.parts.keys().next().value!);
          return;
        }
        this.parts.delete(key);
        try {
          m.e = JSON.parse(Buffer.from(got.join(''), 'base64').toString()) as LiveEvent;
        } catch {
          return;
        }
      }
      if (!m.e || typeof m.e.type !== 'string') return;
      this.received++;
      hub.relay(m.e);
    }, (err) => this.log.warn({ err }, 'event relay: connection to the store lost; listening again'));
  }

  /** Sends one of this member's events to the others (in order; a failure is counted, never thrown). */
  send(e: LiveEvent): void {
    const whole = JSON.stringify({ from: this.member, e });
    const payloads = [whole];
    if (Buffer.byteLength(whole) > MAX_PAYLOAD) {
      const text = Buffer.from(JSON.stringify(e)).toString('base64');
      const n = ++this.seq;
      const of = Math.ceil(text.length / PART);
      payloads.splice(0, 1, ...Array.from({ length: of }, (_, i) => JSON.stringify({ from: this.member, run: this.run, part: [n, i, of], text: text.slice(i * PART, (i + 1) * PART) })));
    }
    for (const payload of payloads) {
      this.sending = this.sending.then(() => this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, payload])).then(() => undefined, (err: Error) => {
        if (this.failed++ === 0) this.log.warn({ err }, 'event relay: cannot send an event to the other members');
      });
    }
    this.sending = this.sending.then(() => { this.sent++; });
  }

  async close(): Promise<void> {
    await this.sending;
    await this.stop?.();
  }
}
