import { describe, it, expect } from 'vitest';
import { encodeLine, nanoseconds, parseLine } from '../../src/sinks/line-protocol.ts';
import type { Sample } from '../../src/sample.ts';

const problems = (s: Sample) => {
  const out: [string, string | undefined][] = [];
  const line = encodeLine(s, (reason, field) => out.push([reason, field]));
  return { line, problems: out };
};

describe('encodeLine', () => {
  it('writes sorted tags with the element, typed fields and nanoseconds', () => {
    expect(encodeLine({ element: 'SW-1', measurement: 'interface', tags: { ifName: 'Gi0/1', agent_host: '10.0.0.1' },
      fields: { ifOperStatus: 1n, in_bps: 12.5, up: true, descr: 'a "b"' }, time: 1_700_000_000_123 }))
      .toBe('interface,agent_host=10.0.0.1,element=SW-1,ifName=Gi0/1 ifOperStatus=1i,in_bps=12.5,up=true,descr="a \\"b\\"" 1700000000123000000');
  });

  it('escapes spaces, commas and equals signs in names and tag values', () => {
    expect(encodeLine({ element: 'e', measurement: 'my m,x', tags: { 'a b': 'c=d,e f' }, fields: { 'f g': 1 }, time: 0 }))
      .toBe('my\\ m\\,x,a\\ b=c\\=d\\,e\\ f,element=e f\\ g=1 0');
  });

  it('leaves out NaN and infinite fields and empty tags, and gives up on a sample with no field left, saying why', () => {
    expect(problems({ element: 'e', measurement: 'm', tags: { empty: '' }, fields: { a: NaN, b: 2 }, time: 0 }))
      .toEqual({ line: 'm,element=e b=2 0', problems: [['field "a": NaN is not a number InfluxDB can store', 'a']] });
    expect(problems({ element: 'e', measurement: 'm', tags: {}, fields: { a: Infinity }, time: 0 }))
      .toEqual({ line: undefined, problems: [['field "a": Infinity is not a number InfluxDB can store', 'a'], ['no field can be written', undefined]] });
  });

  it('writes Counter64 values beyond 2^53 exactly', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: {}, fields: { c: 9223372036854775807n, d: -9223372036854775808n }, time: 0 }))
      .toBe('m,element=e c=9223372036854775807i,d=-9223372036854775808i 0');
  });

  it('keeps the other fields of a line whose Counter64 is above 2^63-1, leaving that one out and saying so', () => {
    // Written as it was (c=18446744073709551615i), InfluxDB refused the whole line as out of range.
    expect(problems({ element: 'e', measurement: 'interface', tags: {}, fields: { ifHCInOctets: 2n ** 64n - 1n, ifOperStatus: 1n, in_bps: 8e9 }, time: 0 })).toEqual({
      line: 'interface,element=e ifOperStatus=1i,in_bps=8000000000 0',
      problems: [['field "ifHCInOctets": integer 18446744073709551615 is outside the int64 range of an integer field', 'ifHCInOctets']],
    });
  });

  it('writes a backslash as it is where every reader takes it literally, and refuses one that touches a separator', () => {
    const s: Sample = { element: 'DOMAIN\\host', measurement: 'm\\x', tags: { 'k\\1': 'C:\\dir\\file' }, fields: { 'f\\g': 1, s: 'a\\' }, time: 0 };
    const line = encodeLine(s)!;
    expect(line).toBe('m\\x,element=DOMAIN\\host,k\\1=C:\\dir\\file f\\g=1,s="a\\\\" 0');
    expect(parseLine(line)).toEqual({ measurement: s.measurement, tags: { ...s.tags, element: s.element }, fields: s.fields, time: 0 });
    // Before a separator or at the end, InfluxDB would take the separator as escaped (and refuse
    // the line, or store it under another series) where VictoriaMetrics reads a doubled backslash
    // as one: no spelling is read the same by both, so the sample is refused, with the reason.
    // Written as it was (`t=C:\ ...`), the tag swallowed the space and the line was lost.
    for (const bad of ['C:\\', 'a\\,b', 'a\\ b', 'a\\=b', 'a\\\\b']) {
      expect(problems({ element: 'e', measurement: 'm', tags: { t: bad }, fields: { v: 1 }, time: 0 })).toEqual({
        line: undefined, problems: [[expect.stringMatching(/^tag "t" .* has a backslash at its end or before/), undefined]],
      });
    }
    expect(problems({ element: 'e', measurement: 'm\\', tags: {}, fields: { v: 1 }, time: 0 }).line).toBeUndefined();
    expect(problems({ element: 'e', measurement: 'm', tags: {}, fields: { 'f\\"': 1, v: 2 }, time: 0 }))
      .toEqual({ line: 'm,element=e v=2 0', problems: [[expect.stringMatching(/^field "f\\\\\\"": field key .* contains a double quote, which VictoriaMetrics misreads$/), 'f\\"']] });
  });

  it('escapes a leading # so the line is not taken for a comment', () => {
    expect(encodeLine({ element: 'e', measurement: '#m', tags: {}, fields: { v: 1 }, time: 0 })).toBe('\\#m,element=e v=1 0');
    expect(parseLine('\\#m,element=e v=1 0').measurement).toBe('#m');
    // A measurement that starts with a backslash and a # would read back as the one above.
    expect(encodeLine({ element: 'e', measurement: '\\#m', tags: {}, fields: { v: 1 }, time: 0 })).toBeUndefined();
    expect(encodeLine({ element: 'e', measurement: 'm#', tags: { '#t': '#v' }, fields: { '#f': 1 }, time: 0 })).toBe('m#,#t=#v,element=e #f=1 0');
  });

  it('refuses what line protocol cannot carry, with the reason, instead of writing something else', () => {
    const base: Sample = { element: 'e', measurement: 'm', tags: {}, fields: { v: 1 }, time: 0 };
    expect(problems({ ...base, measurement: '' }).problems).toEqual([['measurement is empty', undefined]]);
    expect(problems({ ...base, tags: { t: 'a\nb' } })).toEqual({ line: undefined, problems: [['tag "t" "a\\nb" contains a newline, which line protocol cannot carry', undefined]] });
    expect(problems({ ...base, tags: { time: 'x' } }).line).toBeUndefined();
    expect(problems({ ...base, measurement: '\tm' }).problems).toEqual([['measurement "\\tm" starts with a tab, which InfluxDB drops', undefined]]);
    expect(problems({ ...base, time: 1e13 }).problems).toEqual([['time 10000000000000 is outside what line protocol can carry (int64 nanoseconds)', undefined]]);
    expect(problems({ ...base, fields: { v: 1, s: 'two\nlines', time: 3, '': 4 } })).toEqual({
      line: 'm,element=e v=1 0',
      problems: [
        ['field "s": a string with a newline, which line protocol cannot carry', 's'],
        ['field "time": the field key "time" is reserved (InfluxDB 1.x drops it)', 'time'],
        ['field "": field key is empty', ''],
      ],
    });
  });

  it('keeps the sign of a negative zero and of a negative fractional time', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: {}, fields: { z: -0 }, time: -0.5 })).toBe('m,element=e z=-0 -500000');
    expect(nanoseconds(-1.25)).toBe('-1250000');
  });

  it('keeps fractions of a millisecond to the nanosecond, without float noise', () => {
    expect(nanoseconds(1_700_000_000_123)).toBe('1700000000123000000');
    expect(nanoseconds(1_700_000_000_123.5)).toBe('1700000000123500000');
    expect(nanoseconds(1_700_000_000_123.000_25)).toBe('1700000000123000244'); // the double's own value, rounded
    expect(nanoseconds(1_700_000_000_123.999_999_9)).toBe('1700000000124000000');
    expect(nanoseconds(0.25)).toBe('250000');
    expect(nanoseconds(0)).toBe('0');
  });

  it('escapes quotes and backslashes in strings', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: { t: 'a\rb' }, fields: { s: 'x\\y\r"z"' }, time: 1 }))
      .toBe('m,element=e,t=a\rb s="x\\\\y\r\\"z\\"" 1000000');
  });

  it('sorts tag keys, element among them, whatever order they came in', () => {
    expect(encodeLine({ element: 'E', measurement: 'm', tags: { z: '1', a: '2', f: '3', element: 'ignored' }, fields: { v: 1 }, time: 0 }))
      .toBe('m,a=2,element=E,f=3,z=1 v=1 0');
  });
});

