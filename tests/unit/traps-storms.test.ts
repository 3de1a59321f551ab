import { describe, it, expect } from 'vitest';
import { senderLookup } from '../../collectors/traps/sender.ts';
import { TrapLimiter, SourceGate, fingerprint, MAX_KINDS_PER_SOURCE, MAX_SCOPES_PER_SOURCE, type LimitKey } from '../../collectors/traps/limit.ts';
import { TrapConditions } from '../../collectors/traps/conditions.ts';
import type { Trap, TrapVarbind } from '../../collectors/traps/decode.ts';

const trap = (address: string, more: Partial<Trap> = {}, varbinds: TrapVarbind[] = []): Trap => ({
  version: '2c', inform: false, source: { address, port: 162 }, oid: '1.3.6.1.6.3.1.1.5.3', varbinds, problems: [], ...more,
});
const sysName = (v: string): TrapVarbind => ({ oid: '1.3.6.1.2.1.1.5.0', type: 'OctetString', value: v });

describe('who sent a trap', () => {
  const topology = new Set(['AGG-7', 'BS-1', 'BS-2', 'CORE-1']);
  const lookup = senderLookup({
    sources: [{ address: '192.0.2.21', element: 'AGG-7' }, { address: '192.0.2.99', element: 'NEW-SITE' }, { address: '::ffff:192.0.2.50', element: 'BS-1' }],
    targets: [{ name: 'core-r1', host: '192.0.2.1', element: 'CORE-1' }, { name: 'BS-2', host: '192.0.2.12' }, { name: 'by-name', host: 'bs3.example.net' }],
    sysNameVarbind: true, known: (e) => topology.has(e),
  });

  it.each([
    ['its sysName varbind, when it names an element of the topology (before anything else)', trap('192.0.2.21', {}, [sysName('BS-1')]), { element: 'BS-1', by: 'sysName' }],
    ['an explicit source for the UDP source', trap('192.0.2.21', {}, [sysName('not-in-topology')]), { element: 'AGG-7', by: 'source' }],
    ['an explicit source for a v1 agent address (behind a relay)', trap('10.9.9.9', { version: '1', agentAddress: '192.0.2.21' }), { element: 'AGG-7', by: 'agent_address' }],
    ['an explicit source whose element is not (yet) in the topology: the config lists it', trap('192.0.2.99'), { element: 'NEW-SITE', by: 'source' }],
    ['the SNMP target polled at that address: its element', trap('192.0.2.1'), { element: 'CORE-1', by: 'target' }],
    ['the SNMP target polled at that address: its name when it has no element', trap('192.0.2.12'), { element: 'BS-2', by: 'target' }],
    ['the SNMP target at a v1 agent address', trap('10.9.9.9', { version: '1', agentAddress: '192.0.2.1' }), { element: 'CORE-1', by: 'target_agent_address' }],
    ['a source configured as an IPv4-mapped IPv6 address', trap('192.0.2.50'), { element: 'BS-1', by: 'source' }],
  ])('finds the element by %s', (_what, t, expected) => {
    expect(lookup(t)).toEqual(expected);
  });

  it.each([
    ['a source nothing names', trap('203.0.113.5')],
    ['a sysName that is no element', trap('203.0.113.5', {}, [sysName('BS-404')])],
    ['a v1 agent address of 0.0.0.0', trap('203.0.113.5', { version: '1', agentAddress: '0.0.0.0' })],
    ['a target host written as a name (no DNS lookup)', trap('198.51.100.3')],
  ])('finds none for %s (the trap is refused as an unknown source)', (_what, t) => {
    expect(lookup(t)).toBeUndefined();
  });

  it('ignores the sysName varbind when traps.sysNameVarbind is off', () => {
    const off = senderLookup({ sources: [], targets: [{ name: 'x', host: '192.0.2.1', element: 'CORE-1' }], sysNameVarbind: false, known: () => true });
    expect(off(trap('192.0.2.1', {}, [sysName('BS-1')]))).toEqual({ element: 'CORE-1', by: 'target' });
  });
});

