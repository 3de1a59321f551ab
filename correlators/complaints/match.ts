import type { ImpactKind } from '../impact/impact.ts';
import { FIT, NETWORK_CATEGORIES, type Complaint } from './complaint.ts';

/** One span of the subscriber's impact, with what is known of its outage. */
export interface CandidateImpact {
  outageId: string;
  kind: ImpactKind;
  since: number;
  until?: number;
  root: string;
  /** The outage's own end, when it cleared. */
  clearedAt?: number;
}

/** The state of one serving element around the complaint's time, for a "no match" explanation. */
export interface ServingState {
  element: string;
  state: 'up' | 'degraded' | 'down' | 'unknown';
}

export interface MatchOptions {
  /** A complaint this long before the impact started still matches (the customer noticed first). */
  graceBeforeMs: number;
  /** And this long after it ended (the customer reports after the fact). */
  graceAfterMs: number;
  /**
   * A category that fits an impact less than this never matches it (see FIT). It bounds the fit,
   * not the confidence: inside the stated window every span the category fits well enough
   * matches; the distance only ranks the candidates.
   */
  minConfidence: number;
}

export const DEFAULT_MATCH: MatchOptions = { graceBeforeMs: 30 * 60_000, graceAfterMs: 2 * 3_600_000, minConfidence: 0.5 };

export type MatchResult =
  | { matched: true; outageId: string; kind: ImpactKind; confidence: number; reasons: string[] }
  | { matched: false; reasons: string[] };

const minutes = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

/**
 * Matches a complaint to the outage that explains it, or says why none does. Pure. A span
 * matches when the complaint was reported within it (or within the grace before its start or
 * after its end: the whole stated window, to its edge) and the category fits the impact at least
 * `minConfidence` (see FIT); confidence is the fit, lowered inside the graces the further the
 * report is from the impact, and ranks the candidates. The best span wins; ties go to the most recent.
 */
export function matchComplaint(c: Complaint, impacts: readonly CandidateImpact[], serving: readonly ServingState[], o: MatchOptions = DEFAULT_MATCH): MatchResult {
  if (!NETWORK_CATEGORIES.has(c.category) && c.category !== 'other') {
    return { matched: false, reasons: [`category ${c.category} is not about the network`] };
  }
  let best: (MatchResult & { matched: true; since: number }) | undefined;
  const misses: string[] = [];
  for (const i of impacts) {
    const end = i.until ?? Infinity;
    if (c.reportedAt < i.since - o.graceBeforeMs || c.reportedAt > end + o.graceAfterMs) continue;
    const fit = FIT[c.category][i.kind];
    if (fit === undefined || fit < o.minConfidence) {
      misses.push(`outage ${i.outageId} (${i.root}) left the subscriber ${i.kind.replace('_', ' ')}, which does not fit a ${c.category.replace('_', ' ')} complaint`);
      continue;
    }
    const reasons = [`subscriber ${i.kind === 'no_service' ? 'had no service' : 'was degraded'} from outage ${i.outageId} (root ${i.root})`, `category ${c.category} fits ${i.kind}`];
    let confidence = fit;
    // Inside a grace the confidence falls with the distance: a complaint just before the impact was
    // seen is likely its first sign, one two hours after the repair more likely something else.
    if (c.reportedAt < i.since) {
      confidence *= 1 - 0.5 * ((i.since - c.reportedAt) / Math.max(1, o.graceBeforeMs));
      reasons.push(`reported ${minutes(i.since - c.reportedAt)} before the impact was seen`);
    } else if (c.reportedAt > end) {
      confidence *= 1 - 0.7 * ((c.reportedAt - end) / Math.max(1, o.graceAfterMs));
      reasons.push(`reported ${minutes(c.reportedAt - end)} after the impact ended`);
    } else {
      reasons.push('reported while the impact lasted');
    }
    if (c.cell !== undefined && serving.some((s) => s.element === c.cell)) {
      confidence = Math.min(1, confidence + 0.02);
      reasons.push(`the reported cell ${c.cell} serves the subscriber`);
    }
    confidence = Math.round(confidence * 1000) / 1000;
    if (!best || confidence > best.confidence || (confidence === best.confidence && i.since > best.since)) {
      best = { matched: true, outageId: i.outageId, kind: i.kind, confidence, reasons, since: i.since };
    }
  }
  if (best) {
    const { since: _since, ...result } = best;
    return result;
  }
  return { matched: false, reasons: [...misses, ...(misses.length === 0 ? ['no known outage hit the subscriber around that time'] : []), explainServing(serving)] };
}

/** What the subscriber's serving elements look like, in one sentence an agent can read out. */
export function explainServing(serving: readonly ServingState[]): string {
  if (serving.length === 0) return 'the subscriber has no serving elements on record';
  const by = (s: ServingState['state']) => serving.filter((x) => x.state === s).map((x) => x.element);
  const down = by('down');
  const degraded = by('degraded');
  const unknown = by('unknown');
  const parts: string[] = [];
  if (down.length) parts.push(`${down.join(', ')} down`);
  if (degraded.length) parts.push(`${degraded.join(', ')} degraded`);
  if (unknown.length) parts.push(`no data for ${unknown.join(', ')}`);
  if (parts.length === 0) return `all serving elements healthy (${serving.map((s) => s.element).join(', ')})`;
  return `serving elements: ${parts.join('; ')}`;
}
