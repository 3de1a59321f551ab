import type { Sample } from '../../src/sample.ts';

/** What one observation says about an element, before any hysteresis. */
export type Verdict = 'ok' | 'degraded' | 'fail' | 'stale';

export interface Check {
  element: string;
  /** Which view of the element it comes from (`snmp`, `icmp`, `mqtt`, `radio`): each has its own history. */
  source: string;
  /** When it was observed (ms): outages start and end at observation times, not evaluation ticks. */
  time: number;
  verdict: Verdict;
  reason: string;
  /**
   * A statement, not a vote: an MQTT presence "offline" (a last will) or "online", or telemetry
   * resuming after it. It sets its source's state at once, and a source whose last word was
   * "offline" stays down, not stale, until it says otherwise.
   */
  decisive?: boolean;
}

/** Thresholds per element class; the defaults follow common radio and transport practice. */
export interface Thresholds {
  /** RSRP below this is poor coverage (3GPP/operator practice: -110 dBm at the cell edge). */
  rsrpDegradedDbm: number;
  /** SINR below this: the signal drowns in interference. */
  sinrDegradedDb: number;
  /** Packet loss above this share is a degradation; 100 % is down. */
  lossDegradedPercent: number;
  /** Average round trip above this is a degradation. */
  latencyDegradedMs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { rsrpDegradedDbm: -110, sinrDegradedDb: 0, lossDegradedPercent: 2, latencyDegradedMs: 150 };

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

/**
 * A health rule over one numeric field of a measurement. The radio rules are three of these
 * (`radioRules`); an operator adds their own (`health.rules`) for telemetry that names its fields
 * otherwise, or for measurements of their own.
 */
export interface FieldRule {
  measurement: string;
  field: string;
  /** The health source its checks count under (each source has its own hysteresis). */
  source: string;
  /** The tag that names the element judged; without it (or when absent), the sample's element. */
  elementTag?: string;
  /** Judge only samples that carry `elementTag` (a table row mapped to an element): the others say nothing. */
  onlyTagged?: boolean;
  /** A failure unless the value is this (an operational status: 1 is up). */
  failUnless?: number;
  failBelow?: number;
  failAbove?: number;
  degradedBelow?: number;
  degradedAbove?: number;
}

/** The built-in radio rules: `lte_cell` judges the cell its `cell_name` tag names. */
export function radioRules(t: Thresholds = DEFAULT_THRESHOLDS): FieldRule[] {
  return [
    { measurement: 'lte_cell', field: 'oper_status', source: 'radio', elementTag: 'cell_name', failUnless: 1 },
    { measurement: 'lte_cell', field: 'rsrp_dbm', source: 'radio', elementTag: 'cell_name', degradedBelow: t.rsrpDegradedDbm },
    { measurement: 'lte_cell', field: 'sinr_db', source: 'radio', elementTag: 'cell_name', degradedBelow: t.sinrDegradedDb },
  ];
}

/**
 * The built-in port rule: an IF-MIB row an SNMP profile maps to a topology element (`rowElement`,
 * tag `row_element`) is that port's health: operationally up, or down. Rows mapped to nothing say nothing.
 */
export function portRules(): FieldRule[] {
  return [{ measurement: 'interface', field: 'ifOperStatus', source: 'port', elementTag: 'row_element', onlyTagged: true, failUnless: 1 }];
}

/** Rules by measurement, for `checksOf`: the radio rules, and the operator's (one of theirs for the same field replaces the built-in one). */
export function ruleBook(t: Thresholds = DEFAULT_THRESHOLDS, extra: readonly FieldRule[] = []): ReadonlyMap<string, readonly FieldRule[]> {
  const all = [...[...radioRules(t), ...portRules()].filter((r) => !extra.some((x) => x.measurement === r.measurement && x.field === r.field)), ...extra];
  const m = new Map<string, FieldRule[]>();
  for (const r of all) m.set(r.measurement, [...(m.get(r.measurement) ?? []), r]);
  return m;
}

const DEFAULT_BOOK = ruleBook();
/** The reasons of the MQTT collector's own presence points: a will or birth, and telemetry after an "offline". */
const PRESENCE = new Set(['offline', 'online', 'data']);
const RANKED: Record<string, number> = { ok: 0, degraded: 1, fail: 2 };
/** The built-in rules' words, as NOC engineers read them. */
const WORDS: Record<string, (v: number, limit: number) => string> = {
  oper_status: (v) => `cell operationally down (status ${v})`,
  rsrp_dbm: (v, limit) => `RSRP ${v} dBm below ${limit}`,
  sinr_db: (v, limit) => `SINR ${v} dB below ${limit}`,
  ifOperStatus: (v) => `port: operationally down (ifOperStatus ${v})`,
};

function judge(r: FieldRule, v: number): { verdict: 'ok' | 'degraded' | 'fail'; reason: string } {
  const say = (limit: number, generic: string) => (WORDS[r.field] && (r.measurement === 'lte_cell' || r.measurement === 'interface') ? WORDS[r.field](v, limit) : generic);
  if (r.failUnless !== undefined && v !== r.failUnless) return { verdict: 'fail', reason: say(r.failUnless, `${r.field} is ${v}, not ${r.failUnless}`) };
  if (r.failBelow !== undefined && v < r.failBelow) return { verdict: 'fail', reason: say(r.failBelow, `${r.field} ${v} below ${r.failBelow}`) };
  if (r.failAbove !== undefined && v > r.failAbove) return { verdict: 'fail', reason: say(r.failAbove, `${r.field} ${v} above ${r.failAbove}`) };
  if (r.degradedBelow !== undefined && v < r.degradedBelow) return { verdict: 'degraded', reason: say(r.degradedBelow, `${r.field} ${v} below ${r.degradedBelow}`) };
  if (r.degradedAbove !== undefined && v > r.degradedAbove) return { verdict: 'degraded', reason: say(r.degradedAbove, `${r.field} ${v} above ${r.degradedAbove}`) };
  return { verdict: 'ok', reason: r.field === 'ifOperStatus' ? 'port: operationally up' : `${r.source} in range` };
}

/**
 * Turns a sample into health checks. Pure. Reachability (any probe) says ok/fail/stale, with loss
 * and latency (or `degraded: true`, a trap's alarm) making an answered element degraded; MQTT
 * presence and `probe=trap` samples marked `decisive` give decisive checks; any other measurement is judged by its field
 * rules (`ruleBook`: `lte_cell` judges the cell its `cell_name` tag names, operationally down a
 * failure, poor RSRP or SINR a degradation): one check per element and source, the worst of the
 * fields the sample carries. A sample with no field a rule reads says nothing about health.
 */
export function checksOf(s: Sample, t: Thresholds = DEFAULT_THRESHOLDS, rules: ReadonlyMap<string, readonly FieldRule[]> = DEFAULT_BOOK): Check[] {
  if (s.measurement === 'reachability') {
    const source = s.tags.probe ?? 'unknown';
    if (s.fields.stale === true) return [{ element: s.element, source, time: s.time, verdict: 'stale', reason: 'no data past its period' }];
    // Statements, not votes: MQTT presence, and a trap (collectors/traps marks its samples decisive).
    const decisive = (source === 'mqtt' && PRESENCE.has(String(s.fields.reason))) || (source === 'trap' && s.fields.decisive === true) ? { decisive: true } : {};
    if (s.fields.up === false) return [{ element: s.element, source, time: s.time, verdict: 'fail', reason: `${source}: ${String(s.fields.error ?? s.fields.reason ?? 'no answer')}`, ...decisive }];
    if (s.fields.up !== true) return [];
    if (s.fields.degraded === true) return [{ element: s.element, source, time: s.time, verdict: 'degraded', reason: `${source}: ${String(s.fields.reason ?? 'degraded')}`, ...decisive }];
    const loss = num(s.fields.loss_percent);
    const rtt = num(s.fields.response_time_ms);
    if (loss !== undefined && loss > t.lossDegradedPercent) return [{ element: s.element, source, time: s.time, verdict: 'degraded', reason: `${source}: ${loss}% loss` }];
    if (source === 'icmp' && rtt !== undefined && rtt > t.latencyDegradedMs) return [{ element: s.element, source, time: s.time, verdict: 'degraded', reason: `${source}: ${rtt} ms round trip` }];
    return [{ element: s.element, source, time: s.time, verdict: 'ok', reason: `${source}: ${source === 'trap' && s.fields.reason ? String(s.fields.reason) : 'answered'}`, ...decisive }];
  }
  const mine = rules.get(s.measurement);
  if (!mine) return [];
  const out = new Map<string, Check>();
  for (const r of mine) {
    const v = num(s.fields[r.field]);
    if (v === undefined || (r.onlyTagged && !(r.elementTag && s.tags[r.elementTag]))) continue;
    const element = (r.elementTag && s.tags[r.elementTag]) || s.element;
    const j = judge(r, v);
    const key = `${element}\u0000${r.source}`;
    const before = out.get(key);
    if (!before || RANKED[j.verdict] > RANKED[before.verdict]) out.set(key, { element, source: r.source, time: s.time, verdict: j.verdict, reason: j.reason });
  }
  return [...out.values()];
}
