import { describe, it, expect } from 'vitest';
import { HealthTracker } from '../../correlators/health/tracker.ts';
import { sourceOf } from '../../correlators/outages/service.ts';

const S = 1000;
const check = (element: string, source: string, verdict: 'ok' | 'fail' | 'degraded', time: number) => ({ element, source, verdict, time, reason: `${source}: ${verdict}` });

describe('health restored after a restart', () => {
  it('takes up where the last run left it: a restored down needs recoverAfter good checks, silence goes stale from the restart', () => {
    const h = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    const restartAt = 1000 * S;
    h.restore([
      { element: 'SW-1', source: 'snmp', state: 'down', since: 100 * S, reason: 'snmp: timeout' },
      { element: 'BS-1', source: 'radio', state: 'degraded', since: 200 * S, reason: 'RSRP -130 dBm below -110' },
    ], restartAt);
    expect(h.get('SW-1')).toMatchObject({ state: 'down', since: 100 * S });
    // A check from before the last run's last word changes nothing.
    expect(h.ingest(check('SW-1', 'snmp', 'ok', 50 * S))).toEqual([]);
    // One good check is not enough; the second is.
    expect(h.ingest(check('SW-1', 'snmp', 'ok', restartAt + 1 * S))).toEqual([]);
    expect(h.ingest(check('SW-1', 'snmp', 'ok', restartAt + 2 * S))).toEqual([{ element: 'SW-1', from: 'down', to: 'up', at: restartAt + 1 * S, reason: 'snmp: ok' }]);
    // BS-1's radio says nothing: it goes stale staleAfter after the restart, not at once.
    expect(h.tick(restartAt + 59 * S)).toEqual([]);
    expect(h.tick(restartAt + 61 * S)).toEqual([{ element: 'BS-1', from: 'degraded', to: 'unknown', at: restartAt + 60 * S, reason: 'no data past its period' }]);
  });

  it('leaves alone what this run has already seen, and unknown states', () => {
    const h = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
    h.ingest(check('SW-1', 'snmp', 'ok', 10 * S));
    h.restore([{ element: 'SW-1', source: 'snmp', state: 'down', since: 5 * S, reason: 'snmp: timeout' }, { element: 'X', source: 'snmp', state: 'unknown', since: 5 * S, reason: '' }], 20 * S);
    expect(h.get('SW-1')?.state).toBe('up');
    expect(h.get('X')).toBeUndefined();
  });

  it.each([
    ['snmp: timeout', 'snmp'], ['icmp: 12% loss', 'icmp'], ['mqtt: offline', 'mqtt'], ['RSRP -130 dBm below -110', 'radio'],
    ['cell operationally down (status 2)', 'radio'], ['radio in range', 'radio'], ['no data past its period', undefined],
  ])('reads the source of "%s" as %s', (reason, source) => {
    expect(sourceOf(reason)).toBe(source);
  });

  it('sees a failure after the host clock stepped back (checks from now on count again, not after time catches up)', () => {
    const h = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60_000 });
    for (let t = 0; t <= 1_000_000; t += 10_000) h.ingest({ element: 'SW', source: 'icmp', time: t, verdict: 'ok', reason: 'icmp: answered' });
    // The clock steps back to 400 s; the element dies.
    for (let t = 400_000; t <= 450_000; t += 10_000) {
      h.ingest({ element: 'SW', source: 'icmp', time: t, verdict: 'fail', reason: 'icmp: timeout' });
      h.tick(t);
    }
    expect(h.get('SW')?.state).toBe('down');
  });
});
