import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../../src/config/load.ts';
import type { Trap, TrapVarbind } from './decode.ts';

// What a trap means, in the spirit of OpenNMS event definitions and Zabbix trap items: a trap OID
// (exact, or a prefix ending in .*), a name, the MIB, names for its varbinds, and its meaning for
// the element that sent it. Loading is the only I/O here; matching and interpreting are pure.

const oid = z.string().regex(/^\d+(\.\d+)+$/, 'expected a numeric OID such as 1.3.6.1.2.1.2.2.1.1');
const trapOid = z.string().regex(/^\d+(\.\d+)+(\.\*)?$/, 'expected a numeric trap OID such as 1.3.6.1.6.3.1.1.5.3, or a prefix such as 1.3.6.1.4.1.2636.4.*');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier such as ifIndex');
/** A field name for a varbind: an identifier, with dots allowed (Telegraf writes snmpTrapEnterprise.0). */
const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a name such as ifIndex or snmpTrapEnterprise.0');
const varbindName = z.strictObject({ name: fieldName, oid });
const verdict = z.enum(['down', 'degraded']);

const common = {
  /** The trap's name (its MIB name: linkDown), written as the `name` tag. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'use letters, digits and _ . - only, starting with a letter'),
  /** The MIB that defines it (IF-MIB), written as the `mib` tag. */
  mib: z.string().min(1).optional(),
  description: z.string().optional(),
  /** Names for its varbinds: a varbind whose OID is `oid` or under it (an instance) becomes the field `name`. */
  varbinds: z.array(varbindName).default([]),
};

const varbindNamed = (d: { varbinds: { name: string }[] }, key: string, value: string | undefined, ctx: z.RefinementCtx) => {
  if (value !== undefined && !d.varbinds.some((v) => v.name === value)) {
    ctx.addIssue({ code: 'custom', path: [key], message: `names no varbind of this definition (its varbinds: ${d.varbinds.map((v) => v.name).join(', ') || 'none'})` });
  }
};

const simple = <M extends string>(meaning: M) => z.strictObject({ ...common, meaning: z.literal(meaning), oid: trapOid });

const linkDown = z.strictObject({
  ...common, meaning: z.literal('link-down'), oid: trapOid,
  /** The varbind that carries the ifIndex; absent from a trap, the instance of its first named varbind is taken. */
  ifIndex: identifier.default('ifIndex'),
  /** What a link down makes of its element while it lasts. */
  verdict: verdict.default('down'),
});
const linkUp = z.strictObject({ ...common, meaning: z.literal('link-up'), oid: trapOid, ifIndex: identifier.default('ifIndex') });

const alarm = z.strictObject({
  ...common, meaning: z.literal('alarm'),
  /** A vendor's pair of traps: one raises the alarm, the other clears it. */
  raise: trapOid.optional(),
  clear: trapOid.optional(),
  /** What a raised alarm makes of its element (the pair form). */
  verdict: verdict.default('down'),
  /** Or one trap with a severity varbind, and what each of its values means (a value not listed: no health meaning). */
  oid: trapOid.optional(),
  severity: identifier.optional(),
  severities: z.record(z.string(), z.enum(['down', 'degraded', 'clear'])).optional(),
  /** The varbind whose value names the alarm, so a clear matches its raise (absent: one alarm per definition and element). */
  id: identifier.optional(),
}).superRefine((d, ctx) => {
  const pair = d.raise !== undefined || d.clear !== undefined;
  const single = d.oid !== undefined || d.severity !== undefined || d.severities !== undefined;
  if (pair && single) ctx.addIssue({ code: 'custom', path: [], message: 'an alarm is either raise and clear, or oid with severity and severities: not both' });
  else if (pair) {
    if (!d.raise) ctx.addIssue({ code: 'custom', path: ['raise'], message: 'required with clear' });
    if (!d.clear) ctx.addIssue({ code: 'custom', path: ['clear'], message: 'required with raise' });
  } else if (single) {
    for (const k of ['oid', 'severity', 'severities'] as const) if (d[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'required for an alarm with one trap OID' });
  } else ctx.addIssue({ code: 'custom', path: [], message: 'an alarm needs raise and clear, or oid with severity and severities' });
  varbindNamed(d, 'severity', d.severity, ctx);
  varbindNamed(d, 'id', d.id, ctx);
});

