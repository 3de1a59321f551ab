import { describe, it, expect } from 'vitest';
import { compileDecoder, topicMatches, parseTime, DecodeError } from '../../collectors/mqtt/decode.ts';
import { mqttSubscription } from '../../src/config/schema.ts';

const sub = (raw: Record<string, unknown>) => compileDecoder(mqttSubscription.parse(raw));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const T = 1_700_000_000_000;

describe('MQTT topic filters', () => {
  it('matches + and # the way brokers do', () => {
    expect(topicMatches('tele/+/cell/+', 'tele/BS-1/cell/2')).toBe(true);
    expect(topicMatches('tele/+/cell/+', 'tele/BS-1/cell')).toBe(false);
    expect(topicMatches('tele/#', 'tele/BS-1/cell/2')).toBe(true);
    expect(topicMatches('tele/#', 'tele')).toBe(true);
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
  });
});

describe('JSON payloads', () => {
  const cell = sub({
    topic: 'tele/+/cell/+', format: 'json', element: '{1}', measurement: 'lte_cell',
    tags: { cell: '{1}-C{3}', band: '$.band' },
    fields: { rsrp_dbm: '$.radio.rsrp', sinr_db: '$.radio.sinr', connected_users: { path: '$.users', type: 'int' }, up: { path: '$.up', type: 'bool' } },
    time: '$.ts',
  });

  it('maps paths, topic levels, types and the timestamp', () => {
    const d = cell.decode('tele/BS-7/cell/2', json({ band: 'B3', radio: { rsrp: -97.5, sinr: 12 }, users: 41, up: true, ts: T }), 0);
    expect(d.problems).toEqual([]);
    expect(d.samples).toEqual([{ element: 'BS-7', measurement: 'lte_cell', tags: { cell: 'BS-7-C2', band: 'B3' },
      fields: { rsrp_dbm: -97.5, sinr_db: 12, connected_users: 41n, up: true }, time: T }]);
  });

  it('reads timestamps in ms, in s and as ISO-8601, and uses the receive time without one', () => {
    expect(parseTime(T)).toBe(T);
    expect(parseTime(T / 1000)).toBe(T);
    expect(parseTime('2023-11-14T22:13:20Z')).toBe(T);
    expect(parseTime('2023-11-14T22:13:20.250+00:00')).toBe(T + 250);
    expect(() => parseTime('yesterday')).toThrow(/bad timestamp/);
    // Units told apart by magnitude, always integer ms: µs and ns epochs are not taken for ms.
    expect(parseTime(T * 1000)).toBe(T);
    expect(parseTime(T * 1_000_000)).toBe(T);
    expect(parseTime(String(T * 1_000_000))).toBe(T);
    expect(parseTime(T / 1000 + 0.1234)).toBe(T + 123);
    expect(Number.isInteger(parseTime(1_700_000_000_123_456))).toBe(true);
    expect(() => parseTime(Infinity)).toThrow(/bad timestamp/);
    expect(cell.decode('tele/BS-7/cell/2', json({ radio: { rsrp: -90 } }), 42).samples[0].time).toBe(42);
  });

  it('keeps the good fields of a message and names the bad ones: missing, NaN, text where a number belongs', () => {
    const d = cell.decode('tele/BS-7/cell/2', Buffer.from('{"radio":{"rsrp":"-101.5","sinr":"strong"},"users":NaN}'.replace('NaN', 'null')), 0);
    expect(d.samples[0].fields).toEqual({ rsrp_dbm: -101.5 });
    expect(d.problems).toEqual([
      'field sinr_db: expected a number, got "strong"',
      'field connected_users: expected an integer, got null',
      'field up: expected true or false, got nothing (missing)',
    ]);
  });

  it('leaves an optional field out silently when a message does not carry it, and counts it when it is malformed', () => {
    const optional = sub({ topic: 't/+', format: 'json', element: '{1}', measurement: 'lte_cell',
      fields: { rsrp_dbm: '$.rsrp', cqi: { path: '$.cqi', type: 'int', optional: true }, band: { path: '$.band', type: 'string', optional: true } } });
    const absent = optional.decode('t/BS-1', json({ rsrp: -90, band: null }), 0);
    expect(absent.samples[0].fields).toEqual({ rsrp_dbm: -90 });
    expect(absent.problems).toEqual([]);
    const malformed = optional.decode('t/BS-1', json({ rsrp: -90, cqi: 'high' }), 0);
    expect(malformed.problems).toEqual(['field cqi: expected an integer, got "high"']);
  });

  it('rejects what cannot become a sample, saying why', () => {
    expect(() => cell.decode('tele/BS-7/cell/2', Buffer.from('{"radio": '), 0)).toThrow(DecodeError);
    expect(() => cell.decode('tele/BS-7/cell/2', Buffer.from('{"radio": '), 0)).toThrow(/not JSON/);
    expect(() => cell.decode('tele/BS-7/cell/2', json({ other: 1 }), 0)).toThrow(/no usable field/);
    expect(() => cell.decode('tele/BS-7/cell/2', Buffer.from('NaN'), 0)).toThrow(/not JSON/);
    expect(() => cell.decode('tele/BS-7/cell/2', json({ radio: { rsrp: -90 }, ts: 'soon' }), 0)).toThrow(/bad timestamp/);
  });

  it('refuses a payload over maxPayload without reading it', () => {
    const small = sub({ topic: 't/#', format: 'json', element: 'x', measurement: 'm', fields: { v: '$.v' }, maxPayload: '1KiB' });
    expect(() => small.decode('t/a', Buffer.alloc(10 * 1024 * 1024, 0x20), 0)).toThrow(/10485760 bytes is over maxPayload \(1024\)/);
  });

  it('turns arrays into one sample each, keeping the good ones when some are bad', () => {
    const many = sub({ topic: 'bs/+', format: 'json', element: '$.cell', measurement: 'lte_cell', fields: { rsrp_dbm: '$.rsrp' }, each: '$.cells' });
    const d = many.decode('bs/1', json({ cells: [{ cell: 'A', rsrp: -90 }, { cell: 'B', rsrp: 'x' }, { rsrp: -80 }] }), 5);
    expect(d.samples.map((s) => [s.element, s.fields.rsrp_dbm])).toEqual([['A', -90]]);
    expect(d.problems).toHaveLength(3);
    expect(() => many.decode('bs/1', json({ cells: 3 }), 0)).toThrow(/not an array/);
  });

  it('subscribes to a shared group as $share/<group>/<topic>', () => {
    expect(sub({ topic: 'tele/#', share: 'np', format: 'json', element: 'x', measurement: 'm', fields: { v: '$.v' } }).filter).toBe('$share/np/tele/#');
    expect(mqttSubscription.safeParse({ topic: '$share/np/tele/#', format: 'json', element: 'x', measurement: 'm', fields: { v: '$.v' } }).success).toBe(false);
  });
});

