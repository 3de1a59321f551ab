import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ApiError } from './http.ts';

/** Where a request that must reach the cluster's leader goes: `self` (this member leads, and is up as the leader), another member's API base URL, or nowhere yet (no leader, or it is starting). */
export interface LeaderRoute {
  member: string;
  target(): 'self' | string | undefined;
}

/** Not passed on: they describe one connection, not the request. */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);
const MARK = 'x-netpulse-forwarded-by';

/**
 * In a cluster, a request that changes something (any method but GET) or reads the leader's live
 * state (`leader: true` routes) is passed to the leader as it came (token and body), after this
 * member's own guard; the leader's answer is passed back. Every write is so made once, where the
 * correlators and the fencing token are. A request a member forwarded is never forwarded again:
 * if its receiver no longer leads, it answers 503 and the client retries (`Retry-After`).
 */
export function forwardToLeader(route: LeaderRoute, timeoutMs = 30_000) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const to = route.target();
    if (to === 'self') return undefined;
    reply.header('retry-after', '1');
    if (req.headers[MARK] !== undefined) throw new ApiError(503, 'not_leader', 'this member no longer leads the cluster; retry');
    if (to === undefined) throw new ApiError(503, 'no_leader', 'the cluster has no leader at the moment (a takeover is under way); retry');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    headers[MARK] = route.member;
    headers['x-forwarded-for'] = req.ip;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let res: Response;
    try {
      res = await fetch(`${to}${req.url}`, {
        method: req.method, headers, signal: AbortSignal.timeout(timeoutMs),
        ...(hasBody && { body: Readable.toWeb(req.raw) as ReadableStream, duplex: 'half' }),
      } as RequestInit);
    } catch (err) {
      throw new ApiError(503, 'leader_unreachable', `the cluster's leader cannot be reached (${(err as Error).message}); retry`);
    }
    reply.removeHeader('retry-after');
    reply.code(res.status);
    for (const [k, v] of res.headers) if (!HOP.has(k) && k !== 'content-encoding') reply.header(k, v);
    reply.header(MARK, route.member);
    return reply.send(Buffer.from(await res.arrayBuffer()));
  };
}
