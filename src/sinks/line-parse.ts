import type { FieldValue } from '../sample.ts';

// Line protocol read back into values: the inverse of `encodeLine` (line-protocol.ts), for MQTT payloads and tests.

/** The range of a line protocol integer (`i`). */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

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

/** Sets a key on a record made from outside input; `__proto__` is kept as a key, not a prototype. */
function put<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * Reads one line of InfluxDB line protocol (`measurement,tag=v field=1i,f2="x" 1700000000000000000`),
 * escapes and all, as the reference defines them (and as `encodeLine` writes them): in the
 * measurement a backslash escapes `,`, space and `\` (and a leading `#`), in keys and tag values
 * also `=`; before any other character it is a literal backslash. Integers must fit int64 (`i`)
 * or uint64 (`u`), floats must be finite. Throws LineParseError naming what is wrong and at which
 * column.
 */
export function parseLine(line: string, precision: Precision = 'ns'): ParsedLine {
  let i = 0;
  const n = line.length;
  const fail = (what: string): never => {
    throw new LineParseError(`${what} at column ${i + 1}`);
  };
  /** Reads up to an unescaped stop character; a backslash escapes the characters in `escapable`. */
  const token = (stops: string, escapable: string): string => {
    let out = '';
    while (i < n) {
      const c = line[i];
      if (c === '\\' && i + 1 < n && escapable.includes(line[i + 1])) {
        out += line[i + 1];
        i += 2;
        continue;
      }
      if (stops.includes(c)) break;
      out += c;
      i++;
    }
    return out;
  };
  // A leading `\#` is a measurement that starts with `#` (unescaped, the line is a comment).
  let measurement = '';
  if (line.startsWith('\\#')) {
    measurement = '#';
    i = 2;
  }
  measurement += token(', ', ', \\');
  if (measurement === '') fail('missing measurement');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    i++;
    const k = token('=, ', ',= \\');
    if (line[i] !== '=' || k === '') fail('tag without "key=value"');
    i++;
    const v = token(', ', ',= \\');
    if (v === '') fail(`tag "${k}" has no value`);
    put(tags, k, v);
  }
  if (line[i] !== ' ') fail('expected a space before the fields');
  while (line[i] === ' ') i++;
  const fields: Record<string, FieldValue> = {};
  for (;;) {
    const k = token('= ,', ',= \\');
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
      put(fields, k, s);
    } else {
      const raw = token(', ', '');
      put(fields, k, fieldValue(k, raw, fail));
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

const UINT64_MAX = 2n ** 64n - 1n;

function fieldValue(key: string, raw: string, fail: (what: string) => never): FieldValue {
  if (/^-?\d+i$/.test(raw)) {
    const v = BigInt(raw.slice(0, -1));
    return v >= INT64_MIN && v <= INT64_MAX ? v : fail(`field "${key}": integer ${raw.slice(0, 40)} is outside int64`);
  }
  if (/^\d+u$/.test(raw)) {
    const v = BigInt(raw.slice(0, -1));
    return v <= UINT64_MAX ? v : fail(`field "${key}": unsigned ${raw.slice(0, 40)} is outside uint64`);
  }
  if (raw === 't' || raw === 'T' || raw === 'true' || raw === 'True' || raw === 'TRUE') return true;
  if (raw === 'f' || raw === 'F' || raw === 'false' || raw === 'False' || raw === 'FALSE') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) {
    const v = Number(raw);
    return Number.isFinite(v) ? v : fail(`field "${key}": ${raw.slice(0, 40)} is outside the float64 range`);
  }
  return fail(`field "${key}" has a bad value "${raw.slice(0, 40)}"`);
}
