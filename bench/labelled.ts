// Correlation on a labelled run. A week on a simulated clock (bench/fixtures/labelled-world.ts):
// 1 core, 4 switches (one never polled: a silent parent), 36 base stations (6 dual-homed, 13
// MQTT-only), 108 cells, 20,000 subscribers; faults at every level with overlaps; complaints
// caused by them (from the edge of the grace before to the edge of the grace after, a fifth posted
// late in shuffled hourly CRM batches) and background complaints at a normal rate and 10x.
// What monitoring sees is made from the faults (bench/fixtures/labelled-feeds.ts): SNMP polls
// every 30 s, MQTT presence (a birth on connect, a last will 45 s after a station loses its way to
// the broker) and cell telemetry every 60 s through the MQTT collector's decoding. The daemon's
// path, wired as src/daemon.ts `build()` wires it: samples -> OutageService (health tracker,
// outage correlator, ticked every second) -> the store, ImpactService, ComplaintService (matching,
// late matching on outage events, suspected outages), in event order.
// Measured against the labels: matching precision and recall, false suspected outages, and for
// every dead MQTT-only station and silent parent whether an outage opened at it, and how fast.
// Reference, same complaints: the same matcher and impact path on outages from the true fault
// states (every element observed perfectly and at once, silent switches and dead stations too).
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { createLogger } from '../src/log.ts';
import { Store } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite.ts';
import { StoreRecorder } from '../src/store/recorder.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import { ImpactService } from '../correlators/impact/service.ts';
import { ComplaintService, type SuspectedOutage } from '../correlators/complaints/service.ts';
import type { Grade } from '../correlators/complaints/complaint.ts';
import type { Deadlines } from '../correlators/complaints/grade.ts';
import { tempDir } from '../tests/helpers/servers.ts';
import {
  buildWorld, faultSchedule, trueImpacts, labelledComplaints, networkState, random,
  T0, WEEK, MIN, H, FAULT_KINDS, PHASES, type World, type Fault, type LabelledComplaint,
} from './fixtures/labelled-world.ts';
import { Timeline, daemonMonitor, oracleMonitor } from './fixtures/labelled-feeds.ts';
import { line, fmt, percentile } from './lib.ts';
import { healthOf } from '../correlators/health/repository.ts';
import { outagesOf } from '../correlators/outages/repository.ts';

export interface RunResult {
  complaints: Map<string, { outageId: string | null; kind: string | null }>;
  outages: Map<string, { root: string; startedAt: number; mergedInto: string | null }>;
  /** Every outage event, at the simulated time it was emitted (an outage opens at the tick that finds it). */
  events: { type: string; id: string; root: string; at: number; mergedInto?: string }[];
  suspicions: SuspectedOutage[];
  /** Outages the alert hold-down would page (correlators/alerts/hold.ts's rule, on the simulated clock). */
  paged: Set<string>;
  seconds: number;
}

