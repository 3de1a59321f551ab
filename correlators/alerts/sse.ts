import type { ServerResponse } from 'node:http';
import type { Alert } from './alert.ts';
import type { EventHub } from '../../src/events.ts';

/**
 * The alerts served at `GET /v1/alerts/stream` (server-sent events, on the API with its tokens):
 * each alert an event with its id, so a reconnecting client (EventSource sends Last-Event-ID)
 * gets what it missed from the last `keep` alerts. A client with no Last-Event-ID, or one older
 * than what is kept, gets nothing replayed: it reads `GET /v1/alerts` and follows from there.
 * Clients, framing, keep-alives, the cap per token and dropping slow readers are `EventHub`'s.
 */
export class AlertStream {
  private readonly hub: EventHub;
  private readonly recent: Alert[] = [];
  private readonly keep: number;

  constructor(hub: EventHub, keep = 1000) {
    this.hub = hub;
    this.keep = keep;
  }

  /** Whether `owner` may open another stream now. */
  admits(owner: string): boolean {
    return this.hub.admits(owner);
  }

  attach(res: ServerResponse, lastEventId: string | undefined, owner: string): void {
    const i = lastEventId === undefined ? -1 : this.recent.findIndex((a) => a.id === lastEventId);
    const missed = i >= 0 ? this.recent.slice(i + 1) : [];
    this.hub.attach(res, { hello: 'netpulse alerts', owner, replay: missed.map((a) => ({ id: a.id, event: { type: 'alert', data: a } })) });
  }

  publish(a: Alert): void {
    this.recent.push(a);
    if (this.recent.length > this.keep) this.recent.shift();
    this.hub.publish({ type: 'alert', data: a }, a.id);
  }

  close(): void {
    this.hub.close();
  }
}
