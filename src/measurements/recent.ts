import type { Batch, FieldValue, Sample } from '../sample.ts';
import type { Consumer } from '../pipeline.ts';

/** The measurements that say how an element serves (radio signal, reachability, latency, loss). */
const TRACKED = new Set(['lte_cell', 'reachability', 'ping']);

export interface RecentSeries {
  measurement: string;
  tags: Record<string, string>;
  /** The latest values of every field. */
  latest: Record<string, number | string | boolean>;
  time: number;
  /** The last points of the numeric fields, oldest first: [time, value]. */
  history: Record<string, [number, number][]>;
}

const plain = (v: FieldValue): number | string | boolean => (typeof v === 'bigint' ? Number(v) : v);

/**
 * What the API shows as an element's recent measurements, without a round trip to InfluxDB
 * (which may be down, or not configured): per element and series, the latest sample and the last
 * `points` values of each numeric field of the service measurements. Bounded by the number of
 * series the collectors produce; a cell's radio samples are filed under the cell too.
 */
export class RecentMeasurements implements Consumer {
  readonly name = 'recent-measurements';
  private readonly byElement = new Map<string, Map<string, RecentSeries>>();
  private readonly points: number;

  constructor(points = 60) {
    this.points = points;
  }

  write(batch: Batch): void {
    for (const s of batch) {
      if (!TRACKED.has(s.measurement)) continue;
      this.file(s.element, s);
      const cell = s.tags.cell_name;
      if (cell && cell !== s.element) this.file(cell, s);
    }
  }

  of(element: string): RecentSeries[] {
    return [...(this.byElement.get(element)?.values() ?? [])];
  }

  private file(element: string, s: Sample): void {
    let series = this.byElement.get(element);
    if (!series) this.byElement.set(element, (series = new Map()));
    let key = s.measurement;
    for (const k of Object.keys(s.tags).sort()) key += `,${k}=${s.tags[k]}`;
    let r = series.get(key);
    if (!r) series.set(key, (r = { measurement: s.measurement, tags: { ...s.tags }, latest: {}, time: s.time, history: {} }));
    if (s.time < r.time) return; // a late sample does not overwrite a newer one
    r.time = s.time;
    for (const [f, v] of Object.entries(s.fields)) {
      const p = plain(v);
      r.latest[f] = p;
      if (typeof p !== 'number') continue;
      const h = (r.history[f] ??= []);
      h.push([s.time, p]);
      if (h.length > this.points) h.shift();
    }
  }
}
