import type { MqttClient, IPublishPacket } from 'mqtt';
import { hostname } from 'node:os';
import type { Collector, Emit } from '../collector.ts';
import type { Logger } from '../../src/log.ts';
import type { MqttBrokerConfig } from '../../src/config/schema.ts';
import { LogThrottle } from '../../src/throttle.ts';
import { compileDecoder, topicMatches, DecodeError, type Decoder } from './decode.ts';
import { admit, compileAllow, type AllowCheck, type ElementFacts } from './allow.ts';
import type { TimeWindow } from '../../src/intake/time.ts';
import { PollSchedule } from '../../src/schedule.ts';
import { AckCork, type HeldAck } from './acks.ts';
import { connectMqtt, type MqttConnect } from './connect.ts';
import { mqttMetrics, newStats, type MqttStats } from './stats.ts';
import { Liveness } from './liveness.ts';
import { SequenceWatch } from './sequence.ts';
import { Grants } from './grants.ts';

export type { MqttStats } from './stats.ts';

export interface MqttCollectorOptions {
  broker: MqttBrokerConfig;
  logger: Logger;
  now?: () => number;
  /**
   * The topology's elements: a sample (or presence) for an element it does not know is refused.
   * Absent: no topology check (a collector used on its own).
   */
  elements?: (id: string) => ElementFacts | undefined;
  /** The window sample times must fall in (default: 5 min ahead, 7 days back). */
  times?: TimeWindow;
  /** Opens the connection (default `connectMqtt`); tests and benchmarks pass a fake. */
  connect?: MqttConnect;
  /** Who this instance is (its cluster member id): in the default client id, so members on one host keep a session each. */
  instance?: string;
}



const MAX_TOPIC_KEYS = 1_000;

/**
 * Takes telemetry from one MQTT broker. The session is persistent (fixed client id, no clean
 * start) and every QoS 1 message is acknowledged only after the pipeline has persisted its samples
 * in the sinks, so a broker restart, a network cut or a `kill -9` of netpulse loses nothing the
 * broker accepted: what was not acknowledged is delivered again. mqtt.js hands messages over one
 * at a time and waits for each to be handled, which is the bound on what is in flight here; the
 * broker holds the rest (MQTT 5: at most `maxInFlight` unacknowledged, sent as Receive Maximum).
 *
 * A message that does not decode is counted per topic, logged (rate-limited) with the topic and
 * the reason, and acknowledged, so it can never wedge the session.
 *
 * Elements silent past their subscription's `staleAfter` become stale; the check runs on the
 * collectors' schedule. `subscribed()` says when the broker has granted the subscriptions.
 */
export class MqttCollector implements Collector {
  readonly name: string;
  readonly stats: MqttStats = newStats();
  private readonly o: MqttCollectorOptions;
  private readonly decoders: Decoder[];
  private readonly allows: AllowCheck[];
  private readonly presenceAllow: AllowCheck | undefined;
  private readonly times: TimeWindow;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly throttle = new LogThrottle(60_000);
  private readonly liveness: Liveness;
  private client: MqttClient | undefined;
  private emit: Emit | undefined;
  private readonly schedule: PollSchedule;
  /** QoS 1 PUBACKs, each held until its message is persisted. */
  private readonly acks: AckCork;
  private connectedOnce = false;
  private down = false;
  private stopping = false;
  /** The broker granted the subscriptions on the current connection (and who waits for it). */
  private readonly grants = new Grants();
  /** Each publisher's last counter, per subscription (bounded: the oldest forgotten past MAX_PUBLISHERS). */
  private readonly sequences = new SequenceWatch();


  /** Its metrics in Prometheus text format. */
  metrics(): string {
    return mqttMetrics(this.name, this.stats, this.unacknowledged);
  }


