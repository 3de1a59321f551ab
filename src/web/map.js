// The map: the operator's outline (GeoJSON from /v1/places/outline, shipped with the daemon: no
// tiles, no CDN) and every site at its latitude and longitude, coloured by its worst state, drawn on
// a canvas (tens of thousands of points). Each active outage's footprint, the sites it has out,
// is drawn as one shape with its root and subscribers. Wheel or buttons zoom, drag pans, a click
// selects the site (the list follows, and the map follows the list).

import { $, h, fmtInt, onFrame } from './dom.js';
import { api } from './api.js';
import { places } from './places.js';
import { view, go } from './view.js';

const COLOURS = { up: '#2fa86b', degraded: '#e0a526', down: '#e0484e', unknown: '#5b6876' };
const map = { outline: null, path: null, box: null, cam: null, outages: [], canvas: null, drag: null, fitted: '' };

/** Longitude and latitude to the map's plane (equirectangular, scaled by the cosine of the middle latitude). */
let lat0 = 42;
const px = (lon) => lon * Math.cos((lat0 * Math.PI) / 180);
const py = (lat) => -lat;

export async function loadOutline() {
  map.outline = await api('/v1/places/outline').catch(() => null);
  map.path = null;
  drawMap();
}

export function setOutages(outages) {
  map.outages = outages;
  drawMap();
}

function rings(geo) {
  if (!geo) return [];
  if (geo.type === 'FeatureCollection') return geo.features.flatMap(rings);
  if (geo.type === 'Feature') return rings(geo.geometry);
  if (geo.type === 'Polygon') return geo.coordinates;
  if (geo.type === 'MultiPolygon') return geo.coordinates.flat();
  return [];
}

/** The bounds of points [x, y] in the plane, padded. */
function bounds(points, pad = 0.05) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (!Number.isFinite(x0)) return null;
  // At least a degree or so around a lone site or a tight cluster.
  const dx = Math.max((x1 - x0) * pad, (1.5 - (x1 - x0)) / 2, 0), dy = Math.max((y1 - y0) * pad, (1.5 - (y1 - y0)) / 2, 0);
  return { x0: x0 - dx, y0: y0 - dy, x1: x1 + dx, y1: y1 + dy };
}

function fit(b) {
  const c = map.canvas;
  if (!b || !c) return;
  const k = Math.min(c.clientWidth / (b.x1 - b.x0), c.clientHeight / (b.y1 - b.y0));
  map.cam = { k, x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 };
}

const located = () => [...places.sites.values()].filter((s) => s.lat !== null && s.lon !== null);

/** Fits the map to what the view is about: the site, the region, or everything. */
function fitView() {
  const key = `${view.region ?? ''}|${view.site ?? ''}|${map.outline ? 1 : 0}|${places.sites.size > 0 ? 1 : 0}`;
  if (key === map.fitted) return;
  map.fitted = key;
  const all = located();
  if (all.length > 0) lat0 = all.reduce((n, s) => n + s.lat, 0) / all.length;
  const site = view.site && places.sites.get(view.site);
  if (site && site.lat !== null) {
    const k = Math.max(map.cam?.k ?? 0, (map.canvas.clientWidth / 1.2));
    map.cam = { k, x: px(site.lon), y: py(site.lat) };
    return;
  }
  const pts = (view.region ? all.filter((s) => s.region === view.region) : all).map((s) => [px(s.lon), py(s.lat)]);
  const outline = !view.region && map.outline ? rings(map.outline).flat().map(([lon, lat]) => [px(lon), py(lat)]) : [];
  fit(bounds([...pts, ...outline]));
}

export function drawMap() {
  onFrame('map', paint);
}

/** The convex hull of points (monotone chain). */
function hull(pts) {
  const p = [...pts].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const q of p) { while (lower.length >= 2 && cross(lower.at(-2), lower.at(-1), q) <= 0) lower.pop(); lower.push(q); }
  for (const q of p.reverse()) { while (upper.length >= 2 && cross(upper.at(-2), upper.at(-1), q) <= 0) upper.pop(); upper.push(q); }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