export const MEANINGS = ['reboot', 'link-down', 'link-up', 'security', 'alarm', 'event'] as const;
export type Meaning = (typeof MEANINGS)[number];

/**
 * One definition. `meaning`: `reboot` (coldStart, warmStart: the element restarted), `link-down` /
 * `link-up` (an interface, named by its ifIndex), `security` (authenticationFailure: for the NOC,
 * no health verdict), `alarm` (a vendor's raise and clear), `event` (named and recorded, no meaning).
 */
export const definitionSchema = z.discriminatedUnion('meaning', [
  simple('reboot'), linkDown, linkUp, simple('security'), alarm, simple('event'),
]);

export const definitionFileSchema = z.strictObject({
  description: z.string().optional(),
  /** Names for varbinds any trap may carry (sysName, ifIndex), for those its definition does not name. */
  varbinds: z.array(varbindName).default([]),
  definitions: z.array(definitionSchema).default([]),
});

export type VarbindName = z.output<typeof varbindName>;

export type TrapDefinition = z.output<typeof definitionSchema>;

export class DefinitionError extends Error {
  readonly code = 'TRAP_DEFINITIONS_INVALID';
}

/** The definitions shipped in config/traps, read before the operator's. */
export const BUILTIN_TRAPS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'traps');

function issueText(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_union' && (i as { discriminator?: string }).discriminator === 'meaning') return `expected one of ${MEANINGS.join(', ')}`;
  return i.message.replace(/^Invalid input: /, '');
}

/** Parses one definitions file's text; every problem is named with the file and its path in it. */
export function parseDefinitions(text: string, source: string): TrapDefinition[] {
  return parseDefinitionFile(text, source).definitions;
}

/** Parses one definitions file's text: its definitions and its common varbind names. */
export function parseDefinitionFile(text: string, source: string): { definitions: TrapDefinition[]; varbinds: VarbindName[] } {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new DefinitionError(`${source}: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = definitionFileSchema.safeParse(raw ?? {});
  if (!r.success) {
    throw new DefinitionError(`${source}: invalid trap definitions\n${r.error.issues.map((i) => `  ${formatPath(i.path) || '(top)'}: ${issueText(i)}`).join('\n')}`);
  }
  const seen = new Map<string, number>();
  const dups: string[] = [];
  r.data.definitions.forEach((d, i) => {
    const j = seen.get(d.name);
    if (j !== undefined) dups.push(`  definitions[${i}].name: duplicate name "${d.name}" (also definitions[${j}])`);
    else seen.set(d.name, i);
  });
  if (dups.length > 0) throw new DefinitionError(`${source}: invalid trap definitions\n${dups.join('\n')}`);
  return { definitions: r.data.definitions, varbinds: r.data.varbinds };
}

/** The files a path names: itself, or a folder's *.yaml and *.yml (sorted). */
function filesOf(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new DefinitionError(`${path}: cannot read: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort().map((f) => join(path, f));
}

/**
 * Reads the shipped definitions, then each path given (a file, or a folder of *.yaml files), in
 * order; a definition replaces an earlier one of the same name. Throws DefinitionError naming the
 * file, the path in it, and what is wrong; also when two definitions claim the same trap OID.
 */
export function loadTrapDefinitions(paths: readonly string[] = [], builtin: string | undefined = BUILTIN_TRAPS_DIR): TrapDefinitions {
  const byName = new Map<string, { def: TrapDefinition; file: string }>();
  const common = new Map<string, VarbindName>();
  for (const p of [...(builtin ? [builtin] : []), ...paths]) {
    for (const file of filesOf(p)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new DefinitionError(`${file}: cannot read: ${(err as Error).message}`);
      }
      const parsed = parseDefinitionFile(text, file);
      for (const def of parsed.definitions) {
        byName.delete(def.name); // replaced: it takes the later place
        byName.set(def.name, { def, file });
      }
      for (const v of parsed.varbinds) common.set(v.oid, v); // a later name for the same OID replaces the earlier
    }
  }
  return compileDefinitions([...byName.values()], [...common.values()]);
}

