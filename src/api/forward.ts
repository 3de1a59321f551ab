import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ApiError } from './http.ts';

/** Where a request that must reach the cluster's leader goes: `self` (this member leads, and is up as the leader), another member's API base URL, or nowhere yet (no leader, or it is starting). */
export interface LeaderRoute {
  member: string;
  target(): 'self' | string | undefined;
}

/** Not passed on: they describe one connection, not the request (`expect: 100-continue` is answered here, by node). */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'expect']);

/** A failure before the request reached the leader: safe to retry. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const MARK = 'x-netpulse-forwarded-by';

/**
 * In a cluster, a request that changes something (any method but GET) or reads the leader's live
 * state (`leader: true` routes) is passed to the leader as it came (token and body), after this
 * member's own guard; the leader's answer is passed back. Every write is so made once, where the
 * correlators and the fencing token are. A request a member forwarded is never forwarded again:
 * if its receiver no longer leads, it answers 503 and the client retries (`Retry-After`).
 */
export function forwardToLeader(route: LeaderRoute, bodyLimit: number, timeoutMs = 30_000) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const to = route.target();
    if (to === 'self') return undefined;
    const retry = (code: string, message: string) => {
      reply.header('retry-after', '1');
      return new ApiError(503, code, message);
    };
    if (req.headers[MARK] !== undefined) throw retry('not_leader', 'this member no longer leads the cluster; retry');
    if (to === undefined) throw retry('no_leader', 'the cluster has no leader at the moment (a takeover is under way); retry');
    // A body the leader would refuse is refused here, before any of it travels.
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > bodyLimit) throw new ApiError(413, 'body_too_large', `the body is over ${bodyLimit} bytes`);
    const dropped = new Set([...HOP, ...String(req.headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)]);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !dropped.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    headers[MARK] = route.member;
    headers['x-forwarded-for'] = req.ip;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(`${to}${req.url}`, {
        method: req.method, headers, signal: AbortSignal.timeout(timeoutMs),
        ...(hasBody && { body: Readable.toWeb(req.raw) as ReadableStream, duplex: 'half' }),
      } as RequestInit);
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      const code = errorCode(err);
      // Not reached: retry. Reached, then lost (a timeout, a reset): the write may have been made, so no Retry-After.
      if (NOT_SENT.has(code)) throw retry('leader_unreachable', `the cluster's leader cannot be reached (${code}); retry`);
      throw new ApiError(502, 'leader_failed', `the leader did not answer in full (${(err as Error).message}); the change may have been made: read before you retry`);
    }
    reply.code(res.status);
    for (const [k, v] of res.headers) if (!HOP.has(k) && k !== 'content-encoding') reply.header(k, v);
    reply.header(MARK, route.member);
    return reply.send(body);
  };
}

/** The system error code of a failed fetch, wherever undici put it (its cause, or the cause's errors). */
function errorCode(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && !e.code.startsWith('ERR_')) return e.code;
    const inner = e.errors?.map(errorCode).find(Boolean);
    if (inner) return inner;
  }
  return '';
}
