import type { Sample, FieldValue } from '../sample.ts';
import { INT64_MIN, INT64_MAX } from './line-parse.ts';

/**
 * Escaping, after the InfluxDB line protocol reference ("Special characters"):
 * - measurement: `,` and space are escaped with a backslash; a leading `#` is written `\#`, or the
 *   server would take the line for a comment and drop it (no server defines `\#`: they keep the
 *   name as `\#...`; this project's parser reads it back as `#...`);
 * - tag keys, tag values, field keys: `,`, `=` and space are escaped;
 * - string field values: `"` and `\` are escaped.
 * A backslash in a name is written as it is, which every reader takes literally, except where it
 * would touch what follows: at the end of a name, or before `\`, `,`, `=` or space (in a
 * measurement also `"`, and a leading `\#`). There the servers disagree: InfluxDB's parser (1.x;
 * 2.x carries the same code) has no escape for a backslash and takes any character after one as
 * escaped, so the separator that follows is swallowed and the line is refused or, worse, stored
 * under another series; VictoriaMetrics and the reference's newer text read `\\` as one
 * backslash. No spelling reads back the same everywhere, so such a name is refused with that
 * reason rather than stored differently on each.
 * A measurement or a field key cannot start with a tab (InfluxDB skips it as white space), and a
 * field key cannot hold a `"` (VictoriaMetrics takes it for the start of a string value).
 * A newline, a NUL or a lone surrogate cannot be carried in a name, a tag value or a string (line
 * protocol has no escape for a newline; the spool's reader takes a NUL for disk corruption; UTF-8
 * has no encoding for a lone surrogate): refused the same way, never written as something else.
 * Each test runs once per name; the slow path only when something needs escaping (rare).
 */
