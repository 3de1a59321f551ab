import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from './alert.ts';
import { EventHub } from '../api/events.ts';

/**
 * A server-sent-events stream of alerts at `GET /v1/alerts/stream`, on a listener of its own: each
 * alert an event with its id, so a reconnecting client (EventSource sends Last-Event-ID) gets what
 * it missed from the last `keep` alerts. Clients, framing and keep-alives are the API's `EventHub`.
 */
export class AlertStream {
  private readonly hub = new EventHub();
  private readonly recent: Alert[] = [];
  private readonly keep: number;
  private server: Server | undefined;

  constructor(keep = 1000) {
    this.keep = keep;
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/v1/alerts/stream')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: `no ${req.method} ${req.url}` } }));
        return;
      }
      const last = req.headers['last-event-id'];
      let missed: Alert[] = [];
      if (typeof last === 'string') {
        const i = this.recent.findIndex((a) => a.id === last);
        missed = i >= 0 ? this.recent.slice(i + 1) : this.recent;
      }
      this.hub.attach(res, { hello: 'netpulse alerts', replay: missed.map((a) => ({ id: a.id, event: { type: 'alert', data: a } })) });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  publish(a: Alert): void {
    this.recent.push(a);
    if (this.recent.length > this.keep) this.recent.shift();
    this.hub.publish({ type: 'alert', data: a }, a.id);
  }

  async close(): Promise<void> {
    this.hub.close();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
