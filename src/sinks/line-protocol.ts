import type { Sample, FieldValue } from '../sample.ts';

// Escaping rules from the InfluxDB line protocol reference. Each test runs once per key or value;
// the replace only when something needs escaping (rare), so the common path allocates nothing.
const MEASUREMENT_SPECIAL = /[, \n\r]/;
const KEY_SPECIAL = /[,= \n\r]/;
const STRING_SPECIAL = /["\\\n]/;
const ESCAPE = (c: string) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\' + c);

function escapeMeasurement(s: string): string {
  return MEASUREMENT_SPECIAL.test(s) ? s.replace(/[, \n\r]/g, ESCAPE) : s;
}

function escapeKey(s: string): string {
  return KEY_SPECIAL.test(s) ? s.replace(/[,= \n\r]/g, ESCAPE) : s;
}

function encodeField(v: FieldValue): string | undefined {
  switch (typeof v) {
    case 'number':
      // NaN and infinities cannot be written; the field is left out.
      return Number.isFinite(v) ? String(v) : undefined;
    case 'bigint':
      return v.toString() + 'i';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return '"' + (STRING_SPECIAL.test(v) ? v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : v) + '"';
    default:
      return undefined;
  }
}

/**
 * Milliseconds (possibly fractional) as integer nanoseconds, in decimal. Whole milliseconds, the
 * usual case, need no bigint; a fraction is kept to the nanosecond.
 */
export function nanoseconds(ms: number): string {
  if (Number.isInteger(ms)) return ms === 0 ? '0' : ms + '000000';
  const whole = Math.floor(ms);
  const ns = Math.round((ms - whole) * 1e6);
  if (ns >= 1e6) return (whole + 1) + '000000';
  if (whole === 0) return String(ns);
  return whole + String(ns).padStart(6, '0');
}

/**
 * Encodes one sample as a line of InfluxDB line protocol, nanosecond precision.
 * The element is written as the `element` tag; tags are sorted by key, as InfluxDB recommends.
 * Returns undefined when no field is writable (a line without fields is invalid), so a bad
 * sample never poisons a batch.
 */
export function encodeLine(s: Sample): string | undefined {
  let fields = '';
  for (const key in s.fields) {
    const enc = encodeField(s.fields[key]);
    if (enc === undefined) continue;
    fields += (fields === '' ? '' : ',') + escapeKey(key) + '=' + enc;
  }
  if (fields === '') return undefined;
  // The tag keys in order, `element` among them (insertion sort: a sample has few tags).
  const keys = Object.keys(s.tags);
  if (!('element' in s.tags)) keys.push('element');
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
  let line = escapeMeasurement(s.measurement);
  for (const key of keys) {
    const value = key === 'element' ? s.element : s.tags[key];
    if (value === undefined || value === '') continue; // empty tag values are invalid
    line += ',' + escapeKey(key) + '=' + escapeKey(value);
  }
  return line + ' ' + fields + ' ' + nanoseconds(s.time);
}

export class LineParseError extends Error {}

/** Timestamp precision of line protocol input, as InfluxDB's `precision` parameter names it. */
export type Precision = 'ns' | 'us' | 'ms' | 's';
const PER_MS: Record<Precision, bigint> = { ns: 1_000_000n, us: 1_000n, ms: 1n, s: 0n };

/** A parsed line: a sample without its element (the caller decides which tag or topic names it). */
export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Milliseconds, fractional below that; undefined when the line had no timestamp. */
  time: number | undefined;
}

function toMs(ts: string, precision: Precision): number {
  if (!/^-?\d+$/.test(ts)) throw new LineParseError(`bad timestamp "${ts}"`);
  const v = BigInt(ts);
  if (precision === 's') return Number(v) * 1000;
  if (precision === 'ms') return Number(v);
  const per = PER_MS[precision];
  return Number(v / per) + Number(v % per) / Number(per);
}

/**
 * Reads one line of InfluxDB line protocol (`measurement,tag=v field=1i,f2="x" 1700000000000000000`),
 * escapes and all. Throws LineParseError naming what is wrong and at which column.
 */
export function parseLine(line: string, precision: Precision = 'ns'): ParsedLine {
  let i = 0;
  const n = line.length;
  const fail = (what: string): never => {
    throw new LineParseError(`${what} at column ${i + 1}`);
  };
  /** Reads up to an unescaped stop character; backslash escapes the next character. */
  const token = (stops: string): string => {
    let out = '';
    while (i < n) {
      const c = line[i];
      if (c === '\\' && i + 1 < n) {
        const next = line[i + 1];
        if (stops.includes(next) || next === '\\' || next === '=' || next === ',' || next === ' ') {
          out += next;
          i += 2;
          continue;
        }
      }
      if (stops.includes(c)) break;
      out += c;
      i++;
    }
    return out;
  };
  const measurement = token(', ');
  if (measurement === '') fail('missing measurement');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    i++;
    const k = token('=, ');
    if (line[i] !== '=' || k === '') fail('tag without "key=value"');
    i++;
    const v = token(', ');
    if (v === '') fail(`tag "${k}" has no value`);
    tags[k] = v;
  }
  if (line[i] !== ' ') fail('expected a space before the fields');
  while (line[i] === ' ') i++;
  const fields: Record<string, FieldValue> = {};
  for (;;) {
    const k = token('= ,');
    if (line[i] !== '=' || k === '') fail('field without "key=value"');
    i++;
    if (line[i] === '"') {
      i++;
      let s = '';
      while (i < n && line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        s += line[i++];
      }
      if (line[i] !== '"') fail(`unterminated string in field "${k}"`);
      i++;
      fields[k] = s;
    } else {
      const raw = token(', ');
      fields[k] = fieldValue(k, raw, fail);
    }
    if (line[i] !== ',') break;
    i++;
  }
  let time: number | undefined;
  if (line[i] === ' ') {
    while (line[i] === ' ') i++;
    const ts = line.slice(i).trim();
    if (ts !== '') time = toMs(ts, precision);
  } else if (i < n) fail('unexpected character');
  return { measurement, tags, fields, time };
}

function fieldValue(key: string, raw: string, fail: (what: string) => never): FieldValue {
  if (/^-?\d+i$/.test(raw)) return BigInt(raw.slice(0, -1));
  if (/^\d+u$/.test(raw)) return BigInt(raw.slice(0, -1));
  if (raw === 't' || raw === 'T' || raw === 'true' || raw === 'True' || raw === 'TRUE') return true;
  if (raw === 'f' || raw === 'F' || raw === 'false' || raw === 'False' || raw === 'FALSE') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  return fail(`field "${key}" has a bad value "${raw.slice(0, 40)}"`);
}
