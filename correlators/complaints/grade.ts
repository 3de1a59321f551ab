import type { ImpactKind } from '../impact/impact.ts';
import { GRADES, NETWORK_CATEGORIES, type Category, type Grade } from './complaint.ts';

/** What grading looks at: the complaint, the customer's value and history, and its match. */
export interface GradeContext {
  category: Category;
  tier: string;
  /** Complaints by the same subscriber in the 30 days before this one. */
  previous30d: number;
  escalations: number;
  match?: { kind: ImpactKind; outageSubscribers: number };
}

/** A rule: every condition given must hold. The highest grade of the rules that hold wins. */
export interface GradeRule {
  grade: Grade;
  reason: string;
  tiers?: string[];
  categories?: Category[];
  network?: boolean;
  matched?: boolean;
  impact?: ImpactKind;
  minOutageSubscribers?: number;
  minPrevious30d?: number;
  minEscalations?: number;
}

/** The operator standard's spirit: interruption, many users, VIP/enterprise and escalations are urgent. */
export const DEFAULT_GRADE_RULES: GradeRule[] = [
  { grade: 'urgent', reason: 'VIP or enterprise customer without service', tiers: ['vip', 'enterprise'], matched: true, impact: 'no_service' },
  { grade: 'urgent', reason: 'outage hitting 1,000 subscribers or more', matched: true, minOutageSubscribers: 1000 },
  { grade: 'urgent', reason: 'escalated twice or more', minEscalations: 2 },
  { grade: 'major', reason: 'total loss of service', matched: true, impact: 'no_service' },
  { grade: 'major', reason: 'matched to a network outage', matched: true },
  { grade: 'major', reason: 'VIP or enterprise customer, network complaint', tiers: ['vip', 'enterprise'], network: true },
  { grade: 'major', reason: 'repeat complaint within 30 days', minPrevious30d: 1 },
  { grade: 'major', reason: 'escalated', minEscalations: 1 },
];

export interface Deadlines { respondMs: number; resolveMs: number }

/** From the standard: first response within 48 h, resolution within 72 h; sooner as the grade rises. */
export const DEFAULT_DEADLINES: Record<Grade, Deadlines> = {
  general: { respondMs: 48 * 3_600_000, resolveMs: 72 * 3_600_000 },
  major: { respondMs: 24 * 3_600_000, resolveMs: 72 * 3_600_000 },
  urgent: { respondMs: 4 * 3_600_000, resolveMs: 24 * 3_600_000 },
};

function holds(r: GradeRule, c: GradeContext): boolean {
  if (r.tiers && !r.tiers.includes(c.tier)) return false;
  if (r.categories && !r.categories.includes(c.category)) return false;
  if (r.network !== undefined && NETWORK_CATEGORIES.has(c.category) !== r.network) return false;
  if (r.matched !== undefined && (c.match !== undefined) !== r.matched) return false;
  if (r.impact && c.match?.kind !== r.impact) return false;
  if (r.minOutageSubscribers !== undefined && (c.match?.outageSubscribers ?? 0) < r.minOutageSubscribers) return false;
  if (r.minPrevious30d !== undefined && c.previous30d < r.minPrevious30d) return false;
  if (r.minEscalations !== undefined && c.escalations < r.minEscalations) return false;
  return true;
}

/** The grade and every reason for it (the reasons of the rules of that grade that hold). Pure. */
export function gradeComplaint(c: GradeContext, rules: readonly GradeRule[] = DEFAULT_GRADE_RULES): { grade: Grade; reasons: string[] } {
  let grade: Grade = 'general';
  const fired = rules.filter((r) => holds(r, c));
  for (const r of fired) if (GRADES.indexOf(r.grade) > GRADES.indexOf(grade)) grade = r.grade;
  const reasons = fired.filter((r) => r.grade === grade).map((r) => r.reason);
  return { grade, reasons: reasons.length ? reasons : ['no rule raised it'] };
}
