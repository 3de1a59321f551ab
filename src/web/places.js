// Health by place: regions, then sites, then a site's elements, worst first. The summaries come
// from /v1/places (the browser never loads every element to count them); health events then move
// one element's count from one state to the other, and only the rows on screen are touched.

import { $, h, fmtInt, onFrame } from './dom.js';
import { api, qs } from './api.js';
import { view, go } from './view.js';

const STATES = ['down', 'degraded', 'unknown', 'up'];
const RANK = { down: 0, degraded: 1, unknown: 2, up: 3 };
const PAGE = 100;
export const NO_REGION = '(no region)';

export const places = {
  /** region -> { region, sites, elements, counts, hitNow, worst } for the kind filtered on */
  regions: new Map(),
  /** site -> { site, region, lat, lon, elements, counts, hitNow, worst } for the kind filtered on */
  sites: new Map(),
  /** Every element, whatever the filter: the header's figures. */
  totals: { up: 0, degraded: 0, down: 0, unknown: 0 },
  /** The site open, with its elements by id. */
  open: null,
  shown: PAGE,
  changed: [],
};

const worstOf = (c) => (c.down > 0 ? 'down' : c.degraded > 0 ? 'degraded' : c.up > 0 ? 'up' : 'unknown');
const byWorst = (name) => (a, b) => RANK[a.worst] - RANK[b.worst] || b.hitNow - a.hitNow || b.counts.down - a.counts.down || b.counts.degraded - a.counts.degraded || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
const matches = (p) => !view.state || p.counts[view.state] > 0;

/** Tells the others (the map, the header) that places changed. */
export function onPlaces(l) {
  places.changed.push(l);
}
const changed = () => { for (const l of places.changed) l(); };

/** Every site's summary in the compact `map` form, 20,000 a page, as objects. */
async function allSites(filter) {
  const sites = [];
  for (let offset = 0; ;) {
    const page = await api(`/v1/places/sites${qs({ ...filter, form: 'map', limit: 20000, offset })}`);
    for (const [site, region, lat, lon, up, degraded, down, unknown, hitNow] of page.rows) {
      const counts = { up, degraded, down, unknown };
      sites.push({ site, region, lat, lon, counts, hitNow, elements: up + degraded + down + unknown, worst: worstOf(counts) });
    }
    offset += page.rows.length;
    if (offset >= page.total || page.rows.length === 0) return sites;
  }
}

/** Reads the regions and every site's summary (a page of 20,000 sites at a time), for the kind filtered on. */
export async function loadPlaces() {
  const kind = view.kind;
  const [regions, all] = await Promise.all([api(`/v1/places/regions${qs({ kind })}`), kind ? api('/v1/places/regions') : null]);
  const sites = await allSites({ kind });
  if (kind !== view.kind) return; // the filter changed meanwhile: that load draws
  places.regions = new Map(regions.items.map((r) => [r.region, r]));
  places.sites = new Map(sites.map((s) => [s.site, s]));
  places.totals = { up: 0, degraded: 0, down: 0, unknown: 0 };
  for (const r of (all ?? regions).items) for (const st of STATES) places.totals[st] += r.counts[st];
  await loadOpenSite();
  renderPlaces(true);
  changed();
}

/** Subscribers hit now moved (an outage event): the regions and the sites on screen read again. */
export async function refreshHitNow() {
  const kind = view.kind;
  const regions = await api(`/v1/places/regions${qs({ kind })}`);
  for (const r of regions.items) places.regions.set(r.region, r);
  const region = view.region;
  for (const s of await allSites({ kind, region: region && places.regions.has(region) ? region : undefined })) places.sites.set(s.site, s);
  renderPlaces();
  changed();
}

async function loadOpenSite() {
  if (!view.site) {
    places.open = null;
    return;
  }
  if (places.open?.site === view.site) return;
  const s = await api(`/v1/places/sites/${encodeURIComponent(view.site)}`).catch(() => null);
  places.open = s && { ...s, elements: new Map(s.elements.map((e) => [e.id, e])) };
}

/** A health event: the element's place moves one count from its old state to its new one. */
export function applyHealth(ev) {
  const site = ev.site ?? ev.element;
  const region = ev.region ?? NO_REGION;
  if (places.totals[ev.from] !== undefined) {
    places.totals[ev.from]--;
    places.totals[ev.to]++;
  }
  if (!view.kind || view.kind === ev.kind) {
    for (const p of [places.sites.get(site), places.regions.get(region)]) {
      if (!p || p.counts[ev.from] === undefined || p.counts[ev.from] === 0) continue;
      p.counts[ev.from]--;
      p.counts[ev.to]++;
      p.worst = worstOf(p.counts);
    }
  }
  const e = places.open?.elements.get(ev.element);
  if (e) e.state = ev.to;
  onFrame('places', () => { renderPlaces(); changed(); });
}

// ---- rendering ---------------------------------------------------------------------------------
const rows = new Map();

