/**
 * Calendar days and working days in a policy's time zone. A day is numbered as days since
 * 1970-01-01 in that zone (so day arithmetic is integer arithmetic); the zone's daylight saving
 * changes are handled by asking `Intl` for the offset at each instant.
 */
const DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when `Intl` does not know it. */
export function checkTimeZone(tz: string): void {
  formatter(tz);
}

const QUARTER = 900_000;
const offsets = new Map<string, Map<number, number>>();

/**
 * The zone's offset from UTC at this instant, in ms (positive east of Greenwich). Zones change
 * offset only at whole quarter hours of UTC, so the answer is cached per quarter hour (`Intl` is
 * slow next to the arithmetic around it, and a million subscribers ask about the same few days).
 */
function offsetAt(ms: number, tz: string): number {
  let cache = offsets.get(tz);
  if (!cache) offsets.set(tz, cache = new Map());
  const q = Math.floor(ms / QUARTER);
  let o = cache.get(q);
  if (o === undefined) {
    if (cache.size > 100_000) cache.clear();
    o = askOffset(q * QUARTER, tz);
    cache.set(q, o);
  }
  return o;
}

function askOffset(ms: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return local - ms;
}

/** The local day an instant falls on. */
export function dayOf(ms: number, tz: string): number {
  return Math.floor((ms + offsetAt(ms, tz)) / DAY);
}

/** When a local day begins (local midnight), as an instant. */
export function startOfDay(day: number, tz: string): number {
  let t = day * DAY;
  // Two rounds settle the offset even across a daylight saving change on that day.
  for (let i = 0; i < 2; i++) t = day * DAY - offsetAt(t, tz);
  return t;
}

const isoDays = new Map<number, string>();

/** `YYYY-MM-DD` of a local day number. */
export function isoDay(day: number): string {
  let s = isoDays.get(day);
  if (s === undefined) {
    if (isoDays.size > 100_000) isoDays.clear();
    s = new Date(day * DAY).toISOString().slice(0, 10);
    isoDays.set(day, s);
  }
  return s;
}

/** The local day number of `YYYY-MM-DD`. */
export function dayNumber(iso: string): number {
  return Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY);
}

/** `YYYY-MM` of the local month an instant falls in. */
export function monthOf(ms: number, tz: string): string {
  return isoDay(dayOf(ms, tz)).slice(0, 7);
}

/** Weekend days (0 Sunday .. 6 Saturday) and public holidays (`YYYY-MM-DD`). */
export interface WorkingCalendar {
  weekend: readonly number[];
  holidays: readonly string[];
}

export class WorkingDays {
  private readonly weekend: Set<number>;
  private readonly holidays: Set<number>;

  constructor(c: WorkingCalendar) {
    this.weekend = new Set(c.weekend);
    this.holidays = new Set(c.holidays.map(dayNumber));
  }

  isWorking(day: number): boolean {
    // Day 0 (1970-01-01) was a Thursday.
    return !this.weekend.has((day + 4) % 7) && !this.holidays.has(day);
  }

  /** The `n`-th working day after `day` (the day itself does not count). */
  after(day: number, n: number): number {
    let d = day;
    for (let left = n; left > 0;) {
      d++;
      if (this.isWorking(d)) left--;
    }
    return d;
  }
}
