import { dayOf, startOfDay, isoDay, WorkingDays } from './calendar.ts';
import {
  FORM_UNITS, type Amount, type Claimant, type EventFacts, type Form, type FormChoice, type ImpactInterval, type Policy, type Rule, type Value,
} from './policy.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** What one subscriber is owed for one event under one policy: the total, not what is left to pay. */
export interface Decision {
  eligible: boolean;
  /** Why nothing is owed (not eligible, excluded). */
  reason?: string;
  amountMinor: number;
  form: Form;
  quantity: number;
  unit: string;
  rule?: string;
  /** The counted impact of the rule that applied: its length and first and last instant. */
  durationMs: number;
  from?: number;
  to?: number;
  /** How the amount came about, line by line, for the audit trail. */
  steps: string[];
}

/** Whether a policy is meant for this subscriber (its `appliesTo`). */
export function appliesTo(p: Policy, c: Claimant): boolean {
  const a = p.appliesTo;
  if (!a) return true;
  if (a.regions && !(c.region !== undefined && a.regions.includes(c.region))) return false;
  if (a.services && !a.services.includes(c.service)) return false;
  if (a.tiers && !a.tiers.includes(c.tier)) return false;
  return true;
}

/** The subscriber's policy: the first (in configured order) meant for them. */
export const policyFor = (policies: readonly Policy[], c: Claimant): Policy | undefined => policies.find((p) => appliesTo(p, c));

const money = (minor: number) => (minor / 100).toFixed(2);

const calendars = new WeakMap<Policy, WorkingDays>();
const workingDays = (p: Policy): WorkingDays | undefined => {
  if (!p.calendar) return undefined;
  let w = calendars.get(p);
  if (!w) calendars.set(p, w = new WorkingDays(p.calendar));
  return w;
};

interface Ctx { policy: Policy; fee: number | undefined; firstDay: number; working: WorkingDays | undefined }

/** The figure in force on a local day: the latest entry dated on or before it (the earliest when all are later). */
export function figureOn(p: Policy, name: string, day: string): number {
  const entries = p.figures[name];
  if (!entries?.length) throw new Error(`policy ${p.id}: no figure "${name}"`);
  let pick = entries[0];
  for (const e of entries) if (e.from <= day && e.from >= pick.from) pick = e;
  return pick.value;
}

function valueOf(v: Value, ctx: Ctx): { minor: number; text: string } {
  if ('fixed' in v) return { minor: v.fixed, text: money(v.fixed) };
  if ('feeShare' in v) {
    const fee = ctx.fee ?? 0;
    return { minor: fee * v.feeShare, text: `${+(v.feeShare * 100).toFixed(4)}% of fee ${money(fee)}${ctx.fee === undefined ? ' (fee unknown)' : ''}` };
  }
  if ('figure' in v) {
    const day = isoDay(ctx.firstDay);
    const m = figureOn(ctx.policy, v.figure, day);
    return { minor: m, text: `${money(m)} (${v.figure} on ${day})` };
  }
  const all = v.max.map((x) => valueOf(x, ctx));
  const best = all.reduce((a, b) => (b.minor > a.minor ? b : a));
  return { minor: best.minor, text: `the higher of ${all.map((x) => x.text).join(' and ')}: ${money(best.minor)}` };
}

/** The intervals of these kinds, clipped, sorted and merged. */
export function mergeIntervals(spans: readonly ImpactInterval[], kinds: readonly string[]): [number, number][] {
  const xs = spans.filter((s) => kinds.includes(s.kind) && s.until > s.since).map((s) => [s.since, s.until] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const x of xs) {
    const last = out.at(-1);
    if (last && x[0] <= last[1]) last[1] = Math.max(last[1], x[1]);
    else out.push([...x]);
  }
  return out;
}

/** Local days after the grace that any interval touches, at most `upTo`. */
function calendarDays(a: { grace: number; working?: boolean; upTo?: number }, intervals: [number, number][], ctx: Ctx): number {
  const tz = ctx.policy.timezone;
  const graceEnd = a.working ? ctx.working!.after(ctx.firstDay, a.grace) : ctx.firstDay + a.grace;
  const days = new Set<number>();
  for (const [s, e] of intervals) {
    const last = dayOf(e - 1, tz);
    for (let d = Math.max(graceEnd + 1, dayOf(s, tz)); d <= last; d++) days.add(d);
  }
  return Math.min(days.size, a.upTo ?? Infinity);
}

