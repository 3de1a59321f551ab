import { describe, it, expect, vi } from 'vitest';
import { CheckForwarder } from '../../correlators/health/forward.ts';
import type { HealthRepository } from '../../correlators/health/repository.ts';
import type { Check } from '../../correlators/health/check.ts';
import { memoryLogger } from '../fakes/logger.ts';

const check = (i: number): Check => ({ element: `BS-${i}`, source: 'snmp', time: i, verdict: 'fail', reason: 'snmp: timeout' });

/** A store the test controls: each write takes `ms`, or fails while `down`. */
function slowStore(ms: number) {
  const written: Check[] = [];
  const state = { down: false };
  const repo = {
    forwardChecks: async (_member: string, checks: readonly Check[]) => {
      await new Promise((r) => setTimeout(r, ms));
      if (state.down) throw new Error('connection refused');
      written.push(...checks);
    },
  } as unknown as HealthRepository;
  return { repo, written, state };
}

describe('a cluster member forwarding its checks to the leader', () => {
  it('keeps forwarding what arrives while a write is in flight (a write slower than the flush interval)', async () => {
    const store = slowStore(150);
    const f = new CheckForwarder({ member: () => 'np-b', repo: () => store.repo, log: memoryLogger().logger, everyMs: 20 });
    for (let i = 0; i < 20; i++) f.add([check(i)]);
    await vi.waitFor(() => expect(store.written.length).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
    for (let i = 20; i < 25; i++) f.add([check(i)]); // the first write may still be in flight
    await vi.waitFor(() => expect(store.written.map((c) => c.time)).toEqual(Array.from({ length: 25 }, (_, i) => i)), { timeout: 3_000, interval: 10 });
    expect(f.pending).toBe(0);
    await f.stop();
  });

  it('holds its checks while the store is away and sends them, in order, once it is back', async () => {
    const store = slowStore(1);
    store.state.down = true;
    const { logger, lines } = memoryLogger();
    const f = new CheckForwarder({ member: () => 'np-b', repo: () => store.repo, log: logger, everyMs: 10 });
    f.add([check(1), check(2)]);
    await vi.waitFor(() => expect(lines.some((l) => /holding them/.test(l.msg))).toBe(true), { timeout: 2_000, interval: 10 });
    f.add([check(3)]);
    store.state.down = false;
    await vi.waitFor(() => expect(store.written.map((c) => c.time)).toEqual([1, 2, 3]), { timeout: 5_000, interval: 20 });
    await f.stop();
  });
});
