import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnect, type MqttTls } from '../../collectors/mqtt/connect.ts';
/** What goes out: an alert, or a message to a subscriber; its id lets a receiver drop a retried duplicate. */
export interface Message { readonly id: string }

/** Somewhere alerts and messages are sent to. `send` rejects when the message did not get there (it is retried). */
export interface Notifier {
  readonly name: string;
  send(message: Message): Promise<void>;
  close(): Promise<void>;
}

/** How far a signature's timestamp may be from the receiver's clock before the delivery is refused as a replay. */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

/**
 * The `X-Netpulse-Signature` header of a webhook sent at `at` (ms), in Stripe's scheme:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 with the shared secret of "<t>.<exact body>">`. The
 * timestamp is signed with the body, so a captured delivery cannot be sent again later with a
 * fresh one.
 */
export function signature(body: string, secret: string, at: number): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does with `X-Netpulse-Signature` (this is the reference; any language does the
 * same): split on `,` into `t=` and one or more `v1=`; refuse when `t` is more than 5 minutes from
 * its own clock (either way: a replay, or a clock to fix); compute HMAC-SHA256 of `t + "." + raw
 * body` (the bytes received, before any JSON parsing) with the shared secret and compare it with
 * a `v1` in constant time. Within the 5 minutes a repeat is dropped by the message id header
 * (`X-Netpulse-Alert-Id`, `X-Netpulse-Message-Id`, `Idempotency-Key`), as any retry is.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, now: number, toleranceMs = SIGNATURE_TOLERANCE_MS): { ok: true; at: number } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: 'no signature' };
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const sigs = parts.filter(([k, v]) => k === 'v1' && v !== undefined).map(([, v]) => v);
  if (t === undefined || !/^\d{1,12}$/.test(t) || sigs.length === 0) return { ok: false, reason: 'malformed signature header' };
  const at = Number(t) * 1000;
  if (Math.abs(now - at) > toleranceMs) return { ok: false, reason: `timestamp ${Math.round((now - at) / 1000)} s from now: outside the tolerance` };
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const match = sigs.some((s) => s.length === want.length && timingSafeEqual(Buffer.from(s), want));
  return match ? { ok: true, at } : { ok: false, reason: 'signature does not match' };
}

/**
 * POSTs each alert as JSON. With a secret, `X-Netpulse-Signature: t=<unix s>,v1=<hmac>` signs the
 * timestamp and the body (see `signature`; a receiver checks it as `verifySignature` does and
 * refuses a timestamp more than 5 minutes off); every attempt is signed afresh, so a retry after a
 * long backoff is not refused. `X-Netpulse-Alert-Id` (or `idHeader`) lets a receiver drop a
 * retried duplicate. Any 2xx is delivered.
 */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly o: { url: string; secret?: string; timeoutMs: number; idHeader?: string; now?: () => number };

  constructor(name: string, o: { url: string; secret?: string; timeoutMs: number; idHeader?: string; now?: () => number }) {
    this.name = `webhook:${name}`;
    this.o = o;
  }

  async send(message: Message): Promise<void> {
    const body = JSON.stringify(message);
    const headers: Record<string, string> = { 'content-type': 'application/json', [this.o.idHeader ?? 'x-netpulse-alert-id']: message.id };
    if (this.o.secret) headers['x-netpulse-signature'] = signature(body, this.o.secret, (this.o.now ?? Date.now)());
    const r = await fetch(this.o.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(this.o.timeoutMs) });
    await r.body?.cancel();
    if (!r.ok) throw new Error(`HTTP ${r.status} from ${new URL(this.o.url).host}`);
  }

  async close(): Promise<void> {}
}

/**
 * Publishes each alert at QoS 1 (retained per outage is left to the receiver) to one topic, on a
 * clean session (`connectMqtt`: `mqtts://` with the broker's TLS settings).
 */
export class MqttNotifier implements Notifier {
  readonly name = 'mqtt';
  private readonly client: MqttClient;
  private readonly topic: string;

  /** `connect`: opens the connection (default `connectMqtt`); tests pass a fake. */
  constructor(o: { url: string; topic: string; clientId: string; username?: string; password?: string; tls?: MqttTls; connect?: MqttConnect }) {
    this.topic = o.topic;
    this.client = (o.connect ?? connectMqtt)({
      url: o.url, clientId: o.clientId, username: o.username, password: o.password, tls: o.tls, reconnectPeriodMs: 1000, clean: true,
    });
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
