import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { toFieldValue, toText, toHwAddr, toBigInt, ValueError } from '../../collectors/snmp/values.ts';
import { SnmpType, type Varbind } from '../../collectors/snmp/session.ts';
import { compilePlan, pollTarget } from '../../collectors/snmp/poll.ts';
import { parseProfile } from '../../collectors/snmp/profile.ts';
import { CounterRates } from '../../collectors/snmp/rates.ts';
import { encodeLine, parseLine } from '../../src/sinks/line-protocol.ts';
import { FakeSession } from '../fakes/snmp-session.ts';

const INT64_MAX = 2n ** 63n - 1n;

/** Octet strings as agents send them: text, C strings with NULs, line breaks, binary, invalid UTF-8, numbers as text. */
const octets = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => Buffer.from(s)),
  fc.constantFrom('', 'Gi0/1', 'line one\r\nline two', 'tab\there', 'padded\0\0\0', 'in\0side', ' -12 ', '+7', '1e400', '-1.5e3',
    '99999999999999999999999', '18446744073709551615', '-9223372036854775809', 'n/a').map((s) => Buffer.from(s, 'latin1')),
  fc.constant(Buffer.from([0xff, 0xfe, 0x41])),
);

/** Counter64 as BER leaves it: 0 to 12 bytes, a ninth leading zero above 2^63-1, or too long. */
const counter64 = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 12 }).map((a) => Buffer.from(a)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => Buffer.from(n.toString(16).padStart(18, '0'), 'hex')),
  fc.constantFrom('ffffffffffffffff', '00ffffffffffffffff', '8000000000000000', '010000000000000000', '').map((h) => Buffer.from(h, 'hex')),
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(), fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), octets, fc.string({ maxLength: 8 }),
  fc.constant(null), fc.constant(undefined), fc.boolean(),
);

const types = fc.oneof(fc.constantFrom(...Object.values(SnmpType)), fc.integer({ min: 0, max: 255 }));

const varbinds: fc.Arbitrary<Varbind> = fc.oneof(
  fc.record({ oid: fc.constant('1.3.6.1.2.1.1.1.0'), type: types, value: anyValue }),
  fc.record({ oid: fc.constant('1.3.6.1.2.1.1.1.0'), type: fc.constant<number>(SnmpType.Counter64), value: counter64 }),
  fc.record({ oid: fc.constant('1.3.6.1.2.1.1.1.0'), type: fc.constant<number>(SnmpType.OctetString), value: octets }),
  fc.record({ oid: fc.constant('1.3.6.1.2.1.1.1.0'), type: fc.constantFrom<number>(SnmpType.NoSuchObject, SnmpType.NoSuchInstance, SnmpType.EndOfMibView, SnmpType.Null), value: fc.constant(null) }),
);

const profileTypes = fc.constantFrom(undefined, 'int' as const, 'float' as const, 'string' as const, 'hwaddr' as const);
const scales = fc.oneof(fc.constant(undefined), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0.1, 8, 1e300));

/** Runs `f`; a ValueError (the counted refusal: the poll records it as a problem of the OID) is fine, anything else is not. */
function refusedOr<T>(f: () => T): { value: T } | { refused: string } {
  try {
    return { value: f() };
  } catch (err) {
    expect(err).toBeInstanceOf(ValueError);
    return { refused: (err as Error).message };
  }
}

