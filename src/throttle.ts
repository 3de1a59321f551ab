/**
 * Decides which of many repeated events deserve a log line: the first of each key, then at most
 * one per `intervalMs`, reporting how many were suppressed in between. Bounded: the oldest keys
 * are forgotten past `maxKeys`.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(intervalMs = 60_000, maxKeys = 10_000, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.maxKeys = maxKeys;
    this.now = now;
  }

  /** Returns undefined to stay quiet, or the number of events suppressed since the last line. */
  allow(whole: string): number | undefined {
    const key = whole.length > 256 ? whole.slice(0, 256) : whole; // keys come from outside (topics): bounded in size too
    const t = this.now();
    const e = this.last.get(key);
    if (e && t - e.at < this.intervalMs) {
      e.suppressed++;
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: t, suppressed: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    return suppressed;
  }
}
