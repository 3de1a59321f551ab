import { describe, it, expect } from 'vitest';
import { CounterRates } from '../../collectors/snmp/rates.ts';

// Timelines: (time in s, counter value) -> expected rate per second.
describe('CounterRates', () => {
  it('gives no rate for the first value, then delta over time', () => {
    const r = new CounterRates();
    expect(r.rate('x', 1000n, 64, 0)).toBeUndefined();
    expect(r.rate('x', 3000n, 64, 10_000)).toBe(200);
  });

  it('treats a 32-bit counter going down as one wrap, not a negative spike', () => {
    const r = new CounterRates();
    r.rate('x', 4_294_967_000n, 32, 0);
    expect(r.rate('x', 704n, 32, 1_000)).toBe(1000); // 296 to the wrap, 704 after it
  });

  it('gives no rate when a 64-bit counter goes down (a discontinuity, not a lap)', () => {
    const r = new CounterRates();
    r.rate('x', 5_000n, 64, 0);
    expect(r.rate('x', 10n, 64, 1_000)).toBeUndefined();
    expect(r.rate('x', 110n, 64, 2_000)).toBe(100); // and recovers from the new baseline
  });

  it('forgets every baseline when sysUpTime goes back (agent restart): no spike', () => {
    const r = new CounterRates();
    r.observeUptime(50_000n);
    r.rate('x', 4_000_000_000n, 32, 0);
    expect(r.observeUptime(300n)).toBe(true);
    expect(r.rate('x', 1_000n, 32, 60_000)).toBeUndefined();
    expect(r.rate('x', 61_000n, 32, 120_000)).toBe(1000);
  });

  it('drops state for counters that disappeared', () => {
    const r = new CounterRates();
    r.rate('a', 1n, 64, 0);
    r.rate('b', 1n, 64, 0);
    r.retain(new Set(['a']));
    expect(r.size).toBe(1);
  });
});
