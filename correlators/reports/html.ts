import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, esc } from './charts.ts';
import type { ServiceReport, Trace } from './report.ts';
import type { WhatIfResult } from './whatif.ts';

const pct = (v: number | null, digits = 1) => (v === null ? '–' : `${(v * 100).toFixed(digits)} %`);
const hours = (ms: number | null) => (ms === null ? '–' : `${(ms / 3_600_000).toFixed(1)} h`);
const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;
const num = (v: number) => v.toLocaleString('en-GB');

/** The ids a line counts, folded: each links to the API route that shows it. */
function traced(t: Trace): string {
  const links: string[] = [];
  for (const id of t.outages ?? []) links.push(`<a href="/v1/outages/${encodeURIComponent(id)}">${esc(id)}</a>`);
  for (const id of t.complaints ?? []) links.push(`<a href="/v1/complaints/${encodeURIComponent(id)}">${esc(id)}</a>`);
  for (const id of t.suspected ?? []) links.push(`<a href="/v1/suspected-outages#${encodeURIComponent(id)}">${esc(id)}</a>`);
  const n = links.length + (t.more ?? 0);
  if (n === 0) return '';
  return `<details><summary>${n} id${n === 1 ? '' : 's'}</summary>${links.join(' ')}${t.more ? ` … and ${t.more} more` : ''}</details>`;
}

