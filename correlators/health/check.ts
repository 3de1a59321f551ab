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
 * Turns a sample into health checks. Pure. Reachability (any probe) says ok/fail/stale, with loss
 * and latency making an answered element degraded; `ping` rounds likewise; `lte_cell` says about
 * the cell (its `cell_name` tag names the element): operationally down is a failure, poor RSRP or
 * SINR a degradation. Other samples say nothing about health.
 */
export function checksOf(s: Sample, t: Thresholds = DEFAULT_THRESHOLDS): Check[] {
  switch (s.measurement) {
    case 'reachability': {
      const source = s.tags.probe ?? 'unknown';
      if (s.fields.stale === true) return [{ element: s.element, source, time: s.time, verdict: 'stale', reason: 'no data past its period' }];
      if (s.fields.up === false) return [{ element: s.element, source, time: s.time, verdict: 'fail', reason: `${source}: ${String(s.fields.error ?? s.fields.reason ?? 'no answer')}` }];
      if (s.fields.up !== true) return [];
      const loss = num(s.fields.loss_percent);
      const rtt = num(s.fields.response_time_ms);
      if (loss !== undefined && loss > t.lossDegradedPercent) return [{ element: s.element, source, time: s.time, verdict: 'degraded', reason: `${source}: ${loss}% loss` }];
      if (source === 'icmp' && rtt !== undefined && rtt > t.latencyDegradedMs) return [{ element: s.element, source, time: s.time, verdict: 'degraded', reason: `${source}: ${rtt} ms round trip` }];
      return [{ element: s.element, source, time: s.time, verdict: 'ok', reason: `${source}: answered` }];
    }
    case 'lte_cell': {
      const element = s.tags.cell_name ?? s.element;
      const oper = num(s.fields.oper_status);
      if (oper !== undefined && oper !== 1) return [{ element, source: 'radio', time: s.time, verdict: 'fail', reason: `cell operationally down (status ${oper})` }];
      const rsrp = num(s.fields.rsrp_dbm);
      const sinr = num(s.fields.sinr_db);
      if (rsrp !== undefined && rsrp < t.rsrpDegradedDbm) return [{ element, source: 'radio', time: s.time, verdict: 'degraded', reason: `RSRP ${rsrp} dBm below ${t.rsrpDegradedDbm}` }];
      if (sinr !== undefined && sinr < t.sinrDegradedDb) return [{ element, source: 'radio', time: s.time, verdict: 'degraded', reason: `SINR ${sinr} dB below ${t.sinrDegradedDb}` }];
      if (oper === undefined && rsrp === undefined && sinr === undefined) return [];
      return [{ element, source: 'radio', time: s.time, verdict: 'ok', reason: 'radio in range' }];
    }
    default:
      return [];
  }
}
