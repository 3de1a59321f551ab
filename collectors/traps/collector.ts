import type { Collector, Emit } from '../collector.ts';
import type { Logger } from '../../src/log.ts';
import type { TrapsConfig } from '../../src/config/schema.ts';
import type { Batch } from '../../src/sample.ts';
import { LogThrottle } from '../../src/throttle.ts';
import { metric } from '../../src/api/metrics.ts';
import { decodeNotification, TrapDecodeError, type RawNotification, type Trap } from './decode.ts';
import { interpret, type TrapDefinitions, type TrapHealth } from './definitions.ts';
import { senderLookup, type Sender } from './sender.ts';
import { TrapLimiter, SourceGate, fingerprint } from './limit.ts';
import { TrapConditions } from './conditions.ts';
import { trapSample, trapHealthSample } from './samples.ts';
import { TrapReceiver, REFUSAL_REASONS, type Peer, type RefusalReason } from './receiver.ts';

export interface TrapCollectorOptions {
  config: TrapsConfig;
  definitions: TrapDefinitions;
  /** Whether the topology has this element (read at each trap: a reload is seen at once). */
  known: (element: string) => boolean;
  /** The SNMP targets: a trap from a target's host speaks for its element. */
  targets: readonly { name: string; host: string; element?: string }[];
  logger: Logger;
  now?: () => number;
  /** Samples whose durable emit may be in flight at once; past it traps are dropped (`overload`). */
  maxInFlight?: number;
  /**
   * The element a link trap about interface `ifIndex` of `sender` speaks for: the sender when it
   * is its uplink, the element behind that port of the sender, or none (any other port: recorded,
   * no health meaning). Absent: every link trap speaks for its sender.
   */
  linkElement?: (sender: string, ifIndex: number) => string | undefined;
  /**
   * A trap changed an element's health: the wiring polls it out of cycle to confirm (a trap can be
   * lost, or lie). `cleared`: the trap was a clear that ended a raised condition, which was this.
   */
  onHealth?: (element: string, health: TrapHealth, sender: string, cleared?: 'down' | 'degraded') => void;
}

/** A trap as the API shows it per element. */
export interface RecentTrap {
  at: number;
  name: string;
  oid: string;
  version: Trap['version'];
  source: string;
  meaning?: string;
  /** What it said of health, and of which element when not its sender's (a child's port). */
  health?: 'down' | 'degraded' | 'clear';
  reason?: string;
  for?: string;
}

/** Traps kept per element for the API. */
export const RECENT_PER_ELEMENT = 50;

/** Why a trap was dropped (a fixed set: a label in /metrics); `flood` before it was decoded, the others after. */
export type DropReason = 'flood' | 'dedup' | 'rate' | 'unknown_source' | 'overload';

/** Log lines about single sources (refused, unknown, odd values) per minute, all sources together. */
export const PER_SOURCE_LINES = 100;

/** The source gate's rate and burst, as multiples of a kind's (`traps.rate`): room for ten kinds at full rate. */
export const GATE_FACTOR = 10;

export interface TrapStats {
  /** Notifications net-snmp accepted, by version. */
  received: Record<Trap['version'], number>;
  informs: number;
  /** Emitted (a sample each, and a health sample when the definition gives a meaning). */
  accepted: number;
  refused: Map<RefusalReason, number>;
  dropped: Record<DropReason, number>;
  /** Accepted traps by definition name (`unknown` for traps no definition covers: OIDs are unbounded). */
  byDefinition: Map<string, number>;
  /** Accepted traps by how their element was found. */
  bySender: Map<string, number>;
  /** SNMPv3 discoveries answered (inform senders learning the engine ID). */
  discoveries: number;
  /** Emits that failed (the sinks could not persist the trap). */
  emitFailures: number;
}

const newStats = (): TrapStats => ({
  received: { 1: 0, '2c': 0, 3: 0 }, informs: 0, accepted: 0, refused: new Map(REFUSAL_REASONS.map((r) => [r, 0])),
  dropped: { flood: 0, dedup: 0, rate: 0, unknown_source: 0, overload: 0 }, byDefinition: new Map(), bySender: new Map(), discoveries: 0, emitFailures: 0,
});

