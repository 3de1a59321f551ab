import { z } from 'zod';
import { formatPath } from '../../src/config/load.ts';
import { CONTROL } from '../../src/intake/text.ts';
import { CATEGORIES, CHANNELS, type Complaint } from './complaint.ts';

/** A complaint as complaint systems send it, over HTTP or MQTT. */
const id = (max: number) => z.string().min(1).max(max).refine((v) => !CONTROL.test(v), 'no control characters');
export const complaintSchema = z.strictObject({
  id: id(100),
  subscriberId: id(64),
  channel: z.enum(CHANNELS),
  category: z.enum(CATEGORIES),
  text: z.string().max(4000).optional(),
  reportedAt: z.iso.datetime({ offset: true }),
  cell: id(100).optional(),
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
  escalations: z.number().int().min(0).max(100).optional(),
});

export const toComplaint = (b: z.infer<typeof complaintSchema>): Complaint => ({ ...b, reportedAt: Date.parse(b.reportedAt) });

/** Validates one complaint; a problem names its field. */
export function parseComplaint(raw: unknown): { complaint: Complaint } | { field: string; message: string } {
  const r = complaintSchema.safeParse(raw);
  if (r.success) return { complaint: toComplaint(r.data) };
  const i = r.error.issues[0];
  if (i.code === 'unrecognized_keys') return { field: [...(i.path as PropertyKey[]).map(String), i.keys[0] || '""'].join('.'), message: 'unknown field' }; // an empty key named as such
  return { field: formatPath(i.path as PropertyKey[]) || 'complaint', message: i.message };
}