describe('parseLine', () => {
  it('reads back what encodeLine writes, escapes included', async () => {
    const s = { element: 'SW 1', measurement: 'if,x', tags: { 'a b': 'c=d,e f' }, fields: { n: 5n, f: -1.5, b: false, s: 'say "hi"\\\\' }, time: 1_700_000_000_123 };
    const p = parseLine(encodeLine(s)!);
    expect(p).toEqual({ measurement: 'if,x', tags: { 'a b': 'c=d,e f', element: 'SW 1' }, fields: s.fields, time: s.time });
  });

  it('names what is wrong and where', async () => {
    expect(() => parseLine('m f=NaN')).toThrow('field "f" has a bad value "NaN" at column 8');
    expect(() => parseLine('m,t f=1')).toThrow(/tag without "key=value"/);
    expect(() => parseLine('m f="open')).toThrow(/unterminated string/);
    expect(() => parseLine('m f=1 12x')).toThrow(/bad timestamp/);
    expect(parseLine('m f=1 1700000000123456789').time).toBe(1_700_000_000_123.4568);
    expect(() => parseLine('m f=9223372036854775808i')).toThrow(/integer 9223372036854775808i is outside int64/);
    expect(parseLine('m f=18446744073709551615u').fields.f).toBe(18446744073709551615n);
    expect(() => parseLine('m f=18446744073709551616u')).toThrow(/outside uint64/);
    expect(() => parseLine('m f=1e400')).toThrow(/outside the float64 range/);
  });

  it('takes a backslash before an ordinary character literally, and keeps __proto__ as a key', () => {
    expect(parseLine('m\\=x,t\\k=a\\b __proto__=1').measurement).toBe('m\\=x');
    const p = parseLine('m,__proto__=x __proto__=1');
    expect(Object.keys(p.tags)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(p.fields)).toBe(Object.prototype);
    expect(Object.entries(p.fields)).toEqual([['__proto__', 1]]);
  });
});
