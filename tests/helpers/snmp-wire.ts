// SNMP notifications written byte by byte (BER, RFC 3416 / RFC 1157), for tests that need datagrams
// no tool sends: floods at full speed, truncated or hostile packets. Only what traps need.

export type WireValue =
  | { type: 'int'; value: number }
  | { type: 'str'; value: string | Buffer }
  | { type: 'oid'; value: string }
  | { type: 'ip'; value: string }
  | { type: 'counter'; value: number }
  | { type: 'gauge'; value: number }
  | { type: 'ticks'; value: number }
  | { type: 'counter64'; value: bigint }
  | { type: 'null' }
  | { type: 'raw'; tag: number; bytes: Buffer };

export interface WireVarbind { oid: string; v: WireValue }

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV: tag, length, value. */
export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
}

function intBytes(n: number | bigint, unsigned = false): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (unsigned ? v > 0n : !(v === 0n && (bytes[0] & 0x80) === 0) && !(v === -1n && (bytes[0] & 0x80) !== 0));
  if (unsigned && (bytes[0] & 0x80) !== 0) bytes.unshift(0);
  return Buffer.from(bytes);
}

export function int(n: number | bigint, tag = 0x02): Buffer {
  return tlv(tag, intBytes(n, tag !== 0x02));
}

function subid(n: bigint): number[] {
  const out = [Number(n & 0x7fn)];
  for (let x = n >> 7n; x > 0n; x >>= 7n) out.unshift(Number(x & 0x7fn) | 0x80);
  return out;
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => BigInt(p));
  const bytes = [...subid(parts[0] * 40n + (parts[1] ?? 0n))];
  for (const p of parts.slice(2)) bytes.push(...subid(p));
  return tlv(0x06, Buffer.from(bytes));
}

export function value(v: WireValue): Buffer {
  switch (v.type) {
    case 'int': return int(v.value);
    case 'str': return tlv(0x04, Buffer.isBuffer(v.value) ? v.value : Buffer.from(v.value));
    case 'oid': return oid(v.value);
    case 'ip': return tlv(0x40, Buffer.from(v.value.split('.').map(Number)));
    case 'counter': return int(v.value, 0x41);
    case 'gauge': return int(v.value, 0x42);
    case 'ticks': return int(v.value, 0x43);
    case 'counter64': return int(v.value, 0x46);
    case 'null': return tlv(0x05, Buffer.alloc(0));
    case 'raw': return tlv(v.tag, v.bytes);
  }
}

export const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));

export function varbinds(vbs: readonly WireVarbind[]): Buffer {
  return seq(...vbs.map((vb) => seq(oid(vb.oid), value(vb.v))));
}

/** An SNMPv2c trap (or inform, `pduType` 0xa6): sysUpTime.0, snmpTrapOID.0, then `vbs`. */
export function v2cTrap(o: { community: string; requestId?: number; uptime?: number; trapOid: string; vbs?: WireVarbind[]; pduType?: number }): Buffer {
  const all: WireVarbind[] = [
    { oid: '1.3.6.1.2.1.1.3.0', v: { type: 'ticks', value: o.uptime ?? 100 } },
    { oid: '1.3.6.1.6.3.1.1.4.1.0', v: { type: 'oid', value: o.trapOid } },
    ...(o.vbs ?? []),
  ];
  const pdu = tlv(o.pduType ?? 0xa7, Buffer.concat([int(o.requestId ?? 1), int(0), int(0), varbinds(all)]));
  return seq(int(1), tlv(0x04, Buffer.from(o.community)), pdu);
}

/** An SNMPv1 trap (RFC 1157). */
export function v1Trap(o: { community: string; enterprise: string; agentAddr: string; generic: number; specific: number; uptime: number; vbs?: WireVarbind[] }): Buffer {
  const pdu = tlv(0xa4, Buffer.concat([
    oid(o.enterprise), tlv(0x40, Buffer.from(o.agentAddr.split('.').map(Number))), int(o.generic), int(o.specific), int(o.uptime, 0x43), varbinds(o.vbs ?? []),
  ]));
  return seq(int(0), tlv(0x04, Buffer.from(o.community)), pdu);
}