interface Entry {
  def: TrapDefinition;
  /** Which of an alarm's OIDs matched: its raise or its clear (the pair form). */
  role?: 'raise' | 'clear';
  /** For a prefix: the OID without `.*`. */
  prefix?: string;
}

/** Definitions indexed by trap OID: exact ones in a map, prefixes longest first. */
export interface TrapDefinitions {
  readonly all: readonly TrapDefinition[];
  /** Names for varbinds of any trap, after its definition's own. */
  readonly common: readonly VarbindName[];
  readonly exact: ReadonlyMap<string, Entry>;
  readonly prefixes: readonly Entry[];
}

/** Indexes definitions (each with the file it came from, for messages). Throws when two claim the same OID. */
export function compileDefinitions(defs: readonly { def: TrapDefinition; file?: string }[], common: readonly VarbindName[] = []): TrapDefinitions {
  const exact = new Map<string, Entry>();
  const prefixes = new Map<string, Entry>();
  const owner = new Map<string, string>();
  const problems: string[] = [];
  for (const { def, file } of defs) {
    const oids: [string, Entry['role']][] = def.meaning === 'alarm'
      ? (def.raise ? [[def.raise, 'raise'], [def.clear!, 'clear']] : [[def.oid!, undefined]])
      : [[def.oid, undefined]];
    for (const [o, role] of oids) {
      const where = `${def.name}${file ? ` (${file})` : ''}`;
      const before = owner.get(o);
      if (before) {
        problems.push(`trap OID ${o} is claimed by ${before} and by ${where}: give yours the same name to replace it`);
        continue;
      }
      owner.set(o, where);
      if (o.endsWith('.*')) prefixes.set(o, { def, role, prefix: o.slice(0, -2) });
      else exact.set(o, { def, role });
    }
  }
  if (problems.length > 0) throw new DefinitionError(`trap definitions:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return {
    all: defs.map((d) => d.def),
    common,
    exact,
    prefixes: [...prefixes.values()].sort((a, b) => b.prefix!.length - a.prefix!.length),
  };
}

/** The definition for a trap OID: an exact one, else the longest prefix that covers it. */
export function matchDefinition(defs: TrapDefinitions, trapOid: string): Entry | undefined {
  const e = defs.exact.get(trapOid);
  if (e) return e;
  for (const p of defs.prefixes) if (trapOid.startsWith(`${p.prefix!}.`)) return p;
  return undefined;
}

/** What a trap says about its element's health. */
export interface TrapHealth {
  /** down / degraded: a condition raised (or, for a reboot, a moment's failure); clear: the condition is over. */
  state: 'down' | 'degraded' | 'clear';
  /**
   * What is down or cleared, so a clear matches its raise: `if:<ifIndex>`, `alarm:<name>:<id>`
   * (the collector names the sender, `if:<ifIndex>@<sender>`, when the port is a parent's that a child hangs off).
   * Absent for a reboot: a moment, not a state that lasts.
   */
  condition?: string;
  /** For the health check and the NOC: the trap's name and what it is about. */
  reason: string;
}

/** A trap read through its definition. */
export interface Interpretation {
  /** The definition's name, or the trap OID for a trap no definition covers. */
  name: string;
  mib?: string;
  /** Absent: no definition covers it (recorded, no meaning). */
  meaning?: Meaning;
  /** A field name for each varbind, in the trap's order: its definition name, else its OID. */
  fieldNames: string[];
  health?: TrapHealth;
  /** What the trap is about, for deduplication: `if:<ifIndex>`, `alarm:<name>:<id>`, else `oid:<trap OID>`. */
  scope: string;
  /** What was missing (no ifIndex, no alarm id, a severity not listed). */
  problems: string[];
}

const under = (vbOid: string, o: string) => vbOid === o || vbOid.startsWith(`${o}.`);

/**
 * The name of each varbind (its definition's, else a common one, the first time it is given; else
 * the OID) and the instance after the named OID.
 */
function nameVarbinds(def: TrapDefinition | undefined, common: readonly VarbindName[], vbs: readonly TrapVarbind[]): { names: string[]; byName: Map<string, { vb: TrapVarbind; instance: string }> } {
  const byName = new Map<string, { vb: TrapVarbind; instance: string }>();
  const names = vbs.map((vb) => {
    const d = def?.varbinds.find((x) => under(vb.oid, x.oid)) ?? common.find((x) => under(vb.oid, x.oid));
    if (!d || byName.has(d.name)) return vb.oid;
    byName.set(d.name, { vb, instance: vb.oid.slice(d.oid.length + 1) });
    return d.name;
  });
  return { names, byName };
}

function text(v: TrapVarbind['value']): string {
  return v === null ? '' : String(v);
}

/** `12345` hundredths of a second as `0:02:03.45`. */
export function formatUptime(ticks: number): string {
  const s = Math.floor(ticks / 100);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(ticks % 100).padStart(2, '0')}`;
}

/**
 * Reads a trap through the definition that covers its OID (most specific first; none: named by
 * its OID, no meaning). Pure. A link trap's condition is its ifIndex (the `ifIndex` varbind's value,
 * else the instance of its first named varbind); an alarm's is its id varbind's value (else the
 * definition: one alarm per element).
 */
export function interpret(trap: Trap, defs: TrapDefinitions): Interpretation {
  const m = matchDefinition(defs, trap.oid);
  const def = m?.def;
  const { names, byName } = nameVarbinds(def, defs.common, trap.varbinds);
  const problems: string[] = [];
  const out: Interpretation = { name: def?.name ?? trap.oid, fieldNames: names, scope: `oid:${trap.oid}`, problems };
  if (!def) return out;
  out.meaning = def.meaning;
  if (def.mib) out.mib = def.mib;
  switch (def.meaning) {
    case 'reboot':
      out.health = { state: 'down', reason: `${def.name}: the agent restarted${trap.uptime !== undefined ? ` (up ${formatUptime(trap.uptime)})` : ''}` };
      break;
    case 'link-down': case 'link-up': {
      const named = byName.get(def.ifIndex);
      let ifIndex = named ? text(named.vb.value) : undefined;
      if (!ifIndex) ifIndex = [...byName.values()].find((x) => /^\d+$/.test(x.instance))?.instance;
      if (!ifIndex) problems.push(`${def.name} without an ifIndex (no ${def.ifIndex} varbind)`);
      const key = ifIndex ?? '?';
      const ifName = text(byName.get('ifName')?.vb.value ?? byName.get('ifDescr')?.vb.value ?? null);
      const what = `${def.name} ifIndex ${key}${ifName ? ` (${ifName})` : ''}`;
      out.scope = `if:${key}`;
      out.health = def.meaning === 'link-down'
        ? { state: def.verdict, condition: `if:${key}`, reason: what }
        : { state: 'clear', condition: `if:${key}`, reason: what };
      break;
    }
    case 'alarm': {
      const id = def.id ? text(byName.get(def.id)?.vb.value ?? null) : '';
      if (def.id && !id) problems.push(`${def.name} without its id varbind ${def.id}`);
      const condition = `alarm:${def.name}:${id}`;
      out.scope = condition;
      let state: TrapHealth['state'] | undefined;
      let how: string;
      if (m!.role) {
        state = m!.role === 'raise' ? def.verdict : 'clear';
        how = m!.role === 'raise' ? 'raised' : 'cleared';
      } else {
        const sev = text(byName.get(def.severity!)?.vb.value ?? null);
        state = def.severities![sev];
        how = `severity ${sev || '(none)'}`;
        if (!state) problems.push(`${def.name}: severity ${JSON.stringify(sev.slice(0, 40))} is not in its severities: no health meaning`);
      }
      if (state) out.health = { state, condition, reason: `${def.name}${id ? ` ${id}` : ''} ${how}` };
      break;
    }
    default: // security, event: recorded, no verdict
      break;
  }
  return out;
}