/** One labelled week through the correlation path, wired as `build()` in src/daemon.ts wires it. */
export async function run(w: World, faults: readonly Fault[], complaints: readonly LabelledComplaint[], config: Config, monitorKind: 'daemon' | 'truth'): Promise<RunResult> {
  const t0 = performance.now();
  const store = new Store(new SqliteDb(join(tempDir('bench-labelled'), 'netpulse.db')));
  await store.migrate();
  await store.saveTopology([...w.topology.elements.values()]);
  async function* rows() {
    for (const s of w.subscribers) yield JSON.stringify({ id: s.id, tier: ['vip', 'gold', 'standard', 'standard'][Number(s.id.slice(1)) % 4], service: 'mobile', serving: s.serving }) + '\n';
  }
  await importSubscribers(store, rows(), { format: 'jsonl', mode: 'replace', known: (e) => w.topology.elements.has(e) });
  const tl = new Timeline();
  const clock = { now: T0 - H };
  const monitor = monitorKind === 'daemon' ? daemonMonitor(w, faults, config, tl, clock, clock.now) : oracleMonitor(w, faults, config, tl);
  const topology = w.topology;
  const recorder = new StoreRecorder(store, createLogger({ level: 'silent' }));
  const impacts = new ImpactService();
  const cc = config.complaints;
  // As build() in src/daemon.ts makes it (its options are built inline there, so they are copied here).
  const service = new ComplaintService({ health: (id) => monitor.health.get(id), topology: () => topology }, {
    match: { graceBeforeMs: cc.graceBefore, graceAfterMs: cc.graceAfter, minConfidence: cc.minConfidence },
    deadlines: Object.fromEntries(Object.entries(cc.deadlines).map(([g, d]) => [g, { respondMs: d.respond, resolveMs: d.resolve }])) as Record<Grade, Deadlines>,
    ...(cc.gradeRules && { rules: cc.gradeRules }),
    suspect: { windowMs: cc.suspect.window, minComplaints: cc.suspect.minComplaints, usualPerWindow: cc.suspect.usualPerWindow, maxProbability: cc.suspect.maxProbability },
  });
  const suspicions: SuspectedOutage[] = [];
  service.onSuspicion((s) => suspicions.push(s));
  const events: RunResult['events'] = [];
  // The alert hold-down as src/daemon.ts sets it up: a new outage waits `holdDown`, then again while
  // its parent may yet take it in (up to the inference window); merged or closed meanwhile, silent.
  const holdMs = config.alerts.holdDown;
  const maxHoldMs = Math.max(holdMs, config.outages.inference.window);
  const held = new Map<string, { root: string; due: number; until: number }>();
  const paged = new Set<string>();
  monitor.onEvent((e) => {
    events.push({ type: e.type, id: e.outage.id, root: e.outage.root, at: clock.now, ...(e.outage.mergedInto && { mergedInto: e.outage.mergedInto }) });
    if (e.type === 'opened' && !paged.has(e.outage.id)) held.set(e.outage.id, { root: e.outage.root, due: clock.now + holdMs, until: clock.now + maxHoldMs });
    if (e.type === 'closed') held.delete(e.outage.id);
    void recorder.add((s) => outagesOf(s).recordOutageEvent(e));
    void recorder.add((s) => impacts.apply(s, e));
    void recorder.add((s) => service.onOutageEvent(s, e));
  });
  monitor.onTransition((t) => void recorder.add((s) => healthOf(s).recordTransition(t)));
  const end = Math.max(T0 + WEEK, complaints.at(-1)?.postedAt ?? 0) + 10 * MIN;
  let next = 0;
  for (let now = clock.now; now <= end; now += 1000) {
    clock.now = now;
    tl.runUntil(now);
    monitor.tick(now);
    for (const [id, h] of held) {
      if (h.due > now) continue;
      if (now < h.until && (monitor.awaitingParent?.(h.root) ?? false)) h.due = Math.min(now + holdMs, h.until);
      else {
        held.delete(id);
        paged.add(id);
      }
    }
    // The store keeps up with the correlators (its writes are queued in event order): complaints
    // posted now see every outage event up to now.
    if (recorder.pending > 0) await drain(recorder);
    for (; next < complaints.length && complaints[next].postedAt <= now; next++) {
      const c = complaints[next];
      await service.submit(store, { id: c.id, subscriberId: c.subscriberId, channel: c.crm ? 'hotline' : 'app', category: c.category, reportedAt: c.reportedAt }, c.postedAt);
    }
    if (now % MIN === 0) await service.expire(store, now, cc.suspect.expireAfter);
  }
  await drain(recorder);
  const matched = await store.db.query<{ id: string; outage_id: string | null; impact_kind: string | null }>('SELECT id, outage_id, impact_kind FROM complaints');
  const stored = await store.db.query<{ id: string; root: string; started_at: number; merged_into: string | null }>('SELECT id, root, started_at, merged_into FROM outages');
  await store.close();
  return {
    complaints: new Map(matched.map((r) => [r.id, { outageId: r.outage_id, kind: r.impact_kind }])),
    outages: new Map(stored.map((o) => [o.id, { root: o.root, startedAt: Number(o.started_at), mergedInto: o.merged_into }])),
    events, suspicions, paged, seconds: (performance.now() - t0) / 1000,
  };
}

/** Waits for every queued store write. */
async function drain(recorder: StoreRecorder): Promise<void> {
  await recorder.add(async () => undefined);
}

export interface Score {
  tp: number; fp: number; fn: number; precision: number; recall: number;
  fpWhy: Map<string, number>; recallBy: Map<string, [number, number]>; phaseMiss: Map<string, number>; kindWrong: number;
}

