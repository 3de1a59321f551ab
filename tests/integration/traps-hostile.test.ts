import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { TrapCollector } from '../../collectors/traps/collector.ts';
import { loadTrapDefinitions } from '../../collectors/traps/definitions.ts';
import { validateConfig } from '../../src/config/load.ts';
import { encodeLine } from '../../src/sinks/line-protocol.ts';
import type { Batch } from '../../src/sample.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { v1Trap, v2cTrap, seq, tlv, int, varbinds, type WireVarbind } from '../helpers/snmp-wire.ts';

// Datagrams no agent should send: nothing may crash the receiver or throw out of it, and every one
// is counted (refused by reason, dropped, or received and emitted).

const LINK_DOWN = '1.3.6.1.6.3.1.1.5.3';
const SYS_NAME = '1.3.6.1.2.1.1.5.0';
const named: WireVarbind = { oid: SYS_NAME, v: { type: 'str', value: 'BS-1' } };

let collector: TrapCollector;
let sock: dgram.Socket;
let lines: any[];
const got: Batch[] = [];
const crashes: unknown[] = [];
const onCrash = (err: unknown) => { crashes.push(err); };

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  const { config } = validateConfig({ traps: {
    enabled: true, address: '127.0.0.1', port: 0, communities: ['public'], rate: { perSecond: 1e6, burst: 1e6 }, dedupWindow: 0,
    users: [{ user: 'trapuser', authKey: 'authpass123', privKey: 'privpass123' }],
  } }, {});
  const log = memoryLogger();
  lines = log.lines;
  collector = new TrapCollector({ config: config!.traps, definitions: loadTrapDefinitions(), known: (e) => e === 'BS-1', targets: [], logger: log.logger });
  await collector.start(async (b) => { got.push(b); });
  sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  sock?.close();
  await collector?.stop();
  process.off('uncaughtException', onCrash);
});

/** Every datagram the collector has counted, whatever became of it. */
function counted(): number {
  const s = collector.stats;
  return [...s.refused.values()].reduce((a, b) => a + b, 0) + s.received[1] + s.received['2c'] + s.received[3] + s.discoveries + s.dropped.flood;
}

/** Sends the datagrams one by one and waits until each has been counted. */
async function send(datagrams: Buffer[]): Promise<void> {
  const before = counted();
  for (const d of datagrams) await new Promise<void>((r, j) => sock.send(d, collector.address!.port, '127.0.0.1', (err) => (err ? j(err) : r())));
  await vi.waitFor(() => expect(counted() - before).toBe(datagrams.length), { timeout: 20_000 });
}

const refused = () => Object.fromEntries(collector.stats.refused);

