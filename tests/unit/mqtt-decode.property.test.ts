import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { compileDecoder, parseTime, DecodeError, type Decoded, type Decoder } from '../../collectors/mqtt/decode.ts';
import { mqttSubscription, type MqttSubscriptionConfig } from '../../src/config/schema.ts';
import type { FieldValue } from '../../src/sample.ts';
import { hostileText } from '../helpers/arbitraries.ts';

/**
 * Fuzz campaign (issue 15) for the MQTT decoder: whatever a publisher sends, `decode` returns
 * samples that can be kept (integer ms times, an element, typed fields) or throws its own
 * DecodeError; bad items and lines are named and never take the good ones with them.
 */

const SEED = 42;
const RECEIVED = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

afterAll(() => {
  // Nothing any property decoded may have reached Object.prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

const compile = (raw: Record<string, unknown>): Decoder => compileDecoder(mqttSubscription.parse(raw));

// --- generators --------------------------------------------------------------------------------

const KEYS = ['cell', 'v', 'rsrp', 'users', 'up', 'ts', 'time', 'radio', 'cells', 'a', 'b', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'polluted', '', 'é', '𝄞', '\u0000', ' '];
const keys = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: hostileText() });

/** Number tokens as they appear in JSON text, the hostile ones JSON.stringify never writes among them. */
const numberTokens = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0.0', '123456789012345678901234567890', '1.7976931348623157e308', '9007199254740993', '1700000000', '1700000000000', '1700000000000000', '1700000000000000000'),
);
const STRINGS = ['NaN', 'Infinity', '-Infinity', '1e400', '-0', '', ' ', '0x10', '1_000', '12abc', ' 42 ', '+7', '.5', '5.', 'true', 'null', '__proto__', 'constructor', '\u0000', '\u202Ee', 'x'.repeat(5000),
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00+14:00', '2026-01-01T00:00:00-12:59', '2026-01-01T00:00:00+99:99', '2026-02-30T00:00:00Z', '1969-12-31T23:59:59.999Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '2026-01-01junk', 'yesterday'];
const stringTokens = fc.oneof(fc.constantFrom(...STRINGS), hostileText(), fc.string({ unit: 'grapheme', maxLength: 10 })).map((s) => JSON.stringify(s));

/** JSON text of random shape: objects with hostile keys (duplicates and `__proto__` among them), arrays, hostile scalars. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    numberTokens, stringTokens, fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    fc.array(fc.tuple(keys, tie('value')), { maxLength: 6 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** Nested past what a recursive reader survives: arrays, or objects along the paths the specs read (built in the property: shrunk examples stay short). */
const deepShapes = fc.tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom('array', 'object', 'at-field', 'at-time', 'at-element'));
function deepJson([depth, where]: [number, string]): string {
    const arrays = '['.repeat(depth) + ']'.repeat(depth);
    switch (where) {
      case 'array': return arrays;
      case 'object': return '{"v":'.repeat(depth) + '1' + '}'.repeat(depth);
      case 'at-field': return `{"cell":"A","v":${arrays}}`;
      case 'at-time': return `{"cell":"A","v":1,"ts":${arrays}}`;
      default: return `{"cell":${arrays},"v":1}`;
    }
}

const payloads = fc.oneof(
  { weight: 4, arbitrary: jsonText.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n', 'NaN', 'Infinity', '-Infinity', '1e400', 'null', '[]', '{}', '{"__proto__":{"polluted":1}}', '\uFEFF{"v":1}', '{"v":1', '\0').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => Buffer.from(s.repeat(500))) },
);

const fieldSpecs = fc.record({
  path: fc.constantFrom('$.v', '$.rsrp', '$.radio.rsrp', '$.users', '$.up', '$.a.b', '$[0]', '$.a[1].b', '$.__proto__', '$.__proto__.polluted', '$.constructor', '$.toString', '$', '{1}', '{2}', 'literal'),
  type: fc.constantFrom('float', 'int', 'bool', 'string'),
  scale: fc.option(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e10, 1e300, -1, 0.001)), { nil: undefined }),
}).map(({ scale, ...f }) => (scale === undefined ? f : { ...f, scale }));

