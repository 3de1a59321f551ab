import type { Sample, FieldValue } from '../../src/sample.ts';
import type { Profile, ProfileField, ProfileTag } from './profile.ts';
import type { SnmpSession, Varbind } from './session.ts';
import { toFieldValue, toText, toHwAddr, toBigInt, counterBits, isException, exceptionName, ValueError } from './values.ts';
import { walkColumns } from './walk.ts';
import type { CounterRates } from './rates.ts';

export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
/** Varbinds per GET request; keeps requests well inside one datagram. */
const GET_CHUNK = 32;

type Column = { kind: 'tag'; def: ProfileTag } | { kind: 'field'; def: ProfileField };

interface ScalarGroup { measurement: string; columns: Column[] }
interface TableGroup { measurement: string; indexTag: string; columns: Column[] }

/** What to fetch for one target, compiled once from its profiles. */
export interface PollPlan {
  scalarOids: string[];
  scalars: ScalarGroup[];
  tables: TableGroup[];
  needsUptime: boolean;
}

export function compilePlan(profiles: readonly Profile[]): PollPlan {
  const scalars: ScalarGroup[] = [];
  const tables: TableGroup[] = [];
  let needsUptime = false;
  for (const p of profiles) {
    for (const m of p.measurements) {
      const columns: Column[] = [
        ...m.tags.map((def) => ({ kind: 'tag' as const, def })),
        ...m.fields.map((def) => ({ kind: 'field' as const, def })),
      ];
      if (m.fields.some((f) => f.rate)) needsUptime = true;
      if (m.table) tables.push({ measurement: m.measurement, indexTag: m.indexTag, columns });
      else scalars.push({ measurement: m.measurement, columns });
    }
  }
  const scalarOids = [...new Set(scalars.flatMap((g) => g.columns.map((c) => c.def.oid)))];
  if (needsUptime && !scalarOids.includes(SYS_UPTIME)) scalarOids.push(SYS_UPTIME);
  return { scalarOids, scalars, tables, needsUptime };
}

export interface PollContext {
  element: string;
  /** Tags on every sample of this target (agent_host and the target's own tags). */
  tags: Record<string, string>;
  maxRepetitions: number;
  maxRows: number;
  rates: CounterRates;
  now: () => number;
}

export interface OidProblem { oid: string; reason: string }

export interface PollResult {
  samples: Sample[];
  /** Per-OID problems; the rest of the poll's data is kept. */
  problems: OidProblem[];
  /** Set when the target did not answer at all. */
  failure?: Error;
  responseTimeMs?: number;
}

function tagValue(vb: Varbind, def: ProfileTag): string {
  if (def.type === 'hwaddr') return toHwAddr(vb);
  if (def.type === 'int') return toBigInt(vb).toString();
  return toText(vb);
}

/**
 * Fills tags and fields of one sample from varbinds. Conversion problems are collected, the
 * offending value left out, the rest kept.
 */
function fill(
  columns: readonly Column[], get: (oid: string) => Varbind | undefined, suffix: string,
  tags: Record<string, string>, fields: Record<string, FieldValue>, problems: OidProblem[],
  ctx: PollContext, time: number, seen: Set<string>,
): void {
  for (const col of columns) {
    const vb = get(col.def.oid);
    const where = suffix ? `${col.def.oid}.${suffix}` : col.def.oid;
    if (!vb) continue;
    if (isException(vb)) {
      problems.push({ oid: where, reason: exceptionName(vb.type) });
      continue;
    }
    try {
      if (col.kind === 'tag') {
        const v = tagValue(vb, col.def);
        if (v !== '') tags[col.def.name] = v;
        continue;
      }
      const def = col.def;
      if (!def.rateOnly) fields[def.name] = toFieldValue(vb, def.type, def.scale);
      if (def.rate) {
        const bits = counterBits(vb.type);
        if (bits === undefined) throw new ValueError(`rate asked of a non-counter (type ${vb.type})`);
        const key = `${def.oid}.${suffix}`;
        seen.add(key);
        const r = ctx.rates.rate(key, toBigInt(vb), bits, time);
        if (r !== undefined) fields[def.rate] = r * def.rateScale;
      }
    } catch (err) {
      problems.push({ oid: where, reason: (err as Error).message });
    }
  }
}

