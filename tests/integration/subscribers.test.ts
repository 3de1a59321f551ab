import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import { importSubscribers, inventoryDdl } from '../../correlators/subscribers/import.ts';
import { inventoryOf } from '../../correlators/subscribers/inventory-repository.ts';

afterAll(() => stopDatabases());

const KNOWN = new Set(['BS-1-C1', 'BS-1-C2', 'BS-2-C1', 'OLT-1-PON-3']);
/** A file as a client would send it: in chunks that split lines and fields anywhere. */
async function* from(text: string, chunk = 7) {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
}
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
      ].join('\n')), { format: 'csv', mode: 'replace', known: (e) => KNOWN.has(e), maxRejected: 0.7 });
      expect(r).toMatchObject({ rows: 6, loaded: 2, rejected: 4, committed: true });
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

  it('refuses a replace that would empty the inventory or that rejected rows, and changes nothing', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      const csv = (...rows: string[]) => from(['id,tier,service,serving', ...rows].join('\n'));
      const o = { format: 'csv' as const, mode: 'replace' as const, known: (e: string) => KNOWN.has(e) };
      expect(await importSubscribers(store, csv('A,gold,mobile,BS-1-C1', 'B,gold,mobile,BS-1-C2'), o)).toMatchObject({ loaded: 2, committed: true });
      const before = await serving(store);
      for (const [what, input, refused] of [
        ['every row rejected', csv('X,platinum,mobile,BS-1-C1', 'Y,gold,mobile,NOPE'), /^no row loaded/],
        ['only a header', csv(), /^no row loaded/],
        ['one row of three rejected', csv('C,gold,mobile,BS-1-C1', 'D,gold,mobile,NOPE', 'E,vip,mobile,BS-2-C1'), /^1 of 3 rows rejected \(33.3 %\), over the bound of 0 % for a replace$/],
      ] as const) {
        const r = await importSubscribers(store, input, o);
        expect(r, what).toMatchObject({ committed: false, loaded: 0, refused: expect.stringMatching(refused) });
        expect(await serving(store), what).toEqual(before);
      }
      await expect(importSubscribers(store, from(''), o)).rejects.toThrow(/needs a header/);
      expect(await serving(store)).toEqual(before);
      // A bound the operator chose: one rejected row in three is within 50 %.
      const r = await importSubscribers(store, csv('C,gold,mobile,BS-1-C1', 'D,gold,mobile,NOPE', 'E,vip,mobile,BS-2-C1'), { ...o, maxRejected: 0.5 });
      expect(r).toMatchObject({ committed: true, loaded: 2, rejected: 1 });
      expect(await serving(store)).toEqual(['C>BS-1-C1', 'E>BS-2-C1']);
      expect(await store.db.query('SELECT * FROM import_subscribers')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reads RFC 4180 CSV: quoted fields with commas, semicolons and doubled quotes, a quoted header, CRLF and a BOM', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      const text = '\uFEFF"id","tier","service","serving","plan"\r\n'
        + '"A","gold","mobile","BS-1-C1;BS-1-C2","5G, unlimited"\r\n'
        + 'B,"standard",mobile,BS-2-C1,"the ""best"" plan"\r\n'
        + 'C,vip,mobile,BS-2-C1,"two\nlines"\r\n'
        + 'D,vip,mobile,"BS-1-C1,"oops",x\r\n';
      const r = await importSubscribers(store, from(text, 5), { format: 'csv', mode: 'incremental', known: (e) => KNOWN.has(e) });
      // C's plan is quoted over two lines: read whole, then refused (no control characters in a name).
      expect(r).toMatchObject({ rows: 4, loaded: 2, rejected: 2, committed: true });
      expect(r.problems).toEqual([{ line: 4, reason: 'plan: no control characters' }, { line: 6, reason: expect.stringMatching(/^not CSV: Invalid Closing Quote/) }]);
      const rows = await store.db.query<{ id: string; tier: string; plan: string; serving: string }>('SELECT id, tier, plan, serving FROM subscribers ORDER BY id');
      expect(rows.map((x) => [x.id, x.tier, x.plan, x.serving])).toEqual([
        ['A', 'gold', '5G, unlimited', 'BS-1-C1;BS-1-C2'], ['B', 'standard', 'the "best" plan', 'BS-2-C1']]);
      // The same id twice in one file: the first row wins, the second is reported.
      const dup = await importSubscribers(store, from('id,tier,service,serving\nZ,gold,mobile,BS-1-C1\nZ,vip,mobile,BS-2-C1\n'), { format: 'csv', mode: 'incremental', known: (e) => KNOWN.has(e) });
      expect(dup).toMatchObject({ loaded: 1, rejected: 1, problems: [{ line: 3, reason: 'id: Z is on an earlier row' }] });
      expect(await serving(store)).toContain('Z>BS-1-C1');
      expect(await serving(store)).not.toContain('Z>BS-2-C1');
    } finally {
      await store.close();
    }
  });

  it('rejects a JSON line over the row limit without holding it, and reads UTF-8 split across chunks', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      const huge = JSON.stringify({ id: 'H', tier: 'gold', service: 'mobile', serving: ['BS-1-C1'], plan: 'x'.repeat(200_000) });
      const r = await importSubscribers(store, from(`${huge}\n{"id":"Ü-1","tier":"gold","service":"mobile","serving":["BS-1-C1"],"plan":"Überall 5G"}\n`, 3), { format: 'jsonl', mode: 'incremental', known: (e) => KNOWN.has(e) });
      expect(r).toMatchObject({ rows: 2, loaded: 1, rejected: 1, problems: [{ line: 1, reason: 'the row is over 65536 characters' }] });
      expect((await inventoryOf(store).subscriber('Ü-1'))?.plan).toBe('Überall 5G');
    } finally {
      await store.close();
    }
  });

  it('an import whose input fails changes nothing, and writes answered meanwhile are durable on their own', async () => {
    const open = await d.opener();
    let store = new Store(open());
    try {
      await store.migrate();
      await importSubscribers(store, from('id,tier,service,serving\nA,gold,mobile,BS-1-C1\n'), { format: 'csv', mode: 'replace', known: (e) => KNOWN.has(e) });
      let written = false;
      async function* broken() {
        yield Buffer.from('id,tier,service,serving\n');
        for (let i = 0; i < 30; i++) yield Buffer.from(`S${i},gold,mobile,BS-1-C2\n`);
        // While the importer waits for the client, the daemon answers another write.
        await store.db.run('INSERT INTO elements (id, kind) VALUES ($1, $2)', ['WRITTEN-MEANWHILE', 'core']);
        written = true;
        throw new Error('client went away');
      }
      await expect(importSubscribers(store, broken(), { format: 'csv', mode: 'replace', known: (e) => KNOWN.has(e), batchSize: 10 })).rejects.toThrow('client went away');
      expect(written).toBe(true);
      expect(await serving(store)).toEqual(['A>BS-1-C1']);
      expect(await store.db.query('SELECT * FROM import_subscribers')).toEqual([]);
      await store.close();
      store = new Store(open());
      expect(await store.db.query<{ id: string }>("SELECT id FROM elements WHERE id = 'WRITTEN-MEANWHILE'")).toEqual([{ id: 'WRITTEN-MEANWHILE' }]);
    } finally {
      await store.close();
    }
  });

  it('builds a replace in tables shaped exactly like the migrated inventory', async () => {
    const store = new Store(await d.open());
    try {
      await store.migrate();
      await store.db.exec(inventoryDdl(store.db, { subscribers: 'subscribers_shape', serving: 'subscriber_serving_shape' }));
      const columns = async (table: string) => store.db.kind === 'sqlite'
        ? (await store.db.query<{ name: string; type: string; notnull: number; pk: number }>(`PRAGMA table_info(${table})`)).map((c) => [c.name, c.type, Number(c.notnull), Number(c.pk)])
        : (await store.db.query<{ column_name: string; data_type: string; is_nullable: string }>(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table])).map((c) => [c.column_name, c.data_type, c.is_nullable]);
      for (const t of ['subscribers', 'subscriber_serving']) expect(await columns(`${t}_shape`), t).toEqual(await columns(t));
      if (store.db.kind === 'sqlite') {
        const sql = async (t: string) => (await store.db.query<{ sql: string }>('SELECT sql FROM sqlite_master WHERE name = $1', [t]))[0].sql;
        for (const t of ['subscribers', 'subscriber_serving']) expect(await sql(`${t}_shape`)).toMatch(/WITHOUT ROWID/);
      }
    } finally {
      await store.close();
    }
  });

});

