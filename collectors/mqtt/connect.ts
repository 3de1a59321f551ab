import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import type { AckCork } from './acks.ts';

/** TLS for an `mqtts://` broker: file paths, read when the connection is opened. */
export interface MqttTls {
  /** The CA that signed the broker's certificate (default: the system's CAs). */
  ca?: string;
  /** A client certificate and its key, for a broker that asks for one. */
  cert?: string;
  key?: string;
  /** Refuse a broker whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
}

/** How to reach one broker, and what kind of session to keep there. */
export interface MqttConnectOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  tls?: MqttTls;
  /**
   * `false`: a persistent session. With a fixed `clientId`, the broker keeps the subscriptions
   * and the QoS 1 messages not yet acknowledged while the client is away (MQTT 5: for
   * `sessionExpiryMs`). Default `true`, a clean start.
   */
  clean?: boolean;
  /** 4 (MQTT 3.1.1, the default) or 5. */
  protocolVersion?: 4 | 5;
  /** Default mqtt.js's (60 s); sent in whole seconds. */
  keepaliveMs?: number;
  /** How long to wait before connecting again after the connection is lost. */
  reconnectPeriodMs: number;
  /** Default mqtt.js's (30 s). */
  connectTimeoutMs?: number;
  /** Subscriptions made again by mqtt.js after a reconnect (default true). */
  resubscribe?: boolean;
  /** MQTT 5: how long the broker keeps a persistent session while the client is away; sent in whole seconds. */
  sessionExpiryMs?: number;
  /** MQTT 5: QoS 1 messages the broker may send before they are acknowledged (Receive Maximum). */
  receiveMaximum?: number;
  /** The last will, published by the broker when the connection dies without a DISCONNECT. */
  will?: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean };
  /** PUBACKs go out through this cork, each once its message is persisted (see `AckCork`). */
  cork?: AckCork;
}

/**
 * Opens a connection that reconnects by itself. The collector, the complaint intake, the alert
 * notifier and the simulated stations take one in their options (default `connectMqtt`), so a
 * test or a benchmark can hand them a fake client.
 */
export type MqttConnect = (o: MqttConnectOptions) => MqttClient;

/** mqtt.js options from ours: only what is given is set, mqtt.js's defaults stand for the rest. */
export function clientOptions(o: MqttConnectOptions): IClientOptions {
  const options: IClientOptions = { clientId: o.clientId, reconnectPeriod: o.reconnectPeriodMs };
  if (o.clean !== undefined) options.clean = o.clean;
  if (o.protocolVersion !== undefined) options.protocolVersion = o.protocolVersion;
  if (o.keepaliveMs !== undefined) options.keepalive = Math.round(o.keepaliveMs / 1000);
  if (o.connectTimeoutMs !== undefined) options.connectTimeout = o.connectTimeoutMs;
  if (o.resubscribe !== undefined) options.resubscribe = o.resubscribe;
  if (o.username !== undefined) options.username = o.username;
  if (o.password !== undefined) options.password = o.password;
  if (o.will) options.will = o.will;
  if (o.protocolVersion === 5) {
    const properties: NonNullable<IClientOptions['properties']> = {};
    if (o.sessionExpiryMs !== undefined) properties.sessionExpiryInterval = Math.round(o.sessionExpiryMs / 1000);
    if (o.receiveMaximum !== undefined) properties.receiveMaximum = o.receiveMaximum;
    if (Object.keys(properties).length > 0) options.properties = properties;
  }
  if (o.tls) {
    if (o.tls.ca) options.ca = readFileSync(o.tls.ca);
    if (o.tls.cert) options.cert = readFileSync(o.tls.cert);
    if (o.tls.key) options.key = readFileSync(o.tls.key);
    if (o.tls.rejectUnauthorized !== undefined) options.rejectUnauthorized = o.tls.rejectUnauthorized;
  }
  return options;
}

/** The real connection (mqtt.js), with the cork attached when one is given. */
export const connectMqtt: MqttConnect = (o) => {
  const client = mqtt.connect(o.url, clientOptions(o));
  o.cork?.attach(client);
  return client;
};
