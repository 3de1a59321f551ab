import { describe, it, expect } from 'vitest';
import { walkColumns, compareOids } from '../../collectors/snmp/walk.ts';
import { FakeSession, T } from '../fakes/snmp-session.ts';

const COL_A = '1.3.6.1.2.1.2.2.1.2';
const COL_B = '1.3.6.1.2.1.2.2.1.8';

function table(rows: number) {
  const v: Record<string, [number, unknown]> = {};
  for (let i = 1; i <= rows; i++) {
    v[`${COL_A}.${i}`] = [T.OctetString, Buffer.from(`eth${i}`)];
    v[`${COL_B}.${i}`] = [T.Integer, 1];
  }
  v['1.3.6.1.2.1.31.1.1.1.1.1'] = [T.OctetString, Buffer.from('after the table')];
  return v;
}

describe('walkColumns', () => {
  it('orders OIDs numerically, not as text', () => {
    expect(compareOids('1.3.6.1.10', '1.3.6.1.9')).toBeGreaterThan(0);
    expect(compareOids('1.3.6', '1.3.6.1')).toBeLessThan(0);
  });

  it('walks several columns at once until each leaves its subtree', async () => {
    const s = new FakeSession(table(30));
    const r = await walkColumns(s, [COL_A, COL_B], 10, 1000);
    expect(r.problems).toEqual([]);
    expect(r.columns.get(COL_A)!.size).toBe(30);
    expect(r.columns.get(COL_B)!.size).toBe(30);
    expect(r.columns.get(COL_A)!.get('17')!.value).toEqual(Buffer.from('eth17'));
    expect(s.requests).toBe(4); // 30 rows at 10 per request, plus the one that sees the end
  });

  it('ends a column at endOfMibView mid-walk and keeps the rows before it', async () => {
    const v = table(5);
    delete v['1.3.6.1.2.1.31.1.1.1.1.1']; // the table is the end of the MIB
    const r = await walkColumns(new FakeSession(v), [COL_B], 3, 1000);
    expect([...r.columns.get(COL_B)!.keys()]).toEqual(['1', '2', '3', '4', '5']);
  });

  it('resumes columns a short response did not cover', async () => {
    const s = new FakeSession(table(12));
    // The agent answers only the first column's repeats, as agents that trim responses do.
    s.bulkHook = (_oids, res) => res.map((col, i) => (i === 0 ? col : []));
    const r = await walkColumns(s, [COL_A, COL_B], 5, 1000);
    expect(r.columns.get(COL_A)!.size).toBe(12);
    expect(r.columns.get(COL_B)!.size).toBe(12);
  });

  it('stops a walk that never ends at maxRows, with a problem', async () => {
    const s = new FakeSession({});
    let n = 0;
    // Every answer is a new, larger OID inside the column: an endless table.
    s.bulkHook = (oids) => oids.map((o) => Array.from({ length: 10 }, () => ({ oid: `${COL_A}.${++n}`, type: T.Integer, value: n })));
    const r = await walkColumns(s, [COL_A], 10, 500);
    expect(r.columns.get(COL_A)!.size).toBe(500);
    expect(r.problems[0].reason).toMatch(/more than 500 rows/);
  });

  it('stops a column whose OIDs do not increase instead of looping', async () => {
    const s = new FakeSession({});
    s.bulkHook = () => [[{ oid: `${COL_A}.5`, type: T.Integer, value: 1 }, { oid: `${COL_A}.5`, type: T.Integer, value: 1 }]];
    const r = await walkColumns(s, [COL_A], 10, 1000);
    expect(r.problems).toEqual([{ oid: COL_A, reason: expect.stringMatching(/OID not increasing/) }]);
  });

  it('fails on a response that makes no progress at all', async () => {
    const s = new FakeSession(table(3));
    s.bulkHook = (_o, res) => res.map(() => []);
    await expect(walkColumns(s, [COL_A], 10, 1000)).rejects.toThrow(/no progress/);
  });
});
