import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { MqttClient } from 'mqtt';
import { clientOptions, type MqttConnectOptions } from '../../collectors/mqtt/connect.ts';
import { AckCork } from '../../collectors/mqtt/acks.ts';

describe('MQTT connection options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netpulse-connect-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA');
  writeFileSync(join(dir, 'client.pem'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const base = { url: 'mqtt://127.0.0.1:1883', clientId: 'c', reconnectPeriodMs: 1000 };

  it.each<[string, MqttConnectOptions, Record<string, unknown>, string[]]>([
    ['only what is given (mqtt.js defaults for the rest)', base, { clientId: 'c', reconnectPeriod: 1000 },
      ['clean', 'protocolVersion', 'keepalive', 'username', 'password', 'properties', 'ca', 'rejectUnauthorized', 'will']],
    ['a persistent MQTT 5 session, keepalive and expiry in seconds', { ...base, clean: false, protocolVersion: 5, keepaliveMs: 30_000, sessionExpiryMs: 7 * 86_400_000, receiveMaximum: 100, resubscribe: false, connectTimeoutMs: 10_000 },
      { clean: false, protocolVersion: 5, keepalive: 30, resubscribe: false, connectTimeout: 10_000, properties: { sessionExpiryInterval: 604_800, receiveMaximum: 100 } }, []],
    ['MQTT 3.1.1 carries no MQTT 5 properties', { ...base, protocolVersion: 4, sessionExpiryMs: 60_000, receiveMaximum: 10 }, { protocolVersion: 4 }, ['properties']],
    ['a username, a password and a last will', { ...base, username: 'u', password: 'p', will: { topic: 'presence/x', payload: Buffer.from('offline'), qos: 1, retain: true } },
      { username: 'u', password: 'p', will: { topic: 'presence/x', payload: Buffer.from('offline'), qos: 1, retain: true } }, []],
    ['TLS: the CA, the client certificate and key read from their files', { ...base, tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), rejectUnauthorized: false } },
      { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY'), rejectUnauthorized: false }, []],
  ])('%s', (_name, o, want, absent) => {
    const got = clientOptions(o) as Record<string, unknown>;
    expect(got).toMatchObject(want);
    for (const k of absent) expect(got).not.toHaveProperty(k);
  });
});

/** Just what the cork touches of an mqtt.js client: its way out to the socket, and the socket. */
function fakeClient() {
  const sent: { cmd: string; messageId?: number }[] = [];
  const stream = { destroyed: false, destroy() { this.destroyed = true; } };
  const client = { stream, _sendPacket: (p: { cmd: string; messageId?: number }, cb?: () => void) => { sent.push(p); cb?.(); } };
  /** What mqtt.js does once a message handler called `done`: it asks to send the PUBACK. */
  const pumpAck = (messageId: number) => (client as any)._sendPacket({ cmd: 'puback', messageId }, () => {});
  return { client: client as unknown as MqttClient, sent, stream, pumpAck };
}

describe('holding PUBACKs until their messages are persisted', () => {
  it('sends each PUBACK once its message is persisted, in the order the messages came', async () => {
    const counts = { acknowledged: 0, largestCommit: 0, mostUnacknowledged: 0 };
    const cork = new AckCork(counts);
    const f = fakeClient();
    cork.attach(f.client);
    const acks = [1, 2, 3].map((id) => cork.hold(f.client, id));
    for (const id of [1, 2, 3]) f.pumpAck(id);
    expect(f.sent).toEqual([]);
    acks[1].persisted(); // 2 before 1: waits for 1
    expect(f.sent).toEqual([]);
    acks[0].persisted();
    expect(f.sent.map((p) => p.messageId)).toEqual([1, 2]);
    expect(cork.unacknowledged).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(counts).toEqual({ acknowledged: 2, largestCommit: 2, mostUnacknowledged: 3 }); // 1 and 2 went out in one turn; 3 were held at most
    acks[2].persisted();
    expect(f.sent.map((p) => p.messageId)).toEqual([1, 2, 3]);
  });

  it('lets every other packet through at once', () => {
    const cork = new AckCork();
    const f = fakeClient();
    cork.attach(f.client);
    (f.client as any)._sendPacket({ cmd: 'subscribe', messageId: 7 });
    f.pumpAck(8); // a PUBACK it holds nothing for
    expect(f.sent).toEqual([{ cmd: 'subscribe', messageId: 7 }, { cmd: 'puback', messageId: 8 }]);
  });

  it('a message that could not be persisted drops its connection with every PUBACK on it unsent', () => {
    const cork = new AckCork();
    const f = fakeClient();
    cork.attach(f.client);
    const a = cork.hold(f.client, 1);
    cork.hold(f.client, 2, true);
    f.pumpAck(1);
    f.pumpAck(2);
    a.failed();
    expect(f.stream.destroyed).toBe(true);
    expect(cork.unacknowledged).toBe(0);
    expect(f.sent).toEqual([]);
  });

  it('refuses a client it cannot hold PUBACKs for', () => {
    expect(() => new AckCork().attach({} as MqttClient)).toThrow(/_sendPacket/);
  });
});
