import { describe, it, expect, vi, afterEach } from 'vitest';
import { HoldDown } from '../../src/alerts/hold.ts';
import type { OutageEvent } from '../../correlators/outage/outage.ts';

const ev = (type: OutageEvent['type'], id: string, mergedInto?: string): OutageEvent => ({
  type, at: 0,
  outage: { id, root: id.split('@')[0], severity: 'outage', state: type === 'closed' ? 'closed' : 'open', startedAt: 0, impacted: [], planned: false, flapping: false, reopened: 0, reason: 'x', ...(mergedInto && { mergedInto }) },
});

describe('the alert hold-down', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('a station outage merged into its switch within the hold is never paged; the switch is, once', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const silenced: string[] = [];
    const h = new HoldDown(10_000, (e) => sent.push(`${e.type} ${e.outage.id}`), (e) => silenced.push(e.outage.id));
    h.offer(ev('opened', 'BS-1@1'));
    vi.advanceTimersByTime(3000);
    h.offer(ev('opened', 'SW-1@2'));
    h.offer(ev('closed', 'BS-1@1', 'SW-1@2'));
    vi.advanceTimersByTime(9999); // the switch's hold ends 10 s after it opened
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['opened SW-1@2']);
    expect(silenced).toEqual(['BS-1@1']);
    h.offer(ev('cleared', 'BS-1@1')); // a silenced outage stays silent
    h.offer(ev('cleared', 'SW-1@2'));
    expect(sent).toEqual(['opened SW-1@2', 'cleared SW-1@2']);
  });

  it('an outage that is updated and cleared inside the hold is paged with all of it, in order; flush pages what waits', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const h = new HoldDown(10_000, (e) => sent.push(`${e.type} ${e.outage.id}`));
    h.offer(ev('opened', 'A@1'));
    h.offer(ev('updated', 'A@1'));
    h.offer(ev('cleared', 'A@1'));
    h.offer(ev('opened', 'B@1'));
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(['opened A@1', 'updated A@1', 'cleared A@1', 'opened B@1']);
    h.offer(ev('opened', 'C@1'));
    h.flush();
    expect(sent.at(-1)).toBe('opened C@1');
  });

  it('0 pages at once', () => {
    const sent: string[] = [];
    new HoldDown(0, (e) => sent.push(e.type)).offer(ev('opened', 'A@1'));
    expect(sent).toEqual(['opened']);
  });
});