/**
 * Receives SNMP traps and informs (v1, v2c, v3) and emits, for each one accepted, an `snmp_trap`
 * sample (Telegraf's shape, see `trapSample`) and, when its definition gives it a health meaning,
 * a `reachability` sample with `probe=trap` for its element (see `trapHealthSample`). In order, a
 * datagram is: let through by its source's gate (`SourceGate`: a flood is dropped undecoded, as
 * `flood`), authorized by net-snmp (community or SNMPv3 user; refusals counted by reason and
 * logged at most once a minute per source), decoded (`decodeNotification`), given an element
 * (`senderLookup`: none, it is dropped as `unknown_source`), read through its definition
 * (`interpret`), passed through storm control (`TrapLimiter`: duplicates and traps over their
 * source's rate dropped and counted), then emitted durably.
 *
 * Every step is synchronous and per datagram, and nothing waits in a queue: a flood from one source
 * is dropped where it is counted and never delays another source's trap. Durable emits in flight
 * are bounded (`maxInFlight`); past it traps are dropped as `overload` (the sinks are not keeping up).
 *
 * An inform is acknowledged by net-snmp as it arrives, before this collector sees it: an inform
 * the sinks then fail to persist is lost all the same (counted as an emit failure, logged).
 */
export class TrapCollector implements Collector {
  readonly name = 'traps';
  readonly stats: TrapStats = newStats();
  readonly limiter: TrapLimiter;
  readonly gate: SourceGate;
  readonly conditions: TrapConditions;
  private readonly o: TrapCollectorOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sender: (trap: Trap) => Sender | undefined;
  private readonly throttle = new LogThrottle(60_000);
  private readonly maxInFlight: number;
  private receiver: TrapReceiver | undefined;
  private emit: Emit | undefined;
  private inFlight = 0;
  /** Lines about sources in the current minute (see `warn`). */
  private readonly budget = { since: -Infinity, lines: 0, leftOut: 0, sources: new Set<string>() };

  private readonly recentTraps = new Map<string, RecentTrap[]>();
  private readonly holding = new Set<string>();
  constructor(o: TrapCollectorOptions) {
    this.o = o;
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.maxInFlight = o.maxInFlight ?? 10_000;
    const c = o.config;
    this.sender = senderLookup({ sources: c.sources, targets: o.targets, sysNameVarbind: c.sysNameVarbind, known: o.known });
    this.gate = new SourceGate({ perSecond: c.rate.perSecond * GATE_FACTOR, burst: c.rate.burst * GATE_FACTOR, maxSources: c.maxSources, now: this.now });
    this.limiter = new TrapLimiter({ perSecond: c.rate.perSecond, burst: c.rate.burst, dedupMs: c.dedupWindow, maxSources: c.maxSources, now: this.now });
    this.conditions = new TrapConditions(c.maxSources);
  }

  /** The address and port it listens on, once started (with port 0, the port the kernel picked). */
  get address(): Peer | undefined {
    return this.receiver?.address;
  }

  /** What the kernel says of the socket (Linux): datagrams dropped with the receive buffer full, bytes waiting. */
  socketStats(): { drops: number; queuedBytes: number } | undefined {
    return this.receiver?.socketStats();
  }

  /** Binds the socket; rejects (naming the address and the cause) when it cannot. */
  async start(emit: Emit): Promise<void> {
    if (this.receiver) return;
    const c = this.o.config;
    this.emit = emit;
    const receiver = new TrapReceiver({
      address: c.address, port: c.port, communities: c.communities, users: c.users, engineID: c.engineID, recvBufferSize: 4 * 1024 * 1024,
    }, {
      notification: (n) => this.onNotification(n),
      refused: (reason, from, detail) => this.refuse(reason, from, detail),
      discovery: () => { this.stats.discoveries++; },
      admit: (address) => {
        if (this.gate.admit(address)) return true;
        this.stats.dropped.flood++;
        return false;
      },
      socketError: (err) => this.warn('socket', { reason: err.message }, 'snmp trap socket error'),
    });
    this.receiver = receiver;
    try {
      const at = await receiver.start();
      this.log.info({ address: at.address, port: at.port, communities: c.communities.length, users: c.users.length, definitions: this.o.definitions.all.length }, 'snmp trap receiver listening');
    } catch (err) {
      this.receiver = undefined;
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === 'EACCES' ? ` (port ${c.port} needs CAP_NET_BIND_SERVICE; a port above 1023 needs no privilege)` : '';
      throw new Error(`traps: cannot listen on ${c.address}:${c.port}: ${e.code ?? e.message}${hint}`, { cause: err });
    }
  }

  /** Closes the socket: no trap is taken, and nothing emitted, once it resolves. Idempotent. */
  async stop(): Promise<void> {
    const r = this.receiver;
    this.receiver = undefined;
    this.emit = undefined;
    await r?.close();
  }

  private onNotification(n: RawNotification): void {
    try {
      this.handle(n, this.now());
    } catch (err) {
      // A bug, not bad input (that is refused inside): the datagram is counted, the receiver goes on.
      this.refuse('internal', n?.rinfo, (err as Error)?.message ?? String(err));
    }
  }

