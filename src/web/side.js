// The side panels: the alert feed (with acknowledgement), outages suspected from complaints, and
// today's compensation.

import { $, h, fmtInt, fmtTime, fmtMoney } from './dom.js';
import { api, Unauthorized } from './api.js';
import { state, kpis, renderOutages } from './outages.js';

const TIERS = ['vip', 'enterprise', 'gold', 'standard'];
let refused = () => {};
/** What to do when the token may not do something (acknowledge). */
export const onRefused = (fn) => { refused = fn; };

export async function loadAlerts() {
  const { items } = await api('/v1/alerts?limit=60');
  state.alerts = items.reverse();
  renderAlerts();
}

export function renderAlerts() {
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
    if (err instanceof Unauthorized) refused('This token may not acknowledge alerts (it needs the noc role).');
  }
}

export function renderCredits(items) {
  const body = $('#credits tbody');
  const rows = TIERS.flatMap((t) => items.filter((i) => i.tier === t)).map((i) => h('tr', {},
    h('td', {}, i.tier), h('td', { class: 'num' }, `${fmtInt(i.entries)} credits`), h('td', { class: 'num' }, fmtMoney(i.amountMinor, i.currency)),
  ));
  const total = items.reduce((n, i) => n + i.amountMinor, 0);
  const cur = items[0]?.currency ?? '';
  body.replaceChildren(...(rows.length === 0 ? [h('tr', {}, h('td', { class: 'empty' }, 'none yet'))] : [...rows, h('tr', {}, h('td', {}, h('b', {}, 'total')), h('td', {}), h('td', { class: 'num' }, h('b', {}, fmtMoney(total, cur))))]));
  $('#kpi-credits b').textContent = rows.length ? fmtMoney(total, cur) : '–';
}

export async function loadCredits() {
  const today = new Date().toISOString().slice(0, 10);
  const [byTier, byOutage] = await Promise.all([
    api(`/v1/compensation/totals?by=tier&from=${today}`).catch(() => ({ items: [] })),
    api(`/v1/compensation/totals?by=outage&from=${today}`).catch(() => ({ items: [] })),
  ]);
  state.creditsByOutage = new Map(byOutage.items.map((t) => [t.outage, t]));
  renderCredits(byTier.items);
  renderOutages();
}

export async function loadSuspected() {
  const { items } = await api('/v1/suspected-outages?state=suspected').catch(() => ({ items: [] }));
  const ul = $('#suspected');
  ul.replaceChildren(...(items.length === 0 ? [h('li', { class: 'empty' }, 'none')] : items.map((s) => h('li', {},
    h('b', {}, s.element), ` ${s.complaints.length} complaints from ${fmtInt(s.subscribers)} subscribers since ${fmtTime(s.since)}`,
  ))));
}