/** A bar of a place's counts by state. */
function bar(counts) {
  const total = STATES.reduce((n, st) => n + counts[st], 0) || 1;
  return h('div', { class: 'bar' }, STATES.filter((st) => counts[st] > 0).map((st) => h('i', { class: st, style: `width:${(100 * counts[st]) / total}%` })));
}

/** The row of a region or site: made once, then only its figures change. */
function placeRow(key, p, name, onclick) {
  let row = rows.get(key);
  const sig = `${p.worst}|${p.counts.up}|${p.counts.degraded}|${p.counts.down}|${p.counts.unknown}|${p.hitNow}|${p.sites ?? ''}`;
  if (row && row.dataset.sig === sig) return row;
  const fresh = h('tr', { class: `place ${p.worst}`, dataset: { place: key, sig }, onclick },
    h('td', {}, h('i', { class: `dot ${p.worst}` }), name),
    h('td', { class: 'num' }, p.sites !== undefined ? `${fmtInt(p.sites)} sites` : `${fmtInt(p.elements)} el.`),
    h('td', { class: 'barcell' }, bar(p.counts)),
    h('td', { class: 'num down' }, p.counts.down ? `${fmtInt(p.counts.down)} down` : ''),
    h('td', { class: 'num' }, p.hitNow ? `${fmtInt(p.hitNow)} subs hit` : ''),
  );
  if (row) row.replaceWith(fresh);
  rows.set(key, fresh);
  return fresh;
}

function crumbs() {
  const parts = [h('a', { href: '?', onclick: (e) => { e.preventDefault(); go({ region: undefined, site: undefined, element: undefined }); } }, 'All regions')];
  if (view.region) parts.push(' › ', h('a', { href: `?region=${encodeURIComponent(view.region)}`, onclick: (e) => { e.preventDefault(); go({ site: undefined, element: undefined }); } }, view.region));
  if (view.site) parts.push(' › ', h('a', { href: '#', onclick: (e) => { e.preventDefault(); go({ element: undefined }); } }, view.site));
  if (view.element) parts.push(' › ', h('b', {}, view.element));
  return parts;
}

/** Draws the level the view is at; `all` rebuilds it (a new level or filter), otherwise rows are reused. */
export function renderPlaces(all = false) {
  if (all) rows.clear();
  $('#crumbs').replaceChildren(...crumbs());
  const body = $('#places tbody');
  const note = $('#places-note');
  if (view.site) {
    const s = places.open;
    if (!s) {
      body.replaceChildren(h('tr', {}, h('td', { class: 'empty' }, `no site ${view.site}`)));
      return;
    }
    const els = [...s.elements.values()].filter((e) => (!view.kind || e.kind === view.kind) && (!view.state || e.state === view.state))
      .sort((a, b) => RANK[a.state] - RANK[b.state] || (a.id < b.id ? -1 : 1));
    body.replaceChildren(...els.map((e) => h('tr', { class: `element ${e.kind} ${e.state}${view.element === e.id ? ' sel' : ''}`, dataset: { element: e.id }, onclick: () => go({ element: e.id }) },
      h('td', {}, h('i', { class: `dot ${e.state}` }), e.id), h('td', {}, e.kind), h('td', { class: 'num' }, e.state), h('td'), h('td'))));
    note.textContent = `${s.region} · ${fmtInt(s.elements.size)} elements${s.lat !== null ? ` · ${s.lat.toFixed(3)}, ${s.lon.toFixed(3)}` : ''}`;
    return;
  }
  if (view.region) {
    const list = [...places.sites.values()].filter((s) => s.region === view.region && matches(s)).sort(byWorst((s) => s.site));
    const more = list.length > places.shown ? [h('tr', {}, h('td', { colspan: 5 }, h('button', { type: 'button', onclick: () => { places.shown += PAGE; renderPlaces(); } }, `show ${Math.min(PAGE, list.length - places.shown)} more of ${fmtInt(list.length - places.shown)}`)))] : [];
    body.replaceChildren(...list.slice(0, places.shown).map((s) => placeRow(`site:${s.site}`, s, s.site, () => go({ site: s.site }))), ...more);
    note.textContent = `${fmtInt(list.length)} sites, worst first`;
    return;
  }
  const list = [...places.regions.values()].filter(matches).sort(byWorst((r) => r.region));
  body.replaceChildren(...(list.length ? list.map((r) => placeRow(`region:${r.region}`, r, r.region, () => go({ region: r.region }))) : [h('tr', {}, h('td', { class: 'empty' }, 'nothing matches'))]));
  note.textContent = `${fmtInt(list.length)} regions, ${fmtInt(places.sites.size)} sites, worst first`;
}

/** The view moved: a new level (and, for a site, its elements read). */
export async function viewChanged(prev) {
  if (prev.region !== view.region) places.shown = PAGE;
  await loadOpenSite();
  renderPlaces(true);
}

/** The worst regions, for the wall screen. */
export const worstRegions = (n) => [...places.regions.values()].sort(byWorst((r) => r.region)).slice(0, n);
export const sitesOf = (region) => [...places.sites.values()].filter((s) => s.region === region).sort(byWorst((s) => s.site));