describe('SNMP value mapping, generated varbinds', () => {
  it('any varbind becomes a field line protocol carries, or a counted refusal; it never throws anything else', () => {
    fc.assert(fc.property(varbinds, profileTypes, scales, (vb, type, scale) => {
      const r = refusedOr(() => toFieldValue(vb, type, scale));
      if ('refused' in r) {
        expect(r.refused.length).toBeGreaterThan(0);
        return;
      }
      const v = r.value;
      if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      if (typeof v === 'bigint') {
        expect(v >= -(2n ** 63n) && v <= 2n ** 64n - 1n).toBe(true);
      }
      // Written next to another field: the line always survives. The value is written and reads
      // back equal, or (a Counter64 above 2^63-1 only) it alone is left out, reported, counted.
      const problems: [string, string | undefined][] = [];
      const line = encodeLine({ element: 'e', measurement: 'm', tags: {}, fields: { x: v, ok: 1n }, time: 0 }, (reason, field) => problems.push([reason, field]));
      expect(line).toBeDefined();
      if (typeof v === 'bigint' && v > INT64_MAX) {
        expect(problems).toEqual([[expect.stringContaining('outside the int64 range'), 'x']]);
        expect(parseLine(line!).fields).toEqual({ ok: 1n });
      } else {
        expect(problems).toEqual([]);
        expect(parseLine(line!).fields).toEqual({ x: v, ok: 1n });
      }
    }), { numRuns: 5000 });
  });

  it('any varbind a profile takes as a tag becomes a tag value line protocol carries, or a counted refusal', () => {
    fc.assert(fc.property(varbinds, fc.constantFrom(toText, toHwAddr, (vb: Varbind) => toBigInt(vb).toString()), (vb, tag) => {
      const r = refusedOr(() => tag(vb));
      if ('refused' in r || r.value === '') return; // an empty tag is left out
      const problems: string[] = [];
      const line = encodeLine({ element: 'e', measurement: 'm', tags: { t: r.value }, fields: { ok: 1n }, time: 0 }, (reason) => problems.push(reason));
      if (line === undefined) {
        // The one refusal text can meet: a backslash before a separator or at the end, which no
        // spelling makes InfluxDB and VictoriaMetrics read alike (counted by the sink as invalid).
        expect(r.value).toMatch(/\\([\\,= ]|$)/);
        expect(problems).toEqual([expect.stringContaining('backslash at its end or before')]);
        return;
      }
      expect(problems).toEqual([]);
      expect(parseLine(line).tags.t).toBe(r.value);
    }), { numRuns: 5000 });
  });

  it('a poll of an agent answering anything never throws: each value is a field or a problem named by its OID', async () => {
    const profile = parseProfile(`name: hostile
measurements:
  - measurement: m
    tags:
      - { name: descr, oid: 1.3.6.1.9.1.1.0 }
    fields:
      - { name: plain, oid: 1.3.6.1.9.1.2.0 }
      - { name: asInt, oid: 1.3.6.1.9.1.3.0, type: int }
      - { name: asFloat, oid: 1.3.6.1.9.1.4.0, type: float }
      - { name: asText, oid: 1.3.6.1.9.1.5.0, type: string }
      - { name: mac, oid: 1.3.6.1.9.1.6.0, type: hwaddr }
      - { name: scaled, oid: 1.3.6.1.9.1.7.0, scale: 0.1 }
      - { name: octets, oid: 1.3.6.1.9.1.8.0, rate: bps, rateScale: 8 }
`, 'hostile');
    const plan = compilePlan([profile]);
    const oids = ['1.3.6.1.9.1.1.0', '1.3.6.1.9.1.2.0', '1.3.6.1.9.1.3.0', '1.3.6.1.9.1.4.0', '1.3.6.1.9.1.5.0', '1.3.6.1.9.1.6.0', '1.3.6.1.9.1.7.0', '1.3.6.1.9.1.8.0'];
    const rates = new CounterRates();
    let now = 0;
    await fc.assert(fc.asyncProperty(fc.array(varbinds, { minLength: oids.length, maxLength: oids.length }), async (vbs) => {
      const session = new FakeSession(Object.fromEntries(oids.map((oid, i) => [oid, [vbs[i].type, vbs[i].value]])));
      now += 10_000;
      const r = await pollTarget(session, plan, { element: 'E', tags: {}, maxRepetitions: 10, maxRows: 100, rates, now: () => now });
      expect(r.failure).toBeUndefined();
      const fields = r.samples[0]?.fields ?? {};
      const named = new Set(r.problems.map((p) => p.oid));
      for (const [i, name] of ['plain', 'asInt', 'asFloat', 'asText', 'mac', 'scaled', 'octets'].entries()) {
        expect(name in fields || named.has(oids[i + 1])).toBe(true);
      }
      // Every sample is written; the only thing left out is a Counter64 above 2^63-1 (reported and
      // counted by the sink), and a sample is refused only when that was all it had.
      const tooBig = (v: unknown) => typeof v === 'bigint' && v > INT64_MAX;
      for (const s of r.samples) {
        const left: string[] = [];
        const line = encodeLine(s, (_reason, field) => { if (field !== undefined) left.push(field); });
        for (const field of left) expect(tooBig(s.fields[field])).toBe(true);
        if (line === undefined && !/\\([\\,= ]|$)/.test(s.tags.descr ?? '')) expect(Object.values(s.fields).every(tooBig)).toBe(true);
      }
    }), { numRuns: 1000 });
  });
});
