import { describe, it, expect } from 'vitest';
import { encodeLine } from '../../src/sinks/line-protocol.ts';

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
});
