// The element view: its health, its charts (from the daemon's recent measurements), its recent
// transitions, and the traps it sent (issue 20's GET /v1/elements/:id/traps).

import { $, h, s, fmtTime } from './dom.js';
import { api } from './api.js';
import { view } from './view.js';

const CHARTS = [
  { field: 'rsrp_dbm', title: 'RSRP', unit: 'dBm', threshold: -110 },
  { field: 'sinr_db', title: 'SINR', unit: 'dB', threshold: 0 },
  { field: 'average_response_ms', title: 'Latency (backhaul)', unit: 'ms' },
  { field: 'percent_packet_loss', title: 'Packet loss', unit: '%', threshold: 2 },
  { field: 'response_time_ms', title: 'SNMP response time', unit: 'ms' },
];
const COLOURS = ['#4aa3ff', '#e0b84a', '#c58af9', '#2fa86b', '#ff8a65'];


/** Reads and draws the element in the view (nothing when none is). */
export async function loadElement() {
  const id = view.element;
  $('#element-panel').hidden = !id;
  if (!id) return;
  const [e, traps] = await Promise.all([
    api(`/v1/elements/${encodeURIComponent(id)}`),
    api(`/v1/elements/${encodeURIComponent(id)}/traps`).catch(() => ({ traps: [], conditions: [] })),
  ]);
  if (view.element !== id) return;
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
  $('#transitions tbody').replaceChildren(...(e.recentTransitions.length === 0 ? [h('tr', {}, h('td', { class: 'empty' }, 'none in the last 7 days'))]
    : e.recentTransitions.slice(-12).reverse().map((t) => h('tr', {}, h('td', {}, fmtTime(t.at)), h('td', {}, h('i', { class: `dot ${t.to}` }), `${t.from} → ${t.to}`), h('td', {}, t.reason)))));
  $('#traps tbody').replaceChildren(...(traps.traps.length === 0 ? [h('tr', {}, h('td', { class: 'empty' }, 'no trap received'))]
    : traps.traps.slice(0, 15).map((t) => h('tr', { class: 'trap' }, h('td', {}, fmtTime(t.at)), h('td', {}, t.name), h('td', {}, t.health ? h('span', { class: `badge ${t.health === 'clear' ? 'cleared' : t.health === 'down' ? 'critical' : 'minor'}` }, t.health) : ''), h('td', {}, t.reason ?? t.meaning ?? '', t.for ? ` (for ${t.for})` : '')))));
  $('#conditions').textContent = traps.conditions.length ? `held by traps: ${traps.conditions.map((c) => c.condition ?? c.reason ?? JSON.stringify(c)).join(', ')}` : '';
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

