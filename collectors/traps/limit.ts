import { createHash } from 'node:crypto';
import type { Trap } from './decode.ts';

export interface LimitOptions {
  /** Token bucket per (source, kind): the sustained rate... */
  perSecond: number;
  /** ...and the burst it allows. */
  burst: number;
  /** A trap identical to the last one from its source about the same thing, within this many ms, is a duplicate. */
  dedupMs: number;
  /** Sources remembered; past it the least recently seen is forgotten (it starts again with a full bucket). */
  maxSources: number;
  now?: () => number;
}

/** What to do with one trap: keep it, or drop it as a duplicate or over its rate. */
export type LimitVerdict = 'pass' | 'dedup' | 'rate';

export interface LimitKey {
  /** Who sent it (the UDP source address). */
  source: string;
  /** Its kind, for the token bucket (the definition's name, or the trap OID). */
  kind: string;
  /** What it is about, for deduplication (`if:3`, `alarm:x:17`, `oid:...`): the last trap per scope is remembered. */
  scope: string;
  /** Its content (see `fingerprint`): identical traps have the same one. */
  fingerprint: string;
}

/** Kinds with a bucket of their own per source; further kinds share one (cycling OIDs gains a flood nothing). */
export const MAX_KINDS_PER_SOURCE = 32;
/** Scopes remembered per source for deduplication (the least recently seen forgotten first). */
export const MAX_SCOPES_PER_SOURCE = 256;

interface Bucket { tokens: number; at: number }
interface SourceState {
  buckets: Map<string, Bucket>;
  last: Map<string, { at: number; fingerprint: string }>;
}

/**
 * A trap's content without what changes from one copy to the next (sysUpTime, the request id):
 * the trap OID and its varbinds, hashed, so what is remembered per scope is 40 characters however
 * large the trap.
 */
export function fingerprint(trap: Trap): string {
  const h = createHash('sha1').update(trap.oid);
  for (const vb of trap.varbinds) h.update('\0').update(vb.oid).update('\0').update(String(vb.value));
  return h.digest('hex');
}

/**
 * Storm control for traps. Pure but for the injected clock; state is bounded: at most
 * `maxSources` sources (least recently seen evicted), each with at most MAX_KINDS_PER_SOURCE buckets
 * and MAX_SCOPES_PER_SOURCE remembered scopes, so a flood from spoofed addresses costs a bounded
 * amount of memory. Each source has its own buckets and nothing is queued: a flood from one
 * source is dropped here, synchronously, and never delays another source's trap.
 *
 * A duplicate is a trap identical (same `fingerprint`) to the last one kept for the same source and
 * scope, within `dedupMs` of it: a flap (down, up, down) is three different traps, all kept. A
 * duplicate does not spend a token; a trap dropped for its rate is not remembered as the last one.
 */
export class TrapLimiter {
  readonly dropped = { dedup: 0, rate: 0 };
  /** Sources forgotten to stay within `maxSources`. */
  evicted = 0;
  private readonly o: LimitOptions;
  private readonly now: () => number;
  private readonly sources = new Map<string, SourceState>();

  constructor(o: LimitOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Sources remembered now (at most `maxSources`). */
  get size(): number {
    return this.sources.size;
  }

  admit(k: LimitKey): LimitVerdict {
    const now = this.now();
    let s = this.sources.get(k.source);
    if (s) this.sources.delete(k.source); // re-inserted below: Map order is recency
    else s = { buckets: new Map(), last: new Map() };
    this.sources.set(k.source, s);
    if (this.sources.size > this.o.maxSources) {
      this.sources.delete(this.sources.keys().next().value!);
      this.evicted++;
    }
    const last = s.last.get(k.scope);
    if (last && last.fingerprint === k.fingerprint && now - last.at < this.o.dedupMs && now >= last.at) {
      this.dropped.dedup++;
      return 'dedup';
    }
    const kind = s.buckets.has(k.kind) || s.buckets.size < MAX_KINDS_PER_SOURCE ? k.kind : '*';
    let b = s.buckets.get(kind);
    if (!b) {
      b = { tokens: this.o.burst, at: now };
      s.buckets.set(kind, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
      b.at = now;
    } else {
      b.at = now; // the clock stepped back: no refill for the step, and none lost
    }
    if (b.tokens < 1) {
      this.dropped.rate++;
      return 'rate';
    }
    b.tokens -= 1;
    s.last.delete(k.scope);
    s.last.set(k.scope, { at: now, fingerprint: k.fingerprint });
    if (s.last.size > MAX_SCOPES_PER_SOURCE) s.last.delete(s.last.keys().next().value!);
    return 'pass';
  }
}

/**
 * The first line of storm control, before a datagram is even decoded: a token bucket per sender
 * address over every datagram it sends (`perSecond` and `burst` are per source; the collector gives
 * it ten times a kind's rate). A source past it costs a Map lookup per datagram instead of BER
 * decoding, decryption and matching, so the socket drains fast and the kernel's receive buffer,
 * the one queue all sources share, does not fill behind a flood. Bounded like TrapLimiter.
 *
 * It comes before authentication, so a sender forging a victim's address can spend the victim's
 * bucket; such a sender could as well fill the shared socket buffer, which drops everyone's traps.
 */
export class SourceGate {
  dropped = 0;
  private readonly o: Omit<LimitOptions, 'dedupMs'>;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(o: Omit<LimitOptions, 'dedupMs'>) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Whether a datagram from this address goes on to be decoded. */
  admit(address: string): boolean {
    const now = this.now();
    let b = this.buckets.get(address);
    if (b) {
      this.buckets.delete(address);
      if (now > b.at) b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
      b.at = now;
    } else {
      b = { tokens: this.o.burst, at: now };
      if (this.buckets.size >= this.o.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(address, b);
    if (b.tokens < 1) {
      this.dropped++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }
}
