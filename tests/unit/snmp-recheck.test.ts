import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { SnmpCollector } from '../../collectors/snmp/collector.ts';
import { loadProfiles } from '../../collectors/snmp/profile.ts';
import { resolveTarget } from '../../collectors/snmp/session.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { Batch } from '../../src/sample.ts';
import { FakeSession, T } from '../fakes/snmp-session.ts';
import { memoryLogger } from '../fakes/logger.ts';

// A target that stops answering is polled again at once after its first failed poll, not an
// interval later: health wants two failures of three, so the element is down after two timeouts.

describe('the first failure of a streak is checked again at once', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 0 }); });
  afterEach(() => { vi.useRealTimers(); });

  it('polls a failing target twice in its slot once, then once per interval; again after it answered and failed anew', async () => {
    const agent = new FakeSession({ '1.3.6.1.2.1.1.5.0': [T.OctetString, 'sw'], '1.3.6.1.2.1.1.3.0': [T.TimeTicks, 100] });
    const snmp = configSchema.parse({ snmp: { targets: [{ name: 'sw', host: '127.0.0.1', interval: '10s', timeout: '2s', retries: 0, profiles: ['system'] }] } }).snmp;
    const collector = new SnmpCollector({
      targets: snmp.targets.map((t) => resolveTarget(t, snmp.defaults)), profiles: loadProfiles(), concurrency: 4,
      sessionFactory: () => agent, logger: memoryLogger().logger,
    });
    const polls: { at: number; up: boolean }[] = [];
    await collector.start(async (b: Batch) => {
      for (const s of b) if (s.measurement === 'reachability') polls.push({ at: Date.now(), up: s.fields.up === true });
    });
    try {
      await vi.advanceTimersByTimeAsync(10_000); // the first poll, answered
      expect(polls.map((p) => p.up)).toEqual([true]);
      agent.failWith = new Error('Request timed out');
      const failedFrom = polls.length;
      await vi.advanceTimersByTimeAsync(10_000);
      // The scheduled poll failed, and its check at once failed too: two failures within the slot.
      expect(polls.slice(failedFrom).map((p) => p.up)).toEqual([false, false]);
      expect(polls.at(-1)!.at - polls.at(-2)!.at).toBeLessThan(10_000);
      await vi.advanceTimersByTimeAsync(20_000); // still failing: once per interval
      expect(polls.slice(failedFrom).map((p) => p.up)).toEqual([false, false, false, false]);
      agent.failWith = undefined;
      await vi.advanceTimersByTimeAsync(10_000);
      agent.failWith = new Error('Request timed out');
      await vi.advanceTimersByTimeAsync(10_000); // a new streak: checked at once again
      expect(polls.slice(failedFrom).map((p) => p.up)).toEqual([false, false, false, false, true, false, false]);
      expect(collector.stats.rechecks).toBe(2);
      expect(collector.metrics()).toContain('netpulse_snmp_rechecks_total 2');
    } finally {
      await collector.stop();
    }
  });
});
