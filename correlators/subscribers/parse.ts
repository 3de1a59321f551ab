import { z } from 'zod';
import { formatPath } from '../../src/config/load.ts';
import { CONTROL } from '../../src/intake/text.ts';

export const TIERS = ['vip', 'gold', 'standard', 'enterprise'] as const;
export const SERVICES = ['mobile', 'broadband', 'enterprise_line'] as const;

export interface Subscriber {
  id: string;
  tier: (typeof TIERS)[number];
  service: (typeof SERVICES)[number];
  /** The elements that serve the subscriber: cells covering their usual places, or their access/PON port. */
  serving: string[];
  region?: string;
  plan?: string;
  /** Average revenue per user, in minor currency units (cents). */
  arpuMinor?: number;
  /** The monthly fee in minor units, which compensation policies take shares of (ARPU when unset). */
  feeMinor?: number;
  /** Usage profile (`data`, `voice`, `prepaid`, ...): picks the form of a credit. */
  usage?: string;
}

const name = z.string().min(1).max(200).refine((v) => !CONTROL.test(v), 'no control characters');
const row = z.strictObject({
  id: z.string().min(1).max(64).refine((v) => !CONTROL.test(v), 'no control characters'),
  tier: z.enum(TIERS),
  service: z.enum(SERVICES),
  serving: z.array(name.refine((e) => !e.includes(';'), 'an element id with ";" cannot be a serving element')).min(1, 'needs at least one serving element').max(64),
  region: name.optional(),
  plan: name.optional(),
  arpu: z.number().nonnegative().max(1e7).optional(),
  fee: z.number().nonnegative().max(1e7).optional(),
  usage: z.string().min(1).max(32).regex(/^[a-z_]+$/, 'lower-case letters and _ (data, voice, prepaid)').optional(),
});

export type RowResult = { subscriber: Subscriber } | { error: string };

function fromRaw(raw: unknown, known: (element: string) => boolean): RowResult {
  const r = row.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return { error: `${formatPath(i.path as PropertyKey[]) || 'row'}: ${i.message}` };
  }
  const unknown = r.data.serving.filter((e) => !known(e));
  if (unknown.length > 0) return { error: `serving: unknown element(s) ${unknown.slice(0, 3).join(', ')}` };
  const { arpu, fee, ...rest } = r.data;
  return { subscriber: { ...rest, serving: [...new Set(rest.serving)], ...(arpu !== undefined && { arpuMinor: Math.round(arpu * 100) }), ...(fee !== undefined && { feeMinor: Math.round(fee * 100) }) } };
}

/** One JSON Lines row: `{"id":"13800138000","tier":"gold","service":"mobile","serving":["BS-1-C1","BS-2-C3"],"region":"north","plan":"5G-99","arpu":99.5,"fee":89,"usage":"data"}`. */
export function parseJsonLine(line: string, known: (element: string) => boolean): RowResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  return fromRaw(raw, known);
}

/**
 * A CSV header naming columns `id,tier,service,serving,region,plan,arpu,fee,usage` (any order, any
 * case; serving elements separated by `;`), as cells already split by the CSV parser. Returns a
 * parser for the records under it, or the header's problem.
 */
export function csvHeader(header: readonly string[]): { parse: (cells: readonly string[], known: (e: string) => boolean) => RowResult } | { error: string } {
  const cols = header.map((c) => c.trim().toLowerCase());
  const allowed = ['id', 'tier', 'service', 'serving', 'region', 'plan', 'arpu', 'fee', 'usage'];
  const missing = ['id', 'tier', 'service', 'serving'].filter((c) => !cols.includes(c));
  if (missing.length > 0) return { error: `header needs column(s) ${missing.join(', ')}` };
  const extra = cols.filter((c) => !allowed.includes(c));
  if (extra.length > 0) return { error: `unknown column(s) ${extra.slice(0, 5).join(', ')}` };
  const twice = cols.filter((c, i) => cols.indexOf(c) !== i);
  if (twice.length > 0) return { error: `column(s) named twice: ${twice.join(', ')}` };
  return {
    parse(cells, known) {
      if (cells.length !== cols.length) return { error: `${cells.length} fields, the header has ${cols.length}` };
      const raw: Record<string, unknown> = {};
      cols.forEach((c, i) => {
        const v = cells[i].trim();
        if (c === 'serving') raw.serving = v.split(';').map((s) => s.trim()).filter(Boolean);
        else if (v === '') return;
        else if (c === 'arpu' || c === 'fee') raw[c] = /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
        else raw[c] = v;
      });
      return fromRaw(raw, known);
    },
  };
}
