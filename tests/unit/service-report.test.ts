import { describe, it, expect } from 'vitest';
import { buildReport, TRACE_LIMIT, type ReportFacts } from '../../correlators/reports/report.ts';
import { periodOf, PeriodError } from '../../correlators/reports/period.ts';
import { barChart } from '../../correlators/reports/charts.ts';

const H = 3_600_000;
const FROM = Date.parse('2026-11-01T00:00:00Z');
const facts = (over: Partial<ReportFacts>): ReportFacts => ({
  from: FROM, to: FROM + 720 * H, asOf: FROM + 720 * H, elements: [{ id: 'BS-1', kind: 'base_station', site: 's1', region: 'north' }],
  downtime: [], outages: [], minutes: [], affectedSubscribers: 0, complaints: [], suspected: [], credits: [], ...over,
});
const outage = (id: string, startH: number, clearedH?: number, over: Partial<ReportFacts['outages'][number]> = {}) => ({
  id, root: 'BS-1', severity: 'outage', state: clearedH === undefined ? 'open' : 'closed', startedAt: FROM + startH * H,
  ...(clearedH !== undefined && { clearedAt: FROM + clearedH * H }), planned: false, forceMajeure: false, ...over,
});

describe('the service report, from facts', () => {
  it('counts an outage still open past the recovery target as missed, and leaves out one still open within it', () => {
    // Read at hour 100: A recovered in 10 h; B open since hour 20 (80 h: missed); C open since hour 90 (10 h: not yet due); D merged into A.
    const r = buildReport(facts({ asOf: FROM + 100 * H, outages: [outage('A', 0, 10), outage('B', 20), outage('C', 90), outage('D', 1, 5, { mergedInto: 'A' })] }));
    expect(r.outages.total).toMatchObject({ outages: 3, recovered: 1, open: 2, mttrMs: 10 * H, withinTarget: 1, missedTarget: 1, withinTargetShare: 0.5 });
    expect(r.outages.worst.map((w) => [w.id, w.durationMs, w.withinTarget])).toEqual([['B', 80 * H, false], ['A', 10 * H, true], ['C', 10 * H, true]]);
  });

  it('counts downtime only inside the period and up to the time of the report, overlapping outages once', () => {
    const r = buildReport(facts({
      asOf: FROM + 360 * H,
      downtime: [
        { outageId: 'X', element: 'BS-1', since: FROM - 5 * H, until: FROM + 5 * H, planned: false }, // 5 h inside
        { outageId: 'Y', element: 'BS-1', since: FROM + 3 * H, until: FROM + 8 * H, planned: false }, // overlaps X: 3 h more
        { outageId: 'Z', element: 'BS-1', since: FROM + 350 * H, planned: true }, // planned, still going at the report: 10 h
      ],
    }));
    expect(r.availability.network).toMatchObject({ downtimeMs: 8 * H, plannedMs: 10 * H, trace: { outages: ['X', 'Y', 'Z'] } });
    expect(r.availability.network.availability).toBeCloseTo(1 - 8 / 360, 12);
  });

  it('lists at most TRACE_LIMIT ids a line and counts the rest', () => {
    const complaints = Array.from({ length: TRACE_LIMIT + 5 }, (_, i) => ({ id: `K${String(i).padStart(5, '0')}`, grade: 'general', category: 'other', reportedAt: FROM, respondBy: FROM + H, resolveBy: FROM + 2 * H }));
    const r = buildReport(facts({ complaints }));
    expect(r.complaints.total.trace.complaints).toHaveLength(TRACE_LIMIT);
    expect(r.complaints.total.trace.more).toBe(5);
    expect(r.complaints.total).toMatchObject({ complaints: TRACE_LIMIT + 5, responseDue: TRACE_LIMIT + 5, answeredInTimeShare: 0 });
  });
});

describe('the period of a report', () => {
  const NOW = Date.parse('2026-12-15T10:00:00Z');
  const DAYS400 = 400 * 24 * H;
  it.each([
    [{}, '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    [{ month: '2026-02' }, '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    [{ from: '2026-11-01', to: '2026-11-08' }, '2026-11-01T00:00:00.000Z', '2026-11-08T00:00:00.000Z'],
    [{ from: '2026-11-01T00:00:00+01:00' }, '2026-10-31T23:00:00.000Z', '2026-11-30T23:00:00.000Z'],
  ])('%o', (q, from, to) => {
    const p = periodOf(q, NOW, DAYS400);
    expect([new Date(p.from).toISOString(), new Date(p.to).toISOString()]).toEqual([from, to]);
  });

  it.each([
    [{ from: '2026-11-02', to: '2026-11-01' }, 'to'],
    [{ from: '2026-11-01', to: '2026-11-01' }, 'to'],
    [{ from: 'last week' }, 'from'],
    [{ to: '2026-11-01T25:00:00Z' }, 'to'],
    [{ month: '2026-1' }, 'month'],
    [{ month: '2026-11', to: '2026-12-01' }, 'month'],
    [{ from: '2020-01-01', to: '2026-01-01' }, 'to'],
  ])('refuses %o naming %s', (q, field) => {
    let err: unknown;
    try { periodOf(q, NOW, DAYS400); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(PeriodError);
    expect((err as PeriodError).field).toBe(field);
  });
});

describe('SVG charts', () => {
  it('escapes labels and draws a bar per value and the target line', () => {
    const svg = barChart({ id: 'c', title: 'A <b> & "c"', series: ['x'], bars: [{ label: '<script>', values: [3] }, { label: 'b', values: [1] }], target: { value: 2, label: 'target' } });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg.match(/class="bar"/g)).toHaveLength(2);
    expect(svg).toContain('class="target"');
  });
});