const fieldNames = fc.constantFrom('v', 'rsrp_dbm', 'users', 'up', 'note', '__proto__', 'constructor', 'time');

const jsonSubs = fc.record({
  topic: fc.constant('t/+/+'),
  format: fc.constant('json'),
  element: fc.constantFrom('$.cell', '{1}', '{2}', '{5}', 'EL-1', '$.a.b', '$.__proto__', '$.constructor', '$'),
  measurement: fc.constant('m'),
  fields: fc.uniqueArray(fc.tuple(fieldNames, fc.oneof(fieldSpecs, fc.constantFrom('$.v', '$.rsrp'))), { minLength: 1, maxLength: 3, selector: ([k]) => k })
    .map((e) => Object.fromEntries(e)),
  time: fc.option(fc.constantFrom('$.ts', '$.time', '{2}', '$.__proto__'), { nil: undefined }),
  each: fc.option(fc.constantFrom('$.cells', '$', '$.__proto__'), { nil: undefined }),
  maxPayload: fc.oneof(fc.constant('1MiB'), fc.integer({ min: 16, max: 4096 })),
  tags: fc.constantFrom({}, { cell: '{1}-C{2}' }, { band: '$.band', __proto__x: '{9}' }),
}, { requiredKeys: ['topic', 'format', 'element', 'measurement', 'fields', 'maxPayload', 'tags'] });

const lineSubs = fc.record({
  topic: fc.constant('t/+/+'),
  format: fc.constant('line'),
  element: fc.option(fc.constantFrom('{1}', '{2}', '{7}'), { nil: undefined }),
  precision: fc.constantFrom('ns', 'us', 'ms', 's'),
  maxPayload: fc.oneof(fc.constant('1MiB'), fc.integer({ min: 16, max: 4096 })),
  tags: fc.constantFrom({}, { site: '{1}' }),
}, { requiredKeys: ['topic', 'format', 'precision', 'maxPayload', 'tags'] });

const valueSubs = fc.record({
  topic: fc.constant('t/+/+'),
  format: fc.constant('value'),
  element: fc.constantFrom('{1}', '{2}', '{7}', 'EL-1'),
  measurement: fc.constant('m'),
  field: fc.constantFrom('{2}', '{7}', 'value', '__proto__'),
  maxPayload: fc.oneof(fc.constant('1MiB'), fc.integer({ min: 16, max: 4096 })),
});

/** Subscriptions as the config schema passes them (a field named `__proto__` alone leaves a json subscription without fields: refused there). */
const subs = fc.oneof(jsonSubs, lineSubs, valueSubs).map((raw) => mqttSubscription.safeParse(raw)).filter((r) => r.success).map((r) => r.data!);

const topics = fc.oneof(
  fc.constantFrom('t/BS-1/2', 't/BS-1/temperature_c', 't//', 't/__proto__/constructor', 't/é𝄞/\u0000', 't/a b/c,d=e'),
  fc.tuple(hostileText(), hostileText()).map(([a, b]) => `t/${a.replaceAll('/', '')}/${b.replaceAll('/', '')}`),
);

// --- checks ------------------------------------------------------------------------------------

