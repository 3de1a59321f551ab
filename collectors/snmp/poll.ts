import type { Sample, FieldValue } from '../../src/sample.ts';
import type { Profile, ProfileField, ProfileTag } from './profile.ts';
import type { SnmpSession, Varbind } from './session.ts';
import { toFieldValue, toText, toHwAddr, toBigInt, counterBits, isException, exceptionName, ValueError } from './values.ts';
import { walkColumns } from './walk.ts';
import type { CounterRates } from './rates.ts';

export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
/** Varbinds per GET request; keeps requests well inside one datagram. */
const GET_CHUNK = 32;

/** One OID of a measurement; `pos` is a scalar's position in the plan's GET (-1 in tables). */
type Column = ({ kind: 'tag'; def: ProfileTag } | { kind: 'field'; def: ProfileField }) & { pos: number };

interface ScalarGroup { measurement: string; columns: Column[] }
interface TableGroup { measurement: string; indexTag: string; columns: Column[]; oids: string[]; rowElement?: string }

/** What to fetch for one target, compiled once from its profiles. */
export interface PollPlan {
  scalarOids: string[];
  /** scalarOids cut into GET requests. */
  scalarChunks: string[][];
  scalars: ScalarGroup[];
  tables: TableGroup[];
  needsUptime: boolean;
  uptimePos: number;
}

/** `rowElements`: the target's own row templates by measurement, replacing the profiles'. */
export function compilePlan(profiles: readonly Profile[], rowElements: Readonly<Record<string, string>> = {}): PollPlan {
  const scalars: ScalarGroup[] = [];
  const tables: TableGroup[] = [];
  let needsUptime = false;
  for (const p of profiles) {
    for (const m of p.measurements) {
      const columns: Column[] = [
        ...m.tags.map((def) => ({ kind: 'tag' as const, def, pos: -1 })),
        ...m.fields.map((def) => ({ kind: 'field' as const, def, pos: -1 })),
      ];
      if (m.fields.some((f) => f.rate)) needsUptime = true;
      const rowElement = rowElements[m.measurement] ?? m.rowElement;
      if (m.table) tables.push({ measurement: m.measurement, indexTag: m.indexTag, columns, oids: columns.map((c) => c.def.oid), ...(rowElement && { rowElement }) });
      else scalars.push({ measurement: m.measurement, columns });
    }
  }
  const scalarOids = [...new Set(scalars.flatMap((g) => g.columns.map((c) => c.def.oid)))];
  if (needsUptime && !scalarOids.includes(SYS_UPTIME)) scalarOids.push(SYS_UPTIME);
  for (const g of scalars) for (const c of g.columns) c.pos = scalarOids.indexOf(c.def.oid);
  const scalarChunks: string[][] = [];
  for (let i = 0; i < scalarOids.length; i += GET_CHUNK) scalarChunks.push(scalarOids.slice(i, i + GET_CHUNK));
  return { scalarOids, scalarChunks, scalars, tables, needsUptime, uptimePos: scalarOids.indexOf(SYS_UPTIME) };
}

export interface PollContext {
  element: string;
  /** Tags on every sample of this target (agent_host and the target's own tags). */
  tags: Record<string, string>;
  maxRepetitions: number;
  maxRows: number;
  rates: CounterRates;
  now: () => number;
  /** Whether an id is an element of the topology (a row's `rowElement`); absent: every id is. */
  known?: (id: string) => boolean;
}

/**
 * The element a table row names through its template (`{element}-{ifName}`, `{ifIndex:2}`
 * zero-padded), or undefined when a name in it has no value in the row.
 */
export function rowElementOf(template: string, values: Readonly<Record<string, string>>): string | undefined {
  let missing = false;
  const id = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d{1,2}))?\}/g, (_m, name: string, width?: string) => {
    const v = values[name];
    if (v === undefined || v === '') {
      missing = true;
      return '';
    }
    return width ? v.padStart(Number(width), '0') : v;
  });
  return missing || id === '' ? undefined : id;
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
 * offending value left out, the rest kept. Returns how many fields it set.
 */
