import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from './alert.ts';

/**
 * A server-sent-events stream of alerts at `GET /v1/alerts/stream`: each alert an event with its
 * id, so a reconnecting client (EventSource sends Last-Event-ID) gets what it missed from the last
 * `keep` alerts. A comment every 15 s keeps proxies from closing an idle stream.
 */
export class AlertStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: Alert[] = [];
  private readonly keep: number;
  private server: Server | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(keep = 1000) {
    this.keep = keep;
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/v1/alerts/stream')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: `no ${req.method} ${req.url}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': netpulse alerts\n\n');
      const last = req.headers['last-event-id'];
      if (typeof last === 'string') {
        const i = this.recent.findIndex((a) => a.id === last);
        for (const a of i >= 0 ? this.recent.slice(i + 1) : this.recent) res.write(frame(a));
      }
      this.clients.add(res);
      req.on('close', () => this.clients.delete(res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.heartbeat = setInterval(() => { for (const c of this.clients) c.write(': keep-alive\n\n'); }, 15_000);
    this.heartbeat.unref();
    return (server.address() as AddressInfo).port;
  }

  publish(a: Alert): void {
    this.recent.push(a);
    if (this.recent.length > this.keep) this.recent.shift();
    const f = frame(a);
    for (const c of this.clients) c.write(f);
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

function frame(a: Alert): string {
  return `id: ${a.id}\nevent: alert\ndata: ${JSON.stringify(a)}\n\n`;
}
