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
  /** The charted fields' one-minute averages over the last hours, oldest first: [minute start, mean]. */
  trend: Record<string, [number, number][]>;
}

/** The fields the dashboard charts over hours (signal, latency, loss); the rest keep only their last points. */
const CHARTED = new Set(['rsrp_dbm', 'sinr_db', 'average_response_ms', 'percent_packet_loss', 'response_time_ms', 'loss_percent']);

const plain = (v: FieldValue): number | string | boolean => (typeof v === 'bigint' ? Number(v) : v);

/**
 * What the API shows as an element's recent measurements, without a round trip to InfluxDB
 * (which may be down, or not configured): per element and series, the latest sample and the last
 * `points` values of each numeric field of the service measurements. Bounded by the number of
 * series the collectors produce; a cell's radio samples are filed under the cell too.
 */
const MAX_SERIES = 64;
const MAX_FIELDS = 64;

export class RecentMeasurements implements Consumer {
  readonly name = 'recent-measurements';
  private readonly byElement = new Map<string, Map<string, RecentSeries>>();
  private readonly points: number;
  private readonly minutes: number;
  /** Per series and charted field, the minute being summed: [minute start, sum, count]. */
  private readonly open = new WeakMap<RecentSeries, Map<string, [number, number, number]>>();

  private readonly known: (element: string) => boolean;
  /** Series not kept because an element had `MAX_SERIES` already, or a series `MAX_FIELDS`. */
  dropped = 0;

  /**
   * `points` raw values per field; `hours` of one-minute means for the charted fields. `known`:
   * the elements kept (the topology's), so samples about anything else grow no state.
   */
  constructor(points = 60, hours = 6, known: (element: string) => boolean = () => true) {
    this.points = points;
    this.minutes = Math.round(hours * 60);
    this.known = known;
  }

  write(batch: Batch): void {
    for (const s of batch) {
      if (!TRACKED.has(s.measurement)) continue;
      if (this.known(s.element)) this.file(s.element, s);
      const cell = s.tags.cell_name;
      if (cell && cell !== s.element && this.known(cell)) this.file(cell, s);
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
    if (!r) {
      // Tags come from outside: an element keeps at most MAX_SERIES series, a series MAX_FIELDS fields.
      if (series.size >= MAX_SERIES) {
        this.dropped++;
        return;
      }
      series.set(key, (r = { measurement: s.measurement, tags: { ...s.tags }, latest: Object.create(null), time: s.time, history: Object.create(null), trend: Object.create(null) }));
    }
    if (s.time < r.time) return; // a late sample does not overwrite a newer one
    r.time = s.time;
    for (const [f, v] of Object.entries(s.fields)) {
      if (!(f in r.latest) && Object.keys(r.latest).length >= MAX_FIELDS) {
        this.dropped++;
        continue;
      }
      const p = plain(v);
      r.latest[f] = p;
      if (typeof p !== 'number') continue;
      const h = (r.history[f] ??= []);
      h.push([s.time, p]);
      if (h.length > this.points) h.shift();
      if (CHARTED.has(f)) this.average(r, f, s.time, p);
    }
  }

  /** Adds a value to its minute's mean; a finished minute goes into the trend. */
  private average(r: RecentSeries, field: string, time: number, v: number): void {
    let open = this.open.get(r);
    if (!open) this.open.set(r, (open = new Map()));
    const minute = time - (time % 60_000);
    const m = open.get(field);
    const trend = (r.trend[field] ??= []);
    if (m && m[0] === minute) {
      m[1] += v;
      m[2]++;
    } else {
      open.set(field, [minute, v, 1]);
    }
    // The current minute is shown as it stands, replaced until it ends.
    const cur = open.get(field)!;
    const mean = Math.round((cur[1] / cur[2]) * 100) / 100;
    if (trend.length > 0 && trend[trend.length - 1][0] === minute) trend[trend.length - 1][1] = mean;
    else trend.push([minute, mean]);
    while (trend.length > 0 && trend[0][0] <= minute - this.minutes * 60_000) trend.shift();
  }
}
