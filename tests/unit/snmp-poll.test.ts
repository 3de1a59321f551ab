import { describe, it, expect } from 'vitest';
import { compilePlan, pollTarget, reachabilitySample, rowElementOf, SYS_UPTIME } from '../../collectors/snmp/poll.ts';
import { loadProfiles, parseProfile } from '../../collectors/snmp/profile.ts';
import { CounterRates } from '../../collectors/snmp/rates.ts';
import { FakeSession, T } from '../fakes/snmp-session.ts';

const profiles = loadProfiles();
const u64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); return b; };

function ctx(now: number, rates = new CounterRates()) {
  return { element: 'BS-1', tags: { agent_host: '127.0.0.1' }, maxRepetitions: 25, maxRows: 1000, rates, now: () => now };
}

function lteAgent(uptime: number, dl: bigint, rsrp: unknown = -953, rsrpType: number = T.Integer) {
  const base = '1.3.6.1.4.1.32473.1.1.1';
  return new FakeSession({
    '1.3.6.1.2.1.1.5.0': [T.OctetString, Buffer.from('BS-1')],
    [SYS_UPTIME]: [T.TimeTicks, uptime],
    [`${base}.2.1`]: [T.OctetString, Buffer.from('BS-1-C1')],
    [`${base}.3.1`]: [T.Integer, 1],
    [`${base}.4.1`]: [rsrpType, rsrp],
    [`${base}.5.1`]: [T.Integer, -105],
    [`${base}.6.1`]: [T.Integer, 123],
    [`${base}.7.1`]: [T.Gauge32, 87],
    [`${base}.8.1`]: [T.Gauge32, 55],
    [`${base}.9.1`]: [T.Counter64, u64(dl)],
    [`${base}.10.1`]: [T.Counter64, u64(1000n)],
  });
}

describe('pollTarget', () => {
  const plan = compilePlan([profiles.get('system')!, profiles.get('lte-cell')!]);

  it('maps the lte-cell table to lte_cell samples with scaled radio values', async () => {
    const r = await pollTarget(lteAgent(100, 0n), plan, ctx(1_000));
    expect(r.failure).toBeUndefined();
    expect(r.problems).toEqual([]);
    const cell = r.samples.find((s) => s.measurement === 'lte_cell')!;
    expect(cell.tags).toEqual({ agent_host: '127.0.0.1', cell_index: '1', cell_name: 'BS-1-C1' });
    expect(cell.fields).toMatchObject({ rsrp_dbm: -95.3, rsrq_db: -10.5, sinr_db: 12.3, connected_users: 87n, oper_status: 1n });
    expect(r.samples.find((s) => s.measurement === 'snmp')!.tags.source).toBe('BS-1');
  });

  it('adds a rate from the second poll on, in bits per second', async () => {
    const rates = new CounterRates();
    await pollTarget(lteAgent(100, 0n), plan, ctx(0, rates));
    const r = await pollTarget(lteAgent(1100, 10_000_000n), plan, ctx(10_000, rates));
    expect(r.samples.find((s) => s.measurement === 'lte_cell')!.fields.dl_bps).toBe(8_000_000);
  });

  it('keeps the other values when one has the wrong type, and names the OID', async () => {
    const r = await pollTarget(lteAgent(100, 0n, Buffer.from('n/a'), T.OctetString), plan, ctx(0));
    const cell = r.samples.find((s) => s.measurement === 'lte_cell')!;
    expect(cell.fields.rsrp_dbm).toBeUndefined();
    expect(cell.fields.sinr_db).toBe(12.3);
    expect(r.problems).toEqual([{ oid: '1.3.6.1.4.1.32473.1.1.1.4.1', reason: 'expected a number, got OctetString "n/a"' }]);
  });

  it('reports noSuchObject per OID and keeps the rest', async () => {
    const p = compilePlan([parseProfile('name: x\nmeasurements:\n  - measurement: m\n    fields:\n      - { name: a, oid: 1.3.6.1.2.1.1.3.0 }\n      - { name: b, oid: 1.3.6.1.2.1.1.99.0 }\n', 'x')]);
    const r = await pollTarget(lteAgent(42, 0n), p, ctx(0));
    expect(r.samples[0].fields).toEqual({ a: 42n });
    expect(r.problems).toEqual([{ oid: '1.3.6.1.2.1.1.99.0', reason: 'noSuchObject' }]);
  });

  it('turns a target that does not answer into a failure and a down reachability sample', async () => {
    const s = lteAgent(1, 0n);
    s.failWith = new Error('Request timed out');
    const r = await pollTarget(s, plan, ctx(5));
    expect(r.failure?.message).toBe('Request timed out');
    const reach = reachabilitySample('BS-1', { agent_host: '127.0.0.1' }, r, 5);
    expect(reach).toMatchObject({ measurement: 'reachability', tags: { probe: 'snmp' }, fields: { up: false, error: 'Request timed out' } });
  });
});

describe('table rows that are elements (rowElement)', () => {
  it.each([
    ['{element}-{ifName}', { element: 'OLT-1', ifName: 'pon3' }, 'OLT-1-pon3'],
    ['{element}-P{ifIndex:2}', { element: 'OLT-1', ifIndex: '5' }, 'OLT-1-P05'],
    ['{ifAlias}', { ifAlias: 'SIM-OLT-02-P16' }, 'SIM-OLT-02-P16'],
    ['{element}-{ifName}', { element: 'OLT-1' }, undefined], // no ifName in the row: no element
    ['{ifAlias}', { ifAlias: '' }, undefined],
  ])('%s over %j names %s', (template, values, id) => {
    expect(rowElementOf(template, values as Record<string, string>)).toBe(id);
  });
});
