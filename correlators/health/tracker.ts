import type { Check, Verdict } from './check.ts';

export type HealthState = 'up' | 'degraded' | 'down' | 'unknown';

export interface HysteresisOptions {
  /** Enter `down` (or `degraded`) after `failOf` of the last `window` checks were that bad. */
  failOf: number;
  window: number;
  /** Leave it after this many good checks in a row. */
  recoverAfter: number;
  /** No check from a source for this long: that source knows nothing (`unknown`). */
  staleAfterMs: number;
}

export const DEFAULT_HYSTERESIS: HysteresisOptions = {
  failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 180_000,
};

/** The health of one element, as the outage correlator reads it. */
export interface ElementHealth {
  state: HealthState;
  /** When the current state began: the first observation that showed it. */
  since: number;
  reason: string;
  /**
   * The last observation that showed the element alive (answering, even if degraded), from any
   * source: what tells a silent parent's inferred failure from one whose management plane still
   * answers. Undefined: never heard alive.
   */
  aliveAt?: number;
  /**
   * A source has begun failing and is not down (yet): when its bad run began. What tells the
   * alert hold-down that a parent may be about to take its children's outages in.
   */
  failingSince?: number;
}

export interface HealthTransition {
  element: string;
  from: HealthState;
  to: HealthState;
  /** The observation time the new state began at. */
  at: number;
  reason: string;
}

interface SourceState {
  recent: { verdict: Verdict; time: number; reason: string }[];
  state: HealthState;
  since: number;
  reason: string;
  lastCheck: number;
  /** First observation of the current bad or good run, for transition times. */
  badSince: number | undefined;
  goodSince: number | undefined;
  goodRun: number;
  /** Restored after a restart: staleness counts from then, not from the last check before it. */
  restoredAt?: number;
  /** Its last word was a decisive failure (a last will): it stays down, never stale, until it says otherwise. */
  held?: boolean;
}

interface ElementState extends ElementHealth {
  sources: Map<string, SourceState>;
}

/** The reason a decisive "offline" (an MQTT last will) leaves on its transition. */
const LAST_WORD = /^mqtt: offline$/;

const RANK: Record<HealthState, number> = { unknown: 0, up: 1, degraded: 2, down: 3 };

/**
 * Element health with hysteresis, per source (SNMP, ICMP, MQTT, radio): a source enters `down`
 * after `failOf` of its last `window` checks failed and leaves after `recoverAfter` good ones in a
 * row; likewise `degraded`. The element takes the worst state among its sources that know
 * something; with none, it is `unknown`. (Flapping is damped where outages live: an outage
 * that clears is confirmed before it closes, and reopens if the element fails again.) Pure: checks and the clock come in, transitions go out; state is one entry per element and source.
 */
export class HealthTracker {
  private readonly o: HysteresisOptions;
  private readonly elements = new Map<string, ElementState>();

  constructor(o: Partial<HysteresisOptions> = {}) {
    this.o = { ...DEFAULT_HYSTERESIS, ...o };
  }

  get(element: string): ElementHealth | undefined {
    return this.elements.get(element);
  }

  /** Every element's health, for the outage correlator. */
  get all(): ReadonlyMap<string, ElementHealth> {
    return this.elements;
  }

  ingest(check: Check): HealthTransition[] {
    let el = this.elements.get(check.element);
    if (!el) {
      el = { state: 'unknown', since: check.time, reason: 'no data yet', sources: new Map() };
      this.elements.set(check.element, el);
    }
    let src = el.sources.get(check.source);
    if (!src) {
      src = { recent: [], state: 'unknown', since: check.time, reason: '', lastCheck: check.time, badSince: undefined, goodSince: undefined, goodRun: 0 };
      el.sources.set(check.source, src);
    }
    if (check.time < src.lastCheck) return []; // late and out of order: the newer checks already speak
    src.lastCheck = check.time;
    if (check.verdict === 'ok' || check.verdict === 'degraded') el.aliveAt = Math.max(el.aliveAt ?? check.time, check.time);
    if (check.decisive && check.verdict !== 'stale') {
      // A statement: the source is down (or up) from now, whatever its recent checks were.
      const state: HealthState = check.verdict === 'fail' ? 'down' : check.verdict === 'degraded' ? 'degraded' : 'up';
      src.recent = [{ verdict: check.verdict, time: check.time, reason: check.reason }];
      src.goodRun = check.verdict === 'ok' ? this.o.recoverAfter : 0;
      src.goodSince = check.verdict === 'ok' ? check.time : undefined;
      src.badSince = check.verdict === 'ok' ? undefined : check.time;
      src.held = state === 'down';
      if (state !== src.state) this.setSource(src, state, check.time, check.reason);
      return this.settle(check.element, el, check.time);
    }
    if (check.verdict === 'stale') {
      if (src.held) return []; // silence adds nothing to a last will
      if (src.state !== 'unknown') this.setSource(src, 'unknown', check.time, check.reason);
      return this.settle(check.element, el, check.time);
    }
    src.recent.push({ verdict: check.verdict, time: check.time, reason: check.reason });
    if (src.recent.length > this.o.window) src.recent.shift();
    const good = check.verdict === 'ok';
    if (good) {
      src.goodRun++;
      src.goodSince ??= check.time;
      src.badSince = undefined;
    } else {
      src.goodRun = 0;
      src.goodSince = undefined;
      src.badSince ??= check.time;
    }
    const fails = src.recent.filter((r) => r.verdict === 'fail');
    const bad = src.recent.filter((r) => r.verdict !== 'ok');
    let next: HealthState = src.state;
    if (fails.length >= this.o.failOf) next = 'down';
    else if (src.state === 'down') {
      if (src.goodRun >= this.o.recoverAfter) next = 'up';
      else if (src.goodRun === 0 && check.verdict === 'degraded' && bad.length === src.recent.length) next = 'degraded';
    } else if (bad.length >= this.o.failOf) next = 'degraded';
    else if (src.state === 'degraded' && src.goodRun >= this.o.recoverAfter) next = 'up';
    else if (src.state === 'unknown') next = good ? 'up' : src.state;
    if (next !== 'down') src.held = false;
    if (next !== src.state) {
      // The state began at the first observation of the run that led to it.
      const at = next === 'up' ? src.goodSince ?? check.time : firstOfRun(src.recent, next) ?? src.badSince ?? check.time;
      this.setSource(src, next, at, check.reason);
    }
    return this.settle(check.element, el, check.time);
  }

