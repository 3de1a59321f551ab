import { gradeComplaint, type GradeRule, type Deadlines } from './grade.ts';
import type { Complaint, Grade } from './complaint.ts';
import type { MatchResult } from './match.ts';
import type { StoredComplaint } from './repository.ts';

/** The complaint with its grade, deadlines and match applied. Pure. */
export function gradedComplaint(c: Complaint, ctx: Pick<StoredComplaint, 'receivedAt' | 'tier' | 'arpuMinor' | 'plan' | 'previous30d' | 'escalations'>,
  m: MatchResult & { outageSubscribers?: number }, at: number, o: { rules: GradeRule[]; deadlines: Record<Grade, Deadlines> }): StoredComplaint {
  const g = gradeComplaint({
    category: c.category, tier: ctx.tier ?? 'unknown', previous30d: ctx.previous30d, escalations: ctx.escalations,
    ...(m.matched && { match: { kind: m.kind, outageSubscribers: m.outageSubscribers ?? 0 } }),
  }, o.rules);
  const d = o.deadlines[g.grade];
  const { receivedAt, tier, arpuMinor, plan, previous30d, escalations } = ctx;
  return {
    id: c.id, subscriberId: c.subscriberId, channel: c.channel, category: c.category, reportedAt: c.reportedAt,
    ...(c.text !== undefined && { text: c.text }), ...(c.cell !== undefined && { cell: c.cell }), ...(c.location && { location: c.location }),
    receivedAt, ...(tier !== undefined && { tier }), ...(arpuMinor !== undefined && { arpuMinor }), ...(plan !== undefined && { plan }), previous30d, escalations,
    grade: g.grade, gradeReasons: g.reasons, respondBy: c.reportedAt + d.respondMs, resolveBy: c.reportedAt + d.resolveMs,
    status: m.matched ? 'matched' : 'accepted',
    ...(m.matched && { match: { outageId: m.outageId, kind: m.kind, confidence: m.confidence }, matchedAt: at }),
    reasons: m.reasons,
  };
}
