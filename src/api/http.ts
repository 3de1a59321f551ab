import { z } from 'zod';
import { formatPath } from '../config/load.ts';

/** A stable error: `code` for programs, `message` for people, `field` when one input is wrong. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** A time in a query: ms since the epoch, or ISO-8601; bounded to what a Date can hold. */
export const time = z.union([z.coerce.number().int().nonnegative().max(8.64e15), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

/** ISO-8601 for a stored time; a value no Date can hold (only old or foreign data) shows as undefined, never a 500. */
export const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15 ? undefined : new Date(ms).toISOString());

/** Parses a query or body; the first problem becomes a 400 naming the field. */
export function parse<T>(schema: z.ZodType<T>, input: unknown, where: 'query' | 'body'): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0];
  if (i.code === 'unrecognized_keys') {
    const key = [...(i.path as PropertyKey[]), i.keys[0]].map(String).join('.');
    throw new ApiError(400, 'bad_request', `${where} ${key}: unknown ${where === 'query' ? 'parameter' : 'field'}`, key);
  }
  const field = formatPath(i.path as PropertyKey[]) || where;
  throw new ApiError(400, 'bad_request', `${where} ${field}: ${i.message}`, field);
}
