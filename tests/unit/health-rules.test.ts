import { describe, it, expect } from 'vitest';
import { checksOf, ruleBook, DEFAULT_THRESHOLDS } from '../../correlators/health/check.ts';
import type { Sample } from '../../src/sample.ts';

const at = 1_000;
const sample = (measurement: string, fields: Sample['fields'], tags: Record<string, string> = {}): Sample => ({ element: 'BS-1', measurement, tags, fields, time: at });

describe('health rules over fields', () => {
  it('judge the built-in radio fields as before: the cell its cell_name names, the worst field wins', () => {
    expect(checksOf(sample('lte_cell', { rsrp_dbm: -120, sinr_db: -3, oper_status: 1 }, { cell_name: 'BS-1-C1' }))).toEqual([
      { element: 'BS-1-C1', source: 'radio', time: at, verdict: 'degraded', reason: 'RSRP -120 dBm below -110' }]);
    expect(checksOf(sample('lte_cell', { rsrp_dbm: -120, oper_status: 2n }, { cell_name: 'BS-1-C1' }))[0]).toMatchObject({ verdict: 'fail', reason: 'cell operationally down (status 2)' });
    expect(checksOf(sample('lte_cell', { rsrp_dbm: -90 }))).toEqual([{ element: 'BS-1', source: 'radio', time: at, verdict: 'ok', reason: 'radio in range' }]);
    expect(checksOf(sample('lte_cell', { users: 4 }))).toEqual([]);
  });

  it('read telemetry that names its fields otherwise, and measurements of the operator\'s own, once configured', () => {
    const book = ruleBook(DEFAULT_THRESHOLDS, [
      { measurement: 'lte_cell', field: 'rsrp', source: 'radio', elementTag: 'cell_name', degradedBelow: -105 },
      { measurement: 'pon_port', field: 'optical_rx_dbm', source: 'optics', failBelow: -28, degradedBelow: -25 },
    ]);
    // Without the rule, a mapping to `rsrp` gets no health at all (what issue 16 found); with it, it does.
    expect(checksOf(sample('lte_cell', { rsrp: -107 }, { cell_name: 'C1' }))).toEqual([]);
    expect(checksOf(sample('lte_cell', { rsrp: -107 }, { cell_name: 'C1' }), DEFAULT_THRESHOLDS, book)).toEqual([
      { element: 'C1', source: 'radio', time: at, verdict: 'degraded', reason: 'rsrp -107 below -105' }]);
    expect(checksOf(sample('pon_port', { optical_rx_dbm: -30 }), DEFAULT_THRESHOLDS, book)[0]).toMatchObject({ element: 'BS-1', source: 'optics', verdict: 'fail', reason: 'optical_rx_dbm -30 below -28' });
    expect(checksOf(sample('pon_port', { optical_rx_dbm: -26 }), DEFAULT_THRESHOLDS, book)[0]).toMatchObject({ verdict: 'degraded' });
    expect(checksOf(sample('pon_port', { optical_rx_dbm: -20 }), DEFAULT_THRESHOLDS, book)[0]).toMatchObject({ verdict: 'ok', reason: 'optics in range' });
  });

  it('judge an interface row mapped to an element (row_element) by its ifOperStatus, and say nothing of the rows mapped to none', () => {
    expect(checksOf(sample('interface', { ifOperStatus: 2n, ifInErrors: 3n }, { ifName: 'pon1', row_element: 'OLT-1-pon1' }))).toEqual([
      { element: 'OLT-1-pon1', source: 'port', time: at, verdict: 'fail', reason: 'port: operationally down (ifOperStatus 2)' }]);
    expect(checksOf(sample('interface', { ifOperStatus: 1n }, { row_element: 'OLT-1-pon1' }))).toEqual([
      { element: 'OLT-1-pon1', source: 'port', time: at, verdict: 'ok', reason: 'port: operationally up' }]);
    // An unmapped port of a switch (idle, down) is not the switch's health.
    expect(checksOf(sample('interface', { ifOperStatus: 2n }, { ifName: 'Gi0/7' }))).toEqual([]);
  });

  it('let a configured rule replace a built-in one for the same field', () => {
    const book = ruleBook(DEFAULT_THRESHOLDS, [{ measurement: 'lte_cell', field: 'rsrp_dbm', source: 'radio', elementTag: 'cell_name', degradedBelow: -100 }]);
    expect(checksOf(sample('lte_cell', { rsrp_dbm: -105 }), DEFAULT_THRESHOLDS, book)[0]).toMatchObject({ verdict: 'degraded', reason: 'RSRP -105 dBm below -100' });
    expect(book.get('lte_cell')!.filter((r) => r.field === 'rsrp_dbm')).toHaveLength(1);
  });
});