function fill(
  columns: readonly Column[], get: (col: Column) => Varbind | undefined, suffix: string,
  tags: Record<string, string>, fields: Record<string, FieldValue>, problems: OidProblem[],
  ctx: PollContext, time: number, seen: Set<string> | undefined,
): number {
  let set = 0;
  for (const col of columns) {
    const vb = get(col);
    if (!vb) continue;
    if (isException(vb)) {
      problems.push({ oid: suffix ? `${col.def.oid}.${suffix}` : col.def.oid, reason: exceptionName(vb.type) });
      continue;
    }
    try {
      if (col.kind === 'tag') {
        const v = tagValue(vb, col.def);
        if (v !== '') tags[col.def.name] = v;
        continue;
      }
      const def = col.def;
      if (!def.rateOnly) {
        fields[def.name] = toFieldValue(vb, def.type, def.scale);
        set++;
      }
      if (def.rate) {
        const bits = counterBits(vb.type);
        if (bits === undefined) throw new ValueError(`rate asked of a non-counter (type ${vb.type})`);
        const key = `${def.oid}.${suffix}`;
        seen?.add(key);
        const r = ctx.rates.rate(key, toBigInt(vb), bits, time);
        if (r !== undefined) {
          fields[def.rate] = r * def.rateScale;
          set++;
        }
      }
    } catch (err) {
      problems.push({ oid: suffix ? `${col.def.oid}.${suffix}` : col.def.oid, reason: (err as Error).message });
    }
  }
  return set;
}

/**
 * Polls one target once: GET for scalars, GETBULK walks for tables. Never throws: a target that
 * does not answer yields `failure`, a bad value yields a problem and the remaining data.
 */
export async function pollTarget(session: SnmpSession, plan: PollPlan, ctx: PollContext): Promise<PollResult> {
  const time = ctx.now();
  const problems: OidProblem[] = [];
  const samples: Sample[] = [];
  const seen = plan.needsUptime ? new Set<string>() : undefined;
  // The response time is that of the first request the target answered.
  let responseTimeMs: number | undefined;

  try {
    // A GET answers in request order; an answer for another OID than asked counts as missing.
    let scalarVbs: Varbind[] = [];
    for (const chunk of plan.scalarChunks) {
      const t0 = performance.now();
      const vbs = await session.get(chunk);
      responseTimeMs ??= performance.now() - t0;
      scalarVbs = plan.scalarChunks.length === 1 ? vbs : scalarVbs.concat(vbs);
    }
    const scalar = (col: Column) => {
      const vb = scalarVbs[col.pos];
      return vb !== undefined && vb !== null && vb.oid === col.def.oid ? vb : undefined;
    };
    if (plan.needsUptime) {
      const vb = scalarVbs[plan.uptimePos];
      const up = vb?.oid === SYS_UPTIME ? vb : undefined;
      if (up && !isException(up)) {
        try { ctx.rates.observeUptime(toBigInt(up)); } catch { /* reported with the field, if asked for */ }
      }
    }
    for (const g of plan.scalars) {
      const tags: Record<string, string> = { ...ctx.tags };
      const fields: Record<string, FieldValue> = {};
      if (fill(g.columns, scalar, '', tags, fields, problems, ctx, time, seen) > 0) {
        samples.push({ element: ctx.element, measurement: g.measurement, tags, fields, time });
      }
    }
    for (const t of plan.tables) {
      let walked;
      const t0 = performance.now();
      try {
        walked = await walkColumns(session, t.oids, ctx.maxRepetitions, ctx.maxRows);
      } catch (err) {
        if (responseTimeMs === undefined) throw err; // nothing answered: the target is unreachable
        problems.push({ oid: t.oids[0] ?? '', reason: `walk of ${t.measurement} failed: ${(err as Error).message}` });
        continue;
      }
      responseTimeMs ??= performance.now() - t0;
      for (const p of walked.problems) problems.push(p);
      const columns = walked.columns;
      const indexes = new Set<string>();
      for (const col of t.columns) if (col.kind === 'field') for (const idx of columns.get(col.def.oid)!.keys()) indexes.add(idx);
      for (const idx of indexes) {
        const tags: Record<string, string> = { ...ctx.tags, [t.indexTag]: idx };
        const fields: Record<string, FieldValue> = {};
        if (fill(t.columns, (col) => columns.get(col.def.oid)!.get(idx), idx, tags, fields, problems, ctx, time, seen) > 0) {
          if (t.rowElement) {
            const id = rowElementOf(t.rowElement, { ...tags, element: ctx.element, index: idx });
            if (id !== undefined && (ctx.known?.(id) ?? true)) tags.row_element = id;
          }
          samples.push({ element: ctx.element, measurement: t.measurement, tags, fields, time });
        }
      }
    }
    if (seen) ctx.rates.retain(seen);
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