function amountOf(a: Amount, duration: number, intervals: [number, number][], ctx: Ctx, steps: string[]): number {
  if ('per' in a) {
    const { unit, after = 0, upTo = Infinity, rate } = a.per;
    const size = unit === 'hour' ? HOUR : DAY;
    const n = duration > after ? Math.min(upTo, Math.ceil((duration - after) / size)) : 0;
    const r = valueOf(rate, ctx);
    if (n > 0) steps.push(`${n} started ${unit}(s)${after ? ` past ${after / HOUR} h` : ''} × ${r.text} = ${money(n * r.minor)}`);
    return n * r.minor;
  }
  if ('perCalendarDay' in a) {
    const n = calendarDays(a.perCalendarDay, intervals, ctx);
    const r = valueOf(a.perCalendarDay.rate, ctx);
    const g = a.perCalendarDay;
    if (n > 0) steps.push(`${n} calendar day(s) after ${g.grace} ${g.working ? 'working' : 'calendar'} day(s) of grace${g.upTo !== undefined ? ` (at most ${g.upTo})` : ''} × ${r.text} = ${money(n * r.minor)}`);
    return n * r.minor;
  }
  if ('once' in a) {
    if (duration <= a.once.after) return 0;
    const r = valueOf(a.once.value, ctx);
    steps.push(`past ${a.once.after / HOUR} h: ${r.text}`);
    return r.minor;
  }
  if ('sum' in a) return a.sum.reduce((t, x) => t + amountOf(x, duration, intervals, ctx, steps), 0);
  const options = a.greatest.map((x) => {
    const s: string[] = [];
    return { v: amountOf(x, duration, intervals, ctx, s), s };
  });
  const best = options.reduce((x, y) => (y.v > x.v ? y : x));
  steps.push(`the highest of ${options.map((o) => money(o.v)).join(', ')}:`, ...best.s.map((s) => `  ${s}`));
  return best.v;
}

function fits(r: Rule, c: Claimant): boolean {
  if (r.services && !r.services.includes(c.service)) return false;
  if (r.tiers && !r.tiers.includes(c.tier)) return false;
  if (r.excludeTiers?.includes(c.tier)) return false;
  return true;
}

/** The form this subscriber's credit takes under the policy. */
export function formFor(p: Policy, c: Claimant): FormChoice {
  return p.forms.find((f) => (!f.usage || (c.usage !== undefined && f.usage.includes(c.usage))) && (!f.tiers || f.tiers.includes(c.tier)) && (!f.services || f.services.includes(c.service)))
    ?? { form: 'bill_credit' };
}

/** How much of the form an amount buys (rounded up, so the subscriber never gets less); signed. */
export function quantityOf(p: Policy, choice: FormChoice, amountMinor: number, c: Claimant, firstDay: number): number {
  if (choice.form === 'bill_credit' || !choice.per) return amountMinor;
  const unit = valueOf(choice.per.value, { policy: p, fee: c.feeMinor, firstDay, working: undefined }).minor;
  if (unit <= 0) return 0;
  return Math.sign(amountMinor) * Math.ceil((Math.abs(amountMinor) / unit) * choice.per.quantity - 1e-9);
}

/**
 * What `c` is owed under `p` for the event, given their impact spans (open ones already cut at
 * the evaluation time) and what other events already credited them this month under the same
 * policy. Pure: the same inputs always give the same decision, which is what makes a
 * recomputation safe (the ledger pays only the difference to what it recorded before).
 */
