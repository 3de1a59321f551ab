import type { Sample, FieldValue } from '../sample.ts';

// Escaping rules from the InfluxDB line protocol reference.
const MEASUREMENT_SPECIAL = /[, \n\r]/g;
const KEY_SPECIAL = /[,= \n\r]/g;
const STRING_SPECIAL = /["\\]/g;

function escapeWith(re: RegExp, s: string): string {
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  return s.replace(re, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\' + c));
}

function encodeField(v: FieldValue): string | undefined {
  switch (typeof v) {
    case 'number':
      // NaN and infinities cannot be written; the field is left out.
      return Number.isFinite(v) ? String(v) : undefined;
    case 'bigint':
      return `${v}i`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return `"${v.replace(STRING_SPECIAL, '\\$&').replace(/\n/g, '\\n')}"`;
    default:
      return undefined;
  }
}

/**
 * Encodes one sample as a line of InfluxDB line protocol, nanosecond precision.
 * The element is written as the `element` tag. Returns undefined when no field is writable
 * (a line without fields is invalid), so a bad sample never poisons a batch.
 */
export function encodeLine(s: Sample): string | undefined {
  let fields = '';
  for (const key in s.fields) {
    const enc = encodeField(s.fields[key]);
    if (enc === undefined) continue;
    fields += (fields ? ',' : '') + escapeWith(KEY_SPECIAL, key) + '=' + enc;
  }
  if (!fields) return undefined;
  let line = escapeWith(MEASUREMENT_SPECIAL, s.measurement);
  const tags: Record<string, string> = { ...s.tags, element: s.element };
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key];
    if (value === undefined || value === '') continue; // empty tag values are invalid
    line += ',' + escapeWith(KEY_SPECIAL, key) + '=' + escapeWith(KEY_SPECIAL, value);
  }
  const ns = BigInt(Math.round(s.time * 1000)) * 1000n;
  return `${line} ${fields} ${ns}`;
}
