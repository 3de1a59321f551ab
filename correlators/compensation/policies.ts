import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { duration } from '../../src/config/units.ts';
import { formatPath } from '../../src/config/load.ts';
import { checkTimeZone } from './calendar.ts';
import { FORMS, type Amount, type Policy, type Value } from './policy.ts';

/** The shipped policies and calendars (`config/policies`, `config/calendars`). */
export const SHIPPED_POLICIES = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/policies');

/** A number, or a fraction written as `1/30` (policies quote the rule's own words). */
const share = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?\/\d+(\.\d+)?$/, 'expected a number or a fraction such as 1/30')])
  .transform((v) => (typeof v === 'number' ? v : Number(v.split('/')[0]) / Number(v.split('/')[1])))
  .pipe(z.number().min(0).max(100));
const minor = z.number().int('amounts are in minor units (cents): whole numbers').min(0);

const value: z.ZodType<Value> = z.lazy(() => z.union([
  z.strictObject({ fixed: minor }),
  z.strictObject({ feeShare: share }),
  z.strictObject({ figure: z.string().min(1) }),
  z.strictObject({ max: z.array(value).min(1) }),
]));

const amount: z.ZodType<Amount, unknown> = z.lazy(() => z.union([
  z.strictObject({ per: z.strictObject({ unit: z.enum(['hour', 'day']), after: duration(0).optional(), upTo: z.number().int().min(1).optional(), rate: value }) }),
  z.strictObject({ perCalendarDay: z.strictObject({ grace: z.number().int().min(0), working: z.boolean().optional(), upTo: z.number().int().min(1).optional(), rate: value }) }),
  z.strictObject({ once: z.strictObject({ after: duration(0), value }) }),
  z.strictObject({ sum: z.array(amount).min(1) }),
  z.strictObject({ greatest: z.array(amount).min(1) }),
])) as z.ZodType<Amount, unknown>;

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

export const calendarSchema = z.strictObject({
  weekend: z.array(z.enum(WEEKDAYS)).default(['sat', 'sun']).transform((ds) => ds.map((d) => WEEKDAYS.indexOf(d))),
  holidays: z.array(isoDate).default([]),
});

export const policySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
  version: z.string().min(1),
  title: z.string().min(1),
  source: z.string().optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
  timezone: z.string().refine((tz) => { try { checkTimeZone(tz); return true; } catch { return false; } }, 'not a time zone this runtime knows (e.g. Europe/Berlin)'),
  /** A calendar name (a file in the calendars directory) or the calendar itself. */
  calendar: z.union([z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a calendar name: lower-case letters, digits and -'), calendarSchema]).optional(),
  appliesTo: z.strictObject({ regions: z.array(z.string()).optional(), services: z.array(z.string()).optional(), tiers: z.array(z.string()).optional() }).optional(),
  figures: z.record(z.string(), z.array(z.strictObject({ from: isoDate, value: minor })).min(1)).default({}),
  exclusions: z.strictObject({ plannedNotice: duration(0).nullable().default(48 * 3_600_000), forceMajeure: z.boolean().default(true) }).prefault({}),
  rules: z.array(z.strictObject({
    id: z.string().min(1),
    description: z.string().optional(),
    kinds: z.array(z.enum(['no_service', 'degraded'])).min(1),
    services: z.array(z.string()).optional(),
    tiers: z.array(z.string()).optional(),
    excludeTiers: z.array(z.string()).optional(),
    longerThan: duration(0).default(0),
    amount,
  })).min(1),
  tiers: z.record(z.string(), z.strictObject({ multiplier: z.number().min(0).optional(), extra: value.optional() })).default({}),
  caps: z.strictObject({ perEvent: value.optional(), perMonth: value.optional() }).default({}),
  forms: z.array(z.strictObject({
    usage: z.array(z.string()).optional(), tiers: z.array(z.string()).optional(), services: z.array(z.string()).optional(),
    form: z.enum(FORMS),
    per: z.strictObject({ value, quantity: z.number().positive() }).optional(),
  }).refine((f) => f.form === 'bill_credit' || f.per, { message: 'a form other than bill_credit needs `per` (how much of it a value of credit buys)', path: ['per'] }))
    .default([{ form: 'bill_credit' }]),
});

