import { SnmpType } from '../snmp/session.ts';
import { toText } from '../snmp/values.ts';

/** A varbind value that survives JSON and line protocol: numbers, text, booleans, null. */
export type TrapValue = number | string | boolean | null;

export interface TrapVarbind {
  oid: string;
  /** The SNMP type's name (`Integer`, `OctetString`, `Counter64`, ...), so integers can be written as integers. */
  type: string;
  value: TrapValue;
}

/** One notification, whatever its version, as the rest of collectors/traps reads it. */
export interface Trap {
  version: '1' | '2c' | '3';
  /** An InformRequest (net-snmp has already answered it), not a trap. */
  inform: boolean;
  /** Who sent the datagram (IPv4-mapped IPv6 addresses as plain IPv4). */
  source: { address: string; port: number };
  /** v1 only: the agent-addr field (the device, even through a relay or NAT). */
  agentAddress?: string;
  /** v1 and v2c: the community it came with (it was one of the configured ones). */
  community?: string;
  /** v3: the user it was authenticated as, and its context. */
  user?: string;
  contextEngineID?: string;
  contextName?: string;
  /** The trap OID (snmpTrapOID.0); for v1, translated as RFC 3584 says. */
  oid: string;
  /** v1: the enterprise field; v2c/v3: snmpTrapEnterprise.0 when present. */
  enterprise?: string;
  /** sysUpTime.0 (v1: time-stamp) in hundredths of a second, when the trap carries one. */
  uptime?: number;
  /** The other varbinds, in order (sysUpTime.0 and snmpTrapOID.0 taken out), at most MAX_VARBINDS. */
  varbinds: TrapVarbind[];
  /** What was odd but not fatal: varbinds left out, a sysUpTime of the wrong type. */
  problems: string[];
}

/** The notification net-snmp's receiver hands over (`includeAuthentication: true`). */
export interface RawNotification {
  pdu: {
    type: number;
    varbinds?: { oid: unknown; type: unknown; value: unknown }[];
    community?: unknown;
    user?: unknown;
    scoped?: unknown;
    enterprise?: unknown;
    agentAddr?: unknown;
    generic?: unknown;
    specific?: unknown;
    upTime?: unknown;
    contextEngineID?: unknown;
    contextName?: unknown;
  };
  rinfo: { address: string; port: number };
}

export class TrapDecodeError extends Error {
  readonly code = 'TRAP_MALFORMED';
}

export const PduType = { Trap: 164, InformRequest: 166, TrapV2: 167 } as const;

export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
export const SNMP_TRAP_OID = '1.3.6.1.6.3.1.1.4.1.0';
export const SNMP_TRAP_ENTERPRISE = '1.3.6.1.6.3.1.1.4.3.0';
/** snmpTraps (SNMPv2-MIB): the generic v1 traps 0-5 are its arcs 1-6 (RFC 3584 3.1). */
export const SNMP_TRAPS = '1.3.6.1.6.3.1.1.5';

/** Varbinds kept per trap; a 64 KiB datagram can carry thousands (the rest are counted as a problem). */
export const MAX_VARBINDS = 256;
/** Text values are cut at this many characters. */
export const MAX_TEXT = 1024;

const OID = /^\d+(\.\d+)*$/;
const TYPE_NAMES: Record<number, string> = {
  ...Object.fromEntries(Object.entries(SnmpType).map(([k, v]) => [v, k])),
  3: 'BitString',
};

/** `::ffff:192.0.2.1` (an IPv4 sender on a dual-stack socket) is 192.0.2.1. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function cut(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 3)}...` : s;
}

function hex(v: unknown): string {
  return Buffer.isBuffer(v) ? cut(v.toString('hex')) : cut(String(v));
}

/**
 * A varbind value made JSON-safe: text for printable octet strings, else hex; a Counter64 as a
 * number when it fits a double exactly (below 2^53), else its decimal digits (a string, exact);
 * OIDs as dotted strings; IP addresses dotted (net-snmp does that); the exceptions and Null as null.
 */
