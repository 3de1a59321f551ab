/** A period a report covers, [from, to), or why the one asked for cannot be: the field and what is wrong. */
export class PeriodError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const DAY = 86_400_000;

/** The calendar month (UTC) `YYYY-MM` as [from, to). */
export function monthPeriod(month: string): { from: number; to: number } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new PeriodError('month', `expected YYYY-MM, not "${month}"`);
  return { from: Date.UTC(Number(m[1]), Number(m[2]) - 1, 1), to: Date.UTC(Number(m[1]), Number(m[2]), 1) };
}

/** The calendar month (UTC) before the one `now` is in. */
export function lastMonth(now: number): { from: number; to: number; month: string } {
  const d = new Date(now);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  return { from, to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), month: new Date(from).toISOString().slice(0, 7) };
}

/** A time as given (ms since the epoch, or ISO-8601 with an offset or a date alone), named by `field` when it is not one. */
export function parseTime(v: string | number, field: string): number {
  const t = typeof v === 'number' ? v : /^\d{1,16}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(t) || t < 0 || t > 8.64e15) throw new PeriodError(field, `not a time: "${v}" (ISO-8601 such as 2026-11-01 or 2026-11-01T00:00:00Z, or ms since the epoch)`);
  return t;
}

/**
 * The period asked for: `month`, or `from` and `to` (either alone: a month from `from`, or the
 * month up to `to`), or by default last month. `from` must come before `to`, and the period may
 * not pass `maxPeriod`.
 */
export function periodOf(q: { from?: string | number; to?: string | number; month?: string }, now: number, maxPeriodMs: number): { from: number; to: number } {
  if (q.month !== undefined && (q.from !== undefined || q.to !== undefined)) throw new PeriodError('month', 'give month, or from and to, not both');
  let p: { from: number; to: number };
  if (q.month !== undefined) p = monthPeriod(q.month);
  else if (q.from === undefined && q.to === undefined) p = lastMonth(now);
  else {
    const from = q.from === undefined ? undefined : parseTime(q.from, 'from');
    const to = q.to === undefined ? undefined : parseTime(q.to, 'to');
    p = { from: from ?? to! - 30 * DAY, to: to ?? from! + 30 * DAY };
  }
  if (p.from >= p.to) throw new PeriodError('to', `the period ends (${new Date(p.to).toISOString()}) before or when it begins (${new Date(p.from).toISOString()})`);
  if (p.to - p.from > maxPeriodMs) throw new PeriodError('to', `the period is ${Math.ceil((p.to - p.from) / DAY)} days long; at most ${Math.floor(maxPeriodMs / DAY)} days`);
  return p;
}