function paint() {
  const c = map.canvas;
  if (!c || c.clientWidth === 0) return;
  const dpr = devicePixelRatio || 1;
  if (c.width !== c.clientWidth * dpr || c.height !== c.clientHeight * dpr) {
    c.width = c.clientWidth * dpr;
    c.height = c.clientHeight * dpr;
  }
  fitView();
  if (!map.cam) return;
  const { k, x, y } = map.cam;
  const W = c.clientWidth, H = c.clientHeight;
  const sx = (X) => (X - x) * k + W / 2;
  const sy = (Y) => (Y - y) * k + H / 2;
  const g = c.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#0c1116';
  g.fillRect(0, 0, W, H);
  // The outline, in the plane's units: drawn through the camera's transform.
  if (map.outline) {
    if (!map.path) {
      map.path = new Path2D();
      for (const ring of rings(map.outline)) {
        ring.forEach(([lon, lat], i) => (i === 0 ? map.path.moveTo(px(lon), py(lat)) : map.path.lineTo(px(lon), py(lat))));
        map.path.closePath();
      }
    }
    g.setTransform(dpr * k, 0, 0, dpr * k, dpr * (W / 2 - x * k), dpr * (H / 2 - y * k));
    g.fillStyle = '#18222d';
    g.fill(map.path, 'evenodd');
    g.lineWidth = 1 / k;
    g.strokeStyle = '#3b4c5e';
    g.stroke(map.path);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  // Sites, the worst on top; those the filter leaves out faint.
  const size = k > 400 ? 5 : k > 120 ? 3.5 : 2.5;
  for (const state of ['unknown', 'up', 'degraded', 'down']) {
    const on = new Path2D(), off = new Path2D();
    for (const s of places.sites.values()) {
      if (s.worst !== state || s.lat === null) continue;
      const X = sx(px(s.lon)), Y = sy(py(s.lat));
      if (X < -5 || Y < -5 || X > W + 5 || Y > H + 5) continue;
      const dim = (view.region && s.region !== view.region) || (view.state && !(s.counts[view.state] > 0));
      (dim ? off : on).rect(X - size / 2, Y - size / 2, size, size);
    }
    g.fillStyle = COLOURS[state];
    g.globalAlpha = 0.22;
    g.fill(off);
    g.globalAlpha = 1;
    g.fill(on);
  }
  // Each active outage's footprint: the sites it has out, as one shape, labelled with its root.
  g.font = '12px system-ui, sans-serif';
  for (const o of map.outages) {
    const sites = new Set([o.rootCause.site ?? o.rootCause.id, ...o.impactedElements.map((e) => e.site ?? e.id)]);
    const pts = [...sites].map((id) => places.sites.get(id)).filter((s) => s && s.lat !== null).map((s) => [sx(px(s.lon)), sy(py(s.lat))]);
    if (pts.length === 0) continue;
    const ring = hull(pts.flatMap(([X, Y]) => [[X - 6, Y - 6], [X + 6, Y - 6], [X + 6, Y + 6], [X - 6, Y + 6]]));
    g.beginPath();
    ring.forEach(([X, Y], i) => (i === 0 ? g.moveTo(X, Y) : g.lineTo(X, Y)));
    g.closePath();
    const planned = o.planned, cleared = o.state === 'cleared';
    g.fillStyle = cleared ? 'rgba(47,168,107,0.15)' : planned ? 'rgba(74,163,255,0.15)' : 'rgba(224,72,78,0.22)';
    g.strokeStyle = cleared ? '#2fa86b' : planned ? '#4aa3ff' : '#ff6b70';
    g.lineWidth = 1.5;
    g.setLineDash([5, 3]);
    g.fill();
    g.stroke();
    g.setLineDash([]);
    const top = ring.reduce((a, b) => (b[1] < a[1] ? b : a));
    const label = `${o.rootCause.id} · ${sites.size} sites · ${fmtInt(o.affectedSubscribers?.current)} subs`;
    g.fillStyle = 'rgba(12,17,22,0.8)';
    g.fillRect(top[0] - 2, top[1] - 17, g.measureText(label).width + 4, 15);
    g.fillStyle = '#ffb3b6';
    g.fillText(label, top[0], top[1] - 6);
  }
  // The selected site.
  const sel = view.site && places.sites.get(view.site);
  if (sel && sel.lat !== null) {
    g.beginPath();
    g.arc(sx(px(sel.lon)), sy(py(sel.lat)), 9, 0, Math.PI * 2);
    g.strokeStyle = '#fff';
    g.lineWidth = 2;
    g.stroke();
  }
  c.dataset.drawn = String(Date.now());
}

/** The site drawn nearest to a point of the canvas, within 10 px. */
function pick(X, Y) {
  const { k, x, y } = map.cam;
  const W = map.canvas.clientWidth, H = map.canvas.clientHeight;
  let best = null, bestD = 100;
  for (const s of places.sites.values()) {
    if (s.lat === null) continue;
    const dx = (px(s.lon) - x) * k + W / 2 - X, dy = (py(s.lat) - y) * k + H / 2 - Y;
    const d = dx * dx + dy * dy;
    if (d < bestD || (d === bestD && best && RANKS[s.worst] < RANKS[best.worst])) { best = s; bestD = d; }
  }
  return best;
}
const RANKS = { down: 0, degraded: 1, unknown: 2, up: 3 };

function zoom(f, X, Y) {
  const c = map.canvas;
  const { k, x, y } = map.cam;
  // The point under the cursor stays where it is.
  const wx = x + (X - c.clientWidth / 2) / k, wy = y + (Y - c.clientHeight / 2) / k;
  const k2 = Math.min(Math.max(k * f, 5), 50_000);
  map.cam = { k: k2, x: wx - (X - c.clientWidth / 2) / k2, y: wy - (Y - c.clientHeight / 2) / k2 };
  drawMap();
}

export function mountMap() {
  const c = $('#map');
  map.canvas = c;
  c.addEventListener('wheel', (e) => {
    e.preventDefault();
    if (map.cam) zoom(e.deltaY < 0 ? 1.25 : 0.8, e.offsetX, e.offsetY);
  }, { passive: false });
  c.addEventListener('pointerdown', (e) => {
    map.drag = { x: e.offsetX, y: e.offsetY, cam: map.cam && { ...map.cam }, moved: false };
    c.setPointerCapture(e.pointerId);
  });
  c.addEventListener('pointermove', (e) => {
    const d = map.drag;
    if (!d || !d.cam) return;
    const dx = e.offsetX - d.x, dy = e.offsetY - d.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) d.moved = true;
    if (d.moved) {
      map.cam = { ...d.cam, x: d.cam.x - dx / d.cam.k, y: d.cam.y - dy / d.cam.k };
      drawMap();
    }
  });
  c.addEventListener('pointerup', (e) => {
    const d = map.drag;
    map.drag = null;
    if (!d || d.moved || !map.cam) return;
    const s = pick(e.offsetX, e.offsetY);
    if (s) go({ region: s.region, site: s.site, element: undefined });
  });
  const button = (label, title, fn) => h('button', { type: 'button', title, onclick: fn }, label);
  $('#map-controls').replaceChildren(
    button('+', 'zoom in', () => map.cam && zoom(1.5, c.clientWidth / 2, c.clientHeight / 2)),
    button('−', 'zoom out', () => map.cam && zoom(1 / 1.5, c.clientWidth / 2, c.clientHeight / 2)),
    button('⟲', 'fit', () => { map.fitted = ''; drawMap(); }),
  );
  new ResizeObserver(() => drawMap()).observe(c);
}

/** Where a site is drawn on the canvas (CSS pixels from its top left), or null when it has no place or is off the map. */
export function screenOf(id) {
  const s = places.sites.get(id);
  if (!s || s.lat === null || !map.cam) return null;
  const { k, x, y } = map.cam;
  const X = (px(s.lon) - x) * k + map.canvas.clientWidth / 2, Y = (py(s.lat) - y) * k + map.canvas.clientHeight / 2;
  return X < 0 || Y < 0 || X > map.canvas.clientWidth || Y > map.canvas.clientHeight ? null : { x: X, y: Y };
}

/** The view changed: the map fits it again when the region or site did. */
export function mapViewChanged() {
  drawMap();
}
