// netpulse NOC dashboard: plain JavaScript modules, no dependencies, served by the daemon itself.
// It reads the same API as every other client, with a bearer token: summaries by place (never every
// element), the outages, the alerts; then follows the live event stream (GET /v1/events) and applies
// each event to what is on screen. The view lives in the address bar (view.js).

import { $, h, fmtDuration, debounce } from './dom.js';
import { api, follow, keepToken, qs, session, takeToken, Unauthorized } from './api.js';
import { view, go, onView } from './view.js';
import { loadPlaces, applyHealth, refreshHitNow, viewChanged, onPlaces, places } from './places.js';
import { mountMap, loadOutline, drawMap, mapViewChanged, screenOf } from './map.js';
import { loadOutages, state, shown, kpis } from './outages.js';
import { loadAlerts, renderAlerts, loadCredits, loadSuspected, onRefused } from './side.js';
import { loadElement } from './element.js';
import { startWall, renderWall } from './wall.js';

/** What a test or a benchmark reads: when the first render was done, and when each outage was first shown. */
window.netpulse = { firstRender: null, shown, events: 0, screenOf };
Object.defineProperty(window.netpulse, 'totals', { get: () => places.totals });

function showLogin(message) {
  $('#board').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message ?? '';
}
onRefused(showLogin);

$('#login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  keepToken($('#token').value.trim());
  start();
});

function report(err) {
  if (err instanceof Unauthorized) showLogin('The token was refused.');
  else console.warn(err);
}

// ---- filters and search --------------------------------------------------------------------------
function mountFilters() {
  const kind = $('#f-kind'), st = $('#f-state');
  kind.value = view.kind ?? '';
  st.value = view.state ?? '';
  kind.addEventListener('change', () => go({ kind: kind.value || undefined }));
  st.addEventListener('change', () => go({ state: st.value || undefined }));
  const q = $('#search');
  q.addEventListener('input', () => debounce('search', 250, () => search(q.value.trim()), report));
  q.addEventListener('keydown', (e) => { if (e.key === 'Escape') { q.value = ''; $('#results').hidden = true; } });
}

async function search(text) {
  const box = $('#results');
  if (text.length === 0) {
    box.hidden = true;
    return;
  }
  const r = await api(`/v1/places/search${qs({ q: text.slice(0, 100), limit: 8 })}`);
  if ($('#search').value.trim() !== text) return;
  const pick = (change) => () => { box.hidden = true; go({ ...change }); };
  const items = [];
  if (r.subscriber) {
    items.push(h('li', { class: 'head' }, `subscriber ${r.subscriber.id} (${r.subscriber.tier}, ${r.subscriber.service}) is served by`));
    for (const e of r.subscriber.serving) items.push(h('li', { class: 'hit', onclick: pick({ region: e.region ?? undefined, site: e.site ?? undefined, element: e.id }) }, h('i', { class: `dot ${e.state}` }), `${e.id} · ${e.kind ?? '?'} · site ${e.site ?? '?'}`));
  }
  for (const s of r.sites) items.push(h('li', { class: 'hit', onclick: pick({ region: s.region, site: s.site, element: undefined }) }, h('i', { class: `dot ${s.worst}` }), `site ${s.site} · ${s.region}`));
  for (const e of r.elements) items.push(h('li', { class: 'hit', onclick: pick({ region: e.region ?? undefined, site: e.site, element: e.id }) }, h('i', { class: `dot ${e.state}` }), `${e.id} · ${e.kind}`));
  box.replaceChildren(...(items.length ? items : [h('li', { class: 'empty' }, 'nothing found')]));
  box.hidden = false;
  // A subscriber search opens what serves them.
  if (r.subscriber && r.subscriber.serving.length > 0 && r.elements.length === 0 && r.sites.length === 0) {
    const e = r.subscriber.serving.find((x) => x.state !== 'up') ?? r.subscriber.serving[0];
    go({ region: e.region ?? undefined, site: e.site ?? undefined, element: e.id });
  }
}

// ---- the view and the events ---------------------------------------------------------------------
let before = { ...view };
onView(async () => {
  const prev = before;
  before = { ...view };
  try {
    if (prev.kind !== view.kind) await loadPlaces();
    else await viewChanged(prev);
    if (prev.element !== view.element) await loadElement();
    mapViewChanged();
    renderWall();
  } catch (err) {
    report(err);
  }
});
onPlaces(() => { drawMap(); kpis(); renderWall(); });