/**
 * A complaint is a true positive when it is matched to an outage whose root is the element of a
 * fault in its label (or an outage merged into such an outage), started within that fault's
 * graces. Any other match is a false positive; a caused complaint not matched so is a false
 * negative. The label (bench/fixtures/labelled-world.ts) is every fault that hit the subscriber
 * with the report inside the documented window around that impact: a station's complaint during
 * its switch's outage may match either, as may one between two faults close together.
 */
export function score(w: World, faults: readonly Fault[], complaints: readonly LabelledComplaint[], r: RunResult, graces: { beforeMs: number; afterMs: number }): Score {
  const byId = new Map(faults.map((f) => [f.id, f]));
  const s: Score = { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, fpWhy: new Map(), recallBy: new Map(), phaseMiss: new Map(), kindWrong: 0 };
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const right = (c: LabelledComplaint, outageId: string) => {
    const o = r.outages.get(outageId);
    const roots = [o, o?.mergedInto ? r.outages.get(o.mergedInto) : undefined].filter((x) => x !== undefined);
    return [...c.label ?? []].some((fid) => {
      const f = byId.get(fid)!;
      return roots.some((x) => x.root === f.element && x.startedAt >= f.start - graces.beforeMs && x.startedAt <= f.end + graces.afterMs);
    });
  };
  for (const c of complaints) {
    const m = r.complaints.get(c.id)?.outageId ?? null;
    const ok = m !== null && c.label !== null && right(c, m);
    if (c.fault) {
      const [hit, all] = s.recallBy.get(c.fault.kind) ?? [0, 0];
      s.recallBy.set(c.fault.kind, [hit + (ok ? 1 : 0), all + 1]);
      if (!ok) bump(s.phaseMiss, c.phase);
    }
    if (ok) {
      s.tp++;
      if (c.kind === 'no_service' && r.complaints.get(c.id)?.kind === 'degraded') s.kindWrong++;
      continue;
    }
    if (c.label !== null) s.fn++;
    if (m === null) continue;
    s.fp++;
    const root = r.outages.get(m)?.root ?? '?';
    const underSilent = w.topology.ancestors(root).some((a) => w.silent.includes(a));
    bump(s.fpWhy, c.label === null ? 'background' : underSilent ? 'a station under a silent switch instead of the switch' : `wrong root (${w.topology.elements.get(root)?.kind ?? '?'})`);
  }
  s.precision = s.tp / Math.max(1, s.tp + s.fp);
  s.recall = s.tp / Math.max(1, s.tp + s.fn);
  return s;
}

/** From a fault's start, or from when its element stops being cut off by other faults (what can be seen). */
function observableFrom(w: World, faults: readonly Fault[], f: Fault): number | undefined {
  const times = [f.start, ...faults.flatMap((g) => [g.start, g.end]).filter((t) => t > f.start && t < f.end)].sort((a, b) => a - b);
  for (const t of times) {
    const others = faults.filter((g) => g !== f && g.start <= t && t < g.end);
    if (!networkState(w.topology, others).lost.has(f.element)) return t;
  }
  return undefined;
}

/**
 * Per fault: observable at all, and when an outage at its element opened (simulated clock) with a
 * start inside the fault (one opened during it but dated from an earlier failure is `misdated`).
 */
function detection(w: World, faults: readonly Fault[], kinds: readonly string[], r: RunResult, graceBeforeMs: number) {
  const out = { faults: 0, hidden: 0, found: 0, misdated: 0, delays: [] as number[], startError: 0 };
  for (const f of faults.filter((x) => kinds.includes(x.kind))) {
    const from = observableFrom(w, faults, f);
    if (from === undefined) {
      out.hidden++;
      continue;
    }
    out.faults++;
    const o = r.events.find((x) => x.type === 'opened' && x.root === f.element && x.at >= f.start && x.at <= f.end + 10 * MIN);
    if (!o) continue;
    const started = r.outages.get(o.id)?.startedAt ?? NaN;
    if (!(started >= f.start - graceBeforeMs && started <= f.end)) {
      out.misdated++;
      continue;
    }
    out.found++;
    out.delays.push(o.at - from);
    out.startError = Math.max(out.startError, Math.abs(started - from));
  }
  out.delays.sort((a, b) => a - b);
  return out;
}

