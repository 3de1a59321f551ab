import { describe, it, expect } from 'vitest';
import { epochMs, checkTime, describeRefusal } from '../../src/intake/time.ts';

const NOW = Date.UTC(2026, 11, 1, 12);
const W = { aheadMs: 5 * 60_000, pastMs: 7 * 86_400_000 };

describe('times from outside', () => {
  it.each([
    ['seconds', NOW / 1000, NOW],
    ['milliseconds', NOW, NOW],
    ['microseconds', NOW * 1000, NOW],
    ['nanoseconds', NOW * 1e6, NOW],
    ['fractional seconds', NOW / 1000 + 0.0004, NOW],
    ['negative seconds (before 1970)', -86_400, -86_400_000],
  ])('reads an epoch in %s as integer ms', (_unit, n, ms) => {
    expect(epochMs(n)).toBe(ms);
  });

  it('refuses what is not a number', () => {
    expect(epochMs(NaN)).toBeUndefined();
    expect(epochMs(Infinity)).toBeUndefined();
  });

  it.each([
    ['now', NOW, undefined],
    ['4 minutes ahead', NOW + 4 * 60_000, undefined],
    ['6 minutes ahead', NOW + 6 * 60_000, 'time_ahead'],
    ['2099', Date.UTC(2099, 0, 1), 'time_ahead'],
    ['6 days old', NOW - 6 * 86_400_000, undefined],
    ['8 days old', NOW - 8 * 86_400_000, 'time_too_old'],
    ['1970', 0, 'time_too_old'],
    ['year 1', Date.UTC(1, 0, 1), 'time_too_old'],
    ['a fraction of a ms', NOW + 0.5, 'time_invalid'],
    ['beyond 2^53', 2 ** 60, 'time_invalid'],
  ])('a time %s is %s', (_what, ms, refusal) => {
    expect(checkTime(ms, NOW, W)).toBe(refusal);
  });

  it('says what was refused and the bound', () => {
    expect(describeRefusal('time_ahead', Date.UTC(2099, 0, 1), NOW, W)).toBe("time 2099-01-01T00:00:00.000Z is more than 5 min ahead of this host's clock");
    expect(describeRefusal('time_too_old', 0, NOW, W)).toBe('time 1970-01-01T00:00:00.000Z is more than 7 d old');
    expect(describeRefusal('time_invalid', 1e300, NOW, W)).toBe('time 1e+300 is not an integer number of milliseconds');
  });
});