/**
 * Polls one target once: GET for scalars, GETBULK walks for tables. Never throws: a target that
 * does not answer yields `failure`, a bad value yields a problem and the remaining data.
 */
export async function pollTarget(session: SnmpSession, plan: PollPlan, ctx: PollContext): Promise<PollResult> {
  const time = ctx.now();
  const problems: OidProblem[] = [];
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let responseTimeMs: number | undefined;
  const timed = async <T>(p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await p();
    responseTimeMs ??= performance.now() - t0;
    return out;
  };

  try {
    const scalarValues = new Map<string, Varbind>();
    for (let i = 0; i < plan.scalarOids.length; i += GET_CHUNK) {
      const vbs = await timed(() => session.get(plan.scalarOids.slice(i, i + GET_CHUNK)));
      for (const vb of vbs) if (vb?.oid) scalarValues.set(vb.oid, vb);
    }
    if (plan.needsUptime) {
      const up = scalarValues.get(SYS_UPTIME);
      if (up && !isException(up)) {
        try { ctx.rates.observeUptime(toBigInt(up)); } catch { /* reported with the field, if asked for */ }
      }
    }
    for (const g of plan.scalars) {
      const tags: Record<string, string> = { ...ctx.tags };
      const fields: Record<string, FieldValue> = {};
      fill(g.columns, (oid) => scalarValues.get(oid), '', tags, fields, problems, ctx, time, seen);
      if (Object.keys(fields).length > 0) samples.push({ element: ctx.element, measurement: g.measurement, tags, fields, time });
    }
    for (const t of plan.tables) {
      let walked;
      try {
        walked = await timed(() => walkColumns(session, t.columns.map((c) => c.def.oid), ctx.maxRepetitions, ctx.maxRows));
      } catch (err) {
        if (responseTimeMs === undefined) throw err; // nothing answered: the target is unreachable
        problems.push({ oid: t.columns[0]?.def.oid ?? '', reason: `walk of ${t.measurement} failed: ${(err as Error).message}` });
        continue;
      }
      problems.push(...walked.problems);
      const indexes = new Set<string>();
      for (const col of t.columns) if (col.kind === 'field') for (const idx of walked.columns.get(col.def.oid)!.keys()) indexes.add(idx);
      for (const idx of indexes) {
        const tags: Record<string, string> = { ...ctx.tags, [t.indexTag]: idx };
        const fields: Record<string, FieldValue> = {};
        fill(t.columns, (oid) => walked.columns.get(oid)!.get(idx), idx, tags, fields, problems, ctx, time, seen);
        if (Object.keys(fields).length > 0) samples.push({ element: ctx.element, measurement: t.measurement, tags, fields, time });
      }
    }
    if (plan.needsUptime) ctx.rates.retain(seen);
    return { samples, problems, responseTimeMs };
  } catch (err) {
    return { samples, problems, failure: err as Error, responseTimeMs };
  }
}

/**
 * The reachability sample every poll yields: answered or not, and how fast. The raw material for
 * availability and loss; the `probe` tag tells SNMP, ICMP and MQTT reachability apart.
 */
export function reachabilitySample(element: string, tags: Record<string, string>, r: PollResult, time: number): Sample {
  const fields: Record<string, FieldValue> = { up: !r.failure, errors: BigInt(r.problems.length) };
  if (!r.failure && r.responseTimeMs !== undefined) fields.response_time_ms = Math.round(r.responseTimeMs * 1000) / 1000;
  if (r.failure) fields.error = r.failure.message.slice(0, 200);
  else if (r.problems.length > 0) fields.error = `${r.problems[0].oid}: ${r.problems[0].reason}`.slice(0, 200);
  return { element, measurement: 'reachability', tags: { ...tags, probe: 'snmp' }, fields, time };
}
