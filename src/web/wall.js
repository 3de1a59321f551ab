// The wall screen (`?wall=1`): large type, no controls, cycling through the worst regions, each
// with its figures and its worst sites, the map following.

import { $, h, fmtInt } from './dom.js';
import { places, worstRegions, sitesOf } from './places.js';
import { go, view } from './view.js';

const EVERY_MS = 10_000;
let turn = 0;
let timer;

export function startWall() {
  document.body.classList.add('wall');
  $('#wall').hidden = false;
  const step = () => {
    const regions = worstRegions(5);
    if (regions.length === 0) return;
    const r = regions[turn++ % regions.length];
    go({ region: r.region, site: undefined, element: undefined }, { replace: true });
    renderWall();
  };
  step();
  timer = setInterval(step, EVERY_MS);
}

export function stopWall() {
  clearInterval(timer);
  document.body.classList.remove('wall');
  $('#wall').hidden = true;
}

/** The region on the wall now, with its figures kept current by the health events. */
export function renderWall() {
  if (!view.wall || !view.region) return;
  const r = places.regions.get(view.region);
  if (!r) return;
  const worst = sitesOf(r.region).filter((s) => s.worst !== 'up').slice(0, 6);
  $('#wall').replaceChildren(
    h('div', { class: `wall-region ${r.worst}` }, r.region),
    h('div', { class: 'wall-figures' },
      h('div', { class: 'down' }, h('b', {}, fmtInt(r.counts.down)), h('span', {}, 'elements down')),
      h('div', { class: 'degraded' }, h('b', {}, fmtInt(r.counts.degraded)), h('span', {}, 'degraded')),
      h('div', {}, h('b', {}, fmtInt(r.hitNow)), h('span', {}, 'subscribers hit now')),
      h('div', {}, h('b', {}, fmtInt(r.sites)), h('span', {}, 'sites')),
    ),
    h('ol', { class: 'wall-sites' }, worst.map((s) => h('li', { class: s.worst }, h('i', { class: `dot ${s.worst}` }), s.site, h('span', {}, `${fmtInt(s.counts.down)} down${s.hitNow ? ` · ${fmtInt(s.hitNow)} subs` : ''}`)))),
  );
}
