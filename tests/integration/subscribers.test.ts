import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import { importSubscribers } from '../../src/subscribers/import.ts';

afterAll(() => stopDatabases());

const KNOWN = new Set(['BS-1-C1', 'BS-1-C2', 'BS-2-C1', 'OLT-1-PON-3']);
async function* from(text: string) { yield* text.split('\n'); }
const serving = async (s: Store) => (await s.db.query<{ element: string; subscriber_id: string }>('SELECT element, subscriber_id FROM subscriber_serving ORDER BY subscriber_id, element'))
  .map((r) => `${r.subscriber_id}>${r.element}`);

describe.each(DATABASES)('subscriber import on %s', (_kind, d) => {
  it('loads the good rows of a CSV and reports each bad one with its line and reason', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      const r = await importSubscribers(store, from([
        'id,tier,service,serving,region,plan,arpu',
        '13800138000,vip,mobile,BS-1-C1;BS-1-C2;BS-2-C1,north,5G-199,199.00',
        '13800138001,platinum,mobile,BS-1-C1,north,5G-99,99',
        '13800138002,gold,mobile,,north,5G-99,99',
        '13800138003,standard,mobile,BS-9-C9,north,4G-29,29',
        'BB-77,enterprise,broadband,OLT-1-PON-3,south,1G,450.5',
        '13800138004,standard,mobile,BS-1-C1,north',
      ].join('\n')), { format: 'csv', mode: 'replace', known: (e) => KNOWN.has(e) });
      expect(r).toMatchObject({ rows: 6, loaded: 2, rejected: 4 });
      expect(r.problems).toEqual([
        { line: 3, reason: expect.stringMatching(/^tier: /) },
        { line: 4, reason: 'serving: needs at least one serving element' },
        { line: 5, reason: 'serving: unknown element(s) BS-9-C9' },
        { line: 7, reason: '5 fields, the header has 7' },
      ]);
      const rows = await store.db.query<{ id: string; tier: string; arpu_minor: number; serving: string }>('SELECT id, tier, arpu_minor, serving FROM subscribers ORDER BY id');
      expect(rows.map((x) => [x.id, x.tier, Number(x.arpu_minor), x.serving])).toEqual([
        ['13800138000', 'vip', 19900, 'BS-1-C1;BS-1-C2;BS-2-C1'], ['BB-77', 'enterprise', 45050, 'OLT-1-PON-3']]);
      expect(await serving(store)).toEqual(['13800138000>BS-1-C1', '13800138000>BS-1-C2', '13800138000>BS-2-C1', 'BB-77>OLT-1-PON-3']);
    } finally {
      await store.close();
    }
  });

  it('upserts JSON Lines incrementally and replaces the whole inventory on a full load', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      const jsonl = (rows: object[]) => from(rows.map((x) => JSON.stringify(x)).join('\n'));
      await importSubscribers(store, jsonl([
        { id: 'A', tier: 'gold', service: 'mobile', serving: ['BS-1-C1', 'BS-1-C2'] },
        { id: 'B', tier: 'standard', service: 'mobile', serving: ['BS-2-C1'] },
      ]), { format: 'jsonl', mode: 'incremental', known: (e) => KNOWN.has(e) });
      const r = await importSubscribers(store, from('{"id":"A","tier":"vip","service":"mobile","serving":["BS-2-C1"]}\n{"id": broken\n'),
        { format: 'jsonl', mode: 'incremental', known: (e) => KNOWN.has(e) });
      expect(r.problems).toEqual([{ line: 2, reason: expect.stringMatching(/^not JSON: /) }]);
      expect(await serving(store)).toEqual(['A>BS-2-C1', 'B>BS-2-C1']); // A moved, B untouched
      await importSubscribers(store, jsonl([{ id: 'C', tier: 'standard', service: 'broadband', serving: ['OLT-1-PON-3'] }]),
        { format: 'jsonl', mode: 'replace', known: (e) => KNOWN.has(e) });
      expect(await serving(store)).toEqual(['C>OLT-1-PON-3']);
    } finally {
      await store.close();
    }
  });
});
