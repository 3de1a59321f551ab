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