  /**
   * Health as a previous run left it (after a restart or a kill -9): each element's last state,
   * with the source that set it, as if that source had just reported. New checks of that source go
   * on from there with the usual hysteresis (a restored `down` needs `recoverAfter` good checks);
   * a source that says nothing goes stale `staleAfterMs` after `now`, as any silent source does,
   * except one whose last word was an MQTT "offline": that stays down until it speaks.
   * Elements already seen in this run are left alone. Emits no transition.
   */
  restore(entries: readonly { element: string; source: string; state: HealthState; since: number; reason: string }[], now: number): void {
    for (const e of entries) {
      if (this.elements.has(e.element) || e.state === 'unknown') continue;
      const src: SourceState = { recent: [], state: e.state, since: e.since, reason: e.reason, lastCheck: e.since, badSince: e.state === 'up' ? undefined : e.since, goodSince: e.state === 'up' ? e.since : undefined, goodRun: 0, restoredAt: now,
        // A last word of "offline" (a will) stands across the restart too: down, never stale, until it speaks.
        ...(e.state === 'down' && LAST_WORD.test(e.reason) && { held: true }) };
      this.elements.set(e.element, { state: e.state, since: e.since, reason: e.reason, sources: new Map([[e.source, src]]), ...(e.state !== 'down' && { aliveAt: e.since }) });
    }
  }

  /** Sources silent past `staleAfterMs` become unknown. Call it on a timer with the current time. */
  tick(now: number): HealthTransition[] {
    const out: HealthTransition[] = [];
    for (const [id, el] of this.elements) {
      let changed = false;
      for (const src of el.sources.values()) {
        // A last check later than now (the host's clock stepped back, or a sample dated ahead): from
        // now on, checks from now on count again, or the source would be blind until time caught up.
        if (src.lastCheck > now) src.lastCheck = now;
        const heard = Math.max(src.lastCheck, src.restoredAt ?? -Infinity);
        if (src.state !== 'unknown' && !src.held && now - heard > this.o.staleAfterMs) {
          this.setSource(src, 'unknown', heard + this.o.staleAfterMs, 'no data past its period');
          changed = true;
        }
      }
      if (changed) out.push(...this.settle(id, el, now));
    }
    return out;
  }

  private setSource(src: SourceState, state: HealthState, at: number, reason: string): void {
    src.state = state;
    src.since = at;
    src.reason = reason;
  }

  /** The element's state from its sources; a transition when it changed. */
  private settle(id: string, el: ElementState, now: number): HealthTransition[] {
    // A source whose last check failed and that is not down (yet, or ever: it may recover).
    let failing: number | undefined;
    for (const x of el.sources.values()) {
      if (x.state === 'down' || x.state === 'unknown' || x.badSince === undefined || x.recent.at(-1)?.verdict !== 'fail') continue;
      if (failing === undefined || x.badSince < failing) failing = x.badSince;
    }
    if (failing === undefined) delete el.failingSince;
    else el.failingSince = failing;
    let worst: SourceState | undefined;
    for (const s of el.sources.values()) if (!worst || RANK[s.state] > RANK[worst.state]) worst = s;
    const state = worst?.state ?? 'unknown';
    if (state === el.state) return [];
    // Among the sources in the new state, the one that decides when it began: for a change for the
    // worse the first to get there, for a recovery the last (a source good all along says nothing
    // about when the element came back).
    const recovering = RANK[state] < RANK[el.state];
    for (const s of el.sources.values()) {
      if (s.state === state && worst && (recovering ? s.since > worst.since : s.since < worst.since)) worst = s;
    }
    const t: HealthTransition = { element: id, from: el.state, to: state, at: worst?.since ?? now, reason: worst?.reason ?? '' };
    el.state = state;
    el.since = t.at;
    el.reason = t.reason;
    return [t];
  }
}

/**
 * When a bad state began: its first bad observation since the last good one. A failure before a
 * good check is not part of the run (with sparse checks, such as presence messages, it may be days
 * older), so an outage is never dated across a time the element was seen well.
 */
function firstOfRun(recent: { verdict: Verdict; time: number }[], state: HealthState): number | undefined {
  const want = (v: Verdict) => (state === 'down' ? v === 'fail' : v !== 'ok');
  let from = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    if (recent[i].verdict === 'ok') {
      from = i + 1;
      break;
    }
  }
  return recent.slice(from).find((r) => want(r.verdict))?.time;
}
