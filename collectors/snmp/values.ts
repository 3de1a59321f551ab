import { SnmpType, type Varbind } from './session.ts';
import type { FieldValue } from '../../src/sample.ts';

export class ValueError extends Error {}

export function isException(vb: Varbind): boolean {
  return vb.type === SnmpType.NoSuchObject || vb.type === SnmpType.NoSuchInstance || vb.type === SnmpType.EndOfMibView;
}

export function exceptionName(type: number): string {
  return type === SnmpType.NoSuchObject ? 'noSuchObject' : type === SnmpType.NoSuchInstance ? 'noSuchInstance' : 'endOfMibView';
}

const COUNTER_BITS: Record<number, 32 | 64> = { [SnmpType.Counter32]: 32, [SnmpType.Counter64]: 64 };

/** 32 or 64 for counter types, undefined for anything else. */
export function counterBits(type: number): 32 | 64 | undefined {
  return COUNTER_BITS[type];
}

const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A Counter64 as sent: an unsigned big-endian integer. BER needs a ninth byte (a leading zero)
 * above 2^63-1; a value past 2^64-1 is not a Counter64 and is refused.
 */
function bufferToBigInt(b: Buffer): bigint {
  const v = b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
  if (v > UINT64_MAX) throw new ValueError(`Counter64 of ${b.length} bytes is past 2^64-1 (0x${b.toString('hex').slice(0, 40)})`);
  return v;
}

/** Line breaks become spaces and NULs go: line protocol can carry neither in a tag or a string. */
function clean(s: string): string {
  return /[\r\n\0]/.test(s) ? s.replace(/\r\n|[\r\n]/g, ' ').replace(/\0/g, '') : s;
}

/** Text unless a control character (other than tab, CR, LF and trailing NULs) says binary. */
function isPrintable(b: Buffer, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = b[i];
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return false;
  }
  return true;
}

function octetsToString(b: Buffer): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--; // C strings padded with NULs
  return isPrintable(b, end) ? clean(b.toString('utf8', 0, end)) : b.toString('hex');
}

const NUMERIC_TEXT = /^\s*[-+]?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/;

/**
 * The integer carried by a varbind, as a bigint (numeric types, and octet strings holding a
 * decimal number, as some agents send), between -2^63 and 2^64-1 (a Counter64 above 2^63-1 is
 * valid SNMP; the line-protocol encoder decides what to do with it). Throws ValueError naming
 * the type otherwise.
 */
export function toBigInt(vb: Varbind): bigint {
  const v = vb.value;
  let n: bigint | undefined;
  if (vb.type === SnmpType.Counter64 && Buffer.isBuffer(v)) n = bufferToBigInt(v);
  else if (typeof v === 'number' && Number.isFinite(v)) n = BigInt(Math.trunc(v));
  else if (typeof v === 'bigint') n = v;
  else if (Buffer.isBuffer(v) && vb.type === SnmpType.OctetString) {
    const s = v.toString('latin1');
    if (/^\s*[-+]?\d+\s*$/.test(s)) n = BigInt(s.trim());
  }
  if (n === undefined) throw new ValueError(`expected a number, got ${typeName(vb.type)} ${preview(v)}`);
  if (n < INT64_MIN || n > UINT64_MAX) throw new ValueError(`${typeName(vb.type)} ${preview(v)} is outside the 64-bit range`);
  return n;
}

/** A finite number; throws ValueError otherwise. */
export function toNumber(vb: Varbind): number {
  const v = vb.value;
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (Buffer.isBuffer(v)) {
    if (vb.type === SnmpType.Counter64) n = Number(bufferToBigInt(v));
    else if (vb.type === SnmpType.OctetString || vb.type === SnmpType.Opaque) {
      const s = v.toString('latin1');
      if (NUMERIC_TEXT.test(s)) n = Number(s);
    }
  }
  if (n === undefined) throw new ValueError(`expected a number, got ${typeName(vb.type)} ${preview(v)}`);
  if (!Number.isFinite(n)) throw new ValueError(`${typeName(vb.type)} ${preview(v)} is not a finite number`);
  return n;
}

/** Text for a tag or a string field: no line breaks, no NULs. */
export function toText(vb: Varbind): string {
  const v = vb.value;
  if (Buffer.isBuffer(v)) return vb.type === SnmpType.Counter64 ? bufferToBigInt(v).toString() : octetsToString(v);
  if (v === null || v === undefined) return '';
  return clean(String(v));
}

export function toHwAddr(vb: Varbind): string {
  if (!Buffer.isBuffer(vb.value)) throw new ValueError(`expected an octet string, got ${typeName(vb.type)}`);
  return [...vb.value].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Converts a varbind to a field value. `type` comes from the profile; without one, integer
 * SNMP types stay integers and everything else becomes text. `scale` makes a float.
 */
export function toFieldValue(vb: Varbind, type: 'int' | 'float' | 'string' | 'hwaddr' | undefined, scale?: number): FieldValue {
  if (isException(vb)) throw new ValueError(exceptionName(vb.type));
  if (scale !== undefined) {
    // toPrecision drops binary noise: -878 * 0.1 is written -87.8, not -87.80000000000001.
    const v = Number((toNumber(vb) * scale).toPrecision(15));
    if (!Number.isFinite(v)) throw new ValueError(`${preview(vb.value)} scaled by ${scale} is not a finite number`);
    return v;
  }
  switch (type) {
    case 'int': return toBigInt(vb);
    case 'float': return toNumber(vb);
    case 'string': return toText(vb);
    case 'hwaddr': return toHwAddr(vb);
    default:
      switch (vb.type) {
        case SnmpType.Integer: case SnmpType.Counter32: case SnmpType.Gauge32:
        case SnmpType.TimeTicks: case SnmpType.Counter64:
          return toBigInt(vb);
        case SnmpType.Boolean:
          return Boolean(vb.value);
        case SnmpType.Null:
          throw new ValueError('got Null');
        default:
          return toText(vb);
      }
  }
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SnmpType).map(([k, v]) => [v, k]));

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

function preview(v: unknown): string {
  const s = Buffer.isBuffer(v) ? JSON.stringify(v.toString('latin1')) : typeof v === 'bigint' ? String(v) : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