// Two connections in one process: on PostgreSQL only, as in production. Two SQLite connections in
// one process would wait for each other inside one thread (its busy wait blocks the event loop);
// the command line and the daemon are two processes, and run the same code as here.
describe.each(DATABASES.filter(([kind]) => kind === 'PostgreSQL'))('subscriber imports side by side on %s', (_kind, d) => {
  it('two replaces at once (the command line and the API) never mix: each builds its own tables, the last to commit wins whole', async () => {
    const open = await d.opener();
    const daemon = new Store(open());
    const cli = new Store(open());
    try {
      await daemon.migrate();
      const header = 'id,tier,service,serving\n';
      const row = (id: string) => `${id},standard,mobile,BS-1-C1\n`;
      let release!: () => void;
      const paused = new Promise<void>((r) => (release = r));
      async function* slowA() {
        yield header;
        for (let i = 1; i <= 3; i++) yield row(`A-${i}`);
        await paused;
        for (let i = 4; i <= 6; i++) yield row(`A-${i}`);
      }
      const o = { format: 'csv' as const, mode: 'replace' as const, known: (e: string) => KNOWN.has(e), batchSize: 2 };
      const a = importSubscribers(daemon, slowA(), o);
      async function* b() {
        yield header;
        for (let i = 1; i <= 6; i++) {
          if (i === 4) release(); // A's client goes on while B is still loading
          yield row(`B-${i}`);
        }
      }
      const rb = await importSubscribers(cli, b(), o);
      const ra = await a;
      expect([ra.committed, rb.committed]).toEqual([true, true]);
      const ids = (await daemon.db.query<{ id: string }>('SELECT id FROM subscribers ORDER BY id')).map((r) => r.id);
      expect([['A-1', 'A-2', 'A-3', 'A-4', 'A-5', 'A-6'], ['B-1', 'B-2', 'B-3', 'B-4', 'B-5', 'B-6']]).toContainEqual(ids);
      expect((await serving(daemon)).map((x) => x.split('>')[0]).sort()).toEqual(ids);
    } finally {
      await cli.close();
      await daemon.close();
    }
  });
});