  private handle(n: RawNotification, now: number): void {
    const emit = this.emit;
    if (!emit) return; // stopping
    let trap: Trap;
    try {
      trap = decodeNotification(n);
    } catch (err) {
      if (!(err instanceof TrapDecodeError)) throw err;
      this.refuse('malformed', n.rinfo, err.message);
      return;
    }
    this.stats.received[trap.version]++;
    if (trap.inform) this.stats.informs++;
    const sender = this.sender(trap);
    if (!sender) {
      this.stats.dropped.unknown_source++;
      this.warn(`source:${trap.source.address}`, { source: trap.source.address, agentAddress: trap.agentAddress, trap: trap.oid, reason: 'unknown_source' },
        'snmp trap from a source that maps to no element: refused (add it to traps.sources, or to snmp.targets)');
      return;
    }
    if (this.inFlight >= this.maxInFlight) {
      // Before storm control, which would take a trap dropped here for the last one kept (its retry a duplicate).
      this.stats.dropped.overload++;
      this.warn('overload', { inFlight: this.inFlight }, 'snmp traps dropped: the sinks are not keeping up');
      return;
    }
    const i = interpret(trap, this.o.definitions);
    const verdict = this.limiter.admit({ source: trap.source.address, kind: i.name, scope: i.scope, fingerprint: fingerprint(trap) });
    if (verdict !== 'pass') {
      this.stats.dropped[verdict]++;
      return;
    }
    const problems = [...trap.problems, ...i.problems];
    if (problems.length > 0) this.warn(`problem:${trap.source.address}`, { source: trap.source.address, trap: i.name, problems: problems.slice(0, 5) }, 'snmp trap values left out or not understood');
    const element = sender.element;
    const batch = [trapSample(trap, i, element, now)];
    // A link trap speaks for the element its port leads to: the sender's uplink, or a child's port; another port is only recorded.
    const port = i.health?.condition?.startsWith('if:') ? Number(i.health.condition.slice(3)) : undefined;
    const judged = port !== undefined && this.o.linkElement ? this.o.linkElement(element, port) : element;
    if (i.health && judged !== undefined) {
      // A child's link on its parent's port is named with the parent (`if:N@P`): not the child's own port N, nor another parent's.
      const health = judged !== element && port !== undefined ? { ...i.health, condition: `${i.health.condition}@${element}` } : i.health;
      const v = this.conditions.apply(judged, health);
      this.hold(judged, !v.up || v.degraded);
      batch.push(trapHealthSample(judged, v, now, { source: trap.source.address, trap: i.name, ...(trap.uptime !== undefined && { uptime: trap.uptime }) }));
      this.o.onHealth?.(judged, health, element, v.cleared);
    }
    this.stats.accepted++;
    this.remember(element, { at: now, name: i.name, oid: trap.oid, version: trap.version, source: trap.source.address, ...(i.meaning && { meaning: i.meaning }),
      ...(i.health && judged !== undefined && { health: i.health.state, reason: i.health.reason, ...(judged !== element && { for: judged }) }) });
    const def = i.meaning ? i.name : 'unknown';
    this.stats.byDefinition.set(def, (this.stats.byDefinition.get(def) ?? 0) + 1);
    this.stats.bySender.set(sender.by, (this.stats.bySender.get(sender.by) ?? 0) + 1);
    this.send(emit, batch);
  }

  /**
   * For the wiring (the confirming poll found the element answering): forgets the conditions traps
   * raised for it and emits `probe=trap` up, so a trap's down (decisive: it holds) ends. Returns the
   * number of conditions that were raised.
   */
  settle(element: string, reason: string, time = this.now()): number {
    const n = this.conditions.settle(element);
    this.hold(element, false);
    if (this.emit) this.send(this.emit, [trapHealthSample(element, { up: true, degraded: false, reason }, time)]);
    return n;
  }

  /**
   * For the wiring, when a poll and a trap disagree (the poll decides): raises a link condition
   * again (the poll confirming a clear found the interface still down), or clears one (a poll read
   * that port up, others still held), and emits the element's verdict after it.
   */
  fromPoll(element: string, h: TrapHealth, time = this.now()): void {
    const v = this.conditions.apply(element, h);
    this.hold(element, !v.up || v.degraded);
    if (this.emit) this.send(this.emit, [trapHealthSample(element, v, time)]);
  }

  /** The last traps `element` sent (newest last), as this instance received them. */
  recent(element: string): readonly RecentTrap[] {
    return this.recentTraps.get(element) ?? [];
  }

  private remember(element: string, t: RecentTrap): void {
    const list = this.recentTraps.get(element) ?? [];
    this.recentTraps.delete(element); // most recently heard last, so the eviction below takes the longest silent
    list.push(t);
    if (list.length > RECENT_PER_ELEMENT) list.shift();
    this.recentTraps.set(element, list);
    if (this.recentTraps.size > this.o.config.maxSources) this.recentTraps.delete(this.recentTraps.keys().next().value!);
  }