export function compensate(p: Policy, c: Claimant, spans: readonly ImpactInterval[], facts: EventFacts, monthBefore = 0): Decision {
  const choice = formFor(p, c);
  const none = (reason: string, rest: Partial<Decision> = {}): Decision => ({ eligible: false, reason, amountMinor: 0, form: choice.form, quantity: 0, unit: FORM_UNITS[choice.form], durationMs: 0, steps: [], ...rest });
  if (facts.forceMajeure && p.exclusions.forceMajeure) return none('force majeure');
  if (facts.planned && p.exclusions.plannedNotice !== null && (facts.plannedNotice ?? -1) >= p.exclusions.plannedNotice) {
    return none(`planned work announced ${Math.floor((facts.plannedNotice ?? 0) / HOUR)} h ahead (the policy excludes ${p.exclusions.plannedNotice / HOUR} h or more)`);
  }
  const firstSince = spans.reduce((m, s) => Math.min(m, s.since), Infinity);
  if (!Number.isFinite(firstSince)) return none('no impact');
  const ctx: Ctx = { policy: p, fee: c.feeMinor, firstDay: dayOf(firstSince, p.timezone), working: workingDays(p) };
  let best: { rule: Rule; amount: number; steps: string[]; duration: number; from: number; to: number } | undefined;
  let longest = 0;
  for (const r of p.rules) {
    if (!fits(r, c)) continue;
    const intervals = mergeIntervals(spans, r.kinds);
    const duration = intervals.reduce((t, [s, e]) => t + e - s, 0);
    longest = Math.max(longest, duration);
    if (duration <= r.longerThan) continue;
    const steps = [`rule ${r.id}: ${r.kinds.join(' or ')} for ${(duration / HOUR).toFixed(2)} h (longer than ${r.longerThan / HOUR} h)`];
    const amount = amountOf(r.amount, duration, intervals, ctx, steps);
    if (!best || amount > best.amount) best = { rule: r, amount, steps, duration, from: intervals[0][0], to: intervals.at(-1)![1] };
  }
  if (!best) return none(p.rules.some((r) => fits(r, c)) ? `impact of ${(longest / HOUR).toFixed(2)} h is below every rule's threshold` : 'no rule covers this subscriber', { durationMs: longest });
  const steps = best.steps;
  let amount = best.amount;
  const adj = p.tiers[c.tier];
  if (adj?.multiplier !== undefined && adj.multiplier !== 1) {
    amount *= adj.multiplier;
    steps.push(`tier ${c.tier}: × ${adj.multiplier} = ${money(amount)}`);
  }
  if (adj?.extra) {
    const x = valueOf(adj.extra, ctx);
    amount += x.minor;
    steps.push(`tier ${c.tier}: + ${x.text} = ${money(amount)}`);
  }
  amount = Math.round(amount);
  if (p.caps.perEvent) {
    const cap = Math.round(valueOf(p.caps.perEvent, ctx).minor);
    if (amount > cap) {
      amount = cap;
      steps.push(`capped per event at ${money(cap)}`);
    }
  }
  if (p.caps.perMonth) {
    const cap = Math.round(valueOf(p.caps.perMonth, ctx).minor);
    const room = Math.max(0, cap - monthBefore);
    if (amount > room) {
      amount = room;
      steps.push(`capped per month at ${money(cap)} (${money(monthBefore)} credited earlier this month)`);
    }
  }
  const quantity = quantityOf(p, choice, amount, c, ctx.firstDay);
  steps.push(choice.form === 'bill_credit' ? `credit ${money(amount)} ${p.currency}` : `as ${choice.form}: ${quantity} ${FORM_UNITS[choice.form]} for ${money(amount)} ${p.currency}`);
  return {
    eligible: amount > 0, ...(amount <= 0 && { reason: 'nothing owed after caps' }), amountMinor: amount, form: choice.form, quantity, unit: FORM_UNITS[choice.form],
    rule: best.rule.id, durationMs: best.duration, from: best.from, to: best.to, steps,
  };
}

/**
 * The instants after `from` at which an impact that began at `since` and is still going on would
 * be owed more under this policy (eligibility thresholds, steps, started days; started hours are
 * left to the settlement at close). Used to issue credits for long outages as they go.
 */
export function thresholds(p: Policy, since: number, from: number, to: number): number[] {
  const out = new Set<number>();
  const add = (t: number) => { if (t > from && t <= to) out.add(t); };
  const firstDay = dayOf(since, p.timezone);
  const walk = (a: Amount) => {
    if ('per' in a) {
      if (a.per.unit === 'day') for (let k = 0; since + (a.per.after ?? 0) + k * DAY <= to && k < 4000; k++) add(since + (a.per.after ?? 0) + k * DAY + 1);
    } else if ('perCalendarDay' in a) {
      const g = a.perCalendarDay;
      const graceEnd = g.working && p.calendar ? workingDays(p)!.after(firstDay, g.grace) : firstDay + g.grace;
      for (let d = graceEnd + 1; startOfDay(d, p.timezone) <= to && d < graceEnd + 4000; d++) add(startOfDay(d, p.timezone) + 1);
    } else if ('once' in a) add(since + a.once.after + 1);
    else for (const x of 'sum' in a ? a.sum : a.greatest) walk(x);
  };
  for (const r of p.rules) {
    add(since + r.longerThan + 1);
    walk(r.amount);
  }
  return [...out].sort((a, b) => a - b);
}