const typeOf = (v: FieldValue) => (typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float' : typeof v === 'boolean' ? 'bool' : 'string');

/** The configured type of each field a sample may carry, for json subscriptions. */
function fieldTypes(sub: MqttSubscriptionConfig): Map<string, string> {
  return new Map(Object.entries(sub.fields).map(([k, f]) => [k, typeof f === 'string' ? 'float' : f.type]));
}

/** What a successful decode must look like: samples that can be stored as they are. */
function expectUsable(sub: MqttSubscriptionConfig, d: Decoded): void {
  expect(d.samples.length).toBeGreaterThan(0);
  expect(d.elements).toEqual(d.samples.map((s) => s.element));
  const types = fieldTypes(sub);
  for (const s of d.samples) {
    expect(Number.isInteger(s.time), `time ${s.time}`).toBe(true);
    expect(typeof s.element).toBe('string');
    expect(s.element.length).toBeGreaterThan(0);
    expect(typeof s.measurement).toBe('string');
    expect(s.measurement.length).toBeGreaterThan(0);
    const fields = Object.entries(s.fields);
    expect(fields.length).toBeGreaterThan(0);
    for (const [k, v] of fields) {
      if (typeof v === 'number') expect(Number.isFinite(v), `field ${k} = ${v}`).toBe(true);
      if (sub.format === 'json') expect(typeOf(v)).toBe(types.get(k));
      if (sub.format === 'value') expect(typeOf(v)).toBe('float');
    }
    for (const [k, v] of Object.entries(s.tags)) {
      expect(typeof v, `tag ${k}`).toBe('string');
      expect(v.length).toBeGreaterThan(0);
    }
  }
  for (const p of d.problems) expect(p).toMatch(WHAT);
}

/** A problem names where (a field, a line) or what (the element, the timestamp, the array). */
const WHAT = /^(field .+: |line \d+: |no element \(|no usable field \(|bad timestamp |.+ is not an array$)/;

/** Decodes, and when it refuses, the refusal must be a DecodeError that says why. */
function decodeOrRefuse(dec: Decoder, topic: string, payload: Buffer): Decoded | DecodeError {
  try {
    const d = dec.decode(topic, payload, RECEIVED);
    expectUsable(dec.sub, d);
    expect(payload.length).toBeLessThanOrEqual(dec.sub.maxPayload);
    return d;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`decode threw ${(err as Error)?.constructor?.name}, not DecodeError: ${(err as Error)?.message}`, { cause: err });
    expect(['too_large', 'malformed']).toContain(err.reason);
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.message).not.toMatch(/Maximum call stack|Invalid string length|Cannot convert|undefined is not|is not a function/);
    expect(err.message.length).toBeLessThan(20_000);
    if (payload.length > dec.sub.maxPayload) expect(err.reason).toBe('too_large');
    else expect(err.reason).toBe('malformed');
    return err;
  }
}

// --- properties --------------------------------------------------------------------------------

describe('MQTT decoding of hostile messages', () => {
  it('any subscription and any payload give usable samples or a DecodeError naming the reason', () => {
    fc.assert(fc.property(subs, topics, payloads, (sub, topic, payload) => {
      decodeOrRefuse(compileDecoder(sub), topic, payload);
    }), { seed: SEED, numRuns: 3000 });
  });

  it('nesting past the stack is refused or read, never a stack overflow', () => {
    fc.assert(fc.property(subs.filter((s) => s.format === 'json'), deepShapes, (sub, shape) => {
      decodeOrRefuse(compileDecoder({ ...sub, maxPayload: 2 ** 20 }), 't/BS-1/2', Buffer.from(deepJson(shape)));
    }), { seed: SEED, numRuns: 200 });
  });

  it('does not pollute Object.prototype whatever keys the payload carries', () => {
    const proto = (inner: string) => fc.constantFrom(
      `{"__proto__":${inner},"cell":"A","v":1}`, `{"constructor":{"prototype":${inner}},"cell":"A","v":1}`,
      `{"cells":[{"__proto__":${inner},"cell":"A","v":1}],"__proto__":${inner}}`, `[{"cell":"__proto__","v":1,"__proto__":${inner}}]`,
      `m,__proto__=x,element=A __proto__=1,constructor=2`, `__proto__,element=__proto__ polluted=1`);
    fc.assert(fc.property(subs, jsonText.chain((inner) => proto(`{"polluted":${inner}}`)), (sub, text) => {
      decodeOrRefuse(compileDecoder(sub), 't/__proto__/polluted', Buffer.from(text));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
    }), { seed: SEED, numRuns: 500 });
  });

  it('refuses a payload over maxPayload as too_large, whatever it holds', () => {
    fc.assert(fc.property(subs, fc.integer({ min: 1, max: 4096 }), (sub, extra) => {
      const payload = Buffer.alloc(sub.maxPayload + extra, '{');
      const r = decodeOrRefuse(compileDecoder(sub), 't/a/b', payload);
      expect(r).toBeInstanceOf(DecodeError);
      expect((r as DecodeError).reason).toBe('too_large');
      expect((r as DecodeError).message).toContain(String(sub.maxPayload));
    }), { seed: SEED, numRuns: 300 });
  });
});

// --- valid messages round-trip ------------------------------------------------------------------

/** Instants every unit can carry unambiguously (epochMs tells units by magnitude): 1973-03-03 to 5138-11-16. */
const instants = fc.integer({ min: 100_000_000_000, max: 99_999_999_999_999 });
const offsets = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });

