import { createHmac } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
/** What goes out: an alert, or a message to a subscriber; its id lets a receiver drop a retried duplicate. */
export interface Message { readonly id: string }

/** Somewhere alerts and messages are sent to. `send` rejects when the message did not get there (it is retried). */
export interface Notifier {
  readonly name: string;
  send(message: Message): Promise<void>;
  close(): Promise<void>;
}

/** The signature a webhook receiver checks: HMAC-SHA256 of the exact body, hex, with the shared secret. */
export function signature(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * POSTs each alert as JSON. With a secret, `X-Netpulse-Signature: sha256=<hmac>` signs the body;
 * `X-Netpulse-Alert-Id` lets a receiver drop a retried duplicate. Any 2xx is delivered.
 */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly o: { url: string; secret?: string; timeoutMs: number; idHeader?: string };

  constructor(name: string, o: { url: string; secret?: string; timeoutMs: number; idHeader?: string }) {
    this.name = `webhook:${name}`;
    this.o = o;
  }

  async send(message: Message): Promise<void> {
    const body = JSON.stringify(message);
    const headers: Record<string, string> = { 'content-type': 'application/json', [this.o.idHeader ?? 'x-netpulse-alert-id']: message.id };
    if (this.o.secret) headers['x-netpulse-signature'] = signature(body, this.o.secret);
    const r = await fetch(this.o.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(this.o.timeoutMs) });
    await r.body?.cancel();
    if (!r.ok) throw new Error(`HTTP ${r.status} from ${new URL(this.o.url).host}`);
  }

  async close(): Promise<void> {}
}

/** Publishes each alert at QoS 1 (retained per outage is left to the receiver) to one topic. */
export class MqttNotifier implements Notifier {
  readonly name = 'mqtt';
  private readonly client: MqttClient;
  private readonly topic: string;

  constructor(o: { url: string; topic: string; clientId: string; username?: string; password?: string }) {
    this.topic = o.topic;
    this.client = mqtt.connect(o.url, { clientId: o.clientId, username: o.username, password: o.password, reconnectPeriod: 1000, clean: true });
    this.client.on('error', () => { /* reported through failed sends */ });
  }

  async send(message: Message): Promise<void> {
    if (!this.client.connected) throw new Error(`not connected to the broker for ${this.topic}`);
    await this.client.publishAsync(this.topic, JSON.stringify(message), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