describe('storm control', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => { t += ms; } };
  };
  const key = (source: string, more: Partial<LimitKey> = {}): LimitKey => ({ source, kind: 'linkDown', scope: 'if:3', fingerprint: 'a', ...more });

  it('drops a trap identical to the last from its source about the same thing within the window, not a flap', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 100, burst: 100, dedupMs: 1000, maxSources: 10, now: c.now });
    expect(l.admit(key('s'))).toBe('pass');
    c.advance(500);
    expect(l.admit(key('s'))).toBe('dedup');
    expect(l.admit(key('t'))).toBe('pass'); // another source
    expect(l.admit(key('s', { scope: 'if:4' }))).toBe('pass'); // another interface
    // A flap within the window: down, up, down are three traps, each kept.
    expect(l.admit(key('s', { kind: 'linkUp', fingerprint: 'up' }))).toBe('pass');
    expect(l.admit(key('s'))).toBe('pass');
    c.advance(1000);
    expect(l.admit(key('s'))).toBe('pass'); // the window is over: the same trap again is news
    expect(l.dropped).toEqual({ dedup: 1, rate: 0 });
  });

  it('fingerprints a trap by its OID and varbinds, not by its uptime', () => {
    const a = trap('s', { uptime: 1 }, [{ oid: '1.3.6.1.2.1.2.2.1.1.3', type: 'Integer', value: 3 }]);
    expect(fingerprint(a)).toBe(fingerprint({ ...a, uptime: 99 }));
    expect(fingerprint(a)).not.toBe(fingerprint({ ...a, varbinds: [{ ...a.varbinds[0], value: 4 }] }));
    expect(fingerprint(a)).not.toBe(fingerprint({ ...a, oid: '1.3.6.1.6.3.1.1.5.4' }));
  });

  it('lets a burst through per source and kind, then the sustained rate; a duplicate spends no token', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 2, burst: 5, dedupMs: 1000, maxSources: 10, now: c.now });
    const got = Array.from({ length: 8 }, (_, i) => l.admit(key('s', { fingerprint: String(i) })));
    expect(got).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'rate', 'rate', 'rate']);
    expect(l.admit(key('s', { kind: 'linkUp', scope: 'if:4', fingerprint: 'u' }))).toBe('pass'); // its own bucket
    expect(l.admit(key('other', { fingerprint: 'x' }))).toBe('pass'); // another source is not held back
    c.advance(500); // one token back
    expect(l.admit(key('s', { fingerprint: '4' }))).toBe('dedup'); // identical to the last kept: no token spent
    expect(l.admit(key('s', { fingerprint: 'new' }))).toBe('pass');
    expect(l.admit(key('s', { fingerprint: 'newer' }))).toBe('rate');
    c.advance(60_000);
    expect(Array.from({ length: 6 }, (_, i) => l.admit(key('s', { fingerprint: `b${i}` })))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'rate']);
  });

  it('gives a source at most MAX_KINDS_PER_SOURCE buckets: cycling trap OIDs gains a flood nothing', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 1, burst: 1, dedupMs: 0, maxSources: 10, now: c.now });
    const passed = Array.from({ length: 10_000 }, (_, i) => l.admit(key('s', { kind: `1.3.6.1.4.1.1.${i}`, fingerprint: String(i) }))).filter((v) => v === 'pass').length;
    expect(passed).toBe(MAX_KINDS_PER_SOURCE + 1); // one each, and one for all the others together
  });

  it('stays bounded under 100,000 spoofed sources, forgetting the least recently seen, and a source that keeps sending keeps its state', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 1, burst: 1, dedupMs: 1000, maxSources: 1_000, now: c.now });
    expect(l.admit(key('steady', { fingerprint: 'x' }))).toBe('pass');
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      l.admit(key(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, { kind: `k${i % 50}`, scope: `s${i % 300}`, fingerprint: String(i) }));
      if (i % 100 === 0) expect(l.admit(key('steady', { fingerprint: 'y' }))).toBe('rate'); // seen often: never evicted, its bucket stays empty
      max = Math.max(max, l.size);
    }
    expect(max).toBe(1_000);
    expect(l.evicted).toBe(100_000 + 1 - 1_000);
  });

  it('remembers at most MAX_SCOPES_PER_SOURCE scopes per source', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 1e6, burst: 1e6, dedupMs: 60_000, maxSources: 1, now: c.now });
    for (let i = 0; i <= MAX_SCOPES_PER_SOURCE; i++) l.admit(key('s', { scope: `if:${i}` }));
    expect(l.admit(key('s', { scope: 'if:0' }))).toBe('pass'); // the oldest scope was forgotten: not a duplicate any more
    expect(l.admit(key('s', { scope: `if:${MAX_SCOPES_PER_SOURCE}` }))).toBe('dedup');
  });

  it('survives the clock stepping back: no refill for the step, nothing stuck', () => {
    const c = clock();
    const l = new TrapLimiter({ perSecond: 1, burst: 1, dedupMs: 1000, maxSources: 10, now: c.now });
    expect(l.admit(key('s', { fingerprint: '1' }))).toBe('pass');
    c.advance(-3_600_000);
    expect(l.admit(key('s', { fingerprint: '1' }))).toBe('rate'); // not a duplicate (time went back), no token
    c.advance(1000);
    expect(l.admit(key('s', { fingerprint: '2' }))).toBe('pass');
  });
});

