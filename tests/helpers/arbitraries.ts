import fc from 'fast-check';
import type { FieldValue } from '../../src/sample.ts';

/**
 * Generators for property tests of line protocol: what it makes hard (its separators and
 * escapes, a comment mark, line breaks, NUL, lone surrogates, reserved words) mixed into
 * arbitrary Unicode.
 */
export const SPECIALS = [',', '=', ' ', '\\', '"', '\n', '\r', '\t', '#', '\0', '\uD800', '\uDC00', 'time', 'element', '__proto__', 'é', '𝄞', '\u200B'];

/**
 * Arbitrary Unicode with `specials` mixed in, and `rare` ones (say, what cannot be written at
 * all) now and then; empty strings included unless `minParts` says otherwise.
 */
export function hostileText(specials: readonly string[] = SPECIALS, rare: readonly string[] = [], minParts = 0): fc.Arbitrary<string> {
  return fc.array(fc.oneof(
    { weight: 30, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
    { weight: 20, arbitrary: fc.constantFrom(...specials) },
    ...(rare.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...rare) }] : []),
  ), { minLength: minParts, maxLength: 6 }).map((parts) => parts.join(''));
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** int64 and its extremes, and past them (a Counter64 above 2^63-1, garbage). */
export const integers = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, INT64_MAX + 1n, 2n ** 64n - 1n, 2n ** 64n, INT64_MIN - 1n),
);

/** Any field value: floats (NaN, infinities and -0 among them), integers, booleans, strings. */
export function fieldValues(text: fc.Arbitrary<string>): fc.Arbitrary<FieldValue> {
  return fc.oneof(fc.double(), integers, fc.boolean(), text);
}

/** A record from unique keys (built with fromEntries, so `__proto__` is a key like any other). */
export function record<T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxKeys = 5): fc.Arbitrary<Record<string, T>> {
  return fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: maxKeys }).map((e) => Object.fromEntries(e) as Record<string, T>);
}
