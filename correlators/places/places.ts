import { ELEMENT_KINDS, type Element, type ElementKind, type Topology } from '../../src/topology/topology.ts';
import type { HealthState } from '../health/tracker.ts';

export const STATES = ['up', 'degraded', 'down', 'unknown'] as const satisfies readonly HealthState[];
const KIND_INDEX = new Map<string, number>(ELEMENT_KINDS.map((k, i) => [k, i]));
const STATE_INDEX = new Map<string, number>(STATES.map((s, i) => [s, i]));
const NK = ELEMENT_KINDS.length;
const NS = STATES.length;

/** Which elements a summary counts: of one kind, one region; `state` keeps only places with an element in that state. */
export interface PlaceFilter {
  kind?: ElementKind;
  state?: HealthState;
  region?: string;
}

export type Counts = Record<HealthState, number>;

export interface PlaceSummary {
  elements: number;
  counts: Counts;
  /** Distinct subscribers an active outage hits now, served from here. */
  hitNow: number;
  /** The worst state among its elements (unknown only when nothing is known). */
  worst: HealthState;
}

export interface RegionSummary extends PlaceSummary { region: string; sites: number }
export interface SiteSummary extends PlaceSummary { site: string; region: string; lat: number | null; lon: number | null }

interface Site {
  id: string;
  region: string;
  lat: number | null;
  lon: number | null;
  elements: string[];
  /** Elements by kind and state: counts[kind * NS + state]. */
  counts: Int32Array;
}

/** The region of elements that name none, and the site of those that name none (each such element is its own place). */
export const NO_REGION = '(no region)';

/**
 * Element health summarised by place (region, then site), kept up to date one health transition at
 * a time, so a summary of 50,000 elements costs a walk over the sites, never over the elements.
 * Pure: built from a topology and the health known at that time; transitions and the subscribers
 * hit now come in; summaries go out. Rebuilt (`new`) when the topology changes.
 */
export class PlaceIndex {
  readonly topology: Topology;
  private readonly sites = new Map<string, Site>();
  private readonly siteOf = new Map<string, Site>();
  private readonly state = new Map<string, HealthState>();
  private readonly regions = new Map<string, Site[]>();
  /** Ids in lower case, for search: [lower-case id, element]. */
  private readonly lowered: [string, Element][] = [];
  private hitBySite: ReadonlyMap<string, number> = new Map();
  /** Moves on with every change a summary could show: what a cache of summaries is keyed by. */
  version = 0;
  private hitByRegion: ReadonlyMap<string, number> = new Map();

  constructor(topology: Topology, health: (element: string) => HealthState | undefined) {
    this.topology = topology;
    for (const e of topology.elements.values()) {
      const id = siteId(e);
      let s = this.sites.get(id);
      if (!s) {
        s = { id, region: e.region ?? NO_REGION, lat: null, lon: null, elements: [], counts: new Int32Array(NK * NS) };
        this.sites.set(id, s);
        const list = this.regions.get(s.region);
        if (list) list.push(s);
        else this.regions.set(s.region, [s]);
      }
      if (s.lat === null && e.lat !== undefined && e.lon !== undefined) {
        s.lat = e.lat;
        s.lon = e.lon;
      }
      s.elements.push(e.id);
      this.siteOf.set(e.id, s);
      this.lowered.push([e.id.toLowerCase(), e]);
      const st = health(e.id) ?? 'unknown';
      this.state.set(e.id, st);
      s.counts[KIND_INDEX.get(e.kind)! * NS + STATE_INDEX.get(st)!]++;
    }
  }

  /** An element changed state: its site's counts follow. Elements outside the topology are ignored. */
  apply(element: string, to: HealthState): void {
    const s = this.siteOf.get(element);
    const from = this.state.get(element);
    if (!s || from === undefined || from === to) return;
    const k = KIND_INDEX.get(this.topology.elements.get(element)!.kind)! * NS;
    s.counts[k + STATE_INDEX.get(from)!]--;
    s.counts[k + STATE_INDEX.get(to)!]++;
    this.state.set(element, to);
    this.version++;
  }

  /** The distinct subscribers hit now, by site and by region (worked out from the open impacts). */
  setHitNow(bySite: ReadonlyMap<string, number>, byRegion: ReadonlyMap<string, number>): void {
    this.hitBySite = bySite;
    this.hitByRegion = byRegion;
    this.version++;
  }

  hitNow(): [ReadonlyMap<string, number>, ReadonlyMap<string, number>] {
    return [this.hitBySite, this.hitByRegion];
  }

  stateOf(element: string): HealthState | undefined {
    return this.state.get(element);
  }

  hasRegion(region: string): boolean {
    return this.regions.has(region);
  }

  site(id: string): { summary: SiteSummary; members: readonly string[] } | undefined {
    const s = this.sites.get(id);
    return s && { summary: this.summariseSite(s, {})!, members: s.elements };
  }