  /** Whether the last trap about `element` left it down or degraded (until a trap or `settle` says up): what a poll may contradict. */
  holds(element: string): boolean {
    return this.holding.has(element);
  }

  private hold(element: string, down: boolean): void {
    this.holding.delete(element);
    if (!down) return;
    this.holding.add(element);
    if (this.holding.size > this.o.config.maxSources) this.holding.delete(this.holding.values().next().value!);
  }

  private send(emit: Emit, batch: Batch): void {
    this.inFlight += batch.length;
    let p: Promise<void>;
    try {
      p = emit(batch, { durable: true });
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(() => { this.inFlight -= batch.length; }, (err) => {
      this.inFlight -= batch.length;
      this.stats.emitFailures++;
      this.warn('emit', { err }, 'cannot persist snmp traps; they are lost (an inform was already acknowledged)');
    });
  }

  private refuse(reason: RefusalReason, from: Peer | undefined, detail: string): void {
    this.stats.refused.set(reason, (this.stats.refused.get(reason) ?? 0) + 1);
    const address = from?.address ?? 'unknown';
    this.warn(`refused:${address}`, { source: address, port: from?.port, reason, detail: detail.slice(0, 200) }, 'snmp trap refused');
  }

  /**
   * One line per key per minute (per source for refusals), with how many were suppressed; and lines
   * about sources at most PER_SOURCE_LINES a minute in all, so a flood from spoofed addresses cannot
   * flood the log (what is left out is in the metrics, and a line says how many were).
   */
  private warn(key: string, fields: Record<string, unknown>, msg: string, perSource = /^(refused|source|problem):/.test(key)): void {
    const suppressed = this.throttle.allow(key);
    if (suppressed === undefined) return;
    if (perSource) {
      const now = this.now();
      const b = this.budget;
      if (now - b.since >= 60_000 || now < b.since) {
        if (b.leftOut > 0) this.log.warn({ leftOut: b.leftOut, sources: b.sources.size }, 'snmp trap log lines left out in the last minute (too many sources): see netpulse_traps_* in /metrics');
        b.since = now;
        b.lines = 0;
        b.leftOut = 0;
        b.sources.clear();
      }
      if (b.lines >= PER_SOURCE_LINES) {
        b.leftOut++;
        if (b.sources.size < 10_000) b.sources.add(key); // a count of them, not a list: bounded
        return;
      }
      b.lines++;
    }
    this.log.warn({ ...fields, suppressed }, msg);
  }

  /** Its metrics in Prometheus text format. */
  metrics(): string {
    const s = this.stats;
    const socket = this.receiver?.socketStats();
    return metric('netpulse_traps_received_total', 'counter', 'SNMP notifications that passed the community or user check, by version (informs included).',
      (['1', '2c', '3'] as const).map((v) => [{ version: v }, s.received[v]]))
      + metric('netpulse_traps_informs_total', 'counter', 'SNMP informs received (net-snmp acknowledges them on arrival).', [[{}, s.informs]])
      + metric('netpulse_traps_accepted_total', 'counter', 'SNMP traps emitted.', [[{}, s.accepted]])
      + metric('netpulse_traps_refused_total', 'counter', 'Datagrams refused before they became traps, by reason.', [...s.refused].map(([reason, n]) => [{ reason }, n]))
      + metric('netpulse_traps_dropped_total', 'counter', 'Traps dropped, by reason: a flooding source (undecoded), duplicate, over their source\'s rate for the kind, from a source that maps to no element, sinks not keeping up.',
        Object.entries(s.dropped).map(([reason, n]) => [{ reason }, n]))
      + metric('netpulse_traps_by_definition_total', 'counter', 'Traps emitted, by definition name (unknown: no definition covers the trap OID).', [...s.byDefinition].map(([name, n]) => [{ name }, n]))
      + metric('netpulse_traps_sender_total', 'counter', 'Traps emitted, by how their element was found.', [...s.bySender].map(([by, n]) => [{ by }, n]))
      + metric('netpulse_traps_emit_failures_total', 'counter', 'Traps the sinks could not persist (lost).', [[{}, s.emitFailures]])
      + metric('netpulse_traps_sources', 'gauge', 'Sources whose storm state is kept (at most traps.maxSources).', [[{}, this.limiter.size]])
      + (socket ? metric('netpulse_traps_socket_drops_total', 'counter', 'Datagrams the kernel dropped, the receive buffer full (a storm faster than the receiver; raise net.core.rmem_max).', [[{}, socket.drops]])
        + metric('netpulse_traps_socket_queued_bytes', 'gauge', 'Bytes waiting in the receive buffer.', [[{}, socket.queuedBytes]]) : '');
  }
}
