import { describe, it, expect, vi, afterEach } from 'vitest';
import { HoldDown } from '../../correlators/alerts/hold.ts';
import type { OutageEvent } from '../../correlators/outages/outage.ts';

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

  it('holds on while the outage may still be taken in above it, up to the longest hold; then pages whatever', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const silenced: string[] = [];
    let pending = new Set(['BS-1', 'BS-9']);
    const h = new HoldDown(10_000, (e) => sent.push(`${e.type} ${e.outage.id}`), (e) => silenced.push(e.outage.id),
      { pending: (e) => pending.has(e.outage.root), maxHoldMs: 120_000 });
    h.offer(ev('opened', 'BS-1@1'));
    h.offer(ev('opened', 'BS-2@1'));
    h.offer(ev('opened', 'BS-9@1'));
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(['opened BS-2@1']); // nothing above it is going: paged at the usual time
    vi.advanceTimersByTime(20_000);
    h.offer(ev('closed', 'BS-1@1', 'SW-1@3')); // its switch's outage took it in, 30 s after it opened
    expect(silenced).toEqual(['BS-1@1']);
    pending = new Set(['BS-9']);
    vi.advanceTimersByTime(89_999);
    expect(sent).toEqual(['opened BS-2@1']);
    vi.advanceTimersByTime(1); // still "pending", but 2 min is the most it waits
    expect(sent).toEqual(['opened BS-2@1', 'opened BS-9@1']);
  });

  it('0 pages at once', () => {
    const sent: string[] = [];
    new HoldDown(0, (e) => sent.push(e.type)).offer(ev('opened', 'A@1'));
    expect(sent).toEqual(['opened']);
  });
});
