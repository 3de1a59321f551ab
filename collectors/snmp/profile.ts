import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../../src/config/load.ts';

const oid = z.string().regex(/^\d+(\.\d+)+$/, 'expected a numeric OID such as 1.3.6.1.2.1.1.3.0');
const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier');

const field = z.strictObject({
  name: fieldName,
  oid,
  /** How the value is written: default keeps the SNMP type (integers as integers, strings as text). */
  type: z.enum(['int', 'float', 'string', 'hwaddr']).optional(),
  /** Multiply numeric values (e.g. 0.1 for values the device reports in tenths); implies float. */
  scale: z.number().optional(),
  /** Also write the per-second rate of this counter under this field name. */
  rate: fieldName.optional(),
  /** Multiply the rate (e.g. 8 to turn octets/s into bits/s). */
  rateScale: z.number().default(1),
  /** Only write the rate, not the raw counter. */
  rateOnly: z.boolean().default(false),
});

const tag = z.strictObject({ name: fieldName, oid, type: z.enum(['string', 'hwaddr', 'int']).optional() });

const measurement = z.strictObject({
  measurement: z.string().min(1),
  /** A table is walked (GETBULK) column by column; without it, every OID is a scalar instance (GET). */
  table: z.boolean().default(false),
  /** The tag that carries a table row's index. */
  indexTag: fieldName.default('index'),
  /**
   * Which topology element a table row is (a port, a PON port): a template over the target's
   * `{element}`, the row's `{index}` (and index tag) and its tags, `{ifIndex:2}` zero-padded to 2
   * digits; `{ifAlias}` alone where port descriptions carry element ids. A row naming an element of
   * the topology carries it in the tag `row_element`, and its health rules judge that element.
   */
  rowElement: z.string().min(1).max(200).optional(),
  tags: z.array(tag).default([]),
  fields: z.array(field).min(1),
});

export const profileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  measurements: z.array(measurement).min(1),
});

export type Profile = z.output<typeof profileSchema>;
export type ProfileMeasurement = Profile['measurements'][number];
export type ProfileField = ProfileMeasurement['fields'][number];
export type ProfileTag = ProfileMeasurement['tags'][number];

export class ProfileError extends Error {
  readonly code = 'PROFILE_INVALID';
}

/** The profiles shipped in config/profiles. */
export const BUILTIN_PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'profiles');

/** Parses one profile file's text; every problem is named with the file and the path. */
export function parseProfile(text: string, source: string): Profile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ProfileError(`${source}: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = profileSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ProfileError(`${source}: invalid profile\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Loads every `*.yaml` profile from the built-in folder, then from `extraDir` (whose profiles
 * replace built-in ones of the same name). Keyed by the profile's `name`.
 */
export function loadProfiles(extraDir?: string): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  for (const dir of [BUILTIN_PROFILES_DIR, extraDir]) {
    if (!dir || !existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()) {
      const path = join(dir, file);
      const profile = parseProfile(readFileSync(path, 'utf8'), path);
      profiles.set(profile.name, profile);
    }
  }
  return profiles;
}

/** Resolves a target's profile names, naming the unknown one. */
export function resolveProfiles(names: readonly string[], all: Map<string, Profile>, where: string): Profile[] {
  return names.map((n) => {
    const p = all.get(n);
    if (!p) throw new ProfileError(`${where}: unknown profile "${n}" (known: ${[...all.keys()].join(', ')})`);
    return p;
  });
}

export function profileFileName(path: string): string {
  return basename(path).replace(/\.ya?ml$/, '');
}
