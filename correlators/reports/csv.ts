import type { ServiceReport, Trace } from './report.ts';
import type { WhatIfResult } from './whatif.ts';

/** RFC 4180: quoted when it holds a comma, a quote or a line break; a formula-looking cell is prefixed so spreadsheets do not run it. */
const cell = (v: string | number | null | undefined): string => {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

const HEAD = ['section', 'by', 'key', 'figure', 'value', 'outages', 'complaints', 'suspected'];

/**
 * The report in long form, one figure a row (`section,by,key,figure,value` and the ids it counts,
 * space-separated): a spreadsheet pivots it any way. Shares are 0..1, durations in hours or
 * minutes as the figure's name says, amounts in minor units.
 */
export function reportCsv(r: ServiceReport, whatIf?: WhatIfResult): string {
  const rows: (string | number | null)[][] = [];
  const add = (section: string, by: string, key: string, figures: Record<string, number | null>, t: Trace = {}) => {
    for (const [figure, value] of Object.entries(figures)) rows.push([section, by, key, figure, value, (t.outages ?? []).join(' '), (t.complaints ?? []).join(' '), (t.suspected ?? []).join(' ')]);
  };
  rows.push(['period', '', '', 'from', r.period.from, '', '', ''], ['period', '', '', 'to', r.period.to, '', '', '']);
  const a = r.availability;
  for (const [by, lines] of [['network', [a.network]], ['region', a.byRegion], ['kind', a.byKind], ['site', a.bySite]] as const) {
    for (const l of lines) add('availability', by, l.key, { elements: l.elements, availability: l.availability, availability_with_planned: l.availabilityWithPlanned, downtime_hours: l.downtimeMs / 3_600_000, planned_hours: l.plannedMs / 3_600_000, meets_target: l.meetsTarget ? 1 : 0 }, l.trace);
  }
  const o = r.outages;
  for (const [by, lines] of [['all', [o.total]], ['region', o.byRegion], ['kind', o.byKind], ['site', o.bySite]] as const) {
    for (const l of lines) add('outages', by, l.key, { outages: l.outages, planned: l.planned, recovered: l.recovered, open: l.open, mttr_hours: l.mttrMs === null ? null : l.mttrMs / 3_600_000, within_target: l.withinTarget, missed_target: l.missedTarget, within_target_share: l.withinTargetShare }, l.trace);
  }
  for (const w of o.worst) add('worst_outages', 'outage', w.id, { duration_hours: w.durationMs / 3_600_000, subscribers: w.subscribers ?? null }, { outages: [w.id] });
  const sm = r.subscriberMinutes;
  for (const [by, lines] of [['all', [sm.total]], ['tier', sm.byTier], ['service', sm.byService], ['planned_work', [sm.planned]]] as const) {
    for (const l of lines) add('subscriber_minutes', by, l.key, { subscribers: l.subscribers, no_service_minutes: l.noServiceMinutes, degraded_minutes: l.degradedMinutes }, l.trace);
  }
  for (const [by, lines] of [['all', [r.complaints.total]], ['grade', r.complaints.byGrade], ['category', r.complaints.byCategory]] as const) {
    for (const l of lines) {
      add('complaints', by, l.key, {
        complaints: l.complaints, matched: l.matched, answered: l.answered, answered_in_time: l.answeredInTime, response_due: l.responseDue, answered_in_time_share: l.answeredInTimeShare,
        resolved: l.resolved, resolved_in_time: l.resolvedInTime, resolution_due: l.resolutionDue, resolved_in_time_share: l.resolvedInTimeShare,
        satisfaction_answers: l.satisfactionAnswers, satisfied: l.satisfied, satisfied_share: l.satisfiedShare,
      }, l.trace);
    }
  }
  const s = r.suspectedOutages;
  add('suspected_outages', 'all', 'all', { raised: s.raised, confirmed: s.confirmed, dismissed: s.dismissed, expired: s.expired, merged: s.merged, open: s.open }, s.trace);
  for (const l of r.compensation.lines) add('compensation', 'policy_form_tier', `${l.policy} ${l.form} ${l.tier} ${l.currency}`, { subscribers: l.subscribers, entries: l.entries, amount_minor: l.amountMinor, quantity: l.quantity }, l.trace);
  for (const c of r.compensation.byCurrency) add('compensation', 'currency', c.currency, { amount_minor: c.amountMinor, credited_subscribers: c.creditedSubscribers, affected_subscribers: c.affectedSubscribers, cost_per_affected_minor: c.costPerAffectedMinor }, c.trace);
  if (whatIf) {
    for (const [side, v] of [['issued', whatIf.issued], ['what_if', whatIf.whatIf]] as const) {
      for (const c of v.byCurrency) add(`what_if ${whatIf.policies.join(' ')}`, side, c.currency, { amount_minor: c.amountMinor, eligible: c.eligible });
      for (const t of v.byTier) add(`what_if ${whatIf.policies.join(' ')}`, side, `tier ${t.tier}`, { subscribers: t.subscribers, eligible: t.eligible, ...Object.fromEntries(t.buckets.map((n, i) => [`amount ${whatIf.buckets[i]}`, n])) });
    }
  }
  return [HEAD, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