describe('MQTT presence is a statement, not a vote', () => {
  const S = 1000;
  const presence = (reason: string, up: boolean, time: number): Sample => ({ element: 'BS-9', measurement: 'reachability', tags: { probe: 'mqtt' }, fields: { up, stale: false, reason }, time });

  it('a last will puts the station down at once, silence never makes it unknown, and its return (birth or telemetry) brings it up at once', async () => {
    const { HealthTracker } = await import('../../correlators/health/tracker.ts');
    const h = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    const feed = (s: Sample) => checksOf(s).flatMap((c) => h.ingest(c));
    expect(feed(presence('online', true, 0))).toEqual([{ element: 'BS-9', from: 'unknown', to: 'up', at: 0, reason: 'mqtt: answered' }]);
    expect(feed(presence('offline', false, 10 * S))).toEqual([{ element: 'BS-9', from: 'up', to: 'down', at: 10 * S, reason: 'mqtt: offline' }]);
    expect(h.tick(3_600 * S)).toEqual([]); // an hour of silence: still down, not stale
    expect(h.get('BS-9')?.state).toBe('down');
    expect(feed(presence('data', true, 3_700 * S))).toEqual([{ element: 'BS-9', from: 'down', to: 'up', at: 3_700 * S, reason: 'mqtt: answered' }]);
    // A will again, then an ordinary failure and recovery of the same source: hysteresis as usual.
    feed(presence('offline', false, 3_800 * S));
    expect(feed({ ...presence('x', true, 3_801 * S), fields: { up: true } })).toEqual([]);
    expect(feed({ ...presence('x', true, 3_802 * S), fields: { up: true } })).toEqual([{ element: 'BS-9', from: 'down', to: 'up', at: 3_801 * S, reason: 'mqtt: answered' }]);
  });

  it('a last will stands across a restart: the restored station stays down past staleAfter, until it speaks', async () => {
    const { HealthTracker } = await import('../../correlators/health/tracker.ts');
    const before = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    const [t] = checksOf(presence('offline', false, 10 * S)).flatMap((c) => before.ingest(c));
    const after = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    after.restore([{ element: 'BS-9', source: 'mqtt', state: t.to, since: t.at, reason: t.reason }], 2_000 * S);
    expect(after.tick(5_000 * S)).toEqual([]);
    expect(after.get('BS-9')?.state).toBe('down');
    const back = checksOf(presence('online', true, 5_001 * S)).flatMap((c) => after.ingest(c));
    expect(back.map((x) => x.to)).toEqual(['up']);
  });
});

describe('a trap is a statement, not a vote', () => {
  const S = 1000;
  const trap = (fields: Sample['fields'], time: number): Sample => ({ element: 'AGG-7', measurement: 'reachability', tags: { probe: 'trap', source: '192.0.2.21' }, fields, time });

  it('a decisive probe=trap sample gives a decisive check (down, degraded or up); without the mark, a plain one', () => {
    expect(checksOf(trap({ up: false, decisive: true, reason: 'linkDown ifIndex 3 (Gi0/3)' }, S))).toEqual([
      { element: 'AGG-7', source: 'trap', time: S, verdict: 'fail', reason: 'trap: linkDown ifIndex 3 (Gi0/3)', decisive: true }]);
    expect(checksOf(trap({ up: true, degraded: true, decisive: true, reason: 'fan 1 raised' }, S))).toEqual([
      { element: 'AGG-7', source: 'trap', time: S, verdict: 'degraded', reason: 'trap: fan 1 raised', decisive: true }]);
    expect(checksOf(trap({ up: true, decisive: true, reason: 'linkUp ifIndex 3' }, S))[0]).toMatchObject({ verdict: 'ok', decisive: true });
    expect(checksOf(trap({ up: false, reason: 'x' }, S))[0].decisive).toBeUndefined();
    // Only a trap's mark counts: another probe cannot make itself decisive with the field.
    expect(checksOf({ ...trap({ up: false, decisive: true }, S), tags: { probe: 'icmp' } })[0].decisive).toBeUndefined();
  });

  it('a trap puts its element down at once and a trap brings it back at once, whatever the hysteresis', async () => {
    const { HealthTracker } = await import('../../correlators/health/tracker.ts');
    const h = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    const feed = (s: Sample) => checksOf(s).flatMap((c) => h.ingest(c));
    expect(feed(trap({ up: false, decisive: true, reason: 'linkDown ifIndex 3' }, 10 * S))).toEqual([{ element: 'AGG-7', from: 'unknown', to: 'down', at: 10 * S, reason: 'trap: linkDown ifIndex 3' }]);
    expect(h.tick(3_600 * S)).toEqual([]); // a trap's down stands until a trap (or the confirming poll) says otherwise
    expect(feed(trap({ up: true, decisive: true, reason: 'linkUp ifIndex 3' }, 3_700 * S))).toEqual([{ element: 'AGG-7', from: 'down', to: 'up', at: 3_700 * S, reason: 'trap: linkUp ifIndex 3' }]);
  });
});