/** Suspicions with no fault on their element or a relative of it, within the graces around them. */
function falseSuspicions(w: World, faults: readonly Fault[], r: RunResult, graces: { beforeMs: number; afterMs: number }): SuspectedOutage[] {
  const related = (a: string, b: string) => a === b || w.topology.ancestors(a).includes(b) || w.topology.ancestors(b).includes(a);
  return r.suspicions.filter((s) => !faults.some((f) => related(s.element, f.element) && f.start - graces.beforeMs <= s.at && s.since <= f.end + graces.afterMs));
}

const secs = (ms: number) => (Number.isNaN(ms) ? '-' : `${Math.round(ms / 1000)} s`);
const share = (a: number, b: number) => (b === 0 ? '-' : (a / b).toFixed(3));

export async function benchLabelled(): Promise<void> {
  const config = validateConfig({}, {}).config!;
  const graces = { beforeMs: config.complaints.graceBefore, afterMs: config.complaints.graceAfter };
  const w = buildWorld(20_000, random(7));
  const faults = faultSchedule(w, random(8));
  const truth = trueImpacts(w, faults);
  const count = (k: string) => faults.filter((f) => f.kind === k).length;
  const survivals = faults.filter((f) => f.kind === 'switch' || f.kind === 'silent-switch')
    .reduce((n, f) => n + [...w.dualHomed].filter((s) => w.topology.elements.get(s)!.parents.includes(f.element) && !networkState(w.topology, faults.filter((g) => g.start <= f.start && f.start < g.end)).lost.has(s)).length, 0);
  line('topology', `1 core, 4 switches (silent: ${w.silent.join(', ')}), ${w.stations.length} stations (${w.dualHomed.size} dual-homed, ${w.mqttOnly.size} MQTT-only), ${w.cells.length} cells, ${fmt(w.subscribers.length)} subscribers`);
  line('faults in the week', `${faults.length}: ${FAULT_KINDS.map((k) => `${count(k)} ${k}`).join(', ')}`);
  line('  placed overlaps / dual-homed stations riding out a parent', `${faults.filter((f) => f.placed).map((f) => `${f.element} ${f.placed}`).join(', ')} / ${survivals}`);
  line('graces (README: 30 min before, 2 h after)', `${graces.beforeMs / MIN} min / ${graces.afterMs / H} h`);

  const results: { label: string; aimP: number; aimR: number; daemon: Score; truth: Score; run: RunResult; n: number }[] = [];
  for (const [label, background, aimP, aimR] of [['normal background', 100, 0.99, 0.99], ['10x background', 1000, 0.97, 0.99]] as const) {
    const complaints = labelledComplaints(w, faults, truth, background, graces, { caused: 9, background: 10 });
    const daemon = await run(w, faults, complaints, config, 'daemon');
    const reference = await run(w, faults, complaints, config, 'truth');
    const caused = complaints.filter((c) => c.fault);
    line(`${label}: complaints caused / background / in CRM batches`, `${fmt(caused.length)} / ${fmt(background)} / ${fmt(complaints.filter((c) => c.crm).length)} (run ${daemon.seconds.toFixed(1)} s, reference ${reference.seconds.toFixed(1)} s)`);
    line('  caused, by phase', PHASES.map((p) => `${p} ${caused.filter((c) => c.phase === p).length}`).join(', '));
    line('  caused, inside the window of a second fault too', `${caused.filter((c) => c.ambiguous).length} (either match is right)`);
    const d = score(w, faults, complaints, daemon, graces);
    const t = score(w, faults, complaints, reference, graces);
    results.push({ label, aimP, aimR, daemon: d, truth: t, run: daemon, n: complaints.length });
    line(`  precision (aim >= ${aimP})`, `${d.precision.toFixed(3)} (${d.fp} false: ${[...d.fpWhy].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})`);
    line(`  recall (aim >= ${aimR})`, `${d.recall.toFixed(3)} (${d.fn} missed)`);
    line('  recall by fault kind', FAULT_KINDS.map((k) => `${k} ${share(...(d.recallBy.get(k) ?? [0, 0]))}`).join(', '));
    line('  missed, by phase', PHASES.map((p) => `${p} ${d.phaseMiss.get(p) ?? 0}`).join(', '));
    line('  matched as degraded while without service', `${d.kindWrong} of ${d.tp} right matches`);
    line('  reference (outages from the true states): precision / recall', `${t.precision.toFixed(3)} / ${t.recall.toFixed(3)} (${t.fp} false: ${[...t.fpWhy].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})`);
  }

  const r = results[0].run;
  const susp = results.map((x) => ({ all: x.run.suspicions.length, bad: falseSuspicions(w, faults, x.run, graces) }));
  line('suspected outages: false / all (aim: 0 false)', susp.map((s, i) => `${results[i].label}: ${s.bad.length} / ${s.all}${s.bad.length ? ` (${s.bad.slice(0, 4).map((b) => b.element).join(', ')})` : ''}`).join('; '));
  // Outages at an element that did not fail: a child opening its own before its parent's failure is
  // found. Taken in (merged) within the alert hold-down, it is never paged.
  const wrong = [...r.outages].filter(([, o]) => !faults.some((f) => f.element === o.root && o.startedAt >= f.start - graces.beforeMs && o.startedAt <= f.end + graces.afterMs));
  const lived = wrong.map(([id]) => {
    const open = r.events.find((e) => e.id === id && e.type === 'opened')?.at ?? NaN;
    const merged = r.events.find((e) => e.id === id && e.type === 'closed' && e.mergedInto)?.at;
    return merged === undefined ? Infinity : merged - open;
  });
  const paged = wrong.filter(([id]) => r.paged.has(id));
  line('outages at elements that did not fail (normal run), paged (aim: 0)', `${paged.length} of ${wrong.length}: ${wrong.length - paged.length} taken into their parent's within the alert hold (${config.alerts.holdDown / 1000} s, held on while the parent may yet take them, up to ${config.outages.inference.window / 1000} s)${paged.length ? `; paged: ${[...new Set(paged.map(([, o]) => o.root))].slice(0, 8).join(', ')}` : ''}; lived up to ${secs(Math.max(0, ...lived.filter(Number.isFinite)))}${lived.some((ms) => ms === Infinity) ? ', some never merged' : ''}`);
  line('outages paged in all (normal run)', `${r.paged.size} of ${r.outages.size} (the faults: ${faults.length})`);
  const found = (label: string, d: ReturnType<typeof detection>) => line(label, `${d.found} of ${d.faults}${d.hidden ? ` (+${d.hidden} cut off by a parent throughout)` : ''}${d.misdated ? `, ${d.misdated} more opened but dated from an earlier failure` : ''}; detection p50 / max ${secs(percentile(d.delays, 50))} / ${secs(d.delays.at(-1) ?? NaN)}; start off by <= ${d.found ? secs(d.startError) : '-'}`);
  const mqtt = detection(w, faults, ['station-mqtt'], r, graces.beforeMs);
  const silent = detection(w, faults, ['silent-switch'], r, graces.beforeMs);
  found('dead MQTT-only stations found (outage at the station)', mqtt);
  found('silent parents found (outage at the switch)', silent);
  found('polled switches and stations found (for comparison)', detection(w, faults, ['switch', 'station-snmp'], r, graces.beforeMs));
  for (const x of results) {
    line(`RATIO precision ${x.label} / ${x.aimP}`, (x.daemon.precision / x.aimP).toFixed(3));
    line(`RATIO recall ${x.label} / ${x.aimR}`, (x.daemon.recall / x.aimR).toFixed(3));
  }
  susp.forEach((s, i) => line(`RATIO real suspicions / all, ${results[i].label} (aim 1)`, s.all === 0 ? '1.000 (none raised)' : ((s.all - s.bad.length) / s.all).toFixed(3)));
  line('RATIO dead MQTT-only stations found / all (aim 1)', share(mqtt.found, mqtt.faults));
  line('RATIO silent parents found / all (aim 1)', share(silent.found, silent.faults));
  for (const x of results) line(`RATIO recall ${x.label} / recall on true outages (reference)`, (x.daemon.recall / x.truth.recall).toFixed(3));
}

if (import.meta.main) {
  await benchLabelled();
  process.exit(0);
}
