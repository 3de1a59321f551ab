import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText, type ConfigProblem } from '../../src/config/load.ts';
import { hostileText } from '../helpers/arbitraries.ts';

/**
 * Fuzz campaign (issue 15) for the config file: whatever the file holds, `parseConfigText` gives
 * a config or a list of problems, each naming where it is (a key's path, or a line and column of
 * the YAML), and never throws.
 */

const SEED = 42;
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

/** A problem about the document as a whole (it is not a mapping, or cannot be read): no key to name. */
const DOCUMENT = /^(expected object, got |unknown keys? "|cannot read the document: |environment variable \w+ is not set$)/;

function parse(text: string): { config?: unknown; problems: ConfigProblem[] } {
  let r: ReturnType<typeof parseConfigText>;
  try {
    r = parseConfigText(text, {});
  } catch (err) {
    throw new Error(`parseConfigText threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
  }
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_BEFORE);
  if (r.config) {
    expect(r.problems).toEqual([]);
    expectFinite(r.config, '');
    return r;
  }
  expect(r.problems.length).toBeGreaterThan(0);
  for (const p of r.problems) {
    expect(typeof p.path).toBe('string');
    expect(typeof p.message).toBe('string');
    expect(p.message.trim().length, JSON.stringify(p)).toBeGreaterThan(0);
    if (p.path === '') expect(p.message, 'a problem without a path is about the whole document').toMatch(DOCUMENT);
    expect(p.message).not.toMatch(/Maximum call stack|expected number, got number|is not a function|Cannot read propert/);
  }
  return r;
}

/** No setting of an accepted config is NaN or an infinity (a timer of Infinity ms fires every millisecond). */
function expectFinite(v: unknown, at: string): void {
  if (typeof v === 'number') expect(Number.isFinite(v), `${at} = ${v}`).toBe(true);
  else if (Array.isArray(v)) v.forEach((x, i) => expectFinite(x, `${at}[${i}]`));
  else if (v !== null && typeof v === 'object' && !(v instanceof RegExp)) for (const [k, x] of Object.entries(v)) expectFinite(x, at ? `${at}.${k}` : k);
}

// --- generators --------------------------------------------------------------------------------

const KEYS = ['daemon', 'times', 'snmp', 'mqtt', 'api', 'timeseries', 'defaults', 'targets', 'brokers', 'subscriptions', 'allow', 'interval', 'port', 'maxAhead', 'host', 'name',
  '__proto__', 'constructor', 'prototype', 'toString', '', ' ', 'é', '<<', '0', '-1', 'true', 'null', '~'];
const keys = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: hostileText() });

const scalars = fc.oneof(
  fc.double(), fc.integer(), fc.constantFrom(0, -0, -1, 0.5, 1e20, -1e20, 1e300, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, -Infinity),
  fc.boolean(), fc.constant(null),
  fc.constantFrom('30s', '5m', '1h', '2d', '0ms', '-5m', '1.5s', '1e400ms', '9'.repeat(400) + 's', '9'.repeat(400), '1e400', '64MiB', '9'.repeat(400) + 'GiB', '0x50', '.inf', '.nan', 'NaN', 'Infinity',
    '', ' ', '\t', '__proto__', 'constructor', '${FOO}', '${FOO:-30s}', '${FOO:-}', '${', 'mqtt://h:1883', '$share/g/t', 'tele/+/#', '2026-01-01T00:00:00+14:00', 'x'.repeat(10_000), '\u0000', '\uFEFF', 'é𝄞'),
  hostileText(),
);

/** Plain data of random shape, prototype keys among its keys (built with fromEntries: `__proto__` is a key like any other). */
const trees = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    scalars,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(keys, tie('value')), { maxLength: 5, selector: ([k]) => k }).map((e) => Object.fromEntries(e)),
  ),
})).value;

/** A valid config with the parts the known keys live in. */
const BASE = () => ({
  snmp: { defaults: {}, targets: [{ name: 'sw-1', host: '10.0.0.1' }] },
  mqtt: { brokers: [{ name: 'b1', url: 'mqtt://127.0.0.1:1883', subscriptions: [{ topic: 'tele/+/cell', format: 'line', allow: { elements: ['BS-*'] } }] }] },
  api: {},
  times: {},
  timeseries: { spool: {} },
  alerts: { webhooks: [{ name: 'w', url: 'https://pager.example.net/x' }] },
});

/** Keys whose values come from people: each gets random scalars, objects and arrays. */
const PATHS: (string | number)[][] = [
  ['snmp', 'defaults', 'interval'], ['snmp', 'defaults', 'port'], ['snmp', 'defaults', 'timeout'], ['snmp', 'defaults', 'profiles'], ['snmp', 'targets', 0, 'port'], ['snmp', 'targets', 0, 'auth'],
  ['snmp', 'targets', 0, 'tags'], ['snmp', 'targets', 0, 'name'], ['snmp', 'concurrency'],
  ['api', 'port'], ['api', 'host'], ['api', 'bodyLimit'], ['api', 'tokens'], ['api', 'rateLimit'],
  ['mqtt', 'brokers', 0, 'subscriptions', 0, 'allow'], ['mqtt', 'brokers', 0, 'subscriptions', 0, 'allow', 'elements'], ['mqtt', 'brokers', 0, 'subscriptions', 0, 'maxPayload'],
  ['mqtt', 'brokers', 0, 'subscriptions', 0, 'precision'], ['mqtt', 'brokers', 0, 'subscriptions', 0, 'fields'], ['mqtt', 'brokers', 0, 'subscriptions', 0, 'topic'], ['mqtt', 'brokers', 0, 'url'],
  ['mqtt', 'brokers', 0, 'keepalive'], ['times', 'maxAhead'], ['times', 'maxSampleAge'], ['times', 'maxComplaintAge'], ['timeseries', 'spool', 'maxBytes'], ['timeseries', 'batchSize'],
  ['daemon', 'logLevel'], ['daemon', 'shutdownTimeout'], ['alerts', 'webhooks', 0, 'secret'], ['alerts', 'holdDown'], ['pipeline', 'maxQueuedSamples'], ['compensation', 'schedule'],
];
const dotted = (path: (string | number)[]) => path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');

function setAt(root: Record<string, any>, path: (string | number)[], value: unknown): void {
  let o = root;
  for (const k of path.slice(0, -1)) o = (o[k] ??= typeof k === 'number' ? [] : {});
  const last = path.at(-1)!;
  if (last === '__proto__') Object.defineProperty(o, last, { value, enumerable: true, writable: true, configurable: true });
  else o[last] = value;
}

/** The document as a person or a program might write it. */
const writers = fc.constantFrom<(v: unknown) => string>(
  (v) => stringify(v),
  (v) => JSON.stringify(v) ?? 'null',
  (v) => stringify(v, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }),
  (v) => stringify(v, { collectionStyle: 'flow' }),
);

// --- properties --------------------------------------------------------------------------------

describe('config files of random shape', () => {
  it('any document of random shape gives a config or problems that name where, never a throw', () => {
    fc.assert(fc.property(trees, writers, (tree, write) => {
      parse(write(tree));
    }), { seed: SEED, numRuns: 1500 });
  });

  it('a random value at a known key is refused at that key (or under it), the rest of the file unblamed', () => {
    fc.assert(fc.property(fc.constantFrom(...PATHS), fc.oneof(scalars, trees), writers, (path, value, write) => {
      const doc = BASE();
      setAt(doc, path, value);
      const r = parse(write(doc));
      const at = dotted(path);
      for (const p of r.problems) {
        // The problem is at the key, under it, or (an unknown key, a union) at the object that holds it.
        const related = p.path === at || p.path.startsWith(at + '.') || p.path.startsWith(at + '[') || (at.startsWith(p.path) && p.path !== '') || /^line \d+, column \d+$/.test(p.path);
        expect(related, `${at}: ${JSON.stringify(p)}`).toBe(true);
      }
    }), { seed: SEED, numRuns: 2000 });
  });

  it('the file the known keys are spoiled in is valid as every writer writes it', () => {
    fc.assert(fc.property(writers, (write) => {
      expect(parse(write(BASE())).config).toBeDefined();
    }), { seed: SEED, numRuns: 20 });
  });
});

describe('config text that is not (good) YAML', () => {
  const specials = fc.constantFrom(
    '*x', 'a: *x', '&a a: *a', '&a [*a]', 'a: &a [x]\nb: *a',
    // An alias bomb: a few lines that expand to millions of nodes.
    ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`)].join('\n'),
    'api: !!binary aGVsbG8=', 'api: !foo bar', 'x: !!set {a, b}', '<<: {api: {port: 5}}', '? [a, b]\n: 1', 'api: {port: 1, port: 2}', '---\na: 1\n---\nb: 2', '%YAML 1.1\n---\nx: 1',
    '%TAG ! tag:example.com,2000:\n---\na: !foo 1', 'api:\n\tport: 1', '"unterminated', "'single", '{', '[', ']', '}', '- - - -', ': :', '? ? ?', '|', '>', '&', '*', '!', '%', '@', '`',
    '__proto__:\n  api:\n    port: 99', '{"__proto__": {"api": {"port": 99}}}', 'constructor:\n  prototype:\n    polluted: 1', 'api:\n  __proto__: {port: 99}',
    'snmp:\n  targets:\n    - name: a\n      host: h\n      tags: {__proto__: x}', 'api: ${NOPE}', 'api:\n  port: ${NOPE:-80}',
    '[' .repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(3000) + '1' + '}'.repeat(3000), '- '.repeat(2000) + 'x', 'a:\n' + Array.from({ length: 300 }, (_, i) => ' '.repeat(i + 1) + `k${i}:`).join('\n'),
    '\uFEFFapi: {port: 1}', '\u0000', '\u0000api: 1', 'api: "\\u0000"', 'a: b\r\nc: d\re: f', 'x'.repeat(100_000), 'api:\n  port: 0x50', 'api:\n  port: 1_000', 'api:\n  port: 0o17', 'times:\n  maxAhead: "' + '9'.repeat(400) + 'd"',
  );
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('utf8')),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', ',', '"', "'", '&', '*', '!', '?', '|', '>', '#', '%', '@', '\t', 'api', 'port', '1', '__proto__'), { maxLength: 80 }).map((p) => p.join('')),
  );

  it('special YAML (aliases, alias bombs, tags, merges, duplicate keys, deep nesting, several documents) never throws', () => {
    fc.assert(fc.property(specials, (text) => {
      const r = parse(text);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).port).toBeUndefined();
      // A `__proto__` key is a key the schema does not know, not a way round it.
      if (/__proto__/.test(text) && !/tags/.test(text)) expect(r.config).toBeUndefined();
    }), { seed: SEED, numRuns: 200 });
  });

  it('random bytes and YAML punctuation never throw, and a syntax error names its line and column', () => {
    fc.assert(fc.property(bytes, (text) => {
      const r = parse(text);
      for (const p of r.problems) if (p.path !== '' && /^line/.test(p.path)) expect(p.path).toMatch(/^line \d+, column \d+$/);
    }), { seed: SEED, numRuns: 2000 });
  });
});