describe('hostile datagrams', () => {
  it('random bytes, of every size up to the largest datagram: each refused as malformed', async () => {
    const before = refused().malformed;
    const sizes = [0, 1, 2, 3, 10, 100, 1500, 9000, 65_507, ...Array.from({ length: 500 }, () => 1 + Math.floor(Math.random() * 2000))];
    await send(sizes.map((n) => randomBytes(n)));
    // A random datagram that happened to be a valid SNMP message with the right community: vanishingly rare, but counted all the same.
    expect(refused().malformed - before).toBeGreaterThanOrEqual(sizes.length - 2);
  });

  it('a valid trap cut at every length: each refused as malformed, or (cut between varbinds, which net-snmp reads as the end of the list) taken with fewer varbinds', async () => {
    const whole = v2cTrap({ community: 'public', trapOid: LINK_DOWN, vbs: [{ oid: '1.3.6.1.2.1.2.2.1.1.3', v: { type: 'int', value: 3 } }, named] });
    const before = { malformed: refused().malformed, received: collector.stats.received['2c'] };
    await send(Array.from({ length: whole.length }, (_, n) => whole.subarray(0, n)));
    const malformed = refused().malformed - before.malformed;
    expect(malformed).toBeGreaterThan(whole.length * 0.8);
    expect(malformed + collector.stats.received['2c'] - before.received).toBe(whole.length);
  });

  it('a length that claims more than the datagram holds, and one of 2^32: refused as malformed', async () => {
    const before = refused().malformed;
    await send([
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01]),
      Buffer.from([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      seq(int(1), tlv(0x04, Buffer.from('public')), Buffer.from([0xa7, 0x82, 0xff, 0xff])),
    ]);
    expect(refused().malformed - before).toBe(3);
  });

  it('a 64 KB trap of thousands of varbinds and one with a 65,000-byte string: taken, cut to size, written', async () => {
    const many = Array.from({ length: 3_000 }, (_, i): WireVarbind => ({ oid: `1.3.6.1.4.1.32473.1.${i}`, v: { type: 'int', value: i } }));
    const big = v2cTrap({ community: 'public', trapOid: '1.3.6.1.4.1.32473.0.1', vbs: [named, ...many] });
    expect(big.length).toBeGreaterThan(40_000);
    expect(big.length).toBeLessThanOrEqual(65_507);
    const long = v2cTrap({ community: 'public', trapOid: '1.3.6.1.4.1.32473.0.2', vbs: [named, { oid: '1.3.6.1.4.1.32473.1.1', v: { type: 'str', value: 'x'.repeat(65_000) } }] });
    const before = got.length;
    await send([big, long]);
    await vi.waitFor(() => expect(got.length - before).toBe(2));
    const [a, b] = got.slice(before).map((batch) => batch[0]);
    expect(Object.keys(a.fields).length).toBeLessThanOrEqual(257); // MAX_VARBINDS and sysUpTimeInstance
    expect(String(b.fields['1.3.6.1.4.1.32473.1.1']).length).toBe(1024);
    expect(lines.some((l) => l.msg === 'snmp trap values left out or not understood' && /2745 varbinds past the first 256 left out/.test(l.problems?.[0]))).toBe(true);
  });

  it('an inform with a value net-snmp cannot encode back in its answer (a BitString): refused as internal, nothing thrown', async () => {
    const inform = v2cTrap({ community: 'public', trapOid: LINK_DOWN, pduType: 0xa6, vbs: [named, { oid: '1.3.6.1.4.1.32473.1.9', v: { type: 'raw', tag: 0x03, bytes: Buffer.from([0x00, 0x80]) } }] });
    const before = refused().internal;
    await send([inform]);
    expect(refused().internal - before).toBe(1);
    expect(crashes).toEqual([]);
  });

  it('requests a receiver does not serve (get, set, a response, a report): refused as unsupported', async () => {
    const pdu = (type: number) => seq(int(1), tlv(0x04, Buffer.from('public')), tlv(type, Buffer.concat([int(7), int(0), int(0), varbinds([{ oid: SYS_NAME, v: { type: 'null' } }])])));
    const before = refused().unsupported_pdu;
    await send([pdu(0xa0), pdu(0xa1), pdu(0xa3), pdu(0xa2), pdu(0xa8)]);
    expect(refused().unsupported_pdu - before).toBe(5);
  });

  it.each([
    ['an unknown PDU type', seq(int(1), tlv(0x04, Buffer.from('public')), tlv(0xaf, int(1)))],
    ['an unknown SNMP version', seq(int(7), tlv(0x04, Buffer.from('public')), tlv(0xa7, int(1)))],
    ['a v1 agent address of 5 bytes', Buffer.from(v1Trap({ community: 'public', enterprise: '1.3.6.1.4.1.1', agentAddr: '1.2.3.4', generic: 6, specific: 1, uptime: 1 }).toString('hex').replace('400401020304', '40050102030405'), 'hex')],
    ['an unknown value type', v2cTrap({ community: 'public', trapOid: LINK_DOWN, vbs: [{ oid: '1.3.6.1.4.1.1', v: { type: 'raw', tag: 0x47, bytes: Buffer.from([1]) } }] })],
    ['garbage where SNMPv3 security parameters belong', seq(int(3), seq(int(1), int(65507), tlv(0x04, Buffer.from([0x04])), int(3)), tlv(0x04, randomBytes(40)), seq(tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.alloc(0)), tlv(0xa7, int(1))))],
  ])('refuses %s as malformed', async (_what, datagram) => {
    const before = refused().malformed;
    await send([datagram]);
    expect(refused().malformed - before).toBe(1);
  });

  // Values past their type's range are read as they are (net-snmp is lenient there); a Counter64 past
  // int64 cannot be an integer field: the encoder leaves that field out (as for polled counters).
  it.each([
    ['a v1 time-stamp past 2^32 (net-snmp reads it as it is)', v1Trap({ community: 'public', enterprise: '1.3.6.1.4.1.1', agentAddr: '1.2.3.4', generic: 6, specific: 1, uptime: 2 ** 40, vbs: [named] })],
    ['an Integer32 past 2^31', v2cTrap({ community: 'public', trapOid: LINK_DOWN, vbs: [named, { oid: '1.3.6.1.2.1.2.2.1.1.3', v: { type: 'raw', tag: 0x02, bytes: Buffer.from('0100000000', 'hex') } }] })],
    ['a trap OID of 128 arcs', v2cTrap({ community: 'public', trapOid: `1.3.6.1.4.1.${Array.from({ length: 123 }, (_, i) => i).join('.')}`, vbs: [named] })],
    ['a trap OID with an arc past 2^32', v2cTrap({ community: 'public', trapOid: '1.3.6.1.4.1.1099511627776.1', vbs: [named] })],
    ['a sysUpTime of 2^32-1 and a Counter64 of 2^64-1', v2cTrap({ community: 'public', trapOid: LINK_DOWN, uptime: 2 ** 32 - 1, vbs: [named, { oid: '1.3.6.1.4.1.1.1', v: { type: 'counter64', value: 2n ** 64n - 1n } }] })],
    ['a sysUpTime that is text', seq(int(1), tlv(0x04, Buffer.from('public')), tlv(0xa7, Buffer.concat([int(1), int(0), int(0), varbinds([{ oid: '1.3.6.1.2.1.1.3.0', v: { type: 'str', value: 'yesterday' } }, { oid: '1.3.6.1.6.3.1.1.4.1.0', v: { type: 'oid', value: LINK_DOWN } }, named])])))],
    ['a varbind value full of newlines, NULs and a backslash at the end', v2cTrap({ community: 'public', trapOid: LINK_DOWN, vbs: [named, { oid: '1.3.6.1.2.1.31.1.1.1.1.3', v: { type: 'str', value: 'a\nb\r\n\0c\\' } }] })],
    ['a v1 trap from the agent address 0.0.0.0, generic 6 with a huge specific', v1Trap({ community: 'public', enterprise: '1.3.6.1.4.1.1', agentAddr: '0.0.0.0', generic: 6, specific: 2 ** 31 - 1, uptime: 0, vbs: [named] })],
  ])('takes %s, and writes it as line protocol', async (_what, datagram) => {
    const before = got.length;
    await send([datagram]);
    await vi.waitFor(() => expect(got.length).toBe(before + 1));
    for (const s of got.at(-1)!) {
      const problems: string[] = [];
      expect(encodeLine(s, (reason, field) => problems.push(`${field}: ${reason}`))).toBeDefined();
      expect(problems.filter((p) => !/integer 18446744073709551615 is outside the int64 range/.test(p))).toEqual([]);
    }
  });

  it('refuses an SNMPv3 trap without a user name (net-snmp takes it as noAuthNoPriv, unauthenticated), as from an unknown user', async () => {
    const engine = tlv(0x04, Buffer.from('8000000001020304', 'hex'));
    const empty = tlv(0x04, Buffer.alloc(0));
    const usm = seq(engine, int(0), int(0), empty, empty, empty);
    const pdu = tlv(0xa7, Buffer.concat([int(5), int(0), int(0), varbinds([
      { oid: '1.3.6.1.2.1.1.3.0', v: { type: 'ticks', value: 1 } }, { oid: '1.3.6.1.6.3.1.1.4.1.0', v: { type: 'oid', value: LINK_DOWN } }, named])]));
    const noUser = seq(int(3), seq(int(1), int(65507), tlv(0x04, Buffer.from([0x00])), int(3)), tlv(0x04, usm), seq(engine, empty, pdu));
    const before = { unknownUser: refused().unknown_user, got: got.length };
    await send([noUser]);
    expect(refused().unknown_user - before.unknownUser).toBe(1);
    expect(got.length).toBe(before.got);
  });

  it('refuses a v2c trap without snmpTrapOID.0, and one whose snmpTrapOID.0 is text, as malformed', async () => {
    const bare = (vbs: WireVarbind[]) => seq(int(1), tlv(0x04, Buffer.from('public')), tlv(0xa7, Buffer.concat([int(1), int(0), int(0), varbinds(vbs)])));
    const before = refused().malformed;
    await send([bare([named]), bare([{ oid: '1.3.6.1.6.3.1.1.4.1.0', v: { type: 'str', value: 'linkDown' } }, named]), bare([])]);
    expect(refused().malformed - before).toBe(3);
  });

  it('a wrong community from 300 addresses: each refused and counted, but at most 100 log lines a minute about sources in all', async () => {
    const before = refused().unknown_community;
    const trap = v2cTrap({ community: 'guess', trapOid: LINK_DOWN, vbs: [named] });
    for (let i = 0; i < 300; i++) {
      const from = dgram.createSocket('udp4');
      await new Promise<void>((r) => from.bind(0, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, () => r()));
      await new Promise<void>((r) => from.send(trap, collector.address!.port, '127.0.0.1', () => r()));
      from.close();
    }
    await vi.waitFor(() => expect(refused().unknown_community - before).toBe(300));
    const perSource = lines.filter((l) => ['snmp trap refused', 'snmp trap values left out or not understood'].includes(l.msg) || /maps to no element/.test(l.msg));
    expect(perSource.length).toBeLessThanOrEqual(100);
    expect(perSource.filter((l) => l.source?.startsWith('127.0.1.') || l.source?.startsWith('127.0.2.')).length).toBeGreaterThan(50);
  });

  it('after all of it: alive, a good trap is still taken, nothing escaped as an exception, no line logged per datagram', async () => {
    const before = got.length;
    await send([v2cTrap({ community: 'public', trapOid: LINK_DOWN, vbs: [{ oid: '1.3.6.1.2.1.2.2.1.1.3', v: { type: 'int', value: 3 } }, named] })]);
    await vi.waitFor(() => expect(got.length).toBe(before + 1));
    expect(got.at(-1)![1]).toMatchObject({ element: 'BS-1', fields: { up: false, reason: expect.stringMatching(/^linkDown ifIndex 3\b/) } });
    expect(crashes).toEqual([]);
    expect(lines.filter((l) => l.msg === 'snmp trap refused' && l.source === '127.0.0.1')).toHaveLength(1); // hundreds refused from one source: one line a minute
  });
});
