/**
 * Times that come from outside (telemetry, complaints, API bodies) pass one stated rule before
 * anything keeps them: converted to integer milliseconds since the epoch, then checked against a
 * window around this host's clock. A time outside it is refused with a reason, never clamped:
 * a far-future "ok" would hide every later failure, a complaint from 1970 would be overdue at once.
 */

/** Why a time was refused; stable, so counters and API errors can carry it. */
export type TimeRefusal = 'time_invalid' | 'time_ahead' | 'time_too_old';

export interface TimeWindow {
  /** How far ahead of this host's clock a time may be (clock skew between sources). */
  aheadMs: number;
  /** How far back a time may be. */
  pastMs: number;
}

/**
 * An epoch number in seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude
 * (below 1e11: s, up to the year 5138; below 1e14: ms; below 1e17: µs; else ns), as integer ms.
 * Undefined when it is not a finite number.
 */
export function epochMs(n: number): number | undefined {
  if (!Number.isFinite(n)) return undefined;
  const a = Math.abs(n);
  return Math.round(a < 1e11 ? n * 1e3 : a < 1e14 ? n : a < 1e17 ? n / 1e3 : n / 1e6);
}

/** The refusal for a time in integer ms, or undefined when it is inside the window around `now`. */
export function checkTime(ms: number, now: number, w: TimeWindow): TimeRefusal | undefined {
  if (!Number.isSafeInteger(ms)) return 'time_invalid';
  if (ms > now + w.aheadMs) return 'time_ahead';
  if (ms < now - w.pastMs) return 'time_too_old';
  return undefined;
}

/** A person's words for a refusal, naming the time and the bound. */
export function describeRefusal(r: TimeRefusal, ms: number, now: number, w: TimeWindow): string {
  const at = Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
  if (r === 'time_ahead') return `time ${at} is more than ${seconds(w.aheadMs)} ahead of this host's clock`;
  if (r === 'time_too_old') return `time ${at} is more than ${seconds(w.pastMs)} old`;
  return `time ${at} is not an integer number of milliseconds`;
}

const seconds = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);
