import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnect, type MqttTls } from '../../collectors/mqtt/connect.ts';
import type { Logger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import type { ComplaintService } from './service.ts';
import { parseComplaint } from './schema.ts';
import { LogThrottle } from '../../src/throttle.ts';
import { checkTime, describeRefusal, type TimeWindow } from '../../src/intake/time.ts';
import { findNul } from '../../src/intake/text.ts';

export interface ComplaintMqttConfig { url: string; topic: string; clientId: string; username?: string; password?: string; tls?: MqttTls }

/**
 * Complaints over MQTT: one JSON complaint per message (the API's body), QoS 1 on a persistent
 * session. A message is acknowledged only once its complaint is stored, so a crash or an
 * unreachable database loses none: the broker delivers it again, and the complaint's own id makes
 * the second delivery a duplicate, not a second complaint. A malformed message is logged with its
 * topic and field, counted, and acknowledged (sending it again would not mend it). The connection
 * is `connectMqtt`'s (`mqtts://` with the broker's TLS settings).
 */
export class ComplaintMqttIntake {
  readonly stats = { received: 0, stored: 0, duplicates: 0, rejected: 0 };
  private client: MqttClient | undefined;
  private readonly throttle = new LogThrottle(60_000);

  private readonly o: {
    config: ComplaintMqttConfig; complaints: ComplaintService; store: () => Store; logger: Logger; now?: () => number;
    /** The window a complaint's reportedAt must fall in (default: 5 min ahead, 30 days back). */
    times?: TimeWindow;
    /** Opens the connection (default `connectMqtt`); tests pass a fake. */
    connect?: MqttConnect;
  };

  constructor(o: ComplaintMqttIntake['o']) {
    this.o = o;
  }

  start(): void {
    const c = this.o.config;
    const client = (this.o.connect ?? connectMqtt)({
      url: c.url, clientId: c.clientId, clean: false, username: c.username, password: c.password, tls: c.tls, reconnectPeriodMs: 1000,
    });
    this.client = client;
    client.handleMessage = (packet, done) => {
      void this.handle(client, packet.topic, packet.payload as Buffer).then((ok) => { if (ok) done(); });
    };
    client.on('connect', () => {
      client.subscribe(c.topic, { qos: 1 }, (err) => { if (err) this.o.logger.error({ reason: err.message }, 'complaint topic subscribe failed'); });
      this.o.logger.info({ broker: c.url, topic: c.topic }, 'complaint intake connected');
    });
    client.on('error', (err) => {
      const n = this.throttle.allow(`error:${err.message}`);
      if (n !== undefined) this.o.logger.error({ broker: c.url, reason: err.message, suppressed: n }, 'complaint intake mqtt error');
    });
  }

  /** True when the message may be acknowledged. */
  private async handle(client: MqttClient, topic: string, payload: Buffer): Promise<boolean> {
    this.stats.received++;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.reject(topic, 'payload', `not JSON: ${(err as Error).message}`);
    }
    const nul = findNul(raw);
    if (nul) return this.reject(topic, 'payload', `${nul}: text with a NUL character is not accepted`);
    const p = parseComplaint(raw);
    if ('field' in p) return this.reject(topic, p.field, p.message);
    const now = (this.o.now ?? Date.now)();
    const w = this.o.times ?? { aheadMs: 5 * 60_000, pastMs: 30 * 86_400_000 };
    const late = checkTime(p.complaint.reportedAt, now, w);
    if (late) return this.reject(topic, 'reportedAt', describeRefusal(late, p.complaint.reportedAt, now, w));
    try {
      const r = await this.o.complaints.submit(this.o.store(), p.complaint, now);
      if (r.duplicate) this.stats.duplicates++;
      else this.stats.stored++;
      return true;
    } catch (err) {
      // Not stored: no acknowledgement. Dropping the connection makes the broker send it again.
      this.o.logger.error({ err, topic }, 'cannot store a complaint from MQTT; the broker will deliver it again');
      client.stream.destroy();
      return false;
    }
  }

  private reject(topic: string, field: string, message: string): boolean {
    this.stats.rejected++;
    const n = this.throttle.allow(`reject:${topic}:${field}`);
    if (n !== undefined) this.o.logger.warn({ topic, field, reason: message, suppressed: n }, 'complaint message rejected');
    return true;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
