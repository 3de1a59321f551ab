import type { Batch } from '../sample.ts';
import type { Element } from '../topology/topology.ts';


/**
 * The generated fleet (`sim.fleet`): thousands of sites with no SNMP agent each, which report
 * their reachability the way a probe would (measurement `reachability`, probe `icmp`), a slice of
 * them every second or so (a tenth at least), so no one batch is the whole fleet. `fail` puts an element and everything behind it out of reach
 * (a hub losing power), `restore` brings them back; either is reported at once and again a second
 * later, so health sees the two checks its hysteresis asks for without waiting a whole interval.
 */
export class SimFleet {
  private readonly intervalMs: number;
  private elements: Element[] = [];
  private readonly children = new Map<string, string[]>();
  private readonly dark = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly later = new Set<NodeJS.Timeout>();
  private emit: ((b: Batch) => unknown) | undefined;
  private slice = 0;
  private readonly slices: number;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
    this.slices = Math.max(10, Math.round(intervalMs / 1000));
  }

  /** The fleet's elements (from the simulated topology). */
  adopt(elements: Element[]): void {
    this.elements = elements;
    this.children.clear();
    for (const e of elements) for (const p of e.parents) this.children.set(p, [...(this.children.get(p) ?? []), e.id]);
  }

  get size(): number {
    return this.elements.length;
  }

  start(emit: (b: Batch) => unknown): void {
    if (this.timer || this.elements.length === 0) return;
    this.emit = emit;
    this.timer = setInterval(() => this.tick(), Math.max(50, this.intervalMs / this.slices));
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.later) clearTimeout(t);
    this.later.clear();
  }

  /** The element and everything behind it stop answering; returns their ids. */
  fail(id: string): string[] {
    const hit = [id, ...this.below(id)];
    for (const x of hit) this.dark.add(x);
    this.burst(hit);
    return hit;
  }

  /** They answer again. */
  restore(id: string): string[] {
    const back = [id, ...this.below(id)];
    for (const x of back) this.dark.delete(x);
    this.burst(back);
    return back;
  }

  private below(id: string): string[] {
    return (this.children.get(id) ?? []).flatMap((c) => [c, ...this.below(c)]);
  }

  private burst(ids: string[]): void {
    this.report(ids);
    const t = setTimeout(() => { this.later.delete(t); this.report(ids); }, 1000);
    t.unref();
    this.later.add(t);
  }

  private tick(): void {
    const n = this.elements.length;
    const from = Math.floor((this.slice * n) / this.slices);
    const to = Math.floor(((this.slice + 1) * n) / this.slices);
    this.slice = (this.slice + 1) % this.slices;
    this.report(this.elements.slice(from, to).map((e) => e.id));
  }

  private report(ids: string[]): void {
    if (!this.emit || ids.length === 0) return;
    const time = Date.now();
    this.emit(ids.map((element): Batch[number] => ({
      element, measurement: 'reachability', tags: { probe: 'icmp', sim: 'true' },
      fields: this.dark.has(element) ? { up: false, error: 'no answer' } as Record<string, boolean | string> : { up: true, loss_percent: 0 }, time,
    })));
  }
}
