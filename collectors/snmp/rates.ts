const WRAP: Record<32 | 64, bigint> = { 32: 1n << 32n, 64: 1n << 64n };

interface Previous {
  value: bigint;
  time: number;
}

/**
 * Per-second rates of SNMP counters for one target. Pure: values and times go in, rates come
 * out. A counter that went down is a wrap (one lap of its 32- or 64-bit range) unless the agent
 * restarted (sysUpTime went back), in which case the baseline is reset and no rate is given for
 * that poll: no spike either way. State is one entry per counter instance, dropped by `retain`.
 */
export class CounterRates {
  private readonly prev = new Map<string, Previous>();
  private lastUptime: bigint | undefined;

  /** Tells the tracker the agent's sysUpTime; a smaller value than last time forgets all baselines. */
  observeUptime(uptime: bigint): boolean {
    const restarted = this.lastUptime !== undefined && uptime < this.lastUptime;
    this.lastUptime = uptime;
    if (restarted) this.prev.clear();
    return restarted;
  }

  /** The rate in units per second, or undefined when there is no usable previous value. */
  rate(key: string, value: bigint, bits: 32 | 64, timeMs: number): number | undefined {
    const p = this.prev.get(key);
    this.prev.set(key, { value, time: timeMs });
    if (!p) return undefined;
    const dt = (timeMs - p.time) / 1000;
    if (dt <= 0) return undefined;
    let delta = value - p.value;
    if (delta < 0n) {
      // A 64-bit counter does not wrap in practice: a decrease is a discontinuity, not a lap.
      if (bits === 64) return undefined;
      delta += WRAP[bits];
    }
    return Number(delta) / dt;
  }

  /** Forgets counters not seen in the last poll (interfaces removed), keeping state bounded. */
  retain(seen: ReadonlySet<string>): void {
    for (const key of this.prev.keys()) if (!seen.has(key)) this.prev.delete(key);
  }

  get size(): number {
    return this.prev.size;
  }
}
