import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { smallNetwork, subscribersOf, loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { Store } from '../../src/store/store.ts';
import { Ledger, creditIds } from '../../correlators/compensation/ledger.ts';
import { CreditBook } from '../../correlators/compensation/credits.ts';
import { loadPolicies } from '../../correlators/compensation/policies.ts';
import { compensate } from '../../correlators/compensation/compute.ts';
import { CompensationService } from '../../correlators/compensation/service.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

afterAll(() => stopDatabases());

const H = 3_600_000;
const T0 = Date.parse('2026-05-04T08:00:00Z');
const topology = smallNetwork();
const subs = subscribersOf(40); // 160 subscribers, 40 behind each base station
const [operator] = loadPolicies([{ policy: 'operator-default' }]);

interface Row { id: string; subscriber_id: string; revision: number; kind: string; amount_minor: number; quantity: number; form: string; state: string; steps: string; corrects: string | null }
const ledgerRows = async (store: Store, outage?: string) => (await store.db.query<Row>(
  `SELECT id, subscriber_id, revision, kind, amount_minor, quantity, form, state, steps, corrects FROM credits ${outage ? 'WHERE outage_id = $1' : ''} ORDER BY subscriber_id, revision`, outage ? [outage] : []))
  .map((r) => ({ ...r, revision: Number(r.revision), amount_minor: Number(r.amount_minor), quantity: Number(r.quantity) }));
/** What each subscriber holds for the event: the sum of entries not reversed. */
const held = (rows: Row[]) => {
  const m = new Map<string, number>();
  for (const r of rows) if (r.state !== 'reversed') m.set(r.subscriber_id, (m.get(r.subscriber_id) ?? 0) + r.amount_minor);
  return m;
};

describe.each(DATABASES)('the compensation ledger on %s', (_kind, d) => {
  it('pays each subscriber once, and only the difference when the outage reopens, is recomputed or turns out force majeure', async () => {
    const store = new Store(await d.open());
    try {
      await loadNetwork(store, topology, subs);
      const w = new OutageWriter(store, topology);
      const ledger = new Ledger({ policies: () => [operator], chunk: 17 });
      // BS-1 is out for 30 hours: its 40 subscribers lose service, or (the 8 also on BS-2) are degraded.
      const o = await w.lasting('O1', 'BS-1', T0, 30);
      const r1 = await ledger.settle(store, 'O1', o.closedAt!, 'final');
      const rows1 = await ledgerRows(store, 'O1');
      // Redundancy: the eight dual-served are only degraded, and degraded 30 h pays under the degraded rule.
      expect(r1).toMatchObject({ subscribers: 40 + 8, eligible: 48, entries: 48, reversed: 0 });
      expect(rows1.every((r) => r.kind === 'credit' && r.revision === 0 && r.state === 'computed')).toBe(true);
      expect(new Set(rows1.map((r) => r.subscriber_id)).size).toBe(48);
      // The amounts are the policy's, subscriber by subscriber (checked against the pure rule).
      for (const r of rows1) {
        const s = subs.find((x) => x.id === r.subscriber_id)!;
        const kind = s.serving.some((c) => c.startsWith('BS-1-')) && s.serving.length === 1 ? 'no_service' : 'degraded';
        const want = compensate(operator, { subscriberId: s.id, tier: s.tier, service: s.service, feeMinor: s.fee * 100, usage: s.usage }, [{ kind, since: T0, until: T0 + 30 * H }], { outageId: 'O1', planned: false, forceMajeure: false });
        expect(r.amount_minor, s.id).toBe(want.amountMinor);
        expect(r.form, s.id).toBe(want.form);
      }
      const standard = rows1.find((r) => r.subscriber_id === 'S1-00000')!; // standard, EUR 30, data user, no service 30 h: 30 × 30.00/360
      expect(standard).toMatchObject({ amount_minor: 250, form: 'data_pack', quantity: 2560 });
      expect(JSON.parse(standard.steps).join('\n')).toContain('30 started hour(s) × 0.2778% of fee 30.00 = 2.50');

      // Again, and the same close event recorded twice: nothing new.
      expect((await ledger.settle(store, 'O1', o.closedAt! + 1000, 'final')).entries).toBe(0);
      await w.event('closed', o, o.closedAt!);
      expect((await ledger.settle(store, 'O1', o.closedAt! + 2000, 'final')).entries).toBe(0);
      expect(await ledgerRows(store, 'O1')).toEqual(rows1);

      // Some credits reach the job before the outage reopens.
      const book = new CreditBook(() => store.db);
      const early = rows1.slice(0, 10).map((r) => r.id);
      expect(await book.markDelivered(early, o.closedAt! + 3000)).toBe(10);
      // It reopens 2 h later for 10 h more: the next settlement pays the difference, as corrections.
      const back = T0 + 32 * H;
      const reopened = { ...o, state: 'open' as const, clearedAt: undefined, closedAt: undefined, reopened: 1 };
      await w.event('reopened', reopened, back);
      await w.event('cleared', { ...reopened, state: 'cleared', clearedAt: back + 10 * H }, back + 10 * H);
      const closed2 = { ...reopened, state: 'closed' as const, clearedAt: back + 10 * H, closedAt: back + 10 * H + 120_000 };
      await w.event('closed', closed2, closed2.closedAt);
      const r2 = await ledger.settle(store, 'O1', closed2.closedAt, 'final');
      const rows2 = await ledgerRows(store, 'O1');
      const corrections = rows2.filter((r) => r.revision === 1);
      expect(r2.entries).toBe(corrections.length);
      expect(corrections.length).toBeGreaterThan(30);
      expect(corrections.every((r) => r.kind === 'correction' && r.amount_minor > 0 && r.corrects === creditIds('O1')(r.subscriber_id, 0))).toBe(true);
      // What each now holds is exactly the policy's amount for both spans together: never a second full payment.
      for (const [id, total] of held(rows2)) {
        const s = subs.find((x) => x.id === id)!;
        const kind = s.serving.length === 1 ? 'no_service' : 'degraded';
        const spans = [{ kind, since: T0, until: T0 + 30 * H }, { kind, since: back, until: back + 10 * H }] as const;
        expect(total, id).toBe(compensate(operator, { subscriberId: id, tier: s.tier, service: s.service, feeMinor: s.fee * 100, usage: s.usage }, [...spans], { outageId: 'O1', planned: false, forceMajeure: false }).amountMinor);
      }
      expect(JSON.parse(corrections[0].steps).at(-1)).toMatch(/^already recorded for this outage: \d+\.\d\d; this entry is the difference, \d+\.\d\d$/);

      const idOf = creditIds('O1');
      // Force majeure after the fact: a subscriber none of whose entries was handed over has them
      // withdrawn; one whose first credit was delivered is debited for all of it, by a correction
      // that names that credit (their undelivered correction stays: the job may see it too).
      await outagesOf(store).setForceMajeure('O1', { by: 'noc', at: closed2.closedAt + 1, reason: 'flood' });
      const r3 = await ledger.settle(store, 'O1', closed2.closedAt + 5000, 'final');
      const rows3 = await ledgerRows(store, 'O1');
      const handed = new Set(rows1.slice(0, 10).map((r) => r.subscriber_id));
      expect(r3.reversed).toBe(rows2.filter((r) => r.state === 'computed' && !handed.has(r.subscriber_id)).length);
      expect([...held(rows3).values()].every((v) => v === 0)).toBe(true);
      const debits = rows3.filter((r) => r.amount_minor < 0);
      expect(debits.map((r) => r.subscriber_id).sort()).toEqual([...handed].sort()); // each debited once
      expect(debits.every((r) => r.kind === 'correction' && r.corrects === idOf(r.subscriber_id, 0))).toBe(true);
      expect(rows3.filter((r) => r.state === 'reversed').every((r) => !handed.has(r.subscriber_id))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('settles a merged outage once, with the outage it merged into, over the whole impact', async () => {
    const store = new Store(await d.open());
    try {
      await loadNetwork(store, topology, subs);
      const w = new OutageWriter(store, topology);
      const ledger = new Ledger({ policies: () => [operator] });
      // BS-3 fails first; an hour later AGG-2 above it: BS-3's outage merges into AGG-2's.
      const bs3 = w.outage('O-BS3', 'BS-3', T0);
      await w.event('opened', bs3, T0);
      const agg = w.outage('O-AGG2', 'AGG-2', T0 + H);
      await w.event('opened', agg, T0 + H);
      await w.event('closed', { ...bs3, state: 'closed', closedAt: T0 + H, mergedInto: 'O-AGG2' }, T0 + H);
      expect((await ledger.settle(store, 'O-BS3', T0 + H, 'final')).skipped).toBe('merged into O-AGG2: settled with it');
      const end = T0 + 5 * H;
      await w.event('cleared', { ...agg, state: 'cleared', clearedAt: end }, end);
      await w.event('closed', { ...agg, state: 'closed', clearedAt: end, closedAt: end + 120_000 }, end + 120_000);
      const r = await ledger.settle(store, 'O-AGG2', end + 120_000, 'final');
      expect(r.members).toEqual(['O-AGG2', 'O-BS3']);
      const rows = await ledgerRows(store);
      expect(rows.every((x) => x.revision === 0)).toBe(true);
      // A BS-3 subscriber without service: 5 h in all (1 under BS-3's outage, 4 under AGG-2's), one credit.
      const s = subs.find((x) => x.id.startsWith('S3-') && x.serving.length === 1 && x.tier === 'standard' && x.fee === 30)!;
      const mine = rows.filter((x) => x.subscriber_id === s.id);
      expect(mine).toHaveLength(1);
      expect(mine[0].amount_minor).toBe(100); // 5 started hours × 30.00/360 = 0.42, so the EUR 1 minimum
      const row = (await store.db.query<{ duration_ms: number }>('SELECT duration_ms FROM credits WHERE id = $1', [mine[0].id]))[0];
      expect(Number(row.duration_ms)).toBe(5 * H);
    } finally {
      await store.close();
    }
  });

  it('settles a long outage in part as it goes, and previews the cost by tier and form', async () => {
    const store = new Store(await d.open());
    try {
      await loadNetwork(store, topology, subs);
      const w = new OutageWriter(store, topology);
      const ledger = new Ledger({ policies: () => [operator] });
      const o = w.outage('O-LONG', 'AGG-1', T0);
      await w.event('opened', o, T0);
      const preview = await ledger.settle(store, 'O-LONG', T0 + 10 * H, 'preview');
      expect(preview.entries).toBe(0);
      expect(await ledgerRows(store)).toHaveLength(0);
      expect(preview.owed.reduce((a, x) => a + x.subscribers, 0)).toBe(preview.eligible);
      expect(new Set(preview.owed.map((x) => x.form))).toEqual(new Set(['bill_credit', 'data_pack', 'free_minutes', 'service_days']));
      const interim = await ledger.settle(store, 'O-LONG', T0 + 10 * H, 'interim');
      expect(interim.entries).toBe(preview.eligible);
      expect(interim.addedMinor).toEqual({ EUR: preview.owed.reduce((a, x) => a + x.amountMinor, 0) });
      await w.event('cleared', { ...o, state: 'cleared', clearedAt: T0 + 20 * H }, T0 + 20 * H);
      await w.event('closed', { ...o, state: 'closed', clearedAt: T0 + 20 * H, closedAt: T0 + 20 * H + 120_000 }, T0 + 20 * H + 120_000);
      const final = await ledger.settle(store, 'O-LONG', T0 + 21 * H, 'final');
      const rows = await ledgerRows(store);
      expect(final.entries).toBe(rows.filter((r) => r.revision === 1).length);
      const again = await ledger.settle(store, 'O-LONG', T0 + 21 * H, 'preview');
      expect(again.addedMinor).toEqual({});
      expect([...held(rows).values()].reduce((a, b) => a + b, 0)).toBe(again.owed.reduce((a, x) => a + x.amountMinor, 0));
    } finally {
      await store.close();
    }
  });

  it('runs the batch: settles closed outages past their delay once, and open ones as thresholds pass', async () => {
    const store = new Store(await d.open());
    try {
      await loadNetwork(store, topology, subs);
      const w = new OutageWriter(store, topology);
      const closed = await w.lasting('O-DONE', 'BS-2', T0, 3);
      const open = w.outage('O-OPEN', 'BS-4', T0);
      await w.event('opened', open, T0);
      let now = closed.closedAt! + 5 * 60_000;
      const service = new CompensationService({
        ledger: new Ledger({ policies: () => [operator] }), store: () => store, policies: () => [operator], settleMs: 10 * 60_000, interimMs: 6 * H,
        schedule: '*/15 * * * *', logger: memoryLogger().logger, now: () => now,
      });
      const settled = async () => (await store.db.query<{ outage_id: string; n: number }>('SELECT outage_id, COUNT(*) AS n FROM credits GROUP BY outage_id ORDER BY outage_id')).map((r) => `${r.outage_id} ${Number(r.n)}`);
      // Five minutes after the close: still within the settle delay. The open outage has passed 1 h: settled in part.
      expect(await service.runPending()).toBe(1);
      expect(await settled()).toEqual(['O-OPEN 32']);
      now = closed.closedAt! + 11 * 60_000;
      expect(await service.runPending()).toBe(1); // the closed one; the open one waits for interimEvery
      expect(await settled()).toEqual(['O-DONE 32', 'O-OPEN 32']);
      expect(await service.runPending()).toBe(0);
      now += 6 * H;
      expect(await service.runPending()).toBe(1); // the open one again: a new threshold (none crossed would skip it)
      expect((await store.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM credits WHERE outage_id = 'O-OPEN' AND kind = 'correction'`))[0].n).toSatisfy((n: unknown) => Number(n) > 0);
      await service.stop();
    } finally {
      await store.close();
    }
  });
});
