import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { smallNetwork, subscribersOf, loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { Store } from '../../src/store/store.ts';
import { ComplaintService, type SuspectedOutage } from '../../correlators/complaints/service.ts';
import { suspicionAlertOf } from '../../correlators/alerts/alert.ts';
import type { Category } from '../../correlators/complaints/complaint.ts';

afterAll(() => stopDatabases());

const MIN = 60_000;
const H = 60 * MIN;

/**
 * A complaint matched to a degradation is matched again when the subscriber then loses service:
 * the same outage worsening, or an outage above it; suspicions roll up (issue 17, item 6).
 */
describe.each(DATABASES.map(([kind, d]) => [kind, d.open] as const))('complaints when the impact worsens and bursts spread, on %s', (_kind, open) => {
  it('moves the match to the loss of service, with its grade and deadlines; one reported far before it stays', async () => {
    const topology = smallNetwork();
    const store = new Store(await open());
    try {
      await loadNetwork(store, topology, subscribersOf(5));
      const out = new OutageWriter(store, topology);
      const complaints = new ComplaintService({ health: () => undefined, topology: () => topology });
      const t = Date.UTC(2026, 10, 2, 8);
      const event = async (type: 'opened' | 'updated', o: Parameters<OutageWriter['event']>[1], at: number) => complaints.onOutageEvent(store, await out.event(type, o, at));
      const complain = async (id: string, subscriberId: string, category: Category, reportedAt: number) =>
        (await complaints.submit(store, { id, subscriberId, channel: 'app', category, reportedAt }, reportedAt + MIN)).complaint;

      // 1. The same outage worsens: a cell degraded (poor signal), then down. S1-00003 is a VIP on that cell alone.
      const cell = out.outage('BS-1-C2@t', 'BS-1-C2', t, { severity: 'degradation', impacted: [] });
      await event('opened', cell, t);
      const vip = await complain('UP-1', 'S1-00003', 'no_service', t + MIN);
      expect([vip.match?.kind, vip.grade]).toEqual(['degraded', 'major']);
      await event('updated', { ...cell, severity: 'outage' }, t + 5 * MIN);
      const vipAfter = (await complaints.get(store, 'UP-1'))!;
      expect(vipAfter.match).toMatchObject({ outageId: 'BS-1-C2@t', kind: 'no_service' });
      expect(vipAfter.grade).toBe('urgent'); // a VIP without service
      expect(vipAfter.respondBy).toBe(t + MIN + 4 * H);
      expect(vipAfter.reasons.at(-1)).toBe('upgraded from a degradation (outage BS-1-C2@t): the subscriber lost service');

      // 2. An outage above: BS-1 down leaves S1-00004 (also on BS-2-C1) degraded; AGG-1 down takes its service.
      const bs = out.outage('BS-1@t', 'BS-1', t + 10 * MIN);
      await event('opened', bs, t + 10 * MIN);
      const drop = await complain('UP-2', 'S1-00004', 'call_drop', t + 12 * MIN);
      expect(drop.match).toMatchObject({ outageId: 'BS-1@t', kind: 'degraded' });
      await event('opened', out.outage('AGG-1@t', 'AGG-1', t + 14 * MIN), t + 14 * MIN);
      expect((await complaints.get(store, 'UP-2'))!.match).toMatchObject({ outageId: 'AGG-1@t', kind: 'no_service' });

      // 3. Reported long before the loss of service (outside the 30 min before it): it stays with the degradation.
      const far = out.outage('BS-2-C2@t', 'BS-2-C2', t, { severity: 'degradation', impacted: [] });
      await event('opened', far, t);
      const early = await complain('UP-3', 'S2-00003', 'no_service', t + MIN);
      await event('updated', { ...far, severity: 'outage' }, t + 3 * H);
      expect((await complaints.get(store, 'UP-3'))!.match).toEqual(early.match);
    } finally {
      await store.close();
    }
  });

  it('rolls a suspicion under one base station into one at the switch when the next station bursts too, stored as merged', async () => {
    const topology = smallNetwork();
    const store = new Store(await open());
    try {
      await loadNetwork(store, topology, subscribersOf(10));
      const complaints = new ComplaintService({ health: () => undefined, topology: () => topology });
      const raised: SuspectedOutage[] = [];
      complaints.onSuspicion((s) => raised.push(s));
      const t = Date.UTC(2026, 10, 2, 8);
      let n = 0;
      // Subscribers on one station only (every fifth is also on the next station: left out).
      for (const station of [1, 2]) {
        for (const i of [0, 1, 2, 3, 5, 6]) {
          await complaints.submit(store, { id: `SW-${++n}`, subscriberId: `S${station}-0000${i}`, channel: 'hotline', category: 'no_service', reportedAt: t + n * 30_000 }, t + n * 30_000);
        }
      }
      expect(raised.map((s) => [s.element, s.replaces?.map((r) => r.element) ?? []])).toEqual([['BS-1', []], ['AGG-1', ['BS-1']]]);
      const stored = await complaints.suspected(store);
      expect(stored.map((s) => [s.element, s.state, s.mergedInto ?? null]).sort()).toEqual([['AGG-1', 'suspected', null], ['BS-1', 'merged', raised[1].id]]);
      const alert = suspicionAlertOf(raised[1], topology, complaints.windowMinutes);
      expect(alert.correlatedAlarm.map((c) => c.id)).toEqual([raised[0].id]);
      expect(alert.alarmDetails).toMatch(/; it takes in 1 earlier suspicion below it \(BS-1\)$/);
    } finally {
      await store.close();
    }
  });
});