const table = (head: string[], rows: string[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** The report's styles: inlined here (the page stands alone: a file, a mail), and served as /ui/report.css to the dashboard's report page. */
const STYLE = readFileSync(join(import.meta.dirname, '../../src/web/report.css'), 'utf8');

/** The report as one self-contained page (styles inline, charts as SVG): it reads on screen and prints to PDF. */
export function reportHtml(r: ServiceReport, whatIf?: WhatIfResult): string {
  const a = r.availability;
  const o = r.outages;
  const sm = r.subscriberMinutes;
  const cp = r.compensation;
  const target = r.targets.availabilityPercent;
  const availRows = (title: string, lines: typeof a.byRegion) => `<h3>${esc(title)}</h3>` + table(
    ['', 'elements', 'availability', 'with planned work', 'downtime', 'planned work', 'target', 'outages'],
    lines.map((l) => [esc(l.key), num(l.elements), pct(l.availability, 3), pct(l.availabilityWithPlanned, 3), hours(l.downtimeMs), hours(l.plannedMs),
      l.meetsTarget ? '<span class="ok">met</span>' : '<span class="miss">missed</span>', traced(l.trace)]),
  );
  const outageRows = (lines: typeof o.byRegion) => table(
    ['', 'outages', 'planned', 'recovered', 'open', 'MTTR', `within ${r.targets.recoveryHours} h`, 'missed', 'share within', 'ids'],
    lines.map((l) => [esc(l.key), num(l.outages), num(l.planned), num(l.recovered), num(l.open), hours(l.mttrMs), num(l.withinTarget), num(l.missedTarget), pct(l.withinTargetShare), traced(l.trace)]),
  );
  const complaintRows = (lines: typeof r.complaints.byGrade) => table(
    ['', 'complaints', 'matched', 'answered in time', 'resolved in time', 'satisfied', 'ids'],
    lines.map((l) => [esc(l.key), num(l.complaints), num(l.matched), `${pct(l.answeredInTimeShare)} (${l.answeredInTime}/${l.responseDue})`,
      `${pct(l.resolvedInTimeShare)} (${l.resolvedInTime}/${l.resolutionDue})`, `${pct(l.satisfiedShare)} (${l.satisfied}/${l.satisfactionAnswers})`, traced(l.trace)]),
  );
  const charts = [
    barChart({
      id: 'chart-availability', title: 'Availability by region (%), unplanned outages', series: ['availability'], min: Math.min(99, Math.floor(Math.min(...a.byRegion.map((l) => l.availability * 100))) - 1), max: 100,
      bars: a.byRegion.map((l) => ({ label: l.key, values: [l.availability * 100], text: `${(l.availability * 100).toFixed(3)} %` })), target: { value: target, label: `target ${target} %` },
    }),
    barChart({
      id: 'chart-recovery', title: 'Longest outages (hours to recovery)', series: ['hours'],
      bars: o.worst.map((w) => ({ label: w.root, values: [w.durationMs / 3_600_000], text: `${(w.durationMs / 3_600_000).toFixed(1)} h${w.state === 'cleared' || w.state === 'closed' ? '' : ' (open)'}` })),
      target: { value: r.targets.recoveryHours, label: `${r.targets.recoveryHours} h target` },
    }),
    barChart({
      id: 'chart-minutes', title: 'Subscriber minutes lost by tier', series: ['no service', 'degraded'],
      bars: sm.byTier.map((l) => ({ label: l.key, values: [l.noServiceMinutes, l.degradedMinutes], text: num(l.noServiceMinutes + l.degradedMinutes) })),
    }),
    barChart({
      id: 'chart-complaints', title: 'Complaints answered and resolved within their deadlines (%), by grade', series: ['answered in time', 'resolved in time'], max: 200,
      bars: r.complaints.byGrade.map((l) => ({ label: l.key, values: [(l.answeredInTimeShare ?? 0) * 100, (l.resolvedInTimeShare ?? 0) * 100], text: `${pct(l.answeredInTimeShare, 0)} / ${pct(l.resolvedInTimeShare, 0)}` })),
    }),
    barChart({
      id: 'chart-compensation', title: 'Compensation issued by tier (major units)', series: ['amount'],
      bars: [...groupBy(cp.lines, (l) => `${l.tier} (${l.currency})`)].map(([label, ls]) => ({ label, values: [ls.reduce((s, l) => s + l.amountMinor, 0) / 100], text: (ls.reduce((s, l) => s + l.amountMinor, 0) / 100).toFixed(2) })),
    }),
  ];
  const kpi = (label: string, value: string, good?: boolean) => `<div class="kpi">${esc(label)}<b class="${good === undefined ? '' : good ? 'ok' : 'miss'}">${value}</b></div>`;
  const cost = cp.byCurrency.map((c) => money(c.amountMinor, c.currency)).join(', ') || '0';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>netpulse service report ${esc(r.period.from.slice(0, 10))} to ${esc(r.period.to.slice(0, 10))}</title><style>${STYLE}</style></head><body>
<h1>Service report</h1>
<p class="meta">From ${esc(r.period.from)} to ${esc(r.period.to)} (figures as of ${esc(r.period.asOf)}). Targets: availability ${target} %, fault recovery within ${r.targets.recoveryHours} h. Every line lists the API ids it counts.</p>
<div class="kpis">${kpi('network availability', pct(a.network.availability, 3), a.network.meetsTarget)}${kpi('outages', num(o.total.outages))}${kpi('MTTR', hours(o.total.mttrMs))}${kpi(`recovered within ${r.targets.recoveryHours} h`, pct(o.total.withinTargetShare), (o.total.withinTargetShare ?? 1) >= 1)}${kpi('subscriber minutes lost', num(sm.total.noServiceMinutes + sm.total.degradedMinutes))}${kpi('complaints', num(r.complaints.total.complaints))}${kpi('compensation', esc(cost))}</div>
<h2>Availability</h2>${charts[0]}
${availRows('Network', [a.network])}${availRows('By region', a.byRegion)}${availRows('By element kind', a.byKind)}${availRows('By site', a.bySite)}
<h2>Outages and recovery</h2>${charts[1]}
<h3>All</h3>${outageRows([o.total])}<h3>By region of the root</h3>${outageRows(o.byRegion)}<h3>By element kind of the root</h3>${outageRows(o.byKind)}<h3>By site of the root</h3>${outageRows(o.bySite)}
<h3>Longest</h3>${table(['outage', 'root', 'region', 'started', 'duration', 'state', 'subscribers'], o.worst.map((w) => [`<a href="/v1/outages/${encodeURIComponent(w.id)}">${esc(w.id)}</a>`, esc(w.root), esc(w.region ?? ''), esc(w.startedAt), `<span class="${w.withinTarget ? 'ok' : 'miss'}">${hours(w.durationMs)}</span>`, esc(w.state), w.subscribers === undefined ? '' : num(w.subscribers)]))}
<h2>Subscriber minutes lost</h2>${charts[2]}
${table(['', 'subscribers (per outage)', 'no service (min)', 'degraded (min)', 'outages'], [sm.total, ...sm.byTier, ...sm.byService, sm.planned].map((l, i) => [esc(i === 0 ? 'all (unplanned)' : i <= sm.byTier.length ? `tier ${l.key}` : l.key === 'planned work' ? 'planned work (apart)' : `service ${l.key}`), num(l.subscribers), num(l.noServiceMinutes), num(l.degradedMinutes), traced(l.trace)]))}
<h2>Complaints</h2>${charts[3]}
<h3>By grade</h3>${complaintRows([r.complaints.total, ...r.complaints.byGrade])}<h3>By category</h3>${complaintRows(r.complaints.byCategory)}
<h2>Suspected outages</h2>${table(['raised', 'confirmed', 'dismissed', 'expired', 'merged', 'still open', 'ids'], [[num(r.suspectedOutages.raised), num(r.suspectedOutages.confirmed), num(r.suspectedOutages.dismissed), num(r.suspectedOutages.expired), num(r.suspectedOutages.merged), num(r.suspectedOutages.open), traced(r.suspectedOutages.trace)]])}
<h2>Compensation</h2>${charts[4]}
${table(['currency', 'issued', 'credited subscribers', 'affected subscribers', 'cost per affected subscriber', 'outages'], cp.byCurrency.map((c) => [esc(c.currency), money(c.amountMinor, c.currency), num(c.creditedSubscribers), num(c.affectedSubscribers), money(c.costPerAffectedMinor, c.currency), traced(c.trace)]))}
${table(['policy', 'form', 'tier', 'subscribers', 'entries', 'amount', 'quantity', 'outages'], cp.lines.map((l) => [esc(l.policy), esc(l.form), esc(l.tier), num(l.subscribers), num(l.entries), money(l.amountMinor, l.currency), `${num(l.quantity)} ${esc(l.unit)}`, traced(l.trace)]))}
${whatIf ? whatIfHtml(whatIf) : ''}
</body></html>`;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
  return m;
}

/** The what-if comparison: totals by currency, and the distribution of amounts by tier on both sides. */
export function whatIfHtml(w: WhatIfResult): string {
  const tiers = [...new Set([...w.issued.byTier, ...w.whatIf.byTier].map((t) => t.tier))].sort();
  const bars = tiers.flatMap((t) => {
    const i = w.issued.byTier.find((x) => x.tier === t);
    const n = w.whatIf.byTier.find((x) => x.tier === t);
    const sum = (x?: { amountMinor: Record<string, number> }) => Object.values(x?.amountMinor ?? {}).reduce((a, v) => a + v, 0) / 100;
    return [{ label: `${t} issued`, values: [sum(i), 0], text: sum(i).toFixed(2) }, { label: `${t} what-if`, values: [0, sum(n)], text: sum(n).toFixed(2) }];
  });
  return `<h2>Policy what-if: ${esc(w.policies.join(', '))}</h2>
<p class="meta">${num(w.outages)} outages, ${num(w.subscribers)} subscriber-outages settled again without writing to the ledger, in ${(w.ms / 1000).toFixed(1)} s.</p>
${barChart({ id: 'chart-whatif', title: 'Cost by tier: issued and what-if (major units)', series: ['issued', 'what-if'], bars })}
${table(['currency', 'issued', 'what-if', 'difference', 'credited (issued)', 'credited (what-if)'], [...new Set([...w.issued.byCurrency, ...w.whatIf.byCurrency].map((c) => c.currency))].map((c) => {
    const i = w.issued.byCurrency.find((x) => x.currency === c) ?? { amountMinor: 0, eligible: 0 };
    const n = w.whatIf.byCurrency.find((x) => x.currency === c) ?? { amountMinor: 0, eligible: 0 };
    return [esc(c), money(i.amountMinor, c), money(n.amountMinor, c), money(n.amountMinor - i.amountMinor, c), num(i.eligible), num(n.eligible)];
  }))}
${table(['tier', 'side', ...w.buckets], tiers.flatMap((t) => [['issued', w.issued], ['what-if', w.whatIf]].map(([label, s]) => [esc(t), esc(label as string), ...((s as typeof w.issued).byTier.find((x) => x.tier === t)?.buckets ?? w.buckets.map(() => 0)).map(num)])))}
<p class="meta">Subscriber-outages paid more: ${num(w.difference.more)}, less: ${num(w.difference.less)}, the same: ${num(w.difference.same)}.</p>`;
}
