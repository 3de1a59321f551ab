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

  it('let a configured rule replace a built-in one for the same field', () => {
    const book = ruleBook(DEFAULT_THRESHOLDS, [{ measurement: 'lte_cell', field: 'rsrp_dbm', source: 'radio', elementTag: 'cell_name', degradedBelow: -100 }]);
    expect(checksOf(sample('lte_cell', { rsrp_dbm: -105 }), DEFAULT_THRESHOLDS, book)[0]).toMatchObject({ verdict: 'degraded', reason: 'RSRP -105 dBm below -100' });
    expect(book.get('lte_cell')!.filter((r) => r.field === 'rsrp_dbm')).toHaveLength(1);
  });
});
