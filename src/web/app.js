// netpulse NOC dashboard: plain JavaScript, no dependencies, served by the daemon itself.
// It reads the same API as every other client, with a bearer token, and follows the live event
// stream (GET /v1/events) to know when to read again.

const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'netpulse.token';
const TIERS = ['vip', 'enterprise', 'gold', 'standard'];

/** Builds an element; strings become text nodes, so nothing from the API is ever parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'style') node.style.cssText = v; // through the CSSOM: the page's CSP allows no inline style attributes
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

const state = {
  token: null,
  elements: new Map(),
  outages: [],
  closed: [],
  alerts: [],
  complaintsByOutage: new Map(),
  creditsByOutage: new Map(),
  selected: null,
  live: false,
};

// ---- token and API -------------------------------------------------------------------------
function takeToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY);
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { authorization: `Bearer ${state.token}`, ...(options.body && { 'content-type': 'application/json' }), ...options.headers } });
  if (res.status === 401 || res.status === 403) throw new Unauthorized(`${res.status} on ${path}`);
  if (!res.ok) throw new Error(`${res.status} on ${path}`);
  return res.status === 204 ? null : res.json();
}

function showLogin(message) {
  $('#board').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message ?? '';
}

$('#login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('#token').value.trim();
  localStorage.setItem(TOKEN_KEY, state.token);
  start();
});

// ---- formatting ----------------------------------------------------------------------------
const fmtInt = (n) => (n ?? 0).toLocaleString('en-US');
function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (x) => String(x).padStart(2, '0');
  return d > 0 ? `${d}d ${two(hh)}:${two(mm)}:${two(ss)}` : hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');
const fmtMoney = (minor, currency) => `${(minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;

// ---- reading the state -----------------------------------------------------------------------
async function loadElements() {
  // Paged by the API (1,000 at a time): follow the cursor to the end.
  const items = [];
  for (let cursor = ''; ;) {
    const page = await api(`/v1/elements?limit=5000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  state.elements = new Map(items.map((e) => [e.id, e]));
  renderHealth();
}

async function loadOutages() {
  const [active, closed] = await Promise.all([api('/v1/outages?state=active&limit=100'), api('/v1/outages?state=closed&limit=40')]);
  state.outages = active.items;
  // Outages merged into another are part of it: the list shows outages, not their fragments.
  state.closed = closed.items.filter((o) => !o.mergedInto).slice(0, 8);
  // Counted once per outage; the stream's complaint events keep the count from then on.
  await Promise.all(state.outages.filter((o) => !state.complaintsByOutage.has(o.id)).map(async (o) => {
    const c = await api(`/v1/outages/${encodeURIComponent(o.id)}/complaints`).catch(() => null);
    if (c) state.complaintsByOutage.set(o.id, new Set(c.items.map((x) => x.id)));
  }));
  renderOutages();
}

async function loadAlerts() {
  const { items } = await api('/v1/alerts?limit=60');
  state.alerts = items.reverse();
  renderAlerts();
}

async function loadCredits() {
  const today = new Date().toISOString().slice(0, 10);
  const [byTier, byOutage] = await Promise.all([
    api(`/v1/compensation/totals?by=tier&from=${today}`).catch(() => ({ items: [] })),
    api(`/v1/compensation/totals?by=outage&from=${today}`).catch(() => ({ items: [] })),
  ]);
  state.creditsByOutage = new Map(byOutage.items.map((t) => [t.outage, t]));
  renderCredits(byTier.items);
  renderOutages();
}

async function loadSuspected() {
  const { items } = await api('/v1/suspected-outages?state=suspected').catch(() => ({ items: [] }));
  const ul = $('#suspected');
  ul.replaceChildren(...(items.length === 0 ? [h('li', { class: 'empty' }, 'none')] : items.map((s) => h('li', {},
    h('b', {}, s.element), ` ${s.complaints.length} complaints from ${fmtInt(s.subscribers)} subscribers since ${fmtTime(s.since)}`,
  ))));
}

// ---- rendering -----------------------------------------------------------------------------
function kpis() {
  const now = state.outages.reduce((n, o) => n + (o.affectedSubscribers?.current ?? 0), 0);
  const down = [...state.elements.values()].filter((e) => e.state === 'down').length;
  const unacked = state.alerts.filter((a) => a.ackState !== 'acknowledged' && a.state !== 'cleared').length;
  const set = (id, v, alarm) => {
    const k = $(id);
    k.querySelector('b').textContent = v;
    k.classList.toggle('alarm', Boolean(alarm));
  };
  set('#kpi-outages', fmtInt(state.outages.filter((o) => o.state === 'open').length), state.outages.some((o) => o.state === 'open' && o.severity === 'outage'));
  set('#kpi-subscribers', fmtInt(now), now > 0);
  set('#kpi-down', fmtInt(down), down > 0);
  set('#kpi-unacked', fmtInt(unacked), unacked > 0);
}

function tierBar(byTier) {
  const total = Object.values(byTier ?? {}).reduce((a, b) => a + b, 0);
  if (!total) return null;
  return [
    h('div', { class: 'tiers' }, TIERS.filter((t) => byTier[t]).map((t) => h('i', { class: `tier-${t}`, style: `width:${(100 * byTier[t]) / total}%`, title: `${t}: ${byTier[t]}` }))),
    h('div', { class: 'tierlegend' }, TIERS.filter((t) => byTier[t]).map((t) => h('span', {}, `${t} ${fmtInt(byTier[t])}`))),
  ];
}

function renderOutages() {
  const list = $('#outages');
  const items = [...state.outages].sort((a, b) => (a.state === b.state ? (b.affectedSubscribers?.subscribers ?? 0) - (a.affectedSubscribers?.subscribers ?? 0) : a.state === 'open' ? -1 : 1));
  list.replaceChildren(...(items.length === 0 ? [h('div', { class: 'empty' }, 'No active outage.')] : items.map((o) => {
    const scope = o.affectedSubscribers;
    const credits = state.creditsByOutage.get(o.id);
    const r = o.rootCause;
    return h('article', { class: `outage ${o.severity} ${o.state}`, dataset: { outage: o.id } },
      h('div', { class: 'top' },
        h('div', {},
          h('span', { class: 'root' }, r.id),
          h('span', { class: `badge ${o.severity}` }, o.severity),
          o.state === 'cleared' && h('span', { class: 'badge cleared' }, 'recovering'),
          o.planned && h('span', { class: 'badge planned' }, 'planned'),
          o.flapping && h('span', { class: 'badge flapping' }, `flapping ×${o.reopened}`),
          r.inferred && h('span', { class: 'badge inferred', title: 'not seen failing itself: inferred from the elements behind it' }, 'inferred'),
        ),
        h('span', { class: 'dur', dataset: { since: o.startedAt, until: o.clearedAt ?? '' } }, fmtDuration((o.clearedAt ? Date.parse(o.clearedAt) : Date.now()) - Date.parse(o.startedAt))),
      ),
      h('div', { class: 'where' }, `${r.kind ?? 'element'} · site ${r.site ?? '?'} · region ${r.region ?? '?'} · since ${fmtTime(o.startedAt)}`),
      h('div', { class: 'reason' }, `root cause: ${r.reason}`),
      h('div', { class: 'figures' },
        h('div', {}, h('b', {}, fmtInt(scope?.current)), h('span', {}, 'subscribers hit now')),
        h('div', {}, h('b', {}, fmtInt(scope?.subscribers)), h('span', {}, `hit in all (${fmtInt(scope?.noService)} without service)`)),
        h('div', {}, h('b', {}, fmtInt(state.complaintsByOutage.get(o.id)?.size)), h('span', {}, 'complaints matched')),
        h('div', {}, h('b', {}, credits ? fmtMoney(credits.amountMinor, credits.currency) : '–'), h('span', {}, credits ? `${fmtInt(credits.entries)} credits` : 'compensation after close')),
      ),
      tierBar(scope?.byTier),
      o.impactedElements.length > 0 && h('div', { class: 'impacted' }, `${o.impactedElements.length} impacted: `, o.impactedElements.slice(0, 12).map((e) => e.id).join(', '), o.impactedElements.length > 12 ? ' …' : ''),
    );
  })));
  $('#outages-note').textContent = state.outages.length ? `${state.outages.length} open or recovering` : '';
  $('#closed tbody').replaceChildren(...state.closed.map((o) => h('tr', {},
    h('td', {}, o.rootCause.id, o.planned ? h('span', { class: 'badge planned' }, 'planned') : null, o.flapping ? h('span', { class: 'badge flapping' }, 'flapping') : null, o.rootCause.inferred ? h('span', { class: 'badge inferred' }, 'inferred') : null),
    h('td', {}, fmtTime(o.startedAt)),
    h('td', { class: 'num' }, fmtDuration(o.durationSeconds * 1000)),
    h('td', { class: 'num' }, `${fmtInt(o.affectedSubscribers?.subscribers)} subs`),
    h('td', { class: 'num' }, state.creditsByOutage.get(o.id) ? fmtMoney(state.creditsByOutage.get(o.id).amountMinor, state.creditsByOutage.get(o.id).currency) : ''),
  )));
  kpis();
}

function renderAlerts() {
  const ol = $('#alerts');
  ol.replaceChildren(...(state.alerts.length === 0 ? [h('li', { class: 'empty' }, 'No alerts.')] : state.alerts.map((a) => {
    const acked = a.ackState === 'acknowledged';
    return h('li', { class: acked ? 'acked' : '', dataset: { alert: a.id } },
      h('div', { class: 'what' }, h('span', { class: `badge ${a.perceivedSeverity}` }, a.perceivedSeverity), ' ', a.alarmDetails),
      acked ? h('span', { class: 'meta' }, `acked by ${a.ackBy ?? '?'}`) : h('button', { type: 'button', class: 'ack', onclick: () => ack(a.id) }, 'Ack'),
      h('div', { class: 'meta' }, `${fmtTime(a.alarmChangedTime)} · ${a.event} · ${a.alarmedObject?.id ?? ''}`),
    );
  })));
  kpis();
}

async function ack(id) {
  try {
    const r = await api(`/v1/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST', body: '{}' });
    const a = state.alerts.find((x) => x.id === id);
    if (a) Object.assign(a, { ackState: r.ackState, ackBy: r.ackBy, ackTime: r.ackTime });
    renderAlerts();
  } catch (err) {
    if (err instanceof Unauthorized) showLogin('This token may not acknowledge alerts (it needs the noc role).');
  }
}

function renderCredits(items) {
  const body = $('#credits tbody');
  const rows = TIERS.flatMap((t) => items.filter((i) => i.tier === t)).map((i) => h('tr', {},
    h('td', {}, i.tier), h('td', { class: 'num' }, `${fmtInt(i.entries)} credits`), h('td', { class: 'num' }, fmtMoney(i.amountMinor, i.currency)),
  ));
  const total = items.reduce((n, i) => n + i.amountMinor, 0);
  const cur = items[0]?.currency ?? '';
  body.replaceChildren(...(rows.length === 0 ? [h('tr', {}, h('td', { class: 'empty' }, 'none yet'))] : [...rows, h('tr', {}, h('td', {}, h('b', {}, 'total')), h('td', {}), h('td', { class: 'num' }, h('b', {}, fmtMoney(total, cur))))]));
  $('#kpi-credits b').textContent = rows.length ? fmtMoney(total, cur) : '–';
}

const BIG = new Set(['core', 'aggregation', 'olt', 'base_station']);
function renderHealth() {
  const byRegion = new Map();
  for (const e of state.elements.values()) {
    const region = e.region ?? 'no region';
    if (!byRegion.has(region)) byRegion.set(region, new Map());
    const sites = byRegion.get(region);
    if (!sites.has(e.site)) sites.set(e.site, []);
    sites.get(e.site).push(e);
  }
  const regions = [...byRegion.keys()].sort();
  $('#health').replaceChildren(...regions.map((r) => h('div', { class: 'region' },
    h('h4', {}, r),
    h('div', { class: 'sites' }, [...byRegion.get(r)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([site, els]) => h('div', { class: 'site', title: `site ${site}` },
      els.map((e) => h('button', {
        type: 'button', class: `el ${e.state}${BIG.has(e.kind) ? ' big' : ''}${state.selected === e.id ? ' sel' : ''}`,
        title: `${e.id} (${e.kind}): ${e.state}${e.reason ? ` — ${e.reason}` : ''}`, dataset: { element: e.id }, onclick: () => select(e.id),
      })),
    ))),
  )));
  kpis();
}

function healthChanged(d) {
  const e = state.elements.get(d.element);
  if (!e) return;
  Object.assign(e, { state: d.to, reason: d.reason, since: new Date(d.at).toISOString() });
  const b = document.querySelector(`.el[data-element="${CSS.escape(d.element)}"]`);
  if (b) {
    b.classList.remove('up', 'degraded', 'down', 'unknown');
    b.classList.add(d.to);
    b.title = `${e.id} (${e.kind}): ${d.to} — ${d.reason}`;
  }
  kpis();
}

// ---- charts ----------------------------------------------------------------------------------
const CHARTS = [
  { field: 'rsrp_dbm', title: 'RSRP', unit: 'dBm', threshold: -110 },
  { field: 'sinr_db', title: 'SINR', unit: 'dB', threshold: 0 },
  { field: 'average_response_ms', title: 'Latency (backhaul)', unit: 'ms' },
  { field: 'percent_packet_loss', title: 'Packet loss', unit: '%', threshold: 2 },
  { field: 'response_time_ms', title: 'SNMP response time', unit: 'ms' },
];
const COLOURS = ['#4aa3ff', '#e0b84a', '#c58af9', '#2fa86b', '#ff8a65'];

function select(id) {
  state.selected = id;
  document.querySelectorAll('.el.sel').forEach((b) => b.classList.remove('sel'));
  document.querySelector(`.el[data-element="${CSS.escape(id)}"]`)?.classList.add('sel');
  loadCharts();
}

async function loadCharts() {
  const id = state.selected;
  if (!id) return;
  const e = await api(`/v1/elements/${encodeURIComponent(id)}`);
  if (state.selected !== id) return;
  $('#chart-element').textContent = `${e.id} · ${e.kind} · ${e.health.state}${e.health.reason ? ` (${e.health.reason})` : ''}`;
  const charts = [];
  for (const c of CHARTS) {
    const lines = [];
    for (const m of e.measurements) {
      const pts = (m.trend?.[c.field]?.length ?? 0) >= 10 ? m.trend[c.field] : m.history[c.field];
      if (!pts || pts.length === 0) continue;
      const label = m.tags.cell_name ?? m.tags.url ?? m.tags.probe ?? m.measurement;
      lines.push({ label: `${label}${m.tags.source ? ` (${m.tags.source})` : ''}`, pts: pts.map((p) => [Date.parse(p.time), p.value]) });
    }
    if (lines.length > 0) charts.push(chart(c, lines.slice(0, COLOURS.length)));
  }
  $('#charts').replaceChildren(...(charts.length ? charts : [h('div', { class: 'empty' }, 'No signal, latency or loss measured for this element yet.')]));
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** A line chart in SVG: a line per series, the threshold dashed, the range and span labelled. */
function chart(c, lines) {
  const W = 320, H = 110, L = 34, R = 4, T = 6, B = 16;
  const all = lines.flatMap((l) => l.pts);
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  let lo = Math.min(...all.map((p) => p[1]), c.threshold ?? Infinity), hi = Math.max(...all.map((p) => p[1]), c.threshold ?? -Infinity);
  if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': c.title });
  svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(hi), y2: y(hi) }), s('line', { class: 'grid', x1: L, x2: W - R, y1: y(lo), y2: y(lo) }));
  svg.append(s('text', { x: 2, y: y(hi) + 4 }, hi.toFixed(0)), s('text', { x: 2, y: y(lo) }, lo.toFixed(0)));
  svg.append(s('text', { x: L, y: H - 3 }, fmtTime(new Date(t0).toISOString())), s('text', { x: W - R, y: H - 3, 'text-anchor': 'end' }, fmtTime(new Date(t1).toISOString())));
  if (c.threshold !== undefined) svg.append(s('line', { class: 'threshold', x1: L, x2: W - R, y1: y(c.threshold), y2: y(c.threshold) }));
  lines.forEach((l, i) => svg.append(s('polyline', { class: 'line', stroke: COLOURS[i], points: l.pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ') })));
  const latest = lines.map((l) => l.pts[l.pts.length - 1][1]);
  return h('div', { class: 'chart' },
    h('div', { class: 'title' }, h('span', {}, `${c.title} (${c.unit})`), h('b', {}, latest.map((v) => v.toFixed(1)).join(' / '))),
    svg,
    h('div', { class: 'tierlegend' }, lines.map((l, i) => h('span', { style: `color:${COLOURS[i]}` }, l.label))),
  );
}

// ---- live events -------------------------------------------------------------------------------
const soon = new Map();
/** Runs `fn` once within `ms`, however many events ask for it. */
function debounce(key, ms, fn) {
  if (soon.has(key)) return;
  soon.set(key, setTimeout(() => { soon.delete(key); fn().catch(report); }, ms));
}

function onEvent(type, data) {
  switch (type) {
    case 'health': healthChanged(data); break;
    case 'outage': debounce('outages', 300, loadOutages); break;
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
        if (b) b.textContent = fmtInt(counted.size);
      }
      if (!data.outage) debounce('suspected', 2000, loadSuspected);
      break;
    }
    case 'compensation': debounce('credits', 500, loadCredits); break;
    case 'story': {
      const bar = $('#story');
      bar.hidden = false;
      bar.replaceChildren(h('b', {}, 'demo story'), `${fmtTime(new Date(data.at).toISOString())} — ${data.line}`);
      break;
    }
  }
}

function setLive(on, text) {
  state.live = on;
  const l = $('#live');
  l.classList.toggle('off', !on);
  l.textContent = text;
}

/** Follows /v1/events with fetch (EventSource cannot send the bearer token); reconnects with backoff. */
async function follow() {
  let wait = 1000;
  for (;;) {
    try {
      const res = await fetch('/v1/events', { headers: { authorization: `Bearer ${state.token}`, accept: 'text/event-stream' } });
      if (res.status === 401 || res.status === 403) throw new Unauthorized('events');
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      setLive(true, 'live');
      wait = 1000;
      refreshAll().catch(report); // what happened while we were away
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = 'message', data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin('The token was refused.');
    }
    setLive(false, 'reconnecting…');
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}

function report(err) {
  if (err instanceof Unauthorized) showLogin('The token was refused.');
  else console.warn(err);
}

async function refreshAll() {
  await Promise.all([loadElements(), loadOutages(), loadAlerts(), loadCredits(), loadSuspected()]);
  if (state.selected) await loadCharts();
}

async function start() {
  try {
    await api('/v1/elements?limit=1');
  } catch (err) {
    return showLogin(err instanceof Unauthorized ? 'The token was refused.' : `The API did not answer (${err.message}).`);
  }
  $('#login').hidden = true;
  $('#board').hidden = false;
  await refreshAll().catch(report);
  follow();
  // A safety net for anything the stream does not announce; light enough to leave open all day.
  setInterval(() => refreshAll().catch(report), 60_000);
  setInterval(() => { if (state.selected) loadCharts().catch(report); }, 30_000);
  setInterval(() => {
    for (const d of document.querySelectorAll('.dur')) {
      const until = d.dataset.until ? Date.parse(d.dataset.until) : Date.now();
      d.textContent = fmtDuration(until - Date.parse(d.dataset.since));
    }
  }, 1000);
}

state.token = takeToken();
if (state.token) start(); else showLogin();
