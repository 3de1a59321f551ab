// Active and recently closed outages (cards), and the header's figures.

import { $, h, fmtInt, fmtDuration, fmtTime, fmtMoney } from './dom.js';
import { api } from './api.js';
import { places } from './places.js';
import { setOutages } from './map.js';
import { go } from './view.js';

const TIERS = ['vip', 'enterprise', 'gold', 'standard'];
export const state = { outages: [], closed: [], alerts: [], complaintsByOutage: new Map(), creditsByOutage: new Map() };

/** When each outage card was first shown (epoch ms), for the time-to-screen figures. */
export const shown = new Map();

export async function loadOutages() {
  const [active, closed] = await Promise.all([api('/v1/outages?state=active&limit=100'), api('/v1/outages?state=closed&limit=40')]);
  state.outages = active.items;
  // Outages merged into another are part of it: the list shows outages, not their fragments.
  state.closed = closed.items.filter((o) => !o.mergedInto).slice(0, 8);
  // Shown at once; the complaint counts follow.
  renderOutages();
  setOutages(state.outages);
  // Counted once per outage; the stream's complaint events keep the count from then on.
  const missing = state.outages.filter((o) => !state.complaintsByOutage.has(o.id));
  await Promise.all(missing.map(async (o) => {
    const c = await api(`/v1/outages/${encodeURIComponent(o.id)}/complaints`).catch(() => null);
    if (c) state.complaintsByOutage.set(o.id, new Set(c.items.map((x) => x.id)));
  }));
  if (missing.length > 0) renderOutages();
}

export function kpis() {
  const now = state.outages.reduce((n, o) => n + (o.affectedSubscribers?.current ?? 0), 0);
  const down = places.totals.down;
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

export function renderOutages() {
  const list = $('#outages');
  const items = [...state.outages].sort((a, b) => (a.state === b.state ? (b.affectedSubscribers?.subscribers ?? 0) - (a.affectedSubscribers?.subscribers ?? 0) : a.state === 'open' ? -1 : 1));
  list.replaceChildren(...(items.length === 0 ? [h('div', { class: 'empty' }, 'No active outage.')] : items.map((o) => {
    const scope = o.affectedSubscribers;
    const credits = state.creditsByOutage.get(o.id);
    const r = o.rootCause;
    return h('article', { class: `outage ${o.severity} ${o.state}`, dataset: { outage: o.id } },
      h('div', { class: 'top' },
        h('div', {},
          h('a', { class: 'root', href: '#', title: 'open it', onclick: (e) => { e.preventDefault(); go({ region: r.region, site: r.site ?? r.id, element: r.id }); } }, r.id),
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
  for (const o of items) if (!shown.has(o.id)) shown.set(o.id, Date.now());
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

