import type { ServerResponse } from 'node:http';

/** What the dashboard (or any client) hears about: enough to know what to fetch again, never a copy of the store. */
export type LiveEvent =
  | { type: 'alert'; data: unknown }
  | { type: 'outage'; data: { outage: string; event: string; at: number } }
  | { type: 'health'; data: { element: string; from: string; to: string; at: number; reason: string } }
  | { type: 'complaint'; data: { complaint: string; state: string; outage?: string } }
  | { type: 'compensation'; data: { outage: string; entries: number } }
  | { type: 'story'; data: { line: string; at: number } };

/**
 * The live stream the API serves at `GET /v1/events` (server-sent events). Clients connect with
 * their bearer token like any API call; each event carries an increasing id. Nothing is replayed:
 * a client that (re)connects reads the current state over the API, then follows the stream.
 * A comment every 15 s keeps proxies from closing an idle stream; a client that cannot keep up
 * (its socket buffer over `maxBuffered`) is dropped rather than buffered without bound.
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxBuffered: number;
  private seq = 0;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(maxBuffered = 1 << 20) {
    this.maxBuffered = maxBuffered;
  }

  get listeners(): number {
    return this.clients.size;
  }

  /**
   * Takes over a response: SSE headers, a comment naming the stream, what the caller replays
   * (events the client missed), then every event until the client goes.
   */
  attach(res: ServerResponse, o: { hello?: string; replay?: { id: string; event: LiveEvent }[] } = {}): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`: ${o.hello ?? 'netpulse live events'}\nretry: 3000\n\n`);
    for (const r of o.replay ?? []) res.write(frame(r.id, r.event));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => { for (const c of this.clients) c.write(': keep-alive\n\n'); }, 15_000);
      this.heartbeat.unref();
    }
  }

  /** Sends an event to every client, with `id` (default: the next number) for Last-Event-ID. */
  publish(e: LiveEvent, id: string = String(++this.seq)): void {
    if (this.clients.size === 0) return;
    const f = frame(id, e);
    for (const c of this.clients) {
      if (c.writableLength > this.maxBuffered) {
        c.destroy();
        this.clients.delete(c);
        continue;
      }
      c.write(f);
    }
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

function frame(id: string, e: LiveEvent): string {
  return `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