export class PolicyError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`bad compensation policy:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const figuresUsed = (a: Amount | Value, out: Set<string>, working: { any: boolean }): void => {
  const x = a as Record<string, unknown>;
  if ('figure' in x) out.add(x.figure as string);
  if ('perCalendarDay' in x && (x.perCalendarDay as { working?: boolean }).working) working.any = true;
  for (const v of Object.values(x)) {
    if (Array.isArray(v)) v.forEach((y) => typeof y === 'object' && figuresUsed(y, out, working));
    else if (v && typeof v === 'object') figuresUsed(v as Value, out, working);
  }
};

/**
 * Reads a policy file and checks it: every problem is named with the file and the path in it
 * (`ofcom-uk.yaml: rules[0].amount: ...`). A named calendar is read from `calendarsDir`.
 */
export function loadPolicy(file: string, calendarsDir: string): Policy {
  const where = file.split('/').pop()!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError([`${where}: ${(err as Error).message}`]);
  }
  return parsePolicy(text, where, calendarsDir);
}

/**
 * A policy from its text (YAML, or JSON, which YAML reads too) or from an object already parsed:
 * a draft posted to the API is checked exactly like a file, every problem named with `where` and
 * the path in it.
 */
export function parsePolicy(source: string | object, where: string, calendarsDir: string): Policy {
  let raw: unknown = source;
  if (typeof source === 'string') {
    try {
      raw = parseYaml(source);
    } catch (err) {
      throw new PolicyError([`${where}: ${(err as Error).message}`]);
    }
  }
  const r = policySchema.safeParse(raw);
  if (!r.success) throw new PolicyError(r.error.issues.map((i) => `${where}: ${formatPath(i.path as PropertyKey[]) || '(top)'}: ${i.message}`));
  const p = r.data;
  let calendar = typeof p.calendar === 'string' ? undefined : p.calendar;
  if (typeof p.calendar === 'string') {
    const f = join(calendarsDir, `${p.calendar}.yaml`);
    if (!existsSync(f)) throw new PolicyError([`${where}: calendar: no calendar "${p.calendar}" (looked for ${f})`]);
    const c = calendarSchema.safeParse(parseYaml(readFileSync(f, 'utf8')));
    if (!c.success) throw new PolicyError(c.error.issues.map((i) => `${p.calendar}.yaml: ${formatPath(i.path as PropertyKey[])}: ${i.message}`));
    calendar = c.data;
  }
  const used = new Set<string>();
  const working = { any: false };
  for (const rule of p.rules) figuresUsed(rule.amount, used, working);
  figuresUsed(p.caps as Value, used, working);
  for (const t of Object.values(p.tiers)) if (t.extra) figuresUsed(t.extra, used, working);
  const problems = [...used].filter((f) => !p.figures[f]).map((f) => `${where}: figures: "${f}" is used but not defined`);
  if (working.any && !calendar) problems.push(`${where}: calendar: working days are counted, so a calendar (weekend and holidays) is needed`);
  if (problems.length) throw new PolicyError(problems);
  return { ...p, calendar, figures: Object.fromEntries(Object.entries(p.figures).map(([k, v]) => [k, [...v].sort((a, b) => a.from.localeCompare(b.from))])) } as Policy;
}

/** The policies named in config, in order, from `dir` (the shipped ones by default), each narrowed to its configured regions. */
export function loadPolicies(entries: readonly { policy: string; regions?: string[] }[], dir = SHIPPED_POLICIES, calendarsDir = join(dir, '../calendars')): Policy[] {
  const problems: string[] = [];
  const out: Policy[] = [];
  const known = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)) : [];
  for (const e of entries) {
    const file = join(dir, `${e.policy}.yaml`);
    if (!existsSync(file)) {
      problems.push(`no policy "${e.policy}" in ${dir} (there: ${known.join(', ') || 'none'})`);
      continue;
    }
    try {
      const p = loadPolicy(file, calendarsDir);
      out.push(e.regions ? { ...p, appliesTo: { ...p.appliesTo, regions: e.regions } } : p);
    } catch (err) {
      if (err instanceof PolicyError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new PolicyError(problems);
  return out;
}
