import { describe, it, expect } from 'vitest';
import { HealthTracker } from '../../correlators/health/tracker.ts';
import { checksOf, type Verdict } from '../../correlators/health/check.ts';
import { OutageCorrelator } from '../../correlators/outages/correlator.ts';
import type { OutageEvent, MaintenanceWindow } from '../../correlators/outages/outage.ts';
import { Topology, type Element } from '../../src/topology/topology.ts';
import { alertOf } from '../../correlators/alerts/alert.ts';

//            CORE-1
//           /      \
//       AGG-7      AGG-8
//      /  |  \    /
//   BS-1 BS-2 BS-R (both uplinks)
//    |
//  BS-1-C1
const ELEMENTS: Element[] = [
  { id: 'CORE-1', kind: 'core', site: 'dc1', parents: [] },
  { id: 'AGG-7', kind: 'aggregation', site: 'north-agg', parents: ['CORE-1'] },
  { id: 'AGG-8', kind: 'aggregation', site: 'south-agg', parents: ['CORE-1'] },
  { id: 'BS-1', kind: 'base_station', site: 'north-01', parents: ['AGG-7'] },
  { id: 'BS-2', kind: 'base_station', site: 'north-02', parents: ['AGG-7'] },
  { id: 'BS-R', kind: 'base_station', site: 'mid-03', parents: ['AGG-7', 'AGG-8'] },
  { id: 'BS-1-C1', kind: 'cell', site: 'north-01', parents: ['BS-1'] },
];
const S = 1000;

/**
 * A timeline: observations at times, evaluated as they come, every outage event kept with the
 * time it was produced. Health and outages are the real, pure correlators.
 */
class Timeline {
  readonly health = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 60 * S });
  readonly outages: OutageCorrelator;
  readonly events: (OutageEvent & { evaluatedAt: number })[] = [];
  constructor(o = {}) {
    this.outages = new OutageCorrelator(Topology.build(ELEMENTS).topology!, { confirmRecoveryMs: 60 * S, flapAfterReopens: 2, ...o });
  }
  /** Poll results at time t: element -> verdict. */
  at(t: number, verdicts: Record<string, Verdict>): this {
    for (const [element, verdict] of Object.entries(verdicts)) this.health.ingest({ element, source: 'snmp', time: t * S, verdict, reason: `snmp: ${verdict}` });
    return this.evaluate(t);
  }
  evaluate(t: number): this {
    this.health.tick(t * S);
    for (const e of this.outages.evaluate(this.health.all, t * S)) this.events.push({ ...e, evaluatedAt: t * S });
    return this;
  }
  /** Polls every 10 s from t0 to t1 inclusive. */
  every10(t0: number, t1: number, verdicts: (t: number) => Record<string, Verdict>): this {
    for (let t = t0; t <= t1; t += 10) this.at(t, verdicts(t));
    return this;
  }
  types(): string[] {
    return this.events.map((e) => `${e.type} ${e.outage.root}`);
  }
}

const all = (v: Verdict, ...ids: string[]) => Object.fromEntries(ids.map((i) => [i, v]));
const EVERYONE = ELEMENTS.map((e) => e.id);
const allUp = () => all('ok', ...EVERYONE);

