import { describe, it, expect } from 'vitest';
import { decodeNotification, jsonValue, TrapDecodeError, MAX_VARBINDS, MAX_TEXT, type RawNotification } from '../../collectors/traps/decode.ts';

// Notifications in the shape net-snmp's receiver hands them over (includeAuthentication: true),
// as recorded from Debian's snmptrap and snmpinform.
const rinfo = { address: '192.0.2.7', family: 'IPv4', port: 40162, size: 80 };
const v2 = (varbinds: RawNotification['pdu']['varbinds'], more: Partial<RawNotification['pdu']> = {}): RawNotification => ({
  pdu: { type: 167, varbinds, scoped: false, community: 'public', ...more }, rinfo,
});
const head = (trapOid: string) => [
  { oid: '1.3.6.1.2.1.1.3.0', type: 67, value: 4242 },
  { oid: '1.3.6.1.6.3.1.1.4.1.0', type: 6, value: trapOid },
];
const v1 = (generic: number, specific: number, enterprise = '1.3.6.1.4.1.8072.3.2.10', varbinds: unknown[] = []): RawNotification => ({
  pdu: { type: 164, enterprise, agentAddr: '192.0.2.9', generic, specific, upTime: 1678047, varbinds: varbinds as never, scoped: false, community: 'public' }, rinfo,
});

