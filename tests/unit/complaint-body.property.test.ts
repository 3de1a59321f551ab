import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseComplaint } from '../../correlators/complaints/schema.ts';
import { epochMs, checkTime, describeRefusal } from '../../src/intake/time.ts';
import { CATEGORIES, CHANNELS } from '../../correlators/complaints/complaint.ts';
import { hostileText } from '../helpers/arbitraries.ts';

/**
 * Fuzz campaign (issue 15) for complaint bodies and times from outside: a body is a complaint
 * with an integer time or a refusal naming its field; a time is integer ms or nothing, and the
 * window lets nothing outside it through.
 */

const SEED = 42;
const FIELDS = ['id', 'subscriberId', 'channel', 'category', 'text', 'reportedAt', 'cell', 'location', 'escalations'];
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

// --- generators --------------------------------------------------------------------------------

/** Instants with a 4-digit year at any offset: 0000-01-02 to 9999-12-30. */
const instants = fc.integer({ min: -62_167_132_800_000, max: 253_402_128_000_000 });
const offsets = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });

/** The instant as RFC 3339 text at an offset, with 0 to 9 digits of fraction (past the ms, digits that do not change it). */
function iso(ms: number, offsetMin: number, digits: number, extra: string): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const frac = digits === 0 ? '' : '.' + (local.slice(20, 23) + extra).slice(0, digits);
  const a = Math.abs(offsetMin);
  const zone = offsetMin === 0 && digits % 2 === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  return local.slice(0, 19) + frac + zone;
}

/** Text that any id accepts: no control character (C0, DEL). */
const idText = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.length <= max);

const valid = fc.record({
  id: idText(100),
  subscriberId: idText(64),
  channel: fc.constantFrom(...CHANNELS),
  category: fc.constantFrom(...CATEGORIES),
  text: fc.string({ maxLength: 200 }),
  ms: instants, offset: offsets, digits: fc.integer({ min: 0, max: 9 }), extra: fc.stringMatching(/^\d{6}$/),
  cell: idText(100),
  location: fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) }),
  escalations: fc.integer({ min: 0, max: 100 }),
}, { requiredKeys: ['id', 'subscriberId', 'channel', 'category', 'ms', 'offset', 'digits', 'extra'] });

const KEYS = [...FIELDS, '__proto__', 'constructor', 'prototype', 'toString', '', ' ', 'ID', 'reported_at', 'lat', 'lon', 'é'];
const hostileValues = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.double(), fc.integer(), fc.boolean(), fc.constant(null), hostileText(),
    fc.constantFrom('', 'app', 'no_service', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00+99:99', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999-23:59', '2026-02-30T00:00:00Z',
      '2026-01-01T24:00:00Z', '2026-01-01', '2026-01-01T00:00:00', '+275760-09-13T00:00:00Z', '1767225600000', '__proto__', 'x'.repeat(5000), 1767225600000, 1.5, -0, 1e20),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { maxLength: 6, selector: ([k]) => k }).map((e) => Object.fromEntries(e)),
  ),
})).value;

/** Bodies: hostile shapes, and valid complaints with one field spoiled or one key added. */
const bodies = fc.oneof(
  hostileValues,
  fc.tuple(valid, fc.constantFrom(...KEYS), hostileValues).map(([v, k, x]) => {
    const body: Record<string, unknown> = { ...toBody(v) };
    Object.defineProperty(body, k, { value: x, enumerable: true, writable: true, configurable: true });
    return body;
  }),
  fc.integer({ min: 1, max: 3_000 }).map((n) => JSON.parse('{"location":'.repeat(n) + '1' + '}'.repeat(n))),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => { try { return JSON.parse(s); } catch { return s; } }),
);

type Valid = typeof valid extends fc.Arbitrary<infer T> ? T : never;
function toBody(v: Valid): Record<string, unknown> {
  const { ms, offset, digits, extra, ...rest } = v;
  return { ...rest, reportedAt: iso(ms, offset, digits, extra) };
}

// --- properties --------------------------------------------------------------------------------

