import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What a token may do. `noc`: read everything, acknowledge alerts, dismiss suspicions.
 * `dashboard`: what `noc` may read, and acknowledging alerts (the wall screen's token).
 * `maintenance`: announce and withdraw maintenance windows, set and withdraw force majeure
 * (both silence pages and change compensation). `complaints`: submit and handle complaints, read.
 * `compensation`: take and confirm credits, read. `manager`: service reports and the policy what-if,
 * nothing else (it writes nothing). `admin`: everything, and subscriber imports.
 */
export const ROLES = ['noc', 'dashboard', 'maintenance', 'complaints', 'compensation', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** How a token is kept in config: its SHA-256, never the token itself (`netpulse hash-token`). */
export function hashToken(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex');
}

export interface Caller { name: string; roles: readonly Role[] }

/**
 * Bearer tokens against the hashes in config, compared in constant time. The token itself is
 * never stored, logged or echoed; callers are known by their configured name.
 */
export class Authenticator {
  private readonly tokens: { name: string; hash: Buffer; roles: Role[] }[];

  constructor(tokens: readonly { name: string; hash: string; roles: Role[] }[]) {
    this.tokens = tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.hash.slice('sha256:'.length), 'hex'), roles: t.roles }));
  }

  /** The caller for an Authorization header, or undefined (no header, not Bearer, unknown token). */
  authenticate(header: string | undefined): Caller | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const h = createHash('sha256').update(m[1]).digest();
    let found: Caller | undefined;
    for (const t of this.tokens) if (timingSafeEqual(h, t.hash)) found = { name: t.name, roles: t.roles };
    return found;
  }
}

/**
 * Failed authentications per source address per minute: past `perMinute`, the address is refused
 * (429) until the window ends, whatever it sends. Bounded: at most `maxSources` addresses are
 * tracked, the oldest window forgotten first.
 */
export class FailureLimiter {
  private readonly perMinute: number;
  private readonly maxSources: number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(perMinute: number, maxSources = 10_000) {
    this.perMinute = perMinute;
    this.maxSources = maxSources;
  }

  /** Seconds until the source may try again, or undefined when it may now. */
  blocked(source: string, now = Date.now()): number | undefined {
    const w = this.windows.get(source);
    if (!w || now - w.start >= 60_000 || w.count < this.perMinute) return undefined;
    return Math.ceil((w.start + 60_000 - now) / 1000);
  }

  fail(source: string, now = Date.now()): void {
    let w = this.windows.get(source);
    if (!w || now - w.start >= 60_000) {
      this.windows.delete(source);
      if (this.windows.size >= this.maxSources) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(source, (w = { start: now, count: 0 }));
    }
    w.count++;
  }
}

/** Requests per caller per minute, in fixed one-minute windows. Bounded: one entry per token. */
export class RateLimiter {
  private readonly perMinute: number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Undefined when allowed, else the seconds until the window resets. */
  take(caller: string, now = Date.now()): number | undefined {
    const start = now - (now % 60_000);
    let w = this.windows.get(caller);
    if (!w || w.start !== start) this.windows.set(caller, (w = { start, count: 0 }));
    if (++w.count <= this.perMinute) return undefined;
    return Math.ceil((start + 60_000 - now) / 1000);
  }
}