/** The same instant as a JSON timestamp in s (possibly fractional), ms, µs, ns, a digit string, or ISO-8601 with any offset. */
function timestampOf(ms: number, unit: string, offsetMin: number): unknown {
  switch (unit) {
    case 's': return ms / 1000;
    case 'ms': return ms;
    case 'us': return ms * 1000;
    case 'ns': return ms * 1e6;
    case 'ms-text': return String(ms);
    case 'iso-z': return new Date(ms).toISOString();
    default: {
      const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, -1);
      const a = Math.abs(offsetMin);
      return `${local}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    }
  }
}
const units = fc.constantFrom('s', 'ms', 'us', 'ns', 'ms-text', 'iso-z', 'iso-offset');

const elementIds = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '');
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const normal = (n: number) => JSON.parse(JSON.stringify(n)) as number; // -0 is written 0

describe('MQTT decoding of valid messages', () => {
  const cell = compile({
    topic: 'tele/+/cell/+', format: 'json', element: '$.cell', measurement: 'lte_cell',
    tags: { site: '{1}', cell: '{1}-C{3}', band: '$.band' },
    fields: { rsrp_dbm: '$.radio.rsrp', users: { path: '$.users', type: 'int' }, up: { path: '$.up', type: 'bool' }, note: { path: '$.note', type: 'string' } },
    time: '$.ts',
  });

  it('maps every value of a valid JSON message exactly, its time in any unit or offset to the same integer ms', () => {
    fc.assert(fc.property(elementIds, finite, fc.maxSafeInteger(), fc.boolean(), fc.string(), fc.string({ minLength: 1 }), instants, units, offsets,
      (el, rsrp, users, up, note, band, ms, unit, off) => {
        const msg = { cell: el, band, radio: { rsrp }, users, up, note, ts: timestampOf(ms, unit, off) };
        const d = cell.decode('tele/BS-1/cell/2', Buffer.from(JSON.stringify(msg)), RECEIVED);
        expect(d.problems).toEqual([]);
        expect(d.samples).toEqual([{ element: el, measurement: 'lte_cell', tags: { site: 'BS-1', cell: 'BS-1-C2', band },
          fields: { rsrp_dbm: normal(rsrp), users: BigInt(users), up, note }, time: ms }]);
      }), { seed: SEED, numRuns: 2000 });
  });

  it('a scale never turns a value into an infinity: a value out of range is named, the other fields kept', () => {
    const big = fc.oneof(finite, fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, 1e300, 5e-324));
    fc.assert(fc.property(big, big.filter((s) => s !== 0), (v, scale) => {
      const dec = compile({ topic: 't', format: 'json', element: 'E', measurement: 'm',
        fields: { f: { path: '$.v', scale }, i: { path: '$.v', type: 'int', scale }, ok: '$.ok' } });
      const d = dec.decode('t', Buffer.from(JSON.stringify({ v, ok: 1 })), RECEIVED);
      expectUsable(dec.sub, d);
      const { f, i, ok } = d.samples[0].fields;
      expect(ok).toBe(1);
      if (f === undefined) expect(d.problems).toContainEqual(expect.stringMatching(/^field f: .+ out of range$/));
      else expect(f).toBe(Number((v * scale).toPrecision(15)));
      if (i === undefined) expect(d.problems).toContainEqual(expect.stringMatching(/^field i: .+ out of range$/));
      else expect(i).toBe(BigInt(Math.round(v * scale)));
      expect(Number.isFinite(v * scale)).toBe(f !== undefined);
    }), { seed: SEED, numRuns: 1000 });
  });

  it('takes numeric text for numbers and integers as the same values', () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 6 }), (a, users, dp) => {
      const rsrp = Number((a / 10 ** dp).toFixed(dp));
      const d = cell.decode('tele/BS-1/cell/2', Buffer.from(JSON.stringify({ cell: 'A', radio: { rsrp: ` ${rsrp.toFixed(dp)} ` }, users: String(users) })), RECEIVED);
      expect(d.samples[0].fields).toEqual({ rsrp_dbm: normal(rsrp), users: BigInt(users) });
      expect(d.samples[0].time).toBe(RECEIVED);
    }), { seed: SEED, numRuns: 1000 });
  });

  it('keeps every good item of an array and refuses each bad one once, naming it', () => {
    const many = compile({ topic: 'bs/+', format: 'json', element: '$.cell', measurement: 'lte_cell', each: '$.cells', time: '$.ts',
      fields: { rsrp_dbm: '$.rsrp', users: { path: '$.users', type: 'int' } } });
    const good = fc.record({ cell: elementIds, rsrp: finite, users: fc.option(fc.maxSafeInteger(), { nil: undefined }), ts: instants }, { requiredKeys: ['cell', 'rsrp', 'ts'] })
      .map((g) => ({ kind: 'good' as const, item: g as Record<string, unknown> }));
    // Half good: one field bad, the other kept (the item stays, with a note about the field).
    const partial = fc.record({ cell: elementIds, rsrp: finite, users: fc.constantFrom('many', null, 1e400, [], {}, '1.5') })
      .map((g) => ({ kind: 'partial' as const, item: g as Record<string, unknown> }));
    const bad = fc.oneof(
      fc.record({ cell: fc.constantFrom(undefined, '', null, {}, []), rsrp: finite }), // numbers and booleans are element ids as text
      fc.record({ cell: elementIds, rsrp: fc.constantFrom(undefined, 'NaN', 'Infinity', '', null, {}, [1], true, '1e400') }),
      fc.record({ cell: elementIds, rsrp: finite, ts: fc.constantFrom('soon', '', {}, [], true, '2026-13-01', 'NaN', '9'.repeat(400)) }),
      fc.constantFrom(null, 0, 'x', [], true, 1e300),
    ).map((item) => ({ kind: 'bad' as const, item: item as unknown }));
    fc.assert(fc.property(fc.array(fc.oneof(good, partial, bad), { minLength: 1, maxLength: 60 }), (items) => {
      const payload = Buffer.from(JSON.stringify({ cells: items.map((i) => i.item) }));
      const kept = items.filter((i) => i.kind !== 'bad');
      const refused = items.filter((i) => i.kind === 'bad');
      let d: Decoded;
      try {
        d = many.decode('bs/1', payload, RECEIVED);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
        expect(kept).toEqual([]);
        // A lone bad item is the message's refusal; several are each named in it.
        expect((err as DecodeError).message).toMatch(/^(no element \(|no usable field \(|bad timestamp |no sample in the message \()/);
        return;
      }
      expectUsable(many.sub, d);
      expect(d.samples.map((s) => s.element)).toEqual(kept.map((i) => (i.item as { cell: string }).cell));
      expect(d.samples.map((s) => s.fields.rsrp_dbm)).toEqual(kept.map((i) => normal((i.item as { rsrp: number }).rsrp)));
      // Each bad item is one refusal; notes about single fields ("field ...") come on top of it.
      const refusals = d.problems.filter((p) => !p.startsWith('field '));
      expect(refusals).toHaveLength(refused.length);
      for (const r of refusals) expect(r).toMatch(/^(no element \(\$\.cell gave nothing\)|no usable field \(field rsrp_dbm: [^;]+(; field users: [^;]+)?\)|bad timestamp .+)$/);
      expect(d.problems.filter((p) => p.startsWith('field users: ')).length).toBeGreaterThanOrEqual(items.filter((i) => i.kind === 'partial').length);
      // A refusal speaks of its own item only: its size does not grow with the items before it.
      for (const p of d.problems) expect(p.length).toBeLessThan(1_000);
    }), { seed: SEED, numRuns: 1000 });
  });

  it('takes a number per topic for value payloads, and refuses what is not one', () => {
    const v = compile({ topic: 'site/+/+/+', format: 'value', element: '{2}', measurement: 'env', field: '{3}', tags: { site: '{1}' } });
    const text = fc.oneof(finite.map((n) => ({ text: String(n), value: normal(n) as number | undefined })), fc.constantFrom(...STRINGS).map((s) => ({ text: s, value: undefined })));
    fc.assert(fc.property(text, fc.constantFrom('', ' ', '\n', '\r\n', '\t'), ({ text: t, value }, pad) => {
      const r = decodeOrRefuse(v, 'site/S1/BS-1/temperature_c', Buffer.from(pad + t + pad));
      if (r instanceof DecodeError) {
        expect(value === undefined || t.trim() === '').toBe(true);
        expect(r.message).toMatch(/^expected a number, got /);
        return;
      }
      expect(r.samples).toEqual([{ element: 'BS-1', measurement: 'env', tags: { site: 'S1' }, fields: { temperature_c: value ?? Number(t) }, time: RECEIVED }]);
    }), { seed: SEED, numRuns: 1000 });
  });
});

// --- line protocol ------------------------------------------------------------------------------

const safeName = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((s) => s !== 'time');
const safeValue = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,10}$/);
const lineFields = fc.oneof(
  finite.map((n) => ({ text: String(n), value: normal(n) as FieldValue })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ text: `${n}i`, value: n as FieldValue })),
  fc.boolean().map((b) => ({ text: String(b), value: b as FieldValue })),
  fc.string({ maxLength: 10 }).filter((s) => !/["\\\n]/.test(s)).map((s) => ({ text: JSON.stringify(s), value: s as FieldValue })),
);
const PER_MS = { ns: 1e6, us: 1e3, ms: 1, s: 1e-3 } as const;

/** A good line: its text and the sample it must give (time in whole ms of the subscription's precision). */
const goodLines = (precision: keyof typeof PER_MS) => fc.record({
  measurement: safeName,
  element: safeValue,
  tags: fc.uniqueArray(fc.tuple(safeName, safeValue), { maxLength: 3, selector: ([k]) => k }).map((t) => t.filter(([k]) => k !== 'element')),
  fields: fc.uniqueArray(fc.tuple(safeName, lineFields), { minLength: 1, maxLength: 4, selector: ([k]) => k }),
  ms: fc.option(instants, { nil: undefined }),
  cr: fc.boolean(),
}).map((l) => {
  const stamp = l.ms === undefined ? '' : ' ' + (precision === 's' ? String(Math.floor(l.ms / 1000)) : (BigInt(l.ms) * BigInt(PER_MS[precision])).toString());
  const text = `${l.measurement},${[...l.tags, ['element', l.element]].map(([k, v]) => `${k}=${v}`).join(',')} ${l.fields.map(([k, f]) => `${k}=${f.text}`).join(',')}${stamp}${l.cr ? '\r' : ''}`;
  const time = l.ms === undefined ? RECEIVED : precision === 's' ? Math.floor(l.ms / 1000) * 1000 : l.ms;
  return { text, sample: { element: l.element, measurement: l.measurement, tags: Object.fromEntries(l.tags), fields: Object.fromEntries(l.fields.map(([k, f]) => [k, f.value])), time } };
});

/** Lines a publisher should not send: random text, broken escapes and quotes, huge or odd timestamps, comments and blanks. */
const garbageLines = fc.oneof(
  hostileText(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('broken line', 'm', 'm ', 'm f', 'm f=', 'm,t f=1', 'm,=x f=1', 'm f="unterminated', 'm f=1 notatime', 'm f=1 1.5', 'm f=NaN', 'm f=1e400',
    'm f=99999999999999999999i', 'm f=-1u', 'm,element=A f=1 ' + '9'.repeat(400), 'm,element=A f=1 -' + '9'.repeat(400), 'm,element=A f=1 99999999999999999999999999',
    'm,element=A f=1 -9223372036854775808', 'm,element=A f=1 18446744073709551616', '# a comment', '#', '', '   ', '\r', '\\', 'm,element=A\\', 'm,element=A f=1,', 'm,element=A f=1 1 2'),
).map((s) => s.replaceAll('\n', ' '));

describe('MQTT line protocol payloads', () => {
  it('keeps every good line of a payload mixed with garbage, and names each bad one by its line', () => {
    const payloads = fc.tuple(fc.constantFrom('ns', 'us', 'ms', 's'), fc.boolean()).chain(([precision, topicElement]) => fc.tuple(fc.constant(precision), fc.constant(topicElement),
      fc.array(fc.oneof(goodLines(precision).map((g) => ({ good: true as const, ...g })), garbageLines.map((text) => ({ good: false as const, text }))), { minLength: 1, maxLength: 30 })));
    fc.assert(fc.property(payloads, ([precision, topicElement, lines]) => {
      const dec = compile({ topic: 'lp/+', format: 'line', precision, ...(topicElement && { element: '{1}' }) });
      const payload = Buffer.from(lines.map((l) => l.text).join('\n'));
      const counted = lines.filter((l) => l.text.trim() !== '' && !l.text.startsWith('#'));
      const good = lines.filter((l) => l.good);
      const r = decodeOrRefuse(dec, 'lp/TOPIC-EL', payload);
      if (r instanceof DecodeError) {
        expect(good).toEqual([]);
        if (counted.length > 0) expect(r.message).toMatch(/^line \d+: /);
        return;
      }
      // Every line counted once: a sample or a problem naming it.
      expect(r.samples.length + r.problems.length).toBe(counted.length);
      const lineNumbers = r.problems.map((p) => Number(/^line (\d+): /.exec(p)![1]));
      for (const n of lineNumbers) expect(lines[n - 1].good).toBe(false);
      expect(new Set(lineNumbers).size).toBe(lineNumbers.length);
      // The good lines' samples, in order, exactly.
      const expected = good.map((g) => g.sample);
      let at = 0;
      for (const s of r.samples) if (at < expected.length && JSON.stringify(s, big) === JSON.stringify(expected[at], big)) at++;
      expect(at, `good lines kept: ${at} of ${expected.length}`).toBe(expected.length);
      for (const p of r.problems) expect(p).toMatch(/^line \d+: .*(at column \d+|bad timestamp|no element|timestamp)/);
    }), { seed: SEED, numRuns: 1500 });
  });
});

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

// --- parseTime ----------------------------------------------------------------------------------

describe('timestamps in MQTT JSON', () => {
  const anyTime = fc.oneof(
    fc.double(), fc.integer(), fc.constantFrom(0, -0, -1, 0.5, -0.5, 1e20, -1e20, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 63, NaN, Infinity, -Infinity),
    fc.double().map(String), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
    fc.constantFrom(...STRINGS, '9'.repeat(400), '-' + '9'.repeat(400), '0', '-0', '00', '1.', '.1', '1e3', '1_0', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z',
      '2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00+0530', '2026-01-01T00:00:00+05', '2026-01-01 12:00', '2026-01-01T12:00', '2026-01-01', '2026-W01', '20260101T000000Z'),
    hostileText(), fc.string({ unit: 'binary', maxLength: 30 }),
  );

  it('gives integer ms for any number or text, or an Error that starts "bad timestamp"', () => {
    fc.assert(fc.property(anyTime, (v) => {
      let ms: number;
      try {
        ms = parseTime(v);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^bad timestamp /);
        if (typeof v === 'string') expect((err as Error).message).toContain(JSON.stringify(v).slice(1, 30));
        return;
      }
      expect(Number.isInteger(ms), `${String(v)} -> ${ms}`).toBe(true);
    }), { seed: SEED, numRuns: 3000 });
  });

  it('reads an instant the same in every unit and ISO offset', () => {
    fc.assert(fc.property(instants, units, offsets, (ms, unit, off) => {
      expect(parseTime(timestampOf(ms, unit, off))).toBe(ms);
    }), { seed: SEED, numRuns: 2000 });
  });

  it('reads ISO text only as what it says: anything after the date that is not a time is refused', () => {
    fc.assert(fc.property(instants, fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/^([Tt ]\d|Z$)/.test(s)), (ms, tail) => {
      const text = new Date(ms).toISOString().slice(0, 10) + tail;
      let got: number | undefined;
      try {
        got = parseTime(text);
      } catch (err) {
        expect((err as Error).message).toMatch(/^bad timestamp /);
        return;
      }
      // Accepted only as the date it names, at midnight UTC (e.g. a trailing "T" never moves it).
      expect(got).toBe(Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth(), new Date(ms).getUTCDate()));
    }), { seed: SEED, numRuns: 1000 });
  });
});
