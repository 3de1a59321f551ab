import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from './inventory.ts';

/** The simulated operator's country: Italy's outline (Natural Earth 1:50m, from the world-atlas package), shipped as GeoJSON. */
export const SIM_OUTLINE = join(import.meta.dirname, '../../config/maps/italy.geojson');

type Ring = [number, number][];

/** The polygons (outer ring first, then holes) of a GeoJSON FeatureCollection, Feature or geometry. */
export function polygonsOf(geo: any): Ring[][] {
  if (!geo || typeof geo !== 'object') return [];
  if (geo.type === 'FeatureCollection') return (geo.features ?? []).flatMap(polygonsOf);
  if (geo.type === 'Feature') return polygonsOf(geo.geometry);
  if (geo.type === 'Polygon') return [geo.coordinates];
  if (geo.type === 'MultiPolygon') return geo.coordinates;
  return [];
}

/** Whether [lon, lat] lies inside (even-odd over every ring: holes are holes). */
export function inside(polygons: readonly Ring[][], lon: number, lat: number): boolean {
  let odd = false;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) odd = !odd;
      }
    }
  }
  return odd;
}

/**
 * Places the simulated network on the map, deterministically: each region a band of the country
 * (north to south, in the order the regions are named), each hub (switch) somewhere in its region's
 * band, and what hangs below a hub near it. Every point falls inside the outline.
 */
export class SimGeography {
  private readonly polygons: Ring[][];
  private readonly box: { minLon: number; maxLon: number; minLat: number; maxLat: number };
  private readonly bands: { top: number; bottom: number }[];
  private readonly r: () => number;

  constructor(regions: number, seed = 7, outline: string = SIM_OUTLINE) {
    this.polygons = polygonsOf(JSON.parse(readFileSync(outline, 'utf8')));
    const pts = this.polygons.flat(2);
    this.box = {
      minLon: Math.min(...pts.map((p) => p[0])), maxLon: Math.max(...pts.map((p) => p[0])),
      minLat: Math.min(...pts.map((p) => p[1])), maxLat: Math.max(...pts.map((p) => p[1])),
    };
    this.r = prng(seed);
    // Bands of equal land: latitudes of land points sampled on a grid, cut into equal shares.
    const lats: number[] = [];
    const { minLon, maxLon, minLat, maxLat } = this.box;
    for (let y = maxLat; y >= minLat; y -= (maxLat - minLat) / 120) {
      for (let x = minLon; x <= maxLon; x += (maxLon - minLon) / 120) if (inside(this.polygons, x, y)) lats.push(y);
    }
    const n = Math.max(1, regions);
    this.bands = [...Array(n).keys()].map((i) => ({ top: i === 0 ? maxLat : lats[Math.floor((i * lats.length) / n)], bottom: i === n - 1 ? minLat : lats[Math.floor(((i + 1) * lats.length) / n)] }));
  }

  /** A point of the country inside region `i`'s band. */
  hub(region: number): { lat: number; lon: number } {
    const b = this.bands[region % this.bands.length];
    for (let tries = 0; tries < 10_000; tries++) {
      const lon = this.box.minLon + this.r() * (this.box.maxLon - this.box.minLon);
      const lat = b.bottom + this.r() * (b.top - b.bottom);
      if (inside(this.polygons, lon, lat)) return round({ lat, lon });
    }
    return round({ lat: (b.top + b.bottom) / 2, lon: (this.box.minLon + this.box.maxLon) / 2 });
  }

  /** A point of the country within about `km` of `near` (the hub itself when none is found). */
  near(near: { lat: number; lon: number }, km = 40): { lat: number; lon: number } {
    const d = km / 111;
    for (let tries = 0; tries < 200; tries++) {
      const lat = near.lat + (this.r() * 2 - 1) * d;
      const lon = near.lon + ((this.r() * 2 - 1) * d) / Math.cos((near.lat * Math.PI) / 180);
      if (inside(this.polygons, lon, lat)) return round({ lat, lon });
    }
    return near;
  }
}

const round = (p: { lat: number; lon: number }) => ({ lat: Math.round(p.lat * 10_000) / 10_000, lon: Math.round(p.lon * 10_000) / 10_000 });
