import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatPath } from '../config/load.ts';
import { CONTROL } from '../intake/text.ts';
import type { Caller, Role } from './auth.ts';
import type { RouteHandler, RouteSpec } from './route.ts';

/**
 * What a noun's routes are registered with: `route`, which registers a route and describes it in
 * /openapi.json; the fastify app (for what is not a route: a content-type parser); the guard (run
 * when the request arrives, before its body is read: a known token with one of the roles, within
 * its rate); the clock, the role sets, and `refuse` to count a refusal sent without throwing.
 */
export interface RouteContext {
  route<Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(spec: RouteSpec<Q, B>, handler: RouteHandler<Q, B>): void;
  app: FastifyInstance;
  guard: (roles: readonly Role[]) => (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  now: () => number;
  refuse: (reply: FastifyReply, code: string) => void;
  roles: typeof ROLE_SETS;
}

/** Who may call what: reading (NOC, complaint and compensation systems), the NOC's own, maintenance planners, complaint systems, admins. */
export const ROLE_SETS: Record<'READ' | 'NOC' | 'MAINTENANCE' | 'COMPLAINTS' | 'ADMIN', Role[]> = {
  READ: ['noc', 'complaints', 'compensation'], NOC: ['noc'], MAINTENANCE: ['maintenance'], COMPLAINTS: ['complaints'], ADMIN: ['admin'],
};

/** Who is calling: set by the guard before any route runs. */
export const callerOf = (req: FastifyRequest): Caller => (req as FastifyRequest & { caller: Caller }).caller;

/** A duration as people write it: 7 d, 1 h, 5 min, 30 s. */
export const span = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** A page cursor: the last item's time and id. */
export const encodeCursor = (o: { startedAt: number; id: string }) => Buffer.from(`${o.startedAt}|${o.id}`).toString('base64url');
export function decodeCursor(c: string): { startedAt: number; id: string } {
  const s = Buffer.from(c, 'base64url').toString('utf8');
  const bar = s.indexOf('|');
  // A cursor comes back from the client: the time an integer ms, the id without control characters.
  const startedAt = /^-?\d{1,16}$/.test(s.slice(0, bar)) ? Number(s.slice(0, bar)) : NaN;
  const id = s.slice(bar + 1);
  if (bar < 0 || !Number.isSafeInteger(startedAt) || CONTROL.test(id) || id.length > 300) throw new ApiError(400, 'bad_request', 'query cursor: not a cursor from a previous page', 'cursor');
  return { startedAt, id };
}

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
export const time = z.union([
  z.coerce.number().int().nonnegative().max(8.64e15).describe('ms since the epoch'),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

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
