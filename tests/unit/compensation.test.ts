import { describe, it, expect } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicies, PolicyError } from '../../correlators/compensation/policies.ts';
import { compensate, thresholds, policyFor } from '../../correlators/compensation/compute.ts';
import { dayOf, startOfDay, isoDay, WorkingDays, dayNumber } from '../../correlators/compensation/calendar.ts';
import type { Claimant, EventFacts, ImpactInterval, Policy } from '../../correlators/compensation/policy.ts';
import { tempDir } from '../helpers/temp.ts';

const H = 3_600_000;
const [operator, ofcom, nl, be, de] = loadPolicies(['operator-default', 'ofcom-uk', 'nl-telecommunicatiewet', 'be-bipt', 'de-tkg'].map((policy) => ({ policy })));
const facts: EventFacts = { outageId: 'o1', planned: false, forceMajeure: false };
const who = (over: Partial<Claimant> = {}): Claimant => ({ subscriberId: 's1', tier: 'standard', service: 'broadband', feeMinor: 4500, ...over });
const down = (from: string, to: string): ImpactInterval[] => [{ kind: 'no_service', since: Date.parse(from), until: Date.parse(to) }];
const hours = (start: string, h: number): ImpactInterval[] => [{ kind: 'no_service', since: Date.parse(start), until: Date.parse(start) + h * H }];
const owed = (p: Policy, spans: ImpactInterval[], c = who(), f = facts) => compensate(p, c, spans, f).amountMinor;

