import type { ServerResponse } from 'node:http';

/** What the dashboard (or any client) hears about: enough to know what to fetch again, never a copy of the store. */
export type LiveEvent =
  | { type: 'alert'; data: unknown }
  | { type: 'outage'; data: { outage: string; event: string; at: number } }
  | { type: 'health'; data: { element: string; from: string; to: string; at: number; reason: string; kind?: string; site?: string; region?: string } }
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
  private readonly clients = new Map<ServerResponse, string | undefined>();
  private readonly owners = new Map<string, number>();
  private readonly maxBuffered: number;
  private readonly maxPerOwner: number;
  private seq = 0;
  private heartbeat: NodeJS.Timeout | undefined;

  /** `maxBuffered`: bytes a client may lag before it is dropped; `maxPerOwner`: streams one token may hold open. */
  constructor(maxBuffered = 1 << 20, maxPerOwner = Infinity) {
    this.maxBuffered = maxBuffered;
    this.maxPerOwner = maxPerOwner;
  }

  get listeners(): number {
    return this.clients.size;
  }

  /** Whether `owner` may open another stream now. */
  admits(owner: string): boolean {
    return (this.owners.get(owner) ?? 0) < this.maxPerOwner;
  }

  /**
   * Takes over a response: SSE headers, a comment naming the stream, what the caller replays
   * (events the client missed), then every event until the client goes. Check `admits(owner)`
   * first: the stream counts against its owner until it closes.
   */
  attach(res: ServerResponse, o: { hello?: string; replay?: { id: string; event: LiveEvent }[]; owner?: string } = {}): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`: ${o.hello ?? 'netpulse live events'}\nretry: 3000\n\n`);
    for (const r of o.replay ?? []) res.write(frame(r.id, r.event));
    this.clients.set(res, o.owner);
    if (o.owner !== undefined) this.owners.set(o.owner, (this.owners.get(o.owner) ?? 0) + 1);
    res.on('close', () => this.drop(res));
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => { for (const c of this.clients.keys()) this.send(c, ': keep-alive\n\n'); }, 15_000);
      this.heartbeat.unref();
    }
  }

  private drop(res: ServerResponse): void {
    if (!this.clients.has(res)) return;
    const owner = this.clients.get(res);
    this.clients.delete(res);
    if (owner === undefined) return;
    const n = (this.owners.get(owner) ?? 1) - 1;
    if (n > 0) this.owners.set(owner, n);
    else this.owners.delete(owner);
  }

  /** Writes to one client, or drops it when it lags past `maxBuffered` (a slow reader is never buffered without bound). */
  private send(c: ServerResponse, text: string): void {
    if (c.writableLength > this.maxBuffered) {
      c.destroy();
      this.drop(c);
      return;
    }
    c.write(text);
  }

  private readonly taps: ((e: LiveEvent) => void)[] = [];

  /** Hears every event published here (not `relay`ed ones): a cluster's leader passes them on to the other members. */
  tap(l: (e: LiveEvent) => void): void {
    this.taps.push(l);
  }

  /** Sends an event to every client, with `id` (default: the next number) for Last-Event-ID. */
  publish(e: LiveEvent, id: string = String(++this.seq)): void {
    for (const t of this.taps) t(e);
    this.relay(e, id);
  }

  private readonly hearers: ((e: LiveEvent) => void)[] = [];

  /** Hears every event this hub sends to its clients, published here or relayed from the leader. */
  hear(l: (e: LiveEvent) => void): void {
    this.hearers.push(l);
  }

  /** Sends an event that happened elsewhere (on the cluster's leader) to this member's clients. */
  relay(e: LiveEvent, id: string = String(++this.seq)): void {
    for (const h of this.hearers) h(e);
    if (this.clients.size === 0) return;
    const f = frame(id, e);
    for (const c of [...this.clients.keys()]) this.send(c, f);
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
    this.owners.clear();
  }
}

function frame(id: string, e: LiveEvent): string {
  return `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