describe('complaint bodies', () => {
  it('any body gives a complaint with an integer time or a refusal naming its field', () => {
    fc.assert(fc.property(bodies, (body) => {
      // As it came over the wire: JSON text parsed (own `__proto__` keys and all).
      const raw = JSON.parse(JSON.stringify(body) ?? 'null');
      let r: ReturnType<typeof parseComplaint>;
      try {
        r = parseComplaint(raw);
      } catch (err) {
        throw new Error(`parseComplaint threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
      }
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
      if ('complaint' in r) {
        expect(Number.isInteger(r.complaint.reportedAt)).toBe(true);
        expect(Object.keys(r.complaint).every((k) => FIELDS.includes(k))).toBe(true);
        return;
      }
      expect(r.field.length).toBeGreaterThan(0);
      expect(r.message.length).toBeGreaterThan(0);
      // The field is one the schema knows, an unknown key the body holds, or the body itself.
      const first = r.field.split(/[.[]/)[0];
      const known = r.field === 'complaint' || FIELDS.includes(first) || (raw !== null && typeof raw === 'object' && (Object.hasOwn(raw, first) || (first === '""' && Object.hasOwn(raw, ''))));
      expect(known, JSON.stringify(r)).toBe(true);
    }), { seed: SEED, numRuns: 3000 });
  });

  it('a valid complaint is read exactly, its time at any offset and precision as the same integer ms', () => {
    fc.assert(fc.property(valid, (v) => {
      const body = toBody(v);
      const r = parseComplaint(JSON.parse(JSON.stringify(body)));
      // Fewer than 3 digits of fraction: the instant to that precision (offsets are whole minutes); more: the digits past the ms are dropped.
      const unit = 10 ** (3 - Math.min(v.digits, 3));
      expect(r).toEqual({ complaint: { ...JSON.parse(JSON.stringify(body)), reportedAt: v.ms - (((v.ms % unit) + unit) % unit) } });
    }), { seed: SEED, numRuns: 2000 });
  });

  it('names an unknown key, an empty one included, and a spoiled field by its path', () => {
    fc.assert(fc.property(valid, fc.constantFrom('', ' ', '__proto__', 'constructor', 'x.y', 'é'), (v, key) => {
      const body = JSON.parse(JSON.stringify({ ...toBody(v), location: { lat: 1, lon: 2 } }).replace(/^\{/, `{${JSON.stringify(key)}:1,`));
      expect(parseComplaint(body)).toEqual({ field: key === '' ? '""' : key, message: 'unknown field' });
      const nested = { ...toBody(v), location: JSON.parse(`{"lat":1,"lon":2,${JSON.stringify(key)}:3}`) };
      expect(parseComplaint(nested)).toEqual({ field: `location.${key === '' ? '""' : key}`, message: 'unknown field' });
    }), { seed: SEED, numRuns: 300 });
  });
});

// --- times from outside ------------------------------------------------------------------------

const numbers = fc.oneof(
  fc.double(), fc.integer(), fc.maxSafeInteger(),
  fc.constantFrom(0, -0, -1, 0.5, -0.5, 1e11 - 1, 1e11, 1e14 - 1, 1e14, 1e17 - 1, 1e17, 1e20, -1e20, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 63, NaN, Infinity, -Infinity),
);

describe('times from outside', () => {
  it('epochMs gives integer ms for any finite number, and nothing for NaN or an infinity', () => {
    fc.assert(fc.property(numbers, (n) => {
      const ms = epochMs(n);
      if (!Number.isFinite(n)) expect(ms).toBeUndefined();
      else expect(Number.isInteger(ms), `${n} -> ${ms}`).toBe(true);
    }), { seed: SEED, numRuns: 3000 });
  });

  it('epochMs reads one instant the same in s, ms, µs and ns', () => {
    fc.assert(fc.property(fc.integer({ min: 100_000_000_000, max: 99_999_999_999_999 }), fc.constantFrom(1, -1), (ms, sign) => {
      const t = sign * ms;
      expect([epochMs(t / 1000), epochMs(t), epochMs(t * 1000), epochMs(t * 1e6)]).toEqual([t, t, t, t]);
    }), { seed: SEED, numRuns: 2000 });
  });

  it('checkTime accepts exactly the integer ms inside [now - past, now + ahead]', () => {
    const now = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constant(Date.UTC(2026, 0, 1)));
    const windows = fc.record({ aheadMs: fc.oneof(fc.nat(), fc.constantFrom(0, 300_000)), pastMs: fc.oneof(fc.nat(), fc.constantFrom(0, 7 * 86_400_000, 30 * 86_400_000)) });
    const near = (n: number) => fc.oneof(numbers, fc.integer({ min: -10_000_000_000, max: 10_000_000_000 }).map((d) => n + d), fc.integer({ min: -2, max: 2 }).map((d) => n + d), fc.double({ min: -1, max: 1, noNaN: true }).map((d) => n + d));
    fc.assert(fc.property(now.chain((n) => fc.tuple(fc.constant(n), windows, near(n))), ([n, w, ms]) => {
      const r = checkTime(ms, n, w);
      const inside = Number.isSafeInteger(ms) && ms >= n - w.pastMs && ms <= n + w.aheadMs;
      expect(r === undefined, `${ms} around ${n} ${JSON.stringify(w)}: ${r}`).toBe(inside);
      if (!Number.isSafeInteger(ms)) expect(r).toBe('time_invalid');
      else if (ms > n + w.aheadMs) expect(r).toBe('time_ahead');
      else if (ms < n - w.pastMs) expect(r).toBe('time_too_old');
      // The edges themselves are inside.
      expect(checkTime(n + w.aheadMs, n, w)).toBeUndefined();
      expect(checkTime(n - w.pastMs, n, w)).toBeUndefined();
      if (r) expect(() => describeRefusal(r, ms, n, w)).not.toThrow();
      if (r) expect(describeRefusal(r, ms, n, w)).toMatch(/^time .+ (is more than .+ (ahead of this host's clock|old)|is not an integer number of milliseconds)$/);
    }), { seed: SEED, numRuns: 3000 });
  });

  it('no time a parser makes from outside gets through the window unless it is inside it', () => {
    // epochMs then checkTime, as the collectors and the complaint intake do.
    const now = Date.UTC(2026, 0, 1);
    const w = { aheadMs: 5 * 60_000, pastMs: 7 * 86_400_000 };
    fc.assert(fc.property(numbers, (n) => {
      const ms = epochMs(n);
      if (ms === undefined) return;
      if (checkTime(ms, now, w) === undefined) expect(ms >= now - w.pastMs && ms <= now + w.aheadMs && Number.isSafeInteger(ms)).toBe(true);
    }), { seed: SEED, numRuns: 2000 });
  });
});