  /** The site an element belongs to (its own id when it names none). */
  siteIdOf(element: string): string | undefined {
    return this.siteOf.get(element)?.id;
  }

  private regionCache = { version: -1, byFilter: new Map<string, RegionSummary[]>() };

  /** Every region with what the filter counts, worst first (worked out once per change). */
  regionSummaries(f: PlaceFilter = {}): RegionSummary[] {
    if (this.regionCache.version !== this.version) this.regionCache = { version: this.version, byFilter: new Map() };
    const key = `${f.kind ?? ''}|${f.state ?? ''}|${f.region ?? ''}`;
    let out = this.regionCache.byFilter.get(key);
    if (!out) this.regionCache.byFilter.set(key, (out = this.summariseRegions(f)));
    return out;
  }

  private summariseRegions(f: PlaceFilter): RegionSummary[] {
    const out: RegionSummary[] = [];
    for (const [region, sites] of this.regions) {
      if (f.region && region !== f.region) continue;
      const counts = new Int32Array(NS);
      let n = 0;
      for (const s of sites) if (add(counts, s.counts, f.kind)) n++;
      const sum = summary(counts, this.hitByRegion.get(region) ?? 0);
      if (sum.elements === 0 || (f.state && sum.counts[f.state] === 0)) continue;
      out.push({ region, sites: n, ...sum });
    }
    return out.sort(worstFirst((r) => r.region));
  }

  /** The sites (of a region, or all) with what the filter counts, worst first (or in topology order: `sorted` false). */
  siteSummaries(f: PlaceFilter = {}, sorted = true): SiteSummary[] {
    const out: SiteSummary[] = [];
    const pool = f.region ? (this.regions.get(f.region) ?? []) : this.sites.values();
    for (const s of pool) {
      const sum = this.summariseSite(s, f);
      if (sum) out.push(sum);
    }
    return sorted ? out.sort(worstFirst((r) => r.site)) : out;
  }

  /**
   * Elements and sites whose id contains `q` (case-insensitive), the exact matches first; at most
   * `limit` of each.
   */
  search(q: string, limit: number): { elements: Element[]; sites: SiteSummary[] } {
    const needle = q.toLowerCase();
    const elements: Element[] = [];
    for (const [id, e] of this.lowered) {
      if (id.includes(needle)) {
        if (id === needle) elements.unshift(e);
        else elements.push(e);
        if (elements.length > limit) break;
      }
    }
    const sites: SiteSummary[] = [];
    for (const s of this.sites.values()) {
      if (!s.id.toLowerCase().includes(needle)) continue;
      const sum = this.summariseSite(s, {})!;
      if (s.id.toLowerCase() === needle) sites.unshift(sum);
      else sites.push(sum);
      if (sites.length > limit) break;
    }
    return { elements: elements.slice(0, limit), sites: sites.slice(0, limit) };
  }

  private summariseSite(s: Site, f: PlaceFilter): SiteSummary | undefined {
    const counts = new Int32Array(NS);
    add(counts, s.counts, f.kind);
    const sum = summary(counts, this.hitBySite.get(s.id) ?? 0);
    if (sum.elements === 0 || (f.state && sum.counts[f.state] === 0)) return undefined;
    return { site: s.id, region: s.region, lat: s.lat, lon: s.lon, ...sum };
  }
}

/** An element's site: its own, or the element itself when it names none. */
export const siteId = (e: Element): string => e.site ?? e.id;

/** Adds a site's counts (of one kind, or all) into `into` by state; whether it had any. */
function add(into: Int32Array, counts: Int32Array, kind: ElementKind | undefined): boolean {
  let any = false;
  const kinds = kind ? [KIND_INDEX.get(kind)!] : [...Array(NK).keys()];
  for (const k of kinds) {
    for (let s = 0; s < NS; s++) {
      const n = counts[k * NS + s];
      if (n > 0) {
        into[s] += n;
        any = true;
      }
    }
  }
  return any;
}

function summary(c: Int32Array, hitNow: number): PlaceSummary {
  const counts: Counts = { up: c[0], degraded: c[1], down: c[2], unknown: c[3] };
  const worst: HealthState = counts.down > 0 ? 'down' : counts.degraded > 0 ? 'degraded' : counts.up > 0 ? 'up' : 'unknown';
  return { elements: c[0] + c[1] + c[2] + c[3], counts, hitNow, worst };
}

const RANK: Record<HealthState, number> = { down: 0, degraded: 1, unknown: 2, up: 3 };

/** Worst first: the worst state, then subscribers hit now, then elements down and degraded; then by name. */
function worstFirst<T extends PlaceSummary>(name: (t: T) => string) {
  return (a: T, b: T) => RANK[a.worst] - RANK[b.worst] || b.hitNow - a.hitNow || b.counts.down - a.counts.down
    || b.counts.degraded - a.counts.degraded || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}