// Surrogates send a name to the slow path, which refuses a lone one (not Unicode: UTF-8 has no
// encoding for it, so the spool would store U+FFFD instead).
const MEASUREMENT_SPECIAL = /[, \\\n\0\uD800-\uDFFF]|^[#\t]/;
const KEY_SPECIAL = /[,= \\\n\0\uD800-\uDFFF]/;
const FIELD_KEY_SPECIAL = /[,= \\\n\0"\uD800-\uDFFF]|^\t/;
const STRING_SPECIAL = /["\\\n\0\uD800-\uDFFF]/;

/** A name that cannot be written, with the reason. */
class Unwritable {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

function unwritable(what: string, s: string): Unwritable | undefined {
  if (s === '') return new Unwritable(`${what} is empty`);
  if (!/[\n\0\uD800-\uDFFF]/.test(s)) return undefined;
  if (s.includes('\n')) return new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} contains a newline, which line protocol cannot carry`);
  if (s.includes('\0')) return new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} contains a NUL character`);
  if (!s.isWellFormed()) return new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} contains a lone surrogate (not Unicode)`);
  return undefined;
}

const touchingBackslash = (what: string, s: string, before: string) =>
  new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} has a backslash at its end or before ${before}, which InfluxDB and VictoriaMetrics would read differently`);

function escapeMeasurement(s: string): string | Unwritable {
  if (!MEASUREMENT_SPECIAL.test(s) && s !== '') return s;
  const bad = unwritable('measurement', s);
  if (bad) return bad;
  // InfluxDB skips tabs at the start of a line: the measurement would lose it.
  if (s[0] === '\t') return new Unwritable(`measurement ${JSON.stringify(s.slice(0, 60))} starts with a tab, which InfluxDB drops`);
  if (!s.includes('\\')) return s.replace(/^#|[, ]/g, (c) => '\\' + c);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ',' || c === ' ') out += '\\' + c;
    else if (c === '#' && i === 0) out += '\\#';
    else if (c === '\\') {
      const next = s[i + 1];
      // `=` and `"` too: InfluxDB unescapes both in a measurement, VictoriaMetrics only `=`.
      if (next === undefined || next === ',' || next === ' ' || next === '\\' || next === '=' || next === '"' || (i === 0 && next === '#')) {
        return touchingBackslash('measurement', s, '\\ , = " or space');
      }
      out += c;
    } else out += c;
  }
  return out;
}

/** A tag key, or the value of tag `tagOf` (named in the reason, built only when something is wrong). */
function escapeTag(s: string, tagOf?: string): string | Unwritable {
  if (!KEY_SPECIAL.test(s) && s !== '') return s;
  return escapeSlow(s, tagOf);
}

function escapeFieldKey(s: string): string | Unwritable {
  if (!FIELD_KEY_SPECIAL.test(s) && s !== '') return s;
  const what = 'field key';
  // InfluxDB skips tabs before the first field: the key would lose it.
  if (s[0] === '\t') return new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} starts with a tab, which InfluxDB drops`);
  // VictoriaMetrics takes a quote in a field key for the start of a string value and stores
  // garbage (escaped, it keeps the backslash; InfluxDB does not): no spelling works for both.
  if (s.includes('"')) return new Unwritable(`${what} ${JSON.stringify(s.slice(0, 60))} contains a double quote, which VictoriaMetrics misreads`);
  return escapeSlow(s, undefined, what);
}

/**
 * Tag keys and values, field keys: escapes `,` `=` space; refuses what cannot be written. The
 * reason names a tag value by its tag (`tagOf`), anything else by `kind`.
 */
function escapeSlow(s: string, tagOf: string | undefined, kind = 'tag key'): string | Unwritable {
  const what = () => (tagOf === undefined ? kind : `tag ${JSON.stringify(tagOf.slice(0, 60))}`);
  if (s === '' || /[\n\0\uD800-\uDFFF]/.test(s)) {
    const bad = unwritable(what(), s);
    if (bad) return bad;
  }
  if (!s.includes('\\')) return s.replace(/[,= ]/g, (c) => '\\' + c);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ',' || c === '=' || c === ' ') out += '\\' + c;
    else if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined || next === ',' || next === '=' || next === ' ' || next === '\\') return touchingBackslash(what(), s, '\\ , = or space');
      out += c;
    } else out += c;
  }
  return out;
}

/** The latest and earliest times int64 nanoseconds can carry, in whole milliseconds. */
const MAX_MS = 9_223_372_036_854;

/** The encoded value, or why the field is left out. */
function encodeField(v: FieldValue): string | Unwritable {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) return new Unwritable(`${v} is not a number InfluxDB can store`);
      return v === 0 && Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      // An integer field is int64 on every InfluxDB. A value past it (a Counter64 above 2^63-1)
      // written as unsigned (`u`, which InfluxDB 1.x refuses) or as a float would clash with the
      // field's integer type and make the server refuse the whole line: the field alone is left
      // out, and the other fields of the line are kept.
      if (v < INT64_MIN || v > INT64_MAX) return new Unwritable(`integer ${v} is outside the int64 range of an integer field`);
      return v.toString() + 'i';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      if (!STRING_SPECIAL.test(v)) return '"' + v + '"';
      if (v.includes('\n')) return new Unwritable('a string with a newline, which line protocol cannot carry');
      if (v.includes('\0')) return new Unwritable('a string with a NUL character');
      if (!v.isWellFormed()) return new Unwritable('a string with a lone surrogate (not Unicode)');
      return '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"';
    default:
      return new Unwritable(`a value of type ${typeof v}`);
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
  if (ns >= 1e6) return (whole + 1) === 0 ? '0' : (whole + 1) + '000000';
  if (whole < 0) return (BigInt(whole) * 1_000_000n + BigInt(ns)).toString();
  if (whole === 0) return String(ns);
  return whole + String(ns).padStart(6, '0');
}

/**
 * Told what could not be written: `field` names the field left out; without it, the whole sample
 * was refused.
 */
export type EncodeProblem = (reason: string, field?: string) => void;

/**
 * Encodes one sample as a line of InfluxDB line protocol, nanosecond precision.
 * The element is written as the `element` tag; tags are sorted by key, as InfluxDB recommends;
 * a tag with an empty value is left out (InfluxDB has no empty tag value: it is the tag's absence).
 *
 * A field that cannot be written (NaN, an infinity, an integer outside int64, a string with a
 * newline, an empty key or the key `time`, which InfluxDB 1.x drops) is left out and reported
 * with its key; the rest of the line is kept. A sample is refused (undefined, reported without a
 * key) when its measurement, a tag key or a tag value cannot be written, when its time is outside
 * int64 nanoseconds, or when no field is left: it never poisons a batch.
 */
export function encodeLine(s: Sample, problem?: EncodeProblem): string | undefined {
  const t = s.time;
  if (typeof t !== 'number' || !Number.isFinite(t) || t > MAX_MS || t < -MAX_MS) {
    problem?.(`time ${t} is outside what line protocol can carry (int64 nanoseconds)`);
    return undefined;
  }
  const measurement = escapeMeasurement(s.measurement);
  if (measurement instanceof Unwritable) {
    problem?.(measurement.reason);
    return undefined;
  }
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
  let line = measurement;
  for (const key of keys) {
    const value = key === 'element' ? s.element : s.tags[key];
    if (value === undefined || value === '') continue; // empty tag values are invalid
    if (key === 'time') {
      problem?.('the tag key "time" is reserved (InfluxDB 1.x refuses the point)');
      return undefined;
    }
    const k = escapeTag(key);
    const v = escapeTag(value, key);
    if (k instanceof Unwritable || v instanceof Unwritable) {
      problem?.((k instanceof Unwritable ? k : v as Unwritable).reason);
      return undefined;
    }
    line += ',' + k + '=' + v;
  }
  let fields = '';
  for (const key in s.fields) {
    const enc = encodeField(s.fields[key]);
    const k = key === 'time' ? new Unwritable('the field key "time" is reserved (InfluxDB 1.x drops it)') : escapeFieldKey(key);
    if (enc instanceof Unwritable || k instanceof Unwritable) {
      problem?.(`field ${JSON.stringify(key.slice(0, 60))}: ${(k instanceof Unwritable ? k : enc as Unwritable).reason}`, key);
      continue;
    }
    fields += (fields === '' ? '' : ',') + k + '=' + enc;
  }
  if (fields === '') {
    problem?.('no field can be written');
    return undefined;
  }
  return line + ' ' + fields + ' ' + nanoseconds(t);
}

// Reading line protocol back (MQTT payloads, tests) is in line-parse.ts.
export { parseLine, LineParseError, type ParsedLine, type Precision } from './line-parse.ts';
