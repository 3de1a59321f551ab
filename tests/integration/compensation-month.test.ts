import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { Store } from '../../src/store/store.ts';
import { Ledger } from '../../correlators/compensation/ledger.ts';
import { parsePolicy, SHIPPED_POLICIES } from '../../correlators/compensation/policies.ts';
import { whatIf } from '../../correlators/reports/whatif.ts';
import { reportNetwork, SUBSCRIBERS, NOVEMBER, H } from '../helpers/report-history.ts';

afterAll(() => stopDatabases());

/** EUR 1 per started hour without service, at most EUR 5 a month: the monthly cap binds on the second outage. */
const capped = parsePolicy({
  id: 'capped', version: '1', title: 'capped', currency: 'EUR', timezone: 'UTC',
  rules: [{ id: 'hourly', kinds: ['no_service'], amount: { per: { unit: 'hour', rate: { fixed: 100 } } } }],
  caps: { perMonth: { fixed: 500 } },
}, 'capped', `${SHIPPED_POLICIES}/../calendars`);

describe.each(DATABASES)('the monthly cap across outages on %s', (_kind, d) => {
  it('gives the second outage of the month only the room the first left, reading only the chunk\'s subscribers; the what-if agrees', async () => {
    const store = new Store(await d.open());
    try {
      const topology = reportNetwork();
      await loadNetwork(store, topology, SUBSCRIBERS);
      const w = new OutageWriter(store, topology);
      const ledger = new Ledger({ policies: () => [capped], chunk: 1 });
      // BS-1 out 3 h, then 4 h a week later: A1 and A2 lose service both times (A3 and B3 are only degraded).
      const a = await w.lasting('M1', 'BS-1', NOVEMBER.from + 24 * H, 3);
      await ledger.settle(store, 'M1', a.closedAt!, 'final');
      const b = await w.lasting('M2', 'BS-1', NOVEMBER.from + 8 * 24 * H, 4);
      await ledger.settle(store, 'M2', b.closedAt!, 'final');
      const rows = await store.db.query<{ outage_id: string; subscriber_id: string; amount_minor: number }>('SELECT outage_id, subscriber_id, amount_minor FROM credits ORDER BY outage_id, subscriber_id');
      expect(rows.map((r) => [r.outage_id, r.subscriber_id, Number(r.amount_minor)])).toEqual([
        ['M1', 'A1', 300], ['M1', 'A2', 300], ['M2', 'A1', 200], ['M2', 'A2', 200],
      ]);
      const r = await whatIf(store, NOVEMBER.from, NOVEMBER.to, [capped], { asOf: NOVEMBER.to });
      expect(r.whatIf).toEqual(r.issued);
      expect(r.difference).toMatchObject({ more: 0, less: 0 });
    } finally {
      await store.close();
    }
  });
});
