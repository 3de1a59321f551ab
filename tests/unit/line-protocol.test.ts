import { describe, it, expect } from 'vitest';
import { encodeLine, nanoseconds } from '../../src/sinks/line-protocol.ts';

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

  it('leaves out NaN and infinite fields and empty tags, and gives up on a sample with no field left', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: { empty: '' }, fields: { a: NaN, b: 2 }, time: 0 })).toBe('m,element=e b=2 0');
    expect(encodeLine({ element: 'e', measurement: 'm', tags: {}, fields: { a: Infinity }, time: 0 })).toBeUndefined();
  });

  it('writes Counter64 values beyond 2^53 exactly', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: {}, fields: { c: 18446744073709551615n }, time: 0 })).toBe('m,element=e c=18446744073709551615i 0');
  });

  it('keeps fractions of a millisecond to the nanosecond, without float noise', () => {
    expect(nanoseconds(1_700_000_000_123)).toBe('1700000000123000000');
    expect(nanoseconds(1_700_000_000_123.5)).toBe('1700000000123500000');
    expect(nanoseconds(1_700_000_000_123.000_25)).toBe('1700000000123000244'); // the double's own value, rounded
    expect(nanoseconds(1_700_000_000_123.999_999_9)).toBe('1700000000124000000');
    expect(nanoseconds(0.25)).toBe('250000');
    expect(nanoseconds(0)).toBe('0');
  });

  it('escapes quotes, backslashes and newlines in strings and newlines in tag values', () => {
    expect(encodeLine({ element: 'e', measurement: 'm', tags: { t: 'a\nb' }, fields: { s: 'x\\y\n"z"' }, time: 1 }))
      .toBe('m,element=e,t=a\\nb s="x\\\\y\\n\\"z\\"" 1000000');
  });

  it('sorts tag keys, element among them, whatever order they came in', () => {
    expect(encodeLine({ element: 'E', measurement: 'm', tags: { z: '1', a: '2', f: '3', element: 'ignored' }, fields: { v: 1 }, time: 0 }))
      .toBe('m,a=2,element=E,f=3,z=1 v=1 0');
  });
});

describe('parseLine', () => {
  it('reads back what encodeLine writes, escapes included', async () => {
    const { parseLine } = await import('../../src/sinks/line-protocol.ts');
    const s = { element: 'SW 1', measurement: 'if,x', tags: { 'a b': 'c=d,e f' }, fields: { n: 5n, f: -1.5, b: false, s: 'say "hi"\\\\' }, time: 1_700_000_000_123 };
    const p = parseLine(encodeLine(s)!);
    expect(p).toEqual({ measurement: 'if,x', tags: { 'a b': 'c=d,e f', element: 'SW 1' }, fields: s.fields, time: s.time });
  });

  it('names what is wrong and where', async () => {
    const { parseLine } = await import('../../src/sinks/line-protocol.ts');
    expect(() => parseLine('m f=NaN')).toThrow('field "f" has a bad value "NaN" at column 8');
    expect(() => parseLine('m,t f=1')).toThrow(/tag without "key=value"/);
    expect(() => parseLine('m f="open')).toThrow(/unterminated string/);
    expect(() => parseLine('m f=1 12x')).toThrow(/bad timestamp/);
    expect(parseLine('m f=1 1700000000123456789').time).toBe(1_700_000_000_123.4568);
  });
});
