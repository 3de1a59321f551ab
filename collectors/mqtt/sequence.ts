/** At most this many publishers' counters are followed (the oldest heard of is forgotten first). */
const MAX_PUBLISHERS = 100_000;

/**
 * Publishers' own message counters, per subscription: a counter that jumps says the messages
 * between never arrived (a broker queue that overflowed, a bridge that dropped them). A counter that
 * goes back is a publisher that restarted, or a redelivery: nothing is missing.
 */
export class SequenceWatch {
  private readonly last = new Map<string, number>();

  /** The gap this message reveals (missing messages, from and to), or undefined. */
  follow(subscription: number, s: { publisher: string; seq: number }): { key: string; from: number; to: number; missing: number } | undefined {
    const key = `${subscription}\u0000${s.publisher}`;
    const last = this.last.get(key);
    if (last !== undefined && s.seq <= last && last - s.seq < 1000) return undefined; // a redelivery or a late one
    const gap = last !== undefined && s.seq > last + 1 ? { key, from: last + 1, to: s.seq - 1, missing: s.seq - last - 1 } : undefined;
    this.last.delete(key);
    this.last.set(key, s.seq);
    if (this.last.size > MAX_PUBLISHERS) this.last.delete(this.last.keys().next().value!);
    return gap;
  }
}
