import type { Outage, OutageEvent } from '../outages/outage.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { Scope } from '../impact/impact.ts';

/**
 * One alert event per outage state change, its fields named after TM Forum TMF642 (Alarm) where
 * one fits. `id` is stable for the change (outage, event, time): the same change alerted twice is
 * one alert.
 */
export interface Alert {
  id: string;
  outageId: string;
  event: OutageEvent['type'] | 'suspected' | 'deadline' | 'security';
  alarmType: 'communicationsAlarm' | 'qualityOfServiceAlarm' | 'securityServiceOrMechanismViolation';
  perceivedSeverity: 'critical' | 'major' | 'minor' | 'cleared';
  probableCause: string;
  specificProblem: string;
  alarmedObject: { id: string; '@referredType': string; site?: string; region?: string };
  state: 'raised' | 'updated' | 'cleared';
  alarmRaisedTime: string;
  alarmChangedTime: string;
  alarmClearedTime?: string;
  ackState: 'unacknowledged' | 'acknowledged';
  isRootCause: true;
  /** The impacted elements: what the root cause took down with it. */
  correlatedAlarm: { id: string; since: string }[];
  plannedOutageIndicator: 'InService' | 'OutOfService';
  flapping: boolean;
  /** The subscribers it hits, counted (absent when the scope could not be computed in time). */
  affectedSubscribers?: Scope;
  /** The root cause was inferred from the elements behind it, not seen failing (netpulse's extension). */
  rootCauseInferred?: true;
  /** One line a NOC engineer reads first. */
  alarmDetails: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Element kinds as a NOC engineer reads them, one and many. */
const KIND_NAME: Record<string, [string, string]> = {
  core: ['core node', 'core nodes'], aggregation: ['aggregation switch', 'aggregation switches'], access: ['access port', 'access ports'],
  olt: ['OLT', 'OLTs'], base_station: ['base station', 'base stations'], cell: ['cell', 'cells'],
};

export function alertOf(e: OutageEvent, topology: Topology, scope?: Scope): Alert {
  const o: Outage = e.outage;
  const el = topology.elements.get(o.root);
  const kind = el?.kind ?? 'element';
  const cleared = e.type === 'cleared' || e.type === 'closed';
  const behind = o.impacted.filter((i) => topology.elements.get(i.element)?.kind !== 'cell');
  const counts = new Map<string, number>();
  for (const i of behind) {
    const k = topology.elements.get(i.element)?.kind ?? 'element';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const what = [...counts].map(([k, n]) => `${n} ${n === 1 ? KIND_NAME[k]?.[0] ?? k : KIND_NAME[k]?.[1] ?? `${k}s`}`).join(', ');
  const details = cleared
    ? `${kind.replace('_', ' ')} ${o.root} is back (${e.type})`
    : o.severity === 'degradation'
      ? `${kind.replace('_', ' ')} ${o.root} is degraded: ${o.reason}`
      : `${kind.replace('_', ' ')} ${o.root} is down${o.inferred ? ' (inferred: not seen failing itself)' : ''}${what ? `; ${what} behind it ${behind.length === 1 ? 'is' : 'are'} unreachable because of it` : ''}`;
  const hit = scope && !cleared && scope.current > 0
    ? `; ${scope.current} subscriber${scope.current === 1 ? '' : 's'} affected (${scope.noService} without service${scope.byTier.vip ? `, ${scope.byTier.vip} VIP` : ''}${scope.byTier.enterprise ? `, ${scope.byTier.enterprise} enterprise` : ''})`
    : '';
  return {
    id: `${o.id}#${e.type}@${e.at}`,
    outageId: o.id,
    event: e.type,
    alarmType: o.severity === 'outage' ? 'communicationsAlarm' : 'qualityOfServiceAlarm',
    perceivedSeverity: cleared ? 'cleared' : o.severity === 'degradation' ? 'minor' : behind.length > 0 ? 'critical' : 'major',
    probableCause: o.severity === 'outage' ? 'communicationsSubsystemFailure' : 'degradedSignal',
    specificProblem: o.reason,
    alarmedObject: { id: o.root, '@referredType': kind, ...(el?.site && { site: el.site }), ...(el?.region && { region: el.region }) },
    state: cleared ? 'cleared' : e.type === 'opened' ? 'raised' : 'updated',
    alarmRaisedTime: iso(o.startedAt),
    alarmChangedTime: iso(e.at),
    ...(o.clearedAt !== undefined && { alarmClearedTime: iso(o.clearedAt) }),
    ackState: 'unacknowledged',
    isRootCause: true,
    correlatedAlarm: o.impacted.map((i) => ({ id: i.element, since: iso(i.since) })),
    plannedOutageIndicator: o.planned ? 'OutOfService' : 'InService',
    flapping: o.flapping,
    ...(scope && { affectedSubscribers: scope }),
    ...(o.inferred && { rootCauseInferred: true as const }),
    alarmDetails: details + hit,
  };
}

/**
 * The NOC alert for an outage monitoring did not see: a burst of complaints with one element in
 * common. Its own id space (`suspect:`), so it never collides with a monitored outage's alerts.
 */
export function suspicionAlertOf(s: { id: string; element: string; since: number; at: number; subscribers: number; probability: number; replaces?: { element: string; since: number }[] }, topology: Topology, windowMinutes: number): Alert {
  const el = topology.elements.get(s.element);
  const kind = el?.kind ?? 'element';
  const taken = s.replaces ?? [];
  const rollup = taken.length > 0 ? `; it takes in ${taken.length} earlier suspicion${taken.length === 1 ? '' : 's'} below it (${taken.map((r) => r.element).join(', ')})` : '';
  return {
    id: `${s.id}#suspected@${s.at}`,
    outageId: s.id,
    event: 'suspected',
    alarmType: 'qualityOfServiceAlarm',
    perceivedSeverity: 'major',
    probableCause: 'customerComplaints',
    specificProblem: `${s.subscribers} subscribers complained within ${windowMinutes} min (chance as background noise ${s.probability.toExponential(1)})`,
    alarmedObject: { id: s.element, '@referredType': kind, ...(el?.site && { site: el.site }), ...(el?.region && { region: el.region }) },
    state: 'raised',
    alarmRaisedTime: iso(s.since),
    alarmChangedTime: iso(s.at),
    ackState: 'unacknowledged',
    isRootCause: true,
    correlatedAlarm: taken.map((r) => ({ id: `suspect:${r.element}@${r.since}`, since: iso(r.since) })),
    plannedOutageIndicator: 'InService',
    flapping: false,
    alarmDetails: `suspected outage at ${kind.replace('_', ' ')} ${s.element}: ${s.subscribers} subscribers complained within ${windowMinutes} min and monitoring sees nothing wrong${rollup}`,
  };
}

/** Security alerts about one element: at most one per this window (the same alert id within it). */
export const SECURITY_ALERT_WINDOW_MS = 10 * 60_000;

/**
 * The security alert for a trap whose definition means `security` (authenticationFailure: someone
 * asked the device with a wrong community or credentials). One per element per
 * SECURITY_ALERT_WINDOW_MS: its id is the window's, so a device reporting a scan a thousand times is
 * one alert, raised at the first trap.
 */
export function securityAlertOf(t: { element: string; trap: string; source: string; time: number }, topology: Topology): Alert {
  const el = topology.elements.get(t.element);
  const kind = el?.kind ?? 'element';
  const window = Math.floor(t.time / SECURITY_ALERT_WINDOW_MS) * SECURITY_ALERT_WINDOW_MS;
  return {
    id: `security:${t.element}#${t.trap}@${window}`,
    outageId: `security:${t.element}`,
    event: 'security',
    alarmType: 'securityServiceOrMechanismViolation',
    perceivedSeverity: 'major',
    probableCause: 'authenticationFailure',
    specificProblem: `${t.trap} trap from ${t.source}`,
    alarmedObject: { id: t.element, '@referredType': kind, ...(el?.site && { site: el.site }), ...(el?.region && { region: el.region }) },
    state: 'raised',
    alarmRaisedTime: iso(t.time),
    alarmChangedTime: iso(t.time),
    ackState: 'unacknowledged',
    isRootCause: true,
    correlatedAlarm: [],
    plannedOutageIndicator: 'InService',
    flapping: false,
    alarmDetails: `security: ${kind.replace('_', ' ')} ${t.element} reports ${t.trap} (a request with a wrong community or credentials); further ones within ${SECURITY_ALERT_WINDOW_MS / 60_000} min are this alert`,
  };
}

/** The alert that a complaint's response or resolution deadline is near (or missed). */
export function deadlineAlertOf(w: { complaint: { id: string; subscriberId: string; grade: string; category: string; match?: { outageId: string } }; deadline: 'response' | 'resolution'; due: number; missed: boolean }, at: number): Alert {
  const c = w.complaint;
  return {
    id: `complaint:${c.id}#${w.deadline}@${w.due}`,
    outageId: c.match?.outageId ?? `complaint:${c.id}`,
    event: 'deadline',
    alarmType: 'qualityOfServiceAlarm',
    perceivedSeverity: w.missed ? 'major' : 'minor',
    probableCause: 'complaintDeadline',
    specificProblem: `${c.grade} complaint ${c.id}: ${w.deadline} ${w.missed ? 'overdue since' : 'due'} ${iso(w.due)}`,
    alarmedObject: { id: c.subscriberId, '@referredType': 'subscriber' },
    state: 'raised',
    alarmRaisedTime: iso(at),
    alarmChangedTime: iso(at),
    ackState: 'unacknowledged',
    isRootCause: true,
    correlatedAlarm: [],
    plannedOutageIndicator: 'InService',
    flapping: false,
    alarmDetails: `${c.grade} ${c.category.replace('_', ' ')} complaint ${c.id} from ${c.subscriberId}: ${w.deadline} ${w.missed ? 'deadline missed' : 'deadline near'} (${iso(w.due)})`,
  };
}