describe('calendar', () => {
  it('numbers local days across a daylight saving change', () => {
    // Berlin leaves summer time on 2026-10-25: that day is 25 hours long.
    const d = dayOf(Date.parse('2026-10-25T12:00:00+01:00'), 'Europe/Berlin');
    expect(isoDay(d)).toBe('2026-10-25');
    expect(startOfDay(d + 1, 'Europe/Berlin') - startOfDay(d, 'Europe/Berlin')).toBe(25 * H);
    expect(new Date(startOfDay(d, 'Europe/Berlin')).toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(isoDay(dayOf(Date.parse('2026-10-24T23:30:00Z'), 'Europe/Berlin'))).toBe('2026-10-25');
  });

  it('counts working days past weekends and holidays', () => {
    const w = new WorkingDays({ weekend: [0, 6], holidays: ['2026-12-25', '2026-12-28'] });
    expect(isoDay(w.after(dayNumber('2026-12-18'), 2))).toBe('2026-12-22'); // Fri -> Mon, Tue
    expect(isoDay(w.after(dayNumber('2026-12-23'), 2))).toBe('2026-12-29'); // Wed -> Thu, (Fri hol, Sat, Sun, Mon hol) Tue
  });
});

describe('Ofcom automatic compensation: delayed repair', () => {
  it.each([
    // start Fri 18 Dec; grace: Mon 21, Tue 22; paid from Wed 23 to the repair day, Mon 28 (a holiday is still a calendar day)
    ['across a weekend', '2026-12-18T10:00:00Z', '2026-12-28T12:00:00Z', 6 * 976],
    // start Wed 23; grace: Thu 24, then Fri 25 and Mon 28 are holidays, Tue 29 is the second working day
    ['across two holidays, repaired on the last grace day', '2026-12-23T09:00:00Z', '2026-12-29T23:00:00Z', 0],
    ['across two holidays, repaired the next morning', '2026-12-23T09:00:00Z', '2026-12-30T08:00:00Z', 976],
    ['repaired exactly at midnight ending the grace', '2026-12-23T09:00:00Z', '2026-12-30T00:00:00Z', 0],
    // the figure in force on the first day: before April 2024 it was GBP 8
    ['an older fault at the older figure', '2023-06-05T09:00:00+01:00', '2023-06-09T09:00:00+01:00', 2 * 800],
  ])('%s', (_, from, to, expected) => {
    expect(owed(ofcom, down(from, to))).toBe(expected);
  });

  it('is for fixed broadband consumers only', () => {
    expect(policyFor([ofcom, operator], who({ service: 'mobile' }))).toBe(operator);
    expect(policyFor([ofcom, operator], who({ tier: 'enterprise' }))).toBe(operator);
    expect(policyFor([ofcom, operator], who())).toBe(ofcom);
  });

  it('explains the amount', () => {
    const d = compensate(ofcom, who(), down('2026-12-18T10:00:00Z', '2026-12-28T12:00:00Z'), facts);
    expect(d.rule).toBe('delayed-repair');
    expect(d.steps.join('\n')).toContain('6 calendar day(s) after 2 working day(s) of grace × 9.76 (delayedRepairPerDay on 2026-12-18) = 58.56');
  });
});

describe('Netherlands: 1/30 of the fee per started 24 h past 12 h', () => {
  it.each([
    [12, 0], [12.01, 150], [24, 150], [30, 300], [48, 300], [48.01, 450],
  ])('%s h with a EUR 45 fee', (h, expected) => {
    expect(owed(nl, hours('2026-03-02T08:00:00Z', h))).toBe(expected);
  });

  it('pays nothing for a degradation, however long', () => {
    expect(owed(nl, [{ kind: 'degraded', since: 0, until: 100 * H }])).toBe(0);
  });
});

describe('Belgium: the higher of the pro-rata fee and EUR 1 at 8 h, +1 at 24 h, +0.50 per further day', () => {
  it.each([
    [30_00, 8, 0], [30_00, 9, 100], [30_00, 25, 200], [30_00, 49, 300],
    [15_00, 9, 100], [15_00, 25, 200], [15_00, 49, 250], [15_00, 73, 300], [15_00, 96, 300],
    [90_00, 9, 300],
  ])('fee %i, %s h', (fee, h, expected) => {
    expect(owed(be, hours('2026-03-02T08:00:00Z', h), who({ feeMinor: fee }))).toBe(expected);
  });
});

describe('Germany TKG §58: from the 3rd day after the report', () => {
  it.each([
    // Mon 2 Nov 10:00 is day 0; Tue, Wed are the two days; Thu and Fri are the 3rd and 4th
    ['fixed on the 2nd day', 4000, '2026-11-02T10:00:00+01:00', '2026-11-04T20:00:00+01:00', 0],
    ['fixed on the 3rd day', 4000, '2026-11-02T10:00:00+01:00', '2026-11-05T09:00:00+01:00', 500],
    ['fixed at midnight ending the 4th day', 4000, '2026-11-02T10:00:00+01:00', '2026-11-07T00:00:00+01:00', 1000],
    ['fixed on the 6th day', 4000, '2026-11-02T10:00:00+01:00', '2026-11-08T12:00:00+01:00', 500 + 500 + 1000 + 1000],
    ['10 % and 20 % of a high fee', 8000, '2026-11-02T10:00:00+01:00', '2026-11-08T12:00:00+01:00', 800 + 800 + 1600 + 1600],
    // across the end of summer time (Sun 25 Oct is 25 h long): still one calendar day
    ['across a daylight saving change', 4000, '2026-10-23T12:00:00+02:00', '2026-10-27T12:00:00+01:00', 1000],
  ])('%s', (_, fee, from, to, expected) => {
    expect(owed(de, down(from, to), who({ feeMinor: fee }))).toBe(expected);
  });
});

describe('operator default', () => {
  const start = '2026-05-04T08:00:00Z';
  it('pays the fee for the time lost twice over, per started hour, at least EUR 1', () => {
    expect(owed(operator, hours(start, 1), who({ feeMinor: 6000 }))).toBe(0);
    expect(owed(operator, hours(start, 1.5), who({ feeMinor: 6000 }))).toBe(100); // 2 h × 16.67c < 1.00
    expect(owed(operator, hours(start, 30), who({ feeMinor: 6000 }))).toBe(500); // 30 h × 6000/360
  });

  it('multiplies by tier and adds the enterprise extra, within one month fee per event', () => {
    expect(owed(operator, hours(start, 30), who({ feeMinor: 6000, tier: 'vip' }))).toBe(1000);
    expect(owed(operator, hours(start, 30), who({ feeMinor: 6000, tier: 'enterprise' }))).toBe(750 + 500);
    expect(owed(operator, hours(start, 720), who({ feeMinor: 6000, tier: 'vip' }))).toBe(6000);
  });

  it('pays the best rule: a long degradation at half rate', () => {
    const spans: ImpactInterval[] = [
      { kind: 'no_service', since: Date.parse(start), until: Date.parse(start) + 0.5 * H },
      { kind: 'degraded', since: Date.parse(start) + 0.5 * H, until: Date.parse(start) + 10 * H },
    ];
    const d = compensate(operator, who({ feeMinor: 7200 }), spans, facts);
    expect(d.rule).toBe('degraded');
    expect(d.amountMinor).toBe(100); // 10 h × 7200/720
  });

  it('chooses the form by profile', () => {
    const c = (usage: string, tier = 'standard') => compensate(operator, who({ feeMinor: 6000, usage, tier }), hours(start, 30), facts);
    expect(c('data')).toMatchObject({ form: 'data_pack', quantity: 5 * 1024, unit: 'MB', amountMinor: 500 });
    expect(c('voice')).toMatchObject({ form: 'free_minutes', quantity: 100 });
    expect(c('prepaid')).toMatchObject({ form: 'service_days', quantity: 3 }); // 5.00 / (60.00/30), rounded up
    expect(c('data', 'enterprise')).toMatchObject({ form: 'bill_credit', quantity: 1250 });
    expect(c('mixed')).toMatchObject({ form: 'bill_credit', quantity: 500 });
  });

  it('excludes planned work announced far enough ahead, and force majeure', () => {
    const spans = hours(start, 30);
    expect(owed(operator, spans, who(), { ...facts, planned: true, plannedNotice: 72 * H })).toBe(0);
    expect(compensate(operator, who(), spans, { ...facts, planned: true, plannedNotice: 72 * H }).reason).toMatch(/planned work announced 72 h ahead/);
    expect(owed(operator, spans, who(), { ...facts, planned: true, plannedNotice: 2 * H })).toBeGreaterThan(0);
    expect(owed(operator, spans, who(), { ...facts, forceMajeure: true })).toBe(0);
    expect(owed(nl, spans, who(), { ...facts, planned: true, plannedNotice: 1000 * H })).toBe(300); // no planned exclusion in the Dutch rule
  });

  it('keeps within the monthly cap what earlier events already credited', () => {
    const d = compensate(operator, who({ feeMinor: 6000 }), hours(start, 30), facts, 5800);
    expect(d.amountMinor).toBe(200);
    expect(d.steps.at(-2)).toContain('capped per month at 60.00 (58.00 credited earlier this month)');
  });
});

describe('thresholds', () => {
  it('lists when a long outage is owed more: eligibility, steps, calendar days', () => {
    const since = Date.parse('2026-11-02T10:00:00+01:00');
    const t = thresholds(de, since, since, since + 6 * 24 * H).map((x) => new Date(x - 1).toISOString());
    expect(t).toEqual(['2026-11-02T09:00:00.000Z', '2026-11-04T23:00:00.000Z', '2026-11-05T23:00:00.000Z', '2026-11-06T23:00:00.000Z', '2026-11-07T23:00:00.000Z']);
    expect(thresholds(nl, since, since, since + 40 * H).map((x) => (x - since - 1) / H)).toEqual([0, 12, 24]);
  });
});

describe('policy files', () => {
  const dir = tempDir('policies');
  mkdirSync(join(dir, 'calendars'));
  const write = (name: string, body: string) => writeFileSync(join(dir, 'policies', `${name}.yaml`), body);
  mkdirSync(join(dir, 'policies'));
  const load = (name: string) => loadPolicies([{ policy: name }], join(dir, 'policies'), join(dir, 'calendars'));

  it('names every problem with the file and the path in it', () => {
    write('bad', `id: bad\nversion: "1"\ntitle: t\ncurrency: euro\ntimezone: Mars/Olympus\nrules:\n  - id: r\n    kinds: [offline]\n    amount: { per: { unit: week, rate: { fixed: 1.5 } } }\n`);
    try {
      load('bad');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      const msg = (err as PolicyError).problems.join('\n');
      expect(msg).toContain('bad.yaml: currency: an ISO 4217 code');
      expect(msg).toContain('bad.yaml: timezone: not a time zone');
      expect(msg).toContain('bad.yaml: rules[0].kinds[0]');
    }
  });

  it('refuses an undefined figure, working days without a calendar, and an unknown policy', () => {
    write('nocal', `id: nocal\nversion: "1"\ntitle: t\ncurrency: GBP\ntimezone: UTC\nrules:\n  - id: r\n    kinds: [no_service]\n    amount: { perCalendarDay: { grace: 2, working: true, rate: { figure: perDay } } }\n`);
    expect(() => load('nocal')).toThrow(/"perDay" is used but not defined[\s\S]*a calendar \(weekend and holidays\) is needed/);
    expect(() => load('nosuch')).toThrow(/no policy "nosuch"/);
  });

  it('narrows a policy to the configured regions', () => {
    const [p] = loadPolicies([{ policy: 'nl-telecommunicatiewet', regions: ['nl-north'] }]);
    expect(policyFor([p], who({ region: 'nl-north' }))).toBe(p);
    expect(policyFor([p], who({ region: 'be' }))).toBeUndefined();
  });
});