  constructor(o: MqttCollectorOptions) {
    this.o = o;
    this.name = `mqtt:${o.broker.name}`;
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.decoders = o.broker.subscriptions.map(compileDecoder);
    this.liveness = new Liveness(o.broker.name);
    this.allows = o.broker.subscriptions.map((s) => compileAllow(s.allow, s.measurement, o.elements !== undefined));
    const p = o.broker.presence;
    this.presenceAllow = p && compileAllow({ ...p.allow, measurements: ['reachability'], probes: ['mqtt'] }, 'reachability', o.elements !== undefined);
    this.times = o.times ?? { aheadMs: 5 * 60_000, pastMs: 7 * 86_400_000 };
    this.acks = new AckCork(this.stats);
    this.schedule = new PollSchedule(1, (_key, err) => this.log.error({ err }, 'mqtt staleness check failed'));
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(emit: Emit): Promise<void> {
    if (this.client) return;
    this.emit = emit;
    this.stopping = false;
    const b = this.o.broker;
    const client = (this.o.connect ?? connectMqtt)({
      url: b.url,
      clientId: b.clientId ?? `netpulse-${this.o.instance ?? hostname()}-${b.name}`,
      clean: false,
      protocolVersion: b.protocolVersion,
      keepaliveMs: b.keepalive,
      reconnectPeriodMs: b.reconnectPeriod,
      connectTimeoutMs: 10_000,
      resubscribe: false, // subscribed on every connect below
      username: b.username,
      password: b.password,
      sessionExpiryMs: b.sessionExpiry,
      receiveMaximum: b.maxInFlight,
      tls: b.tls,
      cork: this.acks,
    });
    this.client = client;
    client.handleMessage = (packet, done) => this.onMessage(client, packet, done);
    client.on('connect', (connack) => {
      if (this.down || !this.connectedOnce) this.log.info({ broker: b.url, sessionPresent: connack.sessionPresent }, 'mqtt connected');
      this.connectedOnce = true;
      this.down = false;
      this.subscribe(client);
    });
    client.on('close', () => {
      this.acks.forget();
      this.grants.lost();
      if (!this.down && !this.stopping) this.log.warn({ broker: b.url }, 'mqtt connection lost; reconnecting (the broker keeps the session)');
      this.down = true;
    });
    client.on('error', (err) => {
      const suppressed = this.throttle.allow(`error:${err.message}`);
      if (suppressed !== undefined) this.log.error({ broker: b.url, reason: err.message, suppressed }, 'mqtt error');
    });
    const minStale = Math.min(...b.subscriptions.map((s) => s.staleAfter), 60_000);
    const every = Math.max(250, Math.floor(minStale / 4));
    this.schedule.start([{ key: 'stale', intervalMs: every, firstRunMs: every, run: () => this.checkStale() }]);
    this.log.info({ broker: b.url, subscriptions: this.decoders.map((d) => d.filter), presence: b.presence?.topic }, 'mqtt collector started');
  }

  /**
   * Resolves once the broker has granted the subscriptions on the current connection: at once if
   * it already has, else at the SUBACK (after a reconnect, the next one). A filter the broker
   * refused is logged, not waited for. Rejects when the collector is stopped first.
   */
  subscribed(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error(`${this.name} is stopped`));
    return this.grants.wait();
  }

