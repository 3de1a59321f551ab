import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import { loadPolicies, SHIPPED_POLICIES } from '../../correlators/compensation/policies.ts';
import { ReportService } from '../../correlators/reports/service.ts';
import { DEFAULT_TARGETS } from '../../correlators/reports/report.ts';
import { reportCsv } from '../../correlators/reports/csv.ts';
import { whatIf } from '../../correlators/reports/whatif.ts';
import { H, NOVEMBER, AS_OF, writeHistory, reportNetwork } from '../helpers/report-history.ts';
import { OutageWriter } from '../helpers/outages.ts';
import { Ledger } from '../../correlators/compensation/ledger.ts';

afterAll(() => stopDatabases());

const [operator] = loadPolicies([{ policy: 'operator-default' }]);
const PERIOD = 720 * H; // November: 30 days
const serviceOver = (store: Store) => new ReportService({
  store: () => store, policies: () => [operator], targets: DEFAULT_TARGETS, policiesDir: SHIPPED_POLICIES, calendarsDir: join(SHIPPED_POLICIES, '../calendars'), chunk: 2, now: () => AS_OF,
});

describe.each(DATABASES)('the service report on %s', (_kind, d) => {
  it('gives every figure of a scripted month, each traced to the ids it counts', async () => {
    const store = new Store(await d.open());
    try {
      await writeHistory(store, [operator]);
      const r = await serviceOver(store).report(NOVEMBER.from, NOVEMBER.to);

      // Availability: unplanned down hours per element: O1 3 × 30 (BS-1 and its cells), O2 7 × 60 (AGG-2, BS-3, BS-4, four cells),
      // O4 2 (BS-4-C2, the November part of it); planned work O3: 3 × 4 h, shown apart.
      const a = r.availability;
      expect(a.network).toMatchObject({ elements: 15, downtimeMs: 512 * H, plannedMs: 12 * H, meetsTarget: false });
      expect(a.network.availability).toBeCloseTo(1 - 512 / (15 * 720), 12);
      expect(a.network.availabilityWithPlanned).toBeCloseTo(1 - 524 / (15 * 720), 12);
      expect(a.network.trace.outages).toEqual(['O1', 'O2', 'O3', 'O4']);
      const line = (ls: typeof a.byRegion, k: string) => ls.find((l) => l.key === k)!;
      expect(line(a.byRegion, 'north')).toMatchObject({ elements: 8, downtimeMs: 90 * H, plannedMs: 12 * H });
      expect(line(a.byRegion, 'north').availability).toBeCloseTo(1 - 90 / (8 * 720), 12);
      expect(line(a.byRegion, 'south')).toMatchObject({ elements: 7, downtimeMs: 422 * H, plannedMs: 0 });
      expect(line(a.byKind, 'cell')).toMatchObject({ elements: 8, downtimeMs: (60 + 180 + 62) * H, plannedMs: 8 * H });
      expect(line(a.bySite, 's4')).toMatchObject({ elements: 3, downtimeMs: 182 * H, trace: { outages: ['O2', 'O4'] } });
      expect(line(a.bySite, 's4').availability).toBeCloseTo(1 - 182 / (3 * 720), 12);
      // Planned work alone does not miss the target: s2 is at 100 % without it.
      expect(line(a.bySite, 's2')).toMatchObject({ availability: 1, plannedMs: 12 * H, meetsTarget: true, trace: { outages: ['O3'] } });
      expect(line(a.bySite, 'dc')).toMatchObject({ availability: 1, downtimeMs: 0, meetsTarget: true });
      expect(PERIOD).toBe(NOVEMBER.to - NOVEMBER.from);

      // Outages that started in November: O1 (30 h) and O2 (60 h) unplanned, O3 planned; O4 began in October.
      expect(r.outages.total).toMatchObject({ outages: 2, planned: 1, recovered: 2, open: 0, mttrMs: 45 * H, withinTarget: 1, missedTarget: 1, withinTargetShare: 0.5, trace: { outages: ['O1', 'O2', 'O3'] } });
      expect(r.outages.byRegion).toMatchObject([
        { key: 'north', outages: 1, planned: 1, mttrMs: 30 * H, withinTarget: 1, missedTarget: 0, withinTargetShare: 1 },
        { key: 'south', outages: 1, planned: 0, mttrMs: 60 * H, withinTarget: 0, missedTarget: 1, withinTargetShare: 0 },
      ]);
      expect(r.outages.byKind.map((l) => [l.key, l.outages, l.planned])).toEqual([['aggregation', 1, 0], ['base_station', 1, 1]]);
      expect(r.outages.worst.map((w) => [w.id, w.durationMs, w.withinTarget])).toEqual([['O2', 60 * H, false], ['O1', 30 * H, true]]);

      // Subscriber minutes, unplanned: O1 A1, A2 no service and A3, B3 degraded, 30 h each; O2 B1, B2 no service, B3 degraded,
      // 60 h each; O4 B2 no service, 2 h in November. Planned work apart: O3 A3 degraded, C1 no service, 4 h each.
      expect(r.subscriberMinutes.total).toMatchObject({ subscribers: 8, noServiceMinutes: 2 * 1800 + 2 * 3600 + 120, degradedMinutes: 2 * 1800 + 3600 });
      expect(r.subscriberMinutes.byTier.map((l) => [l.key, l.subscribers, l.noServiceMinutes, l.degradedMinutes])).toEqual([
        ['enterprise', 2, 3600 + 120, 0], ['gold', 1, 1800, 0], ['standard', 2, 1800 + 3600, 0], ['vip', 3, 0, 1800 + 1800 + 3600],
      ]);
      expect(r.subscriberMinutes.byService.map((l) => [l.key, l.subscribers, l.noServiceMinutes, l.degradedMinutes])).toEqual([
        ['broadband', 1, 3600, 0], ['enterprise_line', 2, 3720, 0], ['mobile', 5, 3600, 7200],
      ]);
      expect(r.subscriberMinutes.byTier.find((l) => l.key === 'enterprise')!.trace.outages).toEqual(['O2', 'O4']);
      expect(r.subscriberMinutes.planned).toMatchObject({ subscribers: 2, noServiceMinutes: 240, degradedMinutes: 240, trace: { outages: ['O3'] } });

      // Complaints K1..K5 (K6 is October's). Due: answered, or the deadline passed by 1 December 06:00 (K4's has not).
      expect(r.complaints.total).toMatchObject({
        complaints: 5, matched: 2, answered: 3, answeredInTime: 2, responseDue: 4, answeredInTimeShare: 0.5,
        resolved: 3, resolvedInTime: 2, resolutionDue: 4, resolvedInTimeShare: 0.5, satisfactionAnswers: 3, satisfied: 2,
        trace: { complaints: ['K1', 'K2', 'K3', 'K4', 'K5'], outages: ['O1', 'O2'] },
      });
      expect(r.complaints.total.satisfiedShare).toBeCloseTo(2 / 3, 12);
      expect(r.complaints.byGrade).toMatchObject([
        { key: 'general', complaints: 2, answeredInTime: 1, responseDue: 1, resolvedInTime: 1, resolutionDue: 1, satisfied: 1, satisfactionAnswers: 1, trace: { complaints: ['K3', 'K4'] } },
        { key: 'major', complaints: 1, answeredInTimeShare: 0, resolvedInTimeShare: 1, satisfiedShare: 1 },
        { key: 'urgent', complaints: 2, matched: 1, answeredInTime: 1, responseDue: 2, resolvedInTime: 0, resolutionDue: 2, satisfiedShare: 0, trace: { complaints: ['K1', 'K5'] } },
      ]);
      expect(r.complaints.byCategory.map((l) => [l.key, l.complaints])).toEqual([['billing', 1], ['no_service', 3], ['slow_data', 1]]);

      // Suspicions raised in November: S1 (confirmed by O1), S2 (dismissed), S4 (open); S3 is October's.
      expect(r.suspectedOutages).toMatchObject({ raised: 3, confirmed: 1, dismissed: 1, expired: 0, merged: 0, open: 1, trace: { suspected: ['S1', 'S2', 'S4'] }, confirmedTrace: { suspected: ['S1'], outages: ['O1'] } });

      // Compensation under operator-default (EUR, minor units), by hand:
      // O1, 30 h: A1 standard, fee 30, no service: 30 × 30/360 = 2.50 (data: 2560 MB); A2 gold, fee 45: 30 × 45/360 × 1.25 = 4.6875 -> 4.69 (voice: 94 min);
      //          A3 vip, fee 60, degraded: 30 × 60/720 × 2 = 5.00; B3 vip, fee 72, degraded: 30 × 72/720 × 2 = 6.00
      // O2, 60 h: B1 standard, fee 36: 60 × 36/360 = 6.00; B2 enterprise, fee 90: 60 × 90/360 × 1.5 + 5 = 27.50; B3 degraded: 60 × 72/720 × 2 = 12.00
      // O3: planned work announced 72 h ahead: nothing.
      const lines = r.compensation.lines.map((l) => [l.policy, l.form, l.tier, l.subscribers, l.amountMinor, l.quantity]);
      expect(lines).toEqual([
        ['operator-default@2026-01', 'bill_credit', 'enterprise', 1, 2750, 2750],
        ['operator-default@2026-01', 'bill_credit', 'standard', 1, 600, 600],
        ['operator-default@2026-01', 'bill_credit', 'vip', 3, 500 + 600 + 1200, 500 + 600 + 1200],
        ['operator-default@2026-01', 'data_pack', 'standard', 1, 250, 2560],
        ['operator-default@2026-01', 'free_minutes', 'gold', 1, 469, 94],
      ]);
      expect(r.compensation.lines.find((l) => l.tier === 'vip')!.trace).toMatchObject({ outages: ['O1', 'O2'], credits: ['/v1/credits?outage=O1', '/v1/credits?outage=O2'] });
      // Seven subscribers hit by November's outages (O4's B2 again by O2); 63.69 / 7 = 9.0986 -> 9.10 each.
      expect(r.compensation.byCurrency).toMatchObject([{ currency: 'EUR', amountMinor: 6369, creditedSubscribers: 7, affectedSubscribers: 7, costPerAffectedMinor: 910 }]);

      // The CSV has a row per figure, with the ids.
      const csv = reportCsv(r).split('\r\n');
      expect(csv[0]).toBe('section,by,key,figure,value,outages,complaints,suspected');
      expect(csv).toContain('outages,all,all,mttr_hours,45,O1 O2 O3,,');
      expect(csv).toContain('compensation,currency,EUR,cost_per_affected_minor,910,O1 O2,,');
    } finally {
      await store.close();
    }
  });

  it('what-if: under the policy in force it gives exactly what the ledger issued; under the Dutch rule, the worked examples', async () => {
    const store = new Store(await d.open());
    try {
      await writeHistory(store, [operator]);
      const service = serviceOver(store);
      const same = await service.whatIf(NOVEMBER.from, NOVEMBER.to, [operator]);
      // O1: 4 subscribers, O2: 3, O3: 2 (excluded: planned, announced): 9 subscriber-outages, 7 credited.
      expect(same).toMatchObject({ outages: 3, subscribers: 9, noPolicy: 0, difference: { more: 0, less: 0, same: 9, byCurrency: [{ currency: 'EUR', amountMinor: 0, eligible: 0 }] } });
      expect(same.whatIf).toEqual(same.issued);
      expect(same.issued.byCurrency).toEqual([{ currency: 'EUR', amountMinor: 6369, eligible: 7 }]);
      expect(same.issued.byTier.find((t) => t.tier === 'vip')).toEqual({ tier: 'vip', subscribers: 4, eligible: 3, amountMinor: { EUR: 2300 }, buckets: [0, 0, 1, 1, 1, 0, 0, 0] });
      // The draft posted as text: the shipped file's own YAML is the policy in force.
      const draft = service.policiesOf({ draft: (await import('node:fs')).readFileSync(join(SHIPPED_POLICIES, 'operator-default.yaml'), 'utf8') });
      expect((await service.whatIf(NOVEMBER.from, NOVEMBER.to, draft)).whatIf).toEqual(same.issued);

      // nl-telecommunicatiewet: no service over 12 h, 1/30 of the fee per started 24 h; consumers only (B2 is enterprise: no policy);
      // planned work is paid like any outage but O3 lasted 4 h; degradations pay nothing.
      // A2, gold, fee 45, 30 h: 300 (the Dutch policy's worked example "30 h with a EUR 45 fee"); A1, fee 30, 30 h: 2 × 1.00; B1, fee 36, 60 h: 3 × 1.20.
      const nl = await service.whatIf(NOVEMBER.from, NOVEMBER.to, service.policiesOf({ policy: 'nl-telecommunicatiewet' }));
      expect(nl).toMatchObject({ policies: ['nl-telecommunicatiewet@2024-01'], subscribers: 9, noPolicy: 1 });
      expect(nl.whatIf.byCurrency).toEqual([{ currency: 'EUR', amountMinor: 300 + 200 + 360, eligible: 3 }]);
      expect(nl.whatIf.byTier.find((t) => t.tier === 'gold')).toMatchObject({ eligible: 1, amountMinor: { EUR: 300 } });
      expect(nl.whatIf.byTier.find((t) => t.tier === 'standard')).toMatchObject({ subscribers: 3, eligible: 2, amountMinor: { EUR: 560 } });
      expect(nl.difference).toMatchObject({ byCurrency: [{ currency: 'EUR', amountMinor: 860 - 6369, eligible: 3 - 7 }], more: 0, less: 7, same: 2 });
      expect(nl.issued).toEqual(same.issued);
      expect(nl.largestChanges[0]).toEqual({ outageId: 'O2', issuedMinor: 4550, whatIfMinor: 360 });

      // Bounded work: a chunk of subscribers at a time (2 here), the event loop given back between chunks.
      let pauses = 0;
      const paced = await whatIf(store, NOVEMBER.from, NOVEMBER.to, [operator], { chunk: 2, asOf: AS_OF, pause: async () => { pauses++; } });
      expect(paced.whatIf).toEqual(same.issued);
      expect(pauses).toBe(2 + 2 + 1); // O1: 4 subscribers, O2: 3, O3: 2

      // Nothing was written.
      const [{ n }] = await store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM credits');
      expect(Number(n)).toBe(8); // O4: B2; O1: 4; O2: 3
    } finally {
      await store.close();
    }
  });
  it("what-if under Ofcom's scheme: the delayed-repair worked example (a fault from Friday 18 December repaired on the 28th: 6 days × GBP 9.76)", async () => {
    const store = new Store(await d.open());
    try {
      await writeHistory(store, [operator]);
      const w = new OutageWriter(store, reportNetwork());
      const from = Date.parse('2026-12-18T10:00:00Z');
      const o = await w.lasting('D1', 'BS-3', from, (Date.parse('2026-12-28T12:00:00Z') - from) / H);
      await new Ledger({ policies: () => [operator] }).settle(store, 'D1', o.closedAt!, 'final');
      const service = serviceOver(store);
      const r = await service.whatIf(Date.parse('2026-12-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z'), service.policiesOf({ policy: 'ofcom-uk' }));
      // B1 (standard broadband, without service) is Ofcom's; B3 is mobile and only degraded: no policy is meant for it.
      expect(r).toMatchObject({ outages: 1, subscribers: 2, noPolicy: 1 });
      expect(r.whatIf.byCurrency).toEqual([{ currency: 'GBP', amountMinor: 6 * 976, eligible: 1 }]);
      expect(r.whatIf.byTier.find((t) => t.tier === 'standard')).toMatchObject({ eligible: 1, amountMinor: { GBP: 5856 }, buckets: [0, 0, 0, 0, 0, 0, 1, 0] });
    } finally {
      await store.close();
    }
  });
});
