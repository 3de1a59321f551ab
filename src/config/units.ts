import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/;
const SIZE_BYTES: Record<string, number> = {
  B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3,
};

/** Parses `250ms`, `30s`, `5m`, `1h`, `1d` or a bare number of milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = DURATION.exec(v.trim());
  return m ? Number(m[1]) * DURATION_MS[m[2]] : undefined;
}

/** Parses `512KiB`, `64MiB`, `1GiB`, `10MB` or a bare number of bytes. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = SIZE.exec(v.trim());
  return m ? Math.round(Number(m[1]) * SIZE_BYTES[m[2] ?? 'B']) : undefined;
}

/** A duration in config: a number of ms or a string such as `30s`; always milliseconds after parsing. */
export const duration = (min = 0) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || !Number.isFinite(ms)) { // "999...9s" past the float range is Infinity: a timer of Infinity ms fires at once
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 500ms, 30s, 5m, 1h (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min} ms (got ${ms} ms)` });
      return z.NEVER;
    }
    return ms;
  });

/** A size in config: a number of bytes or a string such as `64MiB`; always bytes after parsing. */
export const size = (min = 0) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const bytes = parseSize(v);
    if (bytes === undefined || !Number.isFinite(bytes)) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 512KiB, 64MiB, 1GiB (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    if (bytes < min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min} bytes (got ${bytes})` });
      return z.NEVER;
    }
    return bytes;
  });
