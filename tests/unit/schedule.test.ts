import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { PollSchedule, spreadOffset } from '../../src/schedule.ts';

describe('the collectors\' schedule', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('runs a job first at its spread offset, then every interval, at a fixed rate', async () => {
    const at: number[] = [];
    const s = new PollSchedule(1, () => {});
    const t0 = Date.now();
    s.start([{ key: 'target-a', intervalMs: 1_000, run: async () => { at.push(Date.now() - t0); } }]);
    await vi.advanceTimersByTimeAsync(3_000);
    const first = spreadOffset('target-a', 1_000);
    expect(at).toEqual([first, first + 1_000, first + 2_000].filter((t) => t <= 3_000));
    await s.stop();
  });

  it('runs a job at once with firstRunMs 0, and after firstRunMs otherwise', async () => {
    const at: Record<string, number[]> = { now: [], later: [] };
    const s = new PollSchedule(2, () => {});
    const t0 = Date.now();
    s.start([
      { key: 'now', intervalMs: 1_000, firstRunMs: 0, run: async () => { at.now.push(Date.now() - t0); } },
      { key: 'later', intervalMs: 1_000, firstRunMs: 1_000, run: async () => { at.later.push(Date.now() - t0); } },
    ]);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(at).toEqual({ now: [0, 1_000, 2_000], later: [1_000, 2_000] });
    await s.stop();
  });

  it('passes over a job whose skip says so at its due time: no run, no slot taken from the others, no overrun; it runs again once skip says no', async () => {
    let mine = false;
    const runs: Record<string, number> = { theirs: 0, busy: 0 };
    let release!: () => void;
    const s = new PollSchedule(1, () => {});
    s.start([
      // The one slot is held by a slow job: a skipped job must not queue behind it.
      { key: 'busy', intervalMs: 10_000, firstRunMs: 0, run: () => { runs.busy++; return new Promise<void>((r) => { release = r; }); } },
      { key: 'theirs', intervalMs: 100, firstRunMs: 50, run: async () => { runs.theirs++; }, skip: () => !mine, onOverrun: () => { throw new Error('not an overrun'); } },
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toEqual({ theirs: 0, busy: 1 });
    expect(s.stats).toMatchObject({ runs: 1, overruns: 0, waiting: 0 });
    mine = true;
    release();
    await vi.advanceTimersByTimeAsync(300);
    expect(runs.theirs).toBe(3);
    await s.stop();
  });

  it('skips a run due while the last still goes, and says so', async () => {
    let release!: () => void;
    const overruns: string[] = [];
    const s = new PollSchedule(1, () => {});
    s.start([{ key: 'slow', intervalMs: 100, firstRunMs: 0, run: () => new Promise<void>((r) => { release = r; }), onOverrun: () => overruns.push('slow') }]);
    await vi.advanceTimersByTimeAsync(250);
    expect(overruns).toEqual(['slow', 'slow']);
    expect(s.stats).toMatchObject({ runs: 1, overruns: 2 });
    release();
    await s.stop();
  });

  it('stop is idempotent, waits for the run under way, and nothing runs after it', async () => {
    let runs = 0;
    let release!: () => void;
    const s = new PollSchedule(1, () => {});
    s.start([{ key: 'job', intervalMs: 100, firstRunMs: 0, run: () => { runs++; return new Promise<void>((r) => { release = r; }); } }]);
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = Promise.all([s.stop(), s.stop()]).then(() => { stopped = true; });
    await vi.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false); // the run under way holds it
    release();
    await stopping;
    await s.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(1);
  });

  it('a run that throws is reported and the job runs again', async () => {
    const errors: string[] = [];
    let runs = 0;
    const s = new PollSchedule(1, (key, err) => errors.push(`${key}: ${(err as Error).message}`));
    s.start([{ key: 'job', intervalMs: 100, firstRunMs: 0, run: async () => { if (runs++ === 0) throw new Error('boom'); } }]);
    await vi.advanceTimersByTimeAsync(150);
    expect(errors).toEqual(['job: boom']);
    expect(runs).toBe(2);
    await s.stop();
  });
});