describe('decoding a notification', () => {
  it.each([
    [0, 'coldStart', '1.3.6.1.6.3.1.1.5.1'],
    [1, 'warmStart', '1.3.6.1.6.3.1.1.5.2'],
    [2, 'linkDown', '1.3.6.1.6.3.1.1.5.3'],
    [3, 'linkUp', '1.3.6.1.6.3.1.1.5.4'],
    [4, 'authenticationFailure', '1.3.6.1.6.3.1.1.5.5'],
    [5, 'egpNeighborLoss', '1.3.6.1.6.3.1.1.5.6'],
  ])('translates a v1 generic trap %i (%s) to its SNMPv2 trap OID (RFC 3584)', (generic, _name, oid) => {
    expect(decodeNotification(v1(generic, 0)).oid).toBe(oid);
  });

  it('translates a v1 enterprise-specific trap to enterprise.0.specific, keeping agent address, uptime and varbinds', () => {
    const t = decodeNotification(v1(6, 17, '1.3.6.1.4.1.9999', [{ oid: '1.3.6.1.2.1.1.5.0', type: 4, value: Buffer.from('sw1') }]));
    expect(t).toEqual({
      version: '1', inform: false, source: { address: '192.0.2.7', port: 40162 }, community: 'public', oid: '1.3.6.1.4.1.9999.0.17',
      enterprise: '1.3.6.1.4.1.9999', agentAddress: '192.0.2.9', uptime: 1678047,
      varbinds: [{ oid: '1.3.6.1.2.1.1.5.0', type: 'OctetString', value: 'sw1' }], problems: [],
    });
  });

  it('reads a v2c trap, an inform, and a v3 trap with its user and context', () => {
    const t = decodeNotification(v2([...head('1.3.6.1.6.3.1.1.5.3'), { oid: '1.3.6.1.2.1.2.2.1.1.3', type: 2, value: 3 }]));
    expect(t).toMatchObject({ version: '2c', inform: false, community: 'public', oid: '1.3.6.1.6.3.1.1.5.3', uptime: 4242, varbinds: [{ oid: '1.3.6.1.2.1.2.2.1.1.3', type: 'Integer', value: 3 }] });
    expect(decodeNotification(v2(head('1.3.6.1.6.3.1.1.5.1'), { type: 166 }))).toMatchObject({ version: '2c', inform: true });
    const v3 = decodeNotification(v2(head('1.3.6.1.6.3.1.1.5.4'), { scoped: true, community: undefined, user: 'trapuser', contextEngineID: '80001f8880f7db375f1f310f6b00000000', contextName: '' }));
    expect(v3).toMatchObject({ version: '3', user: 'trapuser', contextEngineID: '80001f8880f7db375f1f310f6b00000000' });
    expect(v3.community).toBeUndefined();
    expect(v3.contextName).toBeUndefined();
  });

  it('takes an IPv4 sender on a dual-stack socket as plain IPv4', () => {
    expect(decodeNotification({ ...v2(head('1.3.6.1.6.3.1.1.5.1')), rinfo: { address: '::ffff:192.0.2.8', port: 1 } }).source.address).toBe('192.0.2.8');
  });

  it.each([
    ['an OctetString of text', 4, Buffer.from('Gi0/3'), 'Gi0/3'],
    ['an OctetString padded with NULs', 4, Buffer.from('sw1\0\0'), 'sw1'],
    ['a binary OctetString (a MAC address), as hex', 4, Buffer.from([0x00, 0x1b, 0x21, 0xde, 0xad, 0x01]), '001b21dead01'],
    ['an Integer', 2, -17, -17],
    ['a Counter32', 65, 4294967295, 4294967295],
    ['a Gauge32', 66, 77, 77],
    ['TimeTicks', 67, 123, 123],
    ['a small Counter64, as a number', 70, Buffer.from('0100', 'hex'), 256],
    ['a Counter64 past 2^53, as exact decimal digits', 70, Buffer.from('00ffffffffffffffff', 'hex'), '18446744073709551615'],
    ['a "Counter64" past 2^64, as its bytes', 70, Buffer.from('01ffffffffffffffffff', 'hex'), '01ffffffffffffffffff'],
    ['an OID, dotted', 6, '1.3.6.1.4.1.5', '1.3.6.1.4.1.5'],
    ['an IpAddress, dotted', 64, '10.1.2.3', '10.1.2.3'],
    ['Opaque, as hex', 68, Buffer.from([1, 2]), '0102'],
    ['a BitString, as hex', 3, Buffer.from([0x80]), '80'],
    ['Null', 5, null, null],
    ['noSuchObject', 128, null, null],
    ['an Integer that is not a number', 2, 'x', null],
  ])('makes %s JSON-safe', (_what, type, value, expected) => {
    expect(jsonValue(type, value)).toEqual(expected);
    expect(JSON.parse(JSON.stringify({ v: jsonValue(type, value) })).v).toEqual(expected);
  });

  it('cuts long text and keeps at most MAX_VARBINDS varbinds, saying how many it left out', () => {
    const many = Array.from({ length: MAX_VARBINDS + 10 }, (_, i) => ({ oid: `1.3.6.1.4.1.1.${i}`, type: 4, value: Buffer.alloc(5000, 'a') }));
    const t = decodeNotification(v2([...head('1.3.6.1.4.1.1.0.1'), ...many]));
    expect(t.varbinds).toHaveLength(MAX_VARBINDS);
    expect(String(t.varbinds[0].value)).toHaveLength(MAX_TEXT);
    expect(t.problems).toEqual([`10 varbinds past the first ${MAX_VARBINDS} left out`]);
  });

  it('keeps a trap whose sysUpTime is of the wrong type, saying so', () => {
    const t = decodeNotification(v2([{ oid: '1.3.6.1.2.1.1.3.0', type: 4, value: Buffer.from('yesterday') }, head('1.3.6.1.6.3.1.1.5.1')[1]]));
    expect(t.uptime).toBeUndefined();
    expect(t.problems).toEqual(['sysUpTime.0 is OctetString, not TimeTicks']);
  });

  it('takes the varbinds in any order (some agents put snmpTrapOID.0 first)', () => {
    const [up, oid] = head('1.3.6.1.6.3.1.1.5.2');
    expect(decodeNotification(v2([oid, up]))).toMatchObject({ oid: '1.3.6.1.6.3.1.1.5.2', uptime: 4242, varbinds: [] });
  });

  it.each([
    ['a v2c trap without snmpTrapOID.0', v2([{ oid: '1.3.6.1.2.1.1.3.0', type: 67, value: 1 }]), /no snmpTrapOID.0/],
    ['a snmpTrapOID.0 that is no OID', v2([{ oid: '1.3.6.1.6.3.1.1.4.1.0', type: 4, value: Buffer.from('linkDown') }]), /is OctetString, not an OID/],
    ['a v1 generic-trap of 7', v1(7, 0), /generic-trap 7 is not 0-6/],
    ['a v1 generic-trap of -1', v1(-1, 0), /generic-trap -1/],
    ['a v1 negative specific-trap', v1(6, -5), /specific-trap -5 is negative/],
    ['a v1 enterprise-specific trap without an enterprise', v1(6, 1, ''), /without an enterprise OID/],
    ['a PDU that is no notification', { pdu: { type: 160, varbinds: [] }, rinfo }, /not a notification/],
  ])('refuses %s as malformed', (_what, n, message) => {
    expect(() => decodeNotification(n as RawNotification)).toThrow(TrapDecodeError);
    expect(() => decodeNotification(n as RawNotification)).toThrow(message);
  });
});