describe('the source gate, before decoding', () => {
  it('lets each source its burst and rate of datagrams, whatever they are, and no more; others are not held back', () => {
    let t = 0;
    const g = new SourceGate({ perSecond: 10, burst: 20, maxSources: 100, now: () => t });
    expect(Array.from({ length: 25 }, () => g.admit('10.0.0.1')).filter(Boolean)).toHaveLength(20);
    expect(g.admit('10.0.0.2')).toBe(true);
    t += 500;
    expect(Array.from({ length: 10 }, () => g.admit('10.0.0.1')).filter(Boolean)).toHaveLength(5);
    expect(g.dropped).toBe(10);
  });

  it('stays bounded under 100,000 spoofed sources', () => {
    const g = new SourceGate({ perSecond: 1, burst: 1, maxSources: 1_000, now: () => 0 });
    for (let i = 0; i < 100_000; i++) g.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(g.size).toBe(1_000);
  });
});

describe('conditions raised by traps', () => {
  it('keep an element down while any link is down or alarm raised; a clear ends only its own raise', () => {
    const c = new TrapConditions();
    expect(c.apply('SW', { state: 'down', condition: 'if:3', reason: 'linkDown ifIndex 3' })).toEqual({ up: false, degraded: false, reason: 'linkDown ifIndex 3', active: 1 });
    expect(c.apply('SW', { state: 'degraded', condition: 'alarm:fan:1', reason: 'fan 1 raised' })).toEqual({ up: false, degraded: false, reason: 'linkDown ifIndex 3 (and 1 more raised)', active: 2 });
    expect(c.apply('SW', { state: 'clear', condition: 'if:3', reason: 'linkUp ifIndex 3' })).toEqual({ up: true, degraded: true, reason: 'linkUp ifIndex 3; still fan 1 raised', active: 1, cleared: 'down' });
    // A clear of nothing raised says so (no `cleared`: nothing for a poll to raise again).
    expect(c.apply('SW', { state: 'clear', condition: 'if:9', reason: 'linkUp ifIndex 9' })).toEqual({ up: true, degraded: true, reason: 'linkUp ifIndex 9; still fan 1 raised', active: 1 });
    expect(c.apply('SW', { state: 'clear', condition: 'alarm:fan:1', reason: 'fan 1 cleared' })).toEqual({ up: true, degraded: false, reason: 'fan 1 cleared', active: 0, cleared: 'degraded' });
    expect(c.size).toBe(0);
  });

  it('take a reboot as a moment\'s failure that leaves raised conditions alone; settle forgets them', () => {
    const c = new TrapConditions();
    c.apply('SW', { state: 'down', condition: 'if:3', reason: 'linkDown ifIndex 3' });
    expect(c.apply('SW', { state: 'down', reason: 'coldStart' })).toEqual({ up: false, degraded: false, reason: 'coldStart', active: 1 });
    expect(c.active('SW')).toEqual([{ condition: 'if:3', state: 'down', reason: 'linkDown ifIndex 3' }]);
    expect(c.settle('SW')).toBe(1);
    expect(c.active('SW')).toEqual([]);
  });

  it('stay bounded in elements', () => {
    const c = new TrapConditions(100);
    for (let i = 0; i < 10_000; i++) c.apply(`E${i}`, { state: 'down', condition: 'if:1', reason: 'x' });
    expect(c.size).toBe(100);
  });
});