  private subscribe(client: MqttClient): void {
    const filters: Record<string, { qos: 0 | 1 }> = {};
    for (const d of this.decoders) filters[d.filter] = { qos: d.sub.qos };
    if (this.o.broker.presence) filters[this.o.broker.presence.topic] = { qos: 1 };
    if (Object.keys(filters).length === 0) {
      this.grants.grant();
      return;
    }
    client.subscribe(filters, (err, granted) => {
      if (err) {
        this.log.error({ reason: err.message }, 'mqtt subscribe failed');
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos >= 0x80) this.log.error({ topic: g.topic, reasonCode: g.qos }, 'mqtt broker refused the subscription');
      }
      if (client !== this.client || !client.connected) return; // stopped, or the connection went meanwhile
      this.log.info({ broker: this.o.broker.url, filters: Object.keys(filters).length }, 'mqtt subscribed');
      this.grants.grant();
    });
  }

  /**
   * mqtt.js calls this for each message, one at a time, and hands the next one over when `done`
   * is called, sending the PUBACK then. `done` is called at once, so messages keep coming while
   * earlier ones are persisted; the PUBACK itself is held (see `AckCork`) until the pipeline's
   * group commit that holds the message is durable, and released the moment it is: under a steady
   * stream, the broker's unacknowledged count stays at what one or two commits cover. If
   * persisting fails, the connection is dropped with those PUBACKs unsent, and the broker delivers
   * the messages again after the reconnect.
   */
  private onMessage(client: MqttClient, packet: IPublishPacket, done: (err?: Error) => void): void {
    let accepted: Promise<void> | undefined;
    try {
      accepted = this.handle(packet);
    } catch (err) {
      // A bug, not bad input (decoding problems are handled inside): keep the session alive.
      this.log.error({ err, topic: packet.topic }, 'mqtt message handling failed');
    }
    if (packet.qos === 0 || packet.messageId === undefined) {
      accepted?.catch((err) => this.persistFailed(err, undefined));
      done();
      return;
    }
    const ack = this.acks.hold(client, packet.messageId, accepted === undefined);
    accepted?.then(() => ack.persisted(), (err) => this.persistFailed(err, ack));
    done(); // mqtt.js now asks to send the PUBACK: the cork keeps it with `ack`
  }

  /** Messages taken and not yet acknowledged to the broker. */
  get unacknowledged(): number {
    return this.acks.unacknowledged;
  }

  private persistFailed(err: unknown, ack: HeldAck | undefined): void {
    this.stats.persistFailures++;
    const suppressed = this.throttle.allow('persist');
    if (suppressed !== undefined) {
      this.log.error({ err, suppressed }, 'cannot persist mqtt samples; dropping the connection unacknowledged (the broker will deliver them again)');
    }
    ack?.failed();
  }

  /** Decodes one message; returns the promise of its persistence, or nothing when there is nothing to keep. */
  private handle(packet: IPublishPacket): Promise<void> | undefined {
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.stats.messages++;
    const now = this.now();
    const presence = this.o.broker.presence;
    if (presence && topicMatches(presence.topic, topic)) return this.onPresence(topic, payload, now);
    const index = this.decoders.findIndex((d) => topicMatches(d.sub.topic, topic));
    if (index < 0) {
      this.stats.unmatched++;
      this.warn(`unmatched:${topic}`, { topic }, 'mqtt message on no configured subscription; acknowledged and dropped');
      return undefined;
    }
    const decoder = this.decoders[index];
    let decoded;
    try {
      decoded = decoder.decode(topic, payload, now);
    } catch (err) {
      if (err instanceof DecodeError) this.reject(topic, err.reason, err.message);
      else this.reject(topic, 'malformed', `cannot decode: ${(err as Error).message}`);
      return undefined;
    }
    const gap = decoded.sequence && this.sequences.follow(index, decoded.sequence);
    if (gap) {
      this.stats.missing += gap.missing;
      this.warn(`gap:${gap.key}`, { publisher: decoded.sequence!.publisher, from: gap.from, to: gap.to, missing: gap.missing }, 'mqtt messages never arrived (the publisher counted them): check the broker queue');
    }
    // Trust: each sample only for an element the subscription may speak for, at a plausible time.
    const { batch, elements, refused } = admit(decoded.samples, this.allows[index], this.o.elements, now, this.times);
    for (const r of refused) {
      this.count(r.reason);
      decoded.problems.push(r.problem);
    }
    if (decoded.problems.length > 0) {
      this.stats.problems += decoded.problems.length;
      this.warn(`problem:${topic}`, { topic, problems: decoded.problems.slice(0, 5).map((p) => p.slice(0, 300)) }, 'mqtt values left out');
    }
    if (batch.length === 0) {
      this.stats.rejected++;
      return undefined;
    }
    batch.push(...this.liveness.heard(elements, now, decoder.sub.staleAfter));
    this.stats.samples += batch.length;
    return this.emit!(batch, { durable: true });
  }

  private onPresence(topic: string, payload: Buffer, now: number): Promise<void> | undefined {
    const p = this.o.broker.presence!;
    const element = p.element.replace(/\{(\d+)\}/g, (_, n) => topic.split('/')[Number(n)] ?? '');
    const state = payload.toString('utf8').trim();
    if (!element || (state !== p.online && state !== p.offline)) {
      this.reject(topic, 'malformed', `presence payload must be "${p.online}" or "${p.offline}" (got ${JSON.stringify(state.slice(0, 40))})`);
      return undefined;
    }
    const up = state === p.online;
    const sample = this.liveness.point(element, up, up ? 'online' : 'offline', now);
    const refused = this.presenceAllow!(sample, this.o.elements?.(element));
    if (refused) {
      this.reject(topic, refused, `presence for ${element.slice(0, 100)}: ${refused.replaceAll('_', ' ')}`);
      return undefined;
    }
    this.liveness.presence(element, up, now, Math.min(...this.decoders.map((d) => d.sub.staleAfter), 300_000));
    return this.emit!([sample], { durable: true });
  }

  /** Elements silent past their period become stale, once, until they are heard from again. */
  private async checkStale(): Promise<void> {
    const batch = this.liveness.stale(this.now());
    if (batch.length === 0 || !this.emit) return;
    this.log.warn({ elements: batch.map((s) => s.element).slice(0, 20), count: batch.length }, 'mqtt elements silent past their period: stale');
    try {
      await this.emit(batch);
    } catch (err) {
      this.log.error({ err }, 'cannot emit staleness');
    }
  }

  private count(reason: string): void {
    this.stats.refused.set(reason, (this.stats.refused.get(reason) ?? 0) + 1);
  }

  private reject(topic: string, code: string, reason: string): void {
    this.stats.rejected++;
    this.count(code);
    const m = this.stats.rejectedByTopic;
    const key = topic.slice(0, 256); // a topic may be 64 KiB: the per-topic counts keep a bounded key
    m.set(key, (m.get(key) ?? 0) + 1);
    if (m.size > MAX_TOPIC_KEYS) m.delete(m.keys().next().value!);
    this.warn(`reject:${topic}`, { topic: topic.slice(0, 300), reason: reason.slice(0, 500) }, 'mqtt message rejected; acknowledged and dropped');
  }

  private warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.throttle.allow(key);
    if (suppressed !== undefined) this.log.warn({ ...fields, suppressed }, msg);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.grants.cancel(new Error(`${this.name} is stopped`));
    const checks = this.schedule.stop(); // no staleness check from here on
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
    await checks;
  }
}