describe('outages along the topology, as timelines', () => {
  it('an aggregation switch dies: one outage, its base stations and their cells impacted, no outage of their own', () => {
    const tl = new Timeline().every10(0, 20, allUp);
    // t=30: AGG-7 stops answering; its base stations do too (they are behind it).
    tl.every10(30, 80, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.types()).toEqual(['opened AGG-7']); // its children cut off from the start, inside it
    const opened = tl.events[0];
    expect(opened.outage.startedAt).toBe(30 * S); // the first failed poll, not the tick that decided
    expect(opened.evaluatedAt).toBe(40 * S); // decided at the second failure of three
    const now = tl.outages.outages[0];
    expect(now.impacted.map((i) => i.element)).toEqual(['BS-1', 'BS-1-C1', 'BS-2']);
    expect(now.impacted.every((i) => i.since === 30 * S)).toBe(true);
    // Service returns at t=90: cleared at the first good poll, closed once recovery held 60 s.
    tl.every10(90, 170, allUp);
    expect(tl.types()).toEqual(['opened AGG-7', 'cleared AGG-7', 'closed AGG-7']);
    expect(tl.events[1].outage.clearedAt).toBe(90 * S);
    expect(tl.events[2].evaluatedAt).toBeGreaterThanOrEqual(150 * S);
    expect(tl.events[2].evaluatedAt).toBeLessThanOrEqual(160 * S);
  });

  it('redundant uplinks: one down leaves the dual-homed station alone; both down cut it off', () => {
    const tl = new Timeline().every10(0, 20, allUp);
    tl.every10(30, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.outages.outages.map((o) => [o.root, o.impacted.map((i) => i.element)])).toEqual([['AGG-7', ['BS-1', 'BS-1-C1', 'BS-2']]]);
    tl.every10(60, 80, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'AGG-8', 'BS-1', 'BS-2', 'BS-1-C1', 'BS-R') }));
    const byRoot = Object.fromEntries(tl.outages.outages.map((o) => [o.root, o.impacted.map((i) => i.element)]));
    expect(byRoot).toEqual({ 'AGG-7': ['BS-1', 'BS-1-C1', 'BS-2', 'BS-R'], 'AGG-8': ['BS-R'] });
    expect(tl.types().filter((t) => t.startsWith('opened'))).toEqual(['opened AGG-7', 'opened AGG-8']);
  });

  it('the parent recovers and a child stays down: the child gets its own outage (nothing left suppressed)', () => {
    const tl = new Timeline().every10(0, 10, allUp);
    tl.every10(20, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    tl.every10(60, 90, () => ({ ...allUp(), ...all('fail', 'BS-2') }));
    expect(tl.types().sort()).toEqual(['cleared AGG-7', 'opened AGG-7', 'opened BS-2']);
    const bs2 = tl.events.find((e) => e.outage.root === 'BS-2')!.outage;
    expect(tl.events.find((e) => e.outage.root === 'BS-2')!.evaluatedAt).toBe(70 * S); // as soon as AGG-7 is confirmed back (two good polls)
    // Failing since the switch went, but the switch's outage holds it until then: no time counted twice.
    expect(bs2.startedAt).toBe(60 * S);
    expect(tl.events.find((e) => e.type === 'cleared')!.outage.clearedAt).toBe(60 * S);
  });

  it('an element seen by two sources comes back when the failing one does, not when the other last changed', () => {
    const health = new HealthTracker({ failOf: 2, window: 3, recoverAfter: 2, staleAfterMs: 600 * S });
    const seen: string[] = [];
    const check = (t: number, source: string, verdict: Verdict) => {
      for (const tr of health.ingest({ element: 'BS-1', source, time: t * S, verdict, reason: `${source}: ${verdict}` })) seen.push(`${tr.to}@${tr.at / S} ${tr.reason}`);
    };
    check(0, 'mqtt', 'ok'); // presence: online, and it stays so
    for (let t = 0; t <= 20; t += 10) check(t, 'snmp', 'ok');
    for (let t = 30; t <= 50; t += 10) check(t, 'snmp', 'fail');
    for (let t = 60; t <= 80; t += 10) check(t, 'snmp', 'ok');
    expect(seen).toEqual(['up@0 mqtt: ok', 'down@30 snmp: fail', 'up@60 snmp: ok']); // not up@0: mqtt was good all along
  });

  it('the parent recovers and its children come back a little later: still one outage, ending when the last is back', () => {
    const tl = new Timeline({ followRecoveryMs: 60 * S }).every10(0, 10, allUp);
    tl.every10(20, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    // AGG-7 answers from t=60; its base stations re-attach 30 s later.
    tl.every10(60, 80, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.types()).toEqual(['opened AGG-7']); // no outage of BS-1 or BS-2
    expect(tl.outages.outages[0]).toMatchObject({ root: 'AGG-7', state: 'open' });
    expect(tl.outages.outages[0].impacted.map((i) => i.element)).toEqual(['BS-1', 'BS-1-C1', 'BS-2']);
    // BS-2 first (from t=90), then BS-1 and its cell (from t=100).
    tl.every10(90, 90, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-1-C1') }));
    tl.every10(100, 200, allUp);
    expect(tl.types()).toEqual(['opened AGG-7', 'updated AGG-7', 'cleared AGG-7', 'closed AGG-7']);
    expect(tl.events[1].outage.impacted.map((i) => i.element)).toEqual(['BS-1', 'BS-1-C1']);
    const cleared = tl.events.find((e) => e.type === 'cleared')!;
    expect(cleared.outage.clearedAt).toBe(110 * S); // when the last of them was confirmed back (two good polls)
  });

  it('a child still down past followRecovery gets its own outage from then on; the parent\'s ends there', () => {
    const tl = new Timeline({ followRecoveryMs: 30 * S }).every10(0, 10, allUp);
    tl.every10(20, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    tl.every10(60, 90, () => ({ ...allUp(), ...all('fail', 'BS-2') }));
    tl.every10(100, 160, () => ({ ...allUp(), ...all('fail', 'BS-2') }));
    expect(tl.types()).toEqual(['opened AGG-7', 'updated AGG-7', 'cleared AGG-7', 'opened BS-2', 'closed AGG-7']);
    const cleared = tl.events.find((e) => e.type === 'cleared')!;
    const bs2 = tl.events.find((e) => e.outage.root === 'BS-2')!;
    expect(cleared.evaluatedAt).toBe(90 * S); // AGG-7 back (two good polls) at 60 s, waited 30 s
    expect(bs2.outage.startedAt).toBe(cleared.outage.clearedAt); // continues where the switch's ends
    expect(bs2.outage.impacted.map((i) => i.element)).toEqual([]);
  });

  it('a base station down first, then its switch: the station outage merges into the switch outage', () => {
    const tl = new Timeline().every10(0, 10, allUp);
    tl.every10(20, 30, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-1-C1') }));
    tl.every10(40, 60, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.types()).toEqual(['opened BS-1', 'opened AGG-7', 'closed BS-1']);
    const merged = tl.events[2].outage;
    expect(merged.mergedInto).toBe(tl.events[1].outage.id);
    expect(tl.outages.outages.map((o) => [o.root, o.impacted.map((i) => i.element)])).toEqual([['AGG-7', ['BS-1', 'BS-1-C1', 'BS-2']]]);
  });

  it('a switch bouncing every 10 seconds is one outage, marked flapping, not thirty', () => {
    const tl = new Timeline().every10(0, 10, allUp);
    // 20 s down, 20 s up, for ten minutes.
    tl.every10(20, 620, (t) => (Math.floor((t - 20) / 20) % 2 === 0 ? { ...allUp(), ...all('fail', 'AGG-7') } : allUp()));
    const opened = tl.events.filter((e) => e.type === 'opened');
    expect(opened).toHaveLength(1);
    const o = tl.outages.outages.find((x) => x.root === 'AGG-7')!;
    expect(o.flapping).toBe(true);
    expect(o.reopened).toBeGreaterThanOrEqual(10);
    tl.every10(630, 720, allUp);
    expect(tl.types().at(-1)).toBe('closed AGG-7');
  });

  it('silence is not a failure: stale data makes nothing open, and an open outage waits for real data', () => {
    const tl = new Timeline().every10(0, 20, allUp);
    tl.evaluate(200); // nobody heard from for three minutes
    expect(tl.health.get('AGG-7')!.state).toBe('unknown');
    expect(tl.events).toEqual([]);
    tl.every10(210, 230, () => ({ ...allUp(), ...all('fail', 'AGG-7') }));
    expect(tl.types()).toEqual(['opened AGG-7']);
    tl.evaluate(400); // AGG-7 silent again: still open, not cleared
    expect(tl.outages.outages[0].state).toBe('open');
    tl.every10(410, 420, allUp);
    expect(tl.types()).toEqual(['opened AGG-7', 'cleared AGG-7']);
  });

  it('an outage is never dated across a good check: sparse checks (fail, ok, then fail days later) start it at the later failure', () => {
    const tl = new Timeline().at(0, { 'BS-2': 'fail' }).at(10, { 'BS-2': 'ok' }).at(3 * 86_400, { 'BS-2': 'fail' });
    expect(tl.types()).toEqual(['opened BS-2']);
    expect(tl.events[0].outage.startedAt).toBe(3 * 86_400 * S);
  });

  it('a cell with poor signal is a degradation; the same cell going down turns it into an outage', () => {
    const tl = new Timeline();
    const cell = (t: number, rsrp: number, oper = 1) => {
      for (const c of checksOf({ element: 'BS-1', measurement: 'lte_cell', tags: { cell_name: 'BS-1-C1' }, fields: { oper_status: BigInt(oper), rsrp_dbm: rsrp, sinr_db: 5 }, time: t * S })) tl.health.ingest(c);
      tl.evaluate(t);
    };
    cell(0, -95); cell(10, -96);
    cell(20, -115); cell(30, -116);
    expect(tl.outages.outages.map((o) => [o.root, o.severity])).toEqual([['BS-1-C1', 'degradation']]);
    cell(40, -117, 2); cell(50, -117, 2);
    expect(tl.outages.outages.map((o) => [o.root, o.severity])).toEqual([['BS-1-C1', 'outage']]);
    expect(tl.types()).toEqual(['opened BS-1-C1', 'updated BS-1-C1']);
  });

  it('inside a maintenance window the outage is still recorded, marked planned', () => {
    const tl = new Timeline();
    const w: MaintenanceWindow = { id: 'chg-1', sites: ['north-agg'], start: 25 * S, end: 3600 * S, reason: 'line card swap' };
    tl.outages.setMaintenance([w]);
    tl.every10(0, 20, allUp).every10(30, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.outages.outages.map((o) => [o.root, o.planned])).toEqual([['AGG-7', true]]);
    tl.every10(60, 80, () => ({ ...allUp(), ...all('fail', 'AGG-8') }));
    expect(tl.outages.outages.find((o) => o.root === 'AGG-8')!.planned).toBe(false);
  });

  it('a restart in the middle of an outage continues it: no duplicate, and it clears with the right times', () => {
    const before = new Timeline().every10(0, 20, allUp).every10(30, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    const saved = before.outages.outages; // what the store holds
    const after = new Timeline();
    after.outages.restore(saved);
    after.every10(60, 80, () => ({ ...allUp(), ...all('fail', 'AGG-7', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(after.types()).toEqual([]); // the same outage goes on
    after.every10(90, 110, allUp);
    expect(after.types()).toEqual(['cleared AGG-7']);
    expect(after.events[0].outage.id).toBe(saved[0].id);
    expect(after.events[0].outage.startedAt).toBe(30 * S);
    expect(after.events[0].outage.clearedAt).toBe(90 * S);
  });

  it('restored while down, recovered during the restart: cleared at the first good observation', () => {
    const before = new Timeline().every10(0, 20, allUp).every10(30, 50, () => ({ ...allUp(), ...all('fail', 'AGG-7') }));
    const after = new Timeline();
    after.outages.restore(before.outages.outages);
    after.every10(120, 130, allUp);
    expect(after.types()).toEqual(['cleared AGG-7']);
    expect(after.events[0].outage.clearedAt).toBe(120 * S);
  });
});

describe('a silent parent inferred from the elements behind it', () => {
  // AGG-7 is never polled: only its base stations (and BS-R, which AGG-8 also carries) are.
  const polled = EVERYONE.filter((id) => id !== 'AGG-7');
  const up = () => all('ok', ...polled);
  const darkBehindAgg7 = () => ({ ...up(), ...all('fail', 'BS-1', 'BS-2', 'BS-1-C1') });

  it('every station behind an unpolled switch goes dark at once: one outage at the switch, marked inferred, not one per station', () => {
    const tl = new Timeline().every10(0, 20, up);
    tl.every10(30, 60, darkBehindAgg7);
    expect(tl.types()).toEqual(['opened AGG-7']);
    const o = tl.outages.outages[0];
    expect(o.inferred).toBe(true);
    expect(o.startedAt).toBe(30 * S); // the first failure that gave it away
    expect(o.impacted.map((i) => i.element)).toEqual(['BS-1', 'BS-1-C1', 'BS-2']);
    expect(o.reason).toMatch(/^inferred: 2 of 2 elements behind it went down within 120 s .*never heard from$/);
    // BS-R has another way up (AGG-8): it says nothing about AGG-7 and stays up.
    expect(o.impacted.some((i) => i.element === 'BS-R')).toBe(false);
    // The NOC reads that it is inferred.
    const alert = alertOf(tl.events[0], Topology.build(ELEMENTS).topology!);
    expect(alert.rootCauseInferred).toBe(true);
    expect(alert.alarmDetails).toBe('aggregation AGG-7 is down (inferred: not seen failing itself); 2 base stations behind it are unreachable because of it');
  });

  it('real evidence confirms it: the switch seen failing keeps the same outage, no longer inferred', () => {
    const tl = new Timeline().every10(0, 20, up).every10(30, 50, darkBehindAgg7);
    const id = tl.outages.outages[0].id;
    tl.every10(60, 80, () => ({ ...darkBehindAgg7(), 'AGG-7': 'fail' }));
    expect(tl.types()).toEqual(['opened AGG-7', 'updated AGG-7']);
    const o = tl.outages.outages[0];
    expect(o.id).toBe(id);
    expect(o.inferred).toBeUndefined();
    expect(o.reason).toBe('snmp: fail');
    // What opened it stays its first evidence, whatever the reason says now.
    expect(o.evidence).toEqual({ at: 30 * S, reason: tl.events[0].outage.reason });
    expect(o.evidence!.reason).toMatch(/^inferred: 2 of 2 elements/);
  });

  it('real evidence moves it: the switch heard alive after its stations failed ends the inference, and each station gets its outage', () => {
    const tl = new Timeline({ followRecoveryMs: 60 * S }).every10(0, 20, up).every10(30, 50, darkBehindAgg7);
    tl.at(55, { 'AGG-7': 'ok' }).every10(60, 70, darkBehindAgg7);
    expect(tl.types()).toEqual(['opened AGG-7', 'cleared AGG-7', 'opened BS-1', 'opened BS-2']);
    const cleared = tl.events[1].outage;
    expect(cleared.clearedAt).toBe(55 * S);
    expect(cleared.reason).toMatch(/^not down after all: heard alive at /);
    // No time counted twice: each station's own outage starts where the switch's ended.
    expect(tl.events.slice(2).map((e) => e.outage.startedAt)).toEqual([55 * S, 55 * S]);
  });

  it('the first station back ends it (the switch it hangs on is back); one still down is its own outage after the follow time', () => {
    const tl = new Timeline({ followRecoveryMs: 20 * S }).every10(0, 20, up).every10(30, 60, darkBehindAgg7);
    tl.every10(70, 110, () => ({ ...up(), ...all('fail', 'BS-2') }));
    expect(tl.types()).toEqual(['opened AGG-7', 'updated AGG-7', 'cleared AGG-7', 'opened BS-2']);
    const cleared = tl.events[2].outage;
    expect(cleared.clearedAt).toBeGreaterThanOrEqual(70 * S);
    expect(tl.events[3].outage.inferred).toBeUndefined();
  });

  it('stations failing far apart are separate faults: no inference', () => {
    const tl = new Timeline().every10(0, 20, up);
    tl.every10(30, 200, (t) => ({ ...up(), ...all('fail', 'BS-1', 'BS-1-C1'), ...(t >= 190 ? all('fail', 'BS-2') : {}) }));
    expect(tl.types()).toEqual(['opened BS-1', 'opened BS-2']);
    expect(tl.outages.outages.every((o) => o.inferred === undefined)).toBe(true);
  });

  it('a switch whose management plane still answers is not blamed for its stations', () => {
    const tl = new Timeline().every10(0, 20, allUp);
    tl.every10(30, 60, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-2', 'BS-1-C1') }));
    expect(tl.types()).toEqual(['opened BS-1', 'opened BS-2']);
  });

  it('a station outage opened first is taken into the inferred switch outage when the others follow', () => {
    const tl = new Timeline().every10(0, 20, up);
    tl.every10(30, 40, () => ({ ...up(), ...all('fail', 'BS-1', 'BS-1-C1') }));
    tl.every10(50, 80, darkBehindAgg7);
    expect(tl.types()).toEqual(['opened BS-1', 'opened AGG-7', 'closed BS-1']);
    expect(tl.events[2].outage.mergedInto).toBe(tl.outages.outages[0].id);
    expect(tl.outages.outages[0].startedAt).toBe(30 * S);
  });

  it('last wills put MQTT-only stations down at once: their switch, polled a moment before, is inferred at the second will and confirmed by its own polls', () => {
    const tl = new Timeline().every10(0, 30, allUp);
    const will = (t: number, element: string) => {
      tl.health.ingest({ element, source: 'mqtt', time: t * S, verdict: 'fail', reason: 'mqtt: offline', decisive: true });
      tl.evaluate(t);
    };
    will(33, 'BS-1');
    will(34, 'BS-2');
    tl.every10(40, 50, () => ({ ...all('ok', 'CORE-1', 'AGG-8', 'BS-R'), 'AGG-7': 'fail' }));
    expect(tl.types()).toEqual(['opened BS-1', 'opened AGG-7', 'closed BS-1', 'updated AGG-7']);
    expect(tl.events[1].outage).toMatchObject({ inferred: true, startedAt: 33 * S });
    expect(tl.events[2].outage.mergedInto).toBe(tl.events[1].outage.id);
    expect(tl.events[3].outage.inferred).toBeUndefined();
    expect(tl.events[3].outage.id).toBe(tl.events[1].outage.id);
  });

  it('stations down inside planned work say nothing about their switch', () => {
    const tl = new Timeline().every10(0, 20, up);
    tl.outages.setMaintenance([{ id: 'CHG-9', sites: ['north-02'], start: 0, end: 1000 * S }]);
    tl.every10(30, 60, darkBehindAgg7);
    expect(tl.types()).toEqual(['opened BS-1', 'opened BS-2']);
    expect(tl.outages.outages.find((o) => o.root === 'BS-2')?.planned).toBe(true);
  });

  it('stays one outage while its stations are down, though one of them falls silent (no data is not a recovery)', () => {
    const tl = new Timeline().every10(0, 20, up).every10(30, 50, darkBehindAgg7);
    // BS-2 stops reporting altogether (stale after 60 s); BS-1 keeps failing.
    tl.every10(60, 250, () => ({ ...all('ok', 'CORE-1', 'AGG-8', 'BS-R'), ...all('fail', 'BS-1', 'BS-1-C1') }));
    expect(tl.types()).toEqual(['opened AGG-7']);
    expect(tl.outages.outages.map((o) => [o.root, o.inferred])).toEqual([['AGG-7', true]]);
  });

  it('a dual-homed station back while its other uplink is down says the inferred parent is back', () => {
    // AGG-8 is polled and fails; everything behind AGG-7 goes dark too (BS-R, with AGG-8 down, depends on AGG-7 alone).
    const tl = new Timeline({ followRecoveryMs: 0 }).every10(0, 20, up);
    tl.every10(30, 60, () => ({ ...all('ok', 'CORE-1'), ...all('fail', 'AGG-8', 'BS-1', 'BS-2', 'BS-R', 'BS-1-C1') }));
    expect(tl.outages.outages.find((o) => o.root === 'AGG-7')?.inferred).toBe(true);
    // BS-R answers again at 70 (AGG-8 still down: only AGG-7 can carry it); BS-1 and BS-2 have faults of their own.
    tl.every10(70, 100, () => ({ ...all('ok', 'CORE-1', 'BS-R'), ...all('fail', 'AGG-8', 'BS-1', 'BS-2', 'BS-1-C1') }));
    const cleared = tl.events.find((e) => e.type === 'cleared' && e.outage.root === 'AGG-7');
    expect(cleared?.outage.clearedAt).toBe(70 * S);
    expect(tl.outages.outages.filter((o) => o.state === 'open').map((o) => o.root).sort()).toEqual(['AGG-8', 'BS-1', 'BS-2']);
  });

  it('a reopened inferred outage is never dated before it cleared', () => {
    const tl = new Timeline().every10(0, 20, up).every10(30, 50, darkBehindAgg7);
    tl.every10(60, 70, () => ({ ...up(), 'BS-2': 'fail' })); // BS-1 back at 60: AGG-7 is back
    tl.every10(80, 100, darkBehindAgg7); // and both dark again
    const cleared = tl.events.find((e) => e.type === 'cleared' && e.outage.root === 'AGG-7')!;
    const reopened = tl.events.find((e) => e.type === 'reopened' && e.outage.root === 'AGG-7')!;
    expect(cleared.outage.clearedAt).toBe(60 * S);
    expect(reopened.at).toBeGreaterThanOrEqual(60 * S);
  });

  it('tells the alert hold-down when a station outage may yet be taken in above it', () => {
    // A silent switch: BS-1 down, BS-2 (behind the same switch alone) has failed one poll.
    const silent = new Timeline().every10(0, 20, up);
    silent.every10(30, 40, () => ({ ...up(), ...all('fail', 'BS-1', 'BS-1-C1') })).at(45, { 'BS-2': 'fail' });
    expect(silent.types()).toEqual(['opened BS-1']);
    expect(silent.outages.awaitingParent('BS-1', silent.health.all)).toBe(true);
    // A polled switch whose own poll just failed once.
    const polled = new Timeline().every10(0, 20, allUp);
    polled.every10(30, 40, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-1-C1') })).at(45, { 'AGG-7': 'fail' });
    expect(polled.outages.awaitingParent('BS-1', polled.health.all)).toBe(true);
    // A station failing alone under a switch that answers: nothing to wait for.
    const alone = new Timeline().every10(0, 20, allUp).every10(30, 50, () => ({ ...allUp(), ...all('fail', 'BS-1', 'BS-1-C1') }));
    expect(alone.outages.awaitingParent('BS-1', alone.health.all)).toBe(false);
  });

  it('off, or a share not reached: one outage per station as before', () => {
    const off = new Timeline({ inference: false }).every10(0, 20, up).every10(30, 60, darkBehindAgg7);
    expect(off.types()).toEqual(['opened BS-1', 'opened BS-2']);
    const most = new Timeline({ inference: { share: 1, minChildren: 3, windowMs: 120 * S } }).every10(0, 20, up).every10(30, 60, darkBehindAgg7);
    expect(most.types()).toEqual(['opened BS-1', 'opened BS-2']);
  });
});