describe('plain values and line protocol', () => {
  it('takes a number per topic, the field named by a topic level', () => {
    const v = sub({ topic: 'site/+/+/+', format: 'value', element: '{2}', measurement: 'env', field: '{3}', tags: { site: '{1}' } });
    expect(v.decode('site/S1/BS-1/temperature_c', Buffer.from(' 41.5\n'), 9).samples).toEqual([
      { element: 'BS-1', measurement: 'env', tags: { site: 'S1' }, fields: { temperature_c: 41.5 }, time: 9 }]);
    expect(() => v.decode('site/S1/BS-1/t', Buffer.from('NaN'), 0)).toThrow(/expected a number, got "NaN"/);
    expect(() => v.decode('site/S1/BS-1/t', Buffer.from(''), 0)).toThrow(DecodeError);
  });

  it('reads line protocol, the element from its tag or the topic, bad lines alone left out', () => {
    const lp = sub({ topic: 'lp/+', format: 'line', element: '{1}', precision: 'ms' });
    const d = lp.decode('lp/BS-2', Buffer.from([
      'lte_cell,cell=C1 rsrp_dbm=-95.5,users=12i,ok=true 1700000000000',
      'lte_cell,cell=C2,element=BS-9 rsrp_dbm=-99',
      'broken line',
      'm,t=x f="a \\"quoted\\" text" 1700000000001',
    ].join('\n')), 77);
    expect(d.samples).toEqual([
      { element: 'BS-2', measurement: 'lte_cell', tags: { cell: 'C1' }, fields: { rsrp_dbm: -95.5, users: 12n, ok: true }, time: T },
      { element: 'BS-9', measurement: 'lte_cell', tags: { cell: 'C2' }, fields: { rsrp_dbm: -99 }, time: 77 },
      { element: 'BS-2', measurement: 'm', tags: { t: 'x' }, fields: { f: 'a "quoted" text' }, time: T + 1 },
    ]);
    expect(d.problems).toEqual(['line 3: field without "key=value" at column 12']);
  });
});