export function jsonValue(type: number, value: unknown): TrapValue {
  switch (type) {
    case SnmpType.Integer: case SnmpType.Counter32: case SnmpType.Gauge32: case SnmpType.TimeTicks:
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case SnmpType.Counter64: {
      if (!Buffer.isBuffer(value)) return null;
      if (value.length > 9) return hex(value); // not a Counter64 (past 2^64): its bytes, as sent
      const n = value.length === 0 ? 0n : BigInt(`0x${value.toString('hex')}`);
      return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case SnmpType.OctetString:
      return Buffer.isBuffer(value) ? cut(toText({ oid: '', type, value })) : typeof value === 'string' ? cut(value) : null;
    case SnmpType.OID: case SnmpType.IpAddress:
      return typeof value === 'string' ? cut(value) : null;
    case SnmpType.Boolean:
      return typeof value === 'boolean' ? value : null;
    case SnmpType.Opaque: case 3 /* BitString */:
      return value === null || value === undefined ? null : hex(value);
    default: // Null, noSuchObject, noSuchInstance, endOfMibView
      return null;
  }
}

const typeName = (t: number) => TYPE_NAMES[t] ?? `type ${t}`;

/**
 * One normalised `Trap` from a notification net-snmp accepted. Pure. For v1 the trap OID follows
 * RFC 3584: generic 0-5 is snmpTraps.{generic+1} (coldStart 1.3.6.1.6.3.1.1.5.1 ... egpNeighborLoss
 * .6), enterprise-specific (6) is enterprise.0.specific. Throws TrapDecodeError for what names no
 * trap: a v2c/v3 notification without snmpTrapOID.0 (or not an OID), a v1 generic-trap outside
 * 0-6, a PDU type that is no notification.
 */
export function decodeNotification(n: RawNotification): Trap {
  const { pdu, rinfo } = n;
  const raw = Array.isArray(pdu.varbinds) ? pdu.varbinds : [];
  const problems: string[] = [];
  const inform = pdu.type === PduType.InformRequest;
  if (pdu.type !== PduType.Trap && pdu.type !== PduType.TrapV2 && !inform) throw new TrapDecodeError(`PDU type ${pdu.type} is not a notification`);
  const version: Trap['version'] = pdu.type === PduType.Trap ? '1' : pdu.scoped === true ? '3' : '2c';
  const trap: Trap = {
    version, inform, source: { address: plainAddress(String(rinfo.address)), port: Number(rinfo.port) }, oid: '', varbinds: [], problems,
  };
  if (version === '3') {
    if (typeof pdu.user === 'string') trap.user = pdu.user;
    if (typeof pdu.contextEngineID === 'string' && pdu.contextEngineID !== '') trap.contextEngineID = pdu.contextEngineID;
    if (Buffer.isBuffer(pdu.contextName)) trap.contextName = cut(pdu.contextName.toString('utf8'));
    else if (typeof pdu.contextName === 'string' && pdu.contextName !== '') trap.contextName = cut(pdu.contextName);
  } else if (pdu.community !== undefined) {
    trap.community = cut(Buffer.isBuffer(pdu.community) ? pdu.community.toString('utf8') : String(pdu.community));
  }
  let skipped = 0;
  for (const vb of raw) {
    const oid = String(vb.oid);
    const type = Number(vb.type);
    if (version !== '1' && oid === SYS_UPTIME && trap.uptime === undefined) {
      if (type === SnmpType.TimeTicks && typeof vb.value === 'number') trap.uptime = vb.value;
      else problems.push(`sysUpTime.0 is ${typeName(type)}, not TimeTicks`);
      continue;
    }
    if (version !== '1' && oid === SNMP_TRAP_OID && !trap.oid) {
      if (type !== SnmpType.OID || typeof vb.value !== 'string' || !OID.test(vb.value)) throw new TrapDecodeError(`snmpTrapOID.0 is ${typeName(type)}, not an OID`);
      trap.oid = vb.value;
      continue;
    }
    if (version !== '1' && oid === SNMP_TRAP_ENTERPRISE && type === SnmpType.OID && typeof vb.value === 'string') trap.enterprise = vb.value;
    if (trap.varbinds.length >= MAX_VARBINDS) {
      skipped++;
      continue;
    }
    trap.varbinds.push({ oid: cut(oid), type: typeName(type), value: jsonValue(type, vb.value) });
  }
  if (skipped > 0) problems.push(`${skipped} varbinds past the first ${MAX_VARBINDS} left out`);
  if (version === '1') {
    const generic = Number(pdu.generic);
    const enterprise = typeof pdu.enterprise === 'string' ? pdu.enterprise : '';
    if (!Number.isInteger(generic) || generic < 0 || generic > 6) throw new TrapDecodeError(`v1 generic-trap ${String(pdu.generic)} is not 0-6`);
    const specific = Number(pdu.specific);
    if (generic === 6 && !OID.test(enterprise)) throw new TrapDecodeError('v1 enterprise-specific trap without an enterprise OID');
    if (generic === 6 && (!Number.isInteger(specific) || specific < 0)) throw new TrapDecodeError(`v1 specific-trap ${String(pdu.specific)} is negative`);
    trap.oid = generic < 6 ? `${SNMP_TRAPS}.${generic + 1}` : `${enterprise}.0.${specific}`;
    if (enterprise) trap.enterprise = enterprise;
    if (typeof pdu.agentAddr === 'string') trap.agentAddress = pdu.agentAddr;
    if (typeof pdu.upTime === 'number') trap.uptime = pdu.upTime;
  } else if (!trap.oid) {
    throw new TrapDecodeError('no snmpTrapOID.0 varbind: which trap this is cannot be told');
  }
  return trap;
}

/** A varbind's value as written in a sample: integers of the integer types as bigint, so line protocol writes them as integers. */
export function isIntegerType(type: string): boolean {
  return type === 'Integer' || type === 'Counter32' || type === 'Gauge32' || type === 'TimeTicks' || type === 'Counter64';
}
