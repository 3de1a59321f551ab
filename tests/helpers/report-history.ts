import { Topology, type Element } from '../../src/topology/topology.ts';
import type { Store } from '../../src/store/store.ts';
import { loadNetwork, OutageWriter, type TestSubscriber } from './outages.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';
import { ComplaintRepository, type StoredComplaint } from '../../correlators/complaints/repository.ts';
import { Ledger } from '../../correlators/compensation/ledger.ts';
import type { Policy } from '../../correlators/compensation/policy.ts';

export const H = 3_600_000;
const at = (s: string) => Date.parse(s);

/** November 2026, UTC; the report is read on 1 December at 06:00. */
export const NOVEMBER = { from: at('2026-11-01T00:00:00Z'), to: at('2026-12-01T00:00:00Z') };
export const AS_OF = at('2026-12-01T06:00:00Z');

/**
 * CORE (site dc) above AGG-1 (agg1, north: BS-1, BS-2) and AGG-2 (agg2, south: BS-3, BS-4); each
 * base station (site s1..s4) with cells C1 and C2 on its site: 15 elements, 8 north, 7 south.
 */
export function reportNetwork(): Topology {
  const els: Element[] = [{ id: 'CORE', kind: 'core', parents: [], site: 'dc', region: 'north' }];
  for (const a of [1, 2]) els.push({ id: `AGG-${a}`, kind: 'aggregation', parents: ['CORE'], site: `agg${a}`, region: a === 1 ? 'north' : 'south' });
  for (let b = 1; b <= 4; b++) {
    const region = b <= 2 ? 'north' : 'south';
    els.push({ id: `BS-${b}`, kind: 'base_station', parents: [`AGG-${b <= 2 ? 1 : 2}`], site: `s${b}`, region });
    for (const c of [1, 2]) els.push({ id: `BS-${b}-C${c}`, kind: 'cell', parents: [`BS-${b}`], site: `s${b}`, region });
  }
  return Topology.build(els).topology!;
}

/** Seven subscribers, each there for a reason the test states (fees in EUR). */
export const SUBSCRIBERS: TestSubscriber[] = [
  { id: 'A1', tier: 'standard', service: 'mobile', serving: ['BS-1-C1'], fee: 30, usage: 'data' },
  { id: 'A2', tier: 'gold', service: 'mobile', serving: ['BS-1-C2'], fee: 45, usage: 'voice' },
  { id: 'A3', tier: 'vip', service: 'mobile', serving: ['BS-1-C1', 'BS-2-C1'], fee: 60 },
  { id: 'B1', tier: 'standard', service: 'broadband', serving: ['BS-3-C1'], fee: 36 },
  { id: 'B2', tier: 'enterprise', service: 'enterprise_line', serving: ['BS-4-C2'], fee: 90 },
  { id: 'B3', tier: 'vip', service: 'mobile', serving: ['BS-3-C2', 'BS-1-C1'], fee: 72 },
  { id: 'C1', tier: 'standard', service: 'mobile', serving: ['BS-2-C2'], fee: 24 },
];

/**
 * The scripted month, written the way the daemon writes it (outage events and their subscriber
 * impacts, complaints with their handling, suspicions, settlements under `policies`):
 * - O4: BS-4-C2, 31 Oct 22:00 for 4 h (2 h of it in November; B2 without service);
 * - O1: BS-1, 2 Nov 08:00 for 30 h (A1, A2 without service; A3, B3 degraded);
 * - O2: AGG-2, 10 Nov 00:00 for 60 h, past the 48 h target (B1, B2 without service; B3 degraded);
 * - O3: BS-2, planned, 20 Nov 02:00 for 4 h, announced three days ahead (A3 degraded, C1 without service);
 * - complaints K1..K5 in November (K6 in October), suspicions S1..S4 (S3 in October).
 */