function onEvent(type, data) {
  window.netpulse.events++;
  switch (type) {
    case 'health':
      applyHealth(data);
      if (data.element === view.element) debounce('element', 1000, loadElement, report);
      break;
    case 'outage':
      awaited.set(data.outage, { closed: data.event === 'closed', tries: 0 });
      debounce('outages', 20, reloadOutages, report);
      debounce('hit', 800, refreshHitNow, report);
      break;
    case 'alert': {
      const i = state.alerts.findIndex((a) => a.id === data.id);
      if (i >= 0) state.alerts[i] = { ...state.alerts[i], ...data }; else state.alerts.unshift(data);
      state.alerts = state.alerts.slice(0, 60);
      renderAlerts();
      break;
    }
    case 'complaint': {
      const counted = data.outage && data.state === 'matched' ? state.complaintsByOutage.get(data.outage) : undefined;
      if (counted && !counted.has(data.complaint)) {
        counted.add(data.complaint);
        const b = document.querySelector(`article[data-outage="${CSS.escape(data.outage)}"] .figures div:nth-child(3) b`);
        if (b) b.textContent = counted.size.toLocaleString('en-US');
      }
      if (!data.outage) debounce('suspected', 2000, loadSuspected, report);
      break;
    }
    case 'compensation': debounce('credits', 500, loadCredits, report); break;
    case 'story': {
      const bar = $('#story');
      bar.hidden = false;
      bar.replaceChildren(h('b', {}, 'demo story'), `${new Date(data.at).toLocaleTimeString()} — ${data.line}`);
      break;
    }
  }
}

/**
 * Outage events not yet seen in what the API answers: the event goes out as the outage changes, its
 * record is written a moment later (in order with everything before it), so the list is read again,
 * a little later each time, until it shows the outage there (or gone, once closed).
 */
const awaited = new Map();
async function reloadOutages() {
  await loadOutages();
  let again = 0;
  for (const [id, w] of awaited) {
    const listed = state.outages.some((o) => o.id === id);
    if (listed !== w.closed || ++w.tries >= 8) awaited.delete(id);
    else again = Math.max(again, w.tries);
  }
  if (again > 0) debounce('outages', 50 * 2 ** again, reloadOutages, report);
}

function setLive(on, text) {
  const l = $('#live');
  l.classList.toggle('off', !on);
  l.textContent = text;
}

async function refreshAll() {
  await Promise.all([loadPlaces(), loadOutages(), loadAlerts(), loadCredits(), loadSuspected(), loadElement()]);
}

async function start() {
  try {
    await api('/v1/places/regions');
  } catch (err) {
    return showLogin(err instanceof Unauthorized ? 'The token was refused.' : `The API did not answer (${err.message}).`);
  }
  $('#login').hidden = true;
  $('#board').hidden = false;
  mountFilters();
  mountMap();
  await Promise.all([loadOutline(), loadPlaces(), loadOutages()]).catch(report);
  // The first meaningful paint: the places listed and the map drawn.
  requestAnimationFrame(() => {
    window.netpulse.firstRender = performance.now();
    performance.mark('netpulse:first-render');
  });
  Promise.all([loadAlerts(), loadCredits(), loadSuspected(), loadElement()]).catch(report);
  if (view.wall) startWall();
  follow({
    onEvent, live: setLive, refused: () => showLogin('The token was refused.'),
    // What happened before the stream was there (nothing is replayed): read again once it is.
    connected: () => refreshAll().catch(report),
  });
  // A safety net for anything the stream does not announce; light enough to leave open all day.
  setInterval(() => refreshAll().catch(report), 120_000);
  setInterval(() => { if (view.element) loadElement().catch(report); }, 30_000);
  setInterval(() => {
    for (const d of document.querySelectorAll('.dur')) {
      const until = d.dataset.until ? Date.parse(d.dataset.until) : Date.now();
      d.textContent = fmtDuration(until - Date.parse(d.dataset.since));
    }
  }, 1000);
}

session.token = takeToken();
if (session.token) start(); else showLogin();
