import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';

/** One thing wrong with a config file, with the path of the value it is about. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly problems: ConfigProblem[];
  constructor(source: string, problems: ConfigProblem[]) {
    super(`${source}: ${problems.length} problem(s)\n` + problems.map((p) => `  ${formatProblem(p)}`).join('\n'));
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** `['snmp','targets',3,'auth']` -> `snmp.targets[3].auth` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += (out ? '.' : '') + String(key);
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // YAML's .nan and .inf: "expected number, got number" says nothing
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function messageOf(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describe(valueAt(input, issue.path))}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union': {
      // The duration/size unions report their own custom messages; prefer the most specific.
      const inner = issue.errors.flat().find((e) => e.code === 'custom');
      return inner ? inner.message : issue.message;
    }
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : issue.message;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      return `must be at most ${issue.maximum}`;
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: any = input;
  for (const k of path) v = v?.[k as any];
  return v;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value with the environment's value,
 * so secrets (tokens, communities, SNMPv3 keys) stay out of the file. An unset variable without a
 * default is a problem at that value's path.
 */
export function interpolateEnv(node: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblem[], path: PropertyKey[] = []): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined) return value;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolateEnv(v, env, problems, [...path, i]));
  if (node && typeof node === 'object') {
    // fromEntries defines `__proto__` as a key (refused as unknown), where assigning it would set the prototype: settings smuggled past the schema.
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateEnv(v, env, problems, [...path, k])]));
  }
  return node;
}

/** Validates a parsed (plain object) config, returning the config or every problem found. */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): { config?: Config; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const interpolated = interpolateEnv(raw ?? {}, env, problems);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) {
    const envProblemPaths = new Set(problems.map((p) => p.path));
    for (const issue of result.error.issues) {
      const path = formatPath(issue.path);
      if (envProblemPaths.has(path)) continue; // already reported as a missing variable
      problems.push({ path, message: messageOf(issue, interpolated) });
    }
  }
  return problems.length === 0 && result.success ? { config: result.data, problems } : { problems };
}

/** Parses YAML text; syntax errors are reported with line and column. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env): { config?: Config; problems: ConfigProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        // The YAML reader recurses: a document nested thousands deep overflows its stack (reported, not thrown).
        message: /Maximum call stack|Stack overflow/.test(e.message) ? 'nested too deeply to read' : e.message.split(/ at line \d+|\n/)[0],
      })),
    };
  }
  try {
    // toJS throws on an alias without its anchor and on an alias bomb (yaml's maxAliasCount); an alias
    // inside its own anchor (`&a [*a]`) is a cycle the walk over values never leaves.
    return validateConfig(doc.toJS(), env);
  } catch (err) {
    const m = (err as Error).message;
    return { problems: [{ path: '', message: `cannot read the document: ${/Maximum call stack/.test(m) ? 'an alias inside its own anchor, or nesting too deep' : m}` }] };
  }
}

/**
 * Loads the config file, or the embedded defaults when `file` is undefined.
 * Throws a ConfigError listing every problem; the daemon refuses to start on one.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let text = '';
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
    }
  }
  const { config, problems } = file === undefined ? embeddedDefaults(env) : parseConfigText(text, env);
  if (!config) throw new ConfigError(file ?? 'embedded defaults', problems);
  return config;
}

/**
 * The embedded defaults: the demo. A simulated operator (4 aggregation switches, 48 base stations
 * of 3 cells, 4 OLTs of 16 PON ports, 100,000 subscribers) with its telemetry through an embedded
 * broker and its storyline of faults and complaints; series kept in local files (not synced on every
 * message), SQLite in the data
 * directory; the dashboard's token in the data directory. Recovery, complaint matching and
 * compensation run on a compressed clock (the `demo` policy) so the first story ends in credits
 * within two minutes, and a turn's complaints are not taken for the last turn's faults.
 */
export const DEMO = {
  daemon: { logFormat: 'auto' },
  sim: {
    enabled: true, switches: 4, baseStations: 48, cellsPerBaseStation: 3, olts: 4, ponPortsPerOlt: 16,
    regions: ['north', 'east', 'south', 'west'], subscribers: 100_000, interval: '5s',
    mqtt: { embedded: {}, interval: '5s' }, story: { enabled: true }, dashboardToken: true,
  },
  // The demo's series are throwaway local files: not synced on every telemetry message (a kill -9
  // still loses nothing; only a power loss could), which spares a laptop an fdatasync per message.
  timeseries: { spool: { fsync: false } },
  outages: { confirmRecovery: '20s' },
  complaints: { graceBefore: '1m', graceAfter: '2m' },
  compensation: { policies: [{ policy: 'demo' }], settle: '5s' },
};

/** The demo's API listens on loopback, or on `NETPULSE_API_HOST` (a container publishes it with 0.0.0.0). */
export function embeddedDefaults(env: NodeJS.ProcessEnv = process.env) {
  return validateConfig({ ...DEMO, api: { host: env.NETPULSE_API_HOST || '127.0.0.1' } }, env);
}