export async function writeHistory(store: Store, policies: readonly Policy[]): Promise<void> {
  const topology = reportNetwork();
  await loadNetwork(store, topology, SUBSCRIBERS);
  const w = new OutageWriter(store, topology);
  await outagesOf(store).saveMaintenance({ id: 'CHG-1', elements: ['BS-2'], sites: [], start: at('2026-11-20T01:00:00Z'), end: at('2026-11-20T08:00:00Z'), reason: 'swap' }, 'planner', at('2026-11-17T01:00:00Z'));
  const ledger = new Ledger({ policies: () => policies, chunk: 3 });
  const o4 = await w.lasting('O4', 'BS-4-C2', at('2026-10-31T22:00:00Z'), 4);
  await ledger.settle(store, 'O4', o4.closedAt!, 'final');
  const s1 = { element: 'BS-1', complaints: [], subscribers: 5, probability: 1e-6 };
  const complaints = new ComplaintRepository(store.db);
  await complaints.raiseSuspicion('S1', { ...s1, since: at('2026-11-02T07:50:00Z'), at: at('2026-11-02T07:55:00Z') }, at('2026-11-02T07:55:00Z'));
  const o1 = await w.lasting('O1', 'BS-1', at('2026-11-02T08:00:00Z'), 30);
  await complaints.confirmSuspicion('BS-1', 'O1', at('2026-11-02T08:00:00Z'));
  await ledger.settle(store, 'O1', o1.closedAt!, 'final');
  const o2 = await w.lasting('O2', 'AGG-2', at('2026-11-10T00:00:00Z'), 60);
  await ledger.settle(store, 'O2', o2.closedAt!, 'final');
  const o3 = await w.lasting('O3', 'BS-2', at('2026-11-20T02:00:00Z'), 4, { planned: true });
  await ledger.settle(store, 'O3', o3.closedAt!, 'final');
  await complaints.raiseSuspicion('S2', { ...s1, element: 'BS-3-C1', since: at('2026-11-25T10:00:00Z'), at: at('2026-11-25T10:05:00Z') }, at('2026-11-25T10:05:00Z'));
  await complaints.dismissSuspicion('S2', at('2026-11-25T11:00:00Z'));
  await complaints.raiseSuspicion('S3', { ...s1, element: 'BS-4', since: at('2026-10-20T10:00:00Z'), at: at('2026-10-20T10:05:00Z') }, at('2026-10-20T10:05:00Z'));
  await complaints.raiseSuspicion('S4', { ...s1, element: 'BS-2-C2', since: at('2026-11-28T10:00:00Z'), at: at('2026-11-28T10:05:00Z') }, at('2026-11-28T10:05:00Z'));

  const complaint = (id: string, subscriberId: string, grade: StoredComplaint['grade'], category: StoredComplaint['category'], reported: string, respondH: number, resolveH: number,
    handling: { response?: number; resolved?: number; satisfied?: boolean; outage?: string } = {}): StoredComplaint => {
    const reportedAt = at(reported);
    return {
      id, subscriberId, channel: 'hotline', category, reportedAt, receivedAt: reportedAt, previous30d: 0, escalations: 0, grade, gradeReasons: [],
      respondBy: reportedAt + respondH * H, resolveBy: reportedAt + resolveH * H, status: handling.resolved !== undefined ? 'resolved' : handling.outage ? 'matched' : 'accepted', reasons: [],
      ...(handling.outage && { match: { outageId: handling.outage, kind: 'no_service' as const, confidence: 0.97 }, matchedAt: reportedAt }),
      ...(handling.response !== undefined && { firstResponseAt: reportedAt + handling.response * H }),
      ...(handling.resolved !== undefined && { resolvedAt: reportedAt + handling.resolved * H, resolution: 'fixed' }),
      ...(handling.satisfied !== undefined && { satisfied: handling.satisfied }),
    };
  };
  const all = [
    // urgent: answered in time (2 h of 4), resolved late (31 h of 24), not satisfied
    complaint('K1', 'A1', 'urgent', 'no_service', '2026-11-02T09:00:00Z', 4, 24, { response: 2, resolved: 30, satisfied: false, outage: 'O1' }),
    // major: answered late (30 h of 24), resolved in time (50 h of 72), satisfied
    complaint('K2', 'B3', 'major', 'slow_data', '2026-11-10T05:00:00Z', 24, 72, { response: 30, resolved: 50, satisfied: true, outage: 'O2' }),
    // general billing: in time both, satisfied
    complaint('K3', 'C1', 'general', 'billing', '2026-11-15T10:00:00Z', 48, 72, { response: 1, resolved: 5, satisfied: true }),
    // general, not answered yet, its deadlines still ahead on 1 December: not due
    complaint('K4', 'A2', 'general', 'no_service', '2026-11-30T20:00:00Z', 48, 72),
    // urgent, never answered: both deadlines passed, both missed
    complaint('K5', 'B1', 'urgent', 'no_service', '2026-11-28T00:00:00Z', 4, 24),
    // October: not in the report
    complaint('K6', 'B1', 'general', 'other', '2026-10-28T00:00:00Z', 48, 72, { response: 1 }),
  ];
  for (const c of all) {
    await complaints.add(c, c.reportedAt);
    await complaints.saveHandling(c, c.reportedAt);
  }
}
