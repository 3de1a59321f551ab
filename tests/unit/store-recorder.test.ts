import { describe, it, expect, vi } from 'vitest';
import { StoreRecorder } from '../../src/store/recorder.ts';
import type { Store } from '../../src/store/store.ts';
import { createLogger } from '../../src/log.ts';

describe('the store recorder', () => {
  it('writes what is added the moment the previous write is done (never left until some later write comes)', async () => {
    const r = new StoreRecorder({} as Store, createLogger({ level: 'silent' }));
    const done: string[] = [];
    await r.add(async () => { done.push('first'); });
    // Added in the same turn the first one's promise settled, when the writing loop has just found its queue empty.
    void r.add(async () => { done.push('second'); });
    await vi.waitFor(() => expect(done).toEqual(['first', 'second']), { timeout: 2_000, interval: 5 });
    expect(r.pending).toBe(0);
  });

  it('keeps the order and retries a failed write until it succeeds', async () => {
    vi.useFakeTimers();
    try {
      const r = new StoreRecorder({} as Store, createLogger({ level: 'silent' }));
      const done: number[] = [];
      let fails = 2;
      const all = [1, 2, 3].map((i) => r.add(async () => {
        if (i === 2 && fails-- > 0) throw new Error('database unreachable');
        done.push(i);
      }));
      await vi.runAllTimersAsync();
      await Promise.all(all);
      expect(done).toEqual([1, 2, 3]);
    } finally {
      vi.useRealTimers();
    }
  });
});
