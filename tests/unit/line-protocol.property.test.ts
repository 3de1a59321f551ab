import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeLine, parseLine, LineParseError } from '../../src/sinks/line-protocol.ts';
import type { Sample, FieldValue } from '../../src/sample.ts';
import { hostileText, fieldValues, record, INT64_MAX } from '../helpers/arbitraries.ts';

const text = hostileText();
const values = fieldValues(text);

const MAX_MS = 9_223_372_036_854;
const times = fc.oneof(fc.integer({ min: -MAX_MS, max: MAX_MS }), fc.constantFrom(MAX_MS, -MAX_MS, MAX_MS + 1, 0, 1_700_000_000_000), fc.double());

const samples: fc.Arbitrary<Sample> = fc.record({
  element: text,
  measurement: text,
  tags: record(text, text),
  fields: record(text, values),
  time: times,
});

/** The tags a reader gets back: `element` from the sample, empty values absent (InfluxDB has no empty tag). */
function tagsOf(s: Sample): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of [...Object.entries(s.tags).filter(([k]) => k !== 'element'), ['element', s.element]]) {
    if (v !== '') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A reason that says what is wrong, in words a reader of the log understands. */
const CLEAR = /newline|NUL|lone surrogate|is empty|reserved|outside|not a number InfluxDB can store|no field can be written|backslash at its end or before|starts with a tab|double quote/;

describe('line protocol, generated samples', () => {
  it('every sample encodes to a line the parser reads back equal, or is refused (wholly or field by field) with a clear reason', () => {
    fc.assert(fc.property(samples, (s) => {
      const problems: { reason: string; field?: string }[] = [];
      const line = encodeLine(s, (reason, field) => problems.push({ reason, field }));
      for (const p of problems) expect(p.reason).toMatch(CLEAR);
      if (line === undefined) {
        expect(problems.some((p) => p.field === undefined)).toBe(true);
        return;
      }
      expect(problems.every((p) => p.field !== undefined)).toBe(true);
      expect(line).not.toMatch(/[\n\0]/);
      expect(line.isWellFormed()).toBe(true);
      const left = new Set(problems.map((p) => p.field));
      const fields = Object.fromEntries(Object.entries(s.fields).filter(([k]) => !left.has(k)));
      expect(Object.keys(fields).length).toBeGreaterThan(0);
      const parsed = parseLine(line);
      expect(parsed.measurement).toBe(s.measurement);
      expect(parsed.tags).toEqual(tagsOf(s));
      expect(Object.entries(parsed.fields)).toEqual(Object.entries(fields));
      if (Number.isInteger(s.time)) expect(parsed.time).toBe(s.time + 0); // no negative zero in nanoseconds
      else expect(Math.abs(parsed.time! - s.time)).toBeLessThanOrEqual(Math.max(5e-7, Math.abs(s.time) * 2 ** -51));
    }), { numRuns: 3000 });
  });

  it('refuses nothing that line protocol can carry', () => {
    // A backslash that touches a separator or the end is the one thing of a name the servers read
    // differently (see encodeLine); the rest must all be written.
    const clean = text.filter((t) => t !== '' && !/[\n\0]/.test(t) && t.isWellFormed() && t !== 'time' && !/\\([\\,= "]|$)|^\\#/.test(t));
    const goodValues: fc.Arbitrary<FieldValue> = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }), fc.bigInt({ min: -(2n ** 63n), max: INT64_MAX }), fc.boolean(),
      text.filter((t) => !/[\n\0]/.test(t) && t.isWellFormed()),
    );
    fc.assert(fc.property(fc.record({
      element: clean, measurement: clean.filter((t) => t[0] !== '\t'), tags: record(clean, clean), fields: record(clean.filter((t) => t[0] !== '\t' && !t.includes('"')), goodValues).filter((f) => Object.keys(f).length > 0),
      time: fc.integer({ min: -MAX_MS, max: MAX_MS }),
    }), (s) => {
      const problems: string[] = [];
      expect(encodeLine(s, (reason) => problems.push(reason))).toBeDefined();
      expect(problems).toEqual([]);
    }), { numRuns: 2000 });
  });

  it('the parser never throws anything but a LineParseError, whatever the line', () => {
    fc.assert(fc.property(fc.array(fc.oneof(text, fc.constantFrom('i', 'u', '1', '-', '.', 'e', '"', 'true')), { maxLength: 12 }).map((p) => p.join('')), (line) => {
      try {
        parseLine(line);
      } catch (err) {
        expect(err).toBeInstanceOf(LineParseError);
      }
    }), { numRuns: 3000 });
  });
});
