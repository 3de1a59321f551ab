import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ELEMENT_KINDS, Topology, TopologyError, type Element, type TopologyProblem } from './topology.ts';
import { formatPath } from '../config/load.ts';

const elementSchema = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(ELEMENT_KINDS),
  site: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  parents: z.array(z.string().min(1)).default([]),
  uplink: z.strictObject({ ifIndex: z.number().int().min(1).optional(), parentIfIndex: z.number().int().min(1).optional(), parent: z.string().min(1).optional() }).optional(),
});

/**
 * Reads a topology file: YAML (`elements: [{ id, kind, site, region, lat, lon, parents, uplink }]`) or CSV
 * (header `id,kind,site,region,lat,lon,parents`, parents separated by `;`), chosen by extension.
 * Throws TopologyError listing every problem with where it is.
 */
export function loadTopology(file: string): Topology {
  const text = readFileSync(file, 'utf8');
  const { topology, problems } = file.endsWith('.csv') ? parseCsvTopology(text) : parseYamlTopology(text);
  if (!topology) throw new TopologyError(file, problems);
  return topology;
}

export function parseYamlTopology(text: string): { topology?: Topology; problems: TopologyProblem[] } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return { problems: [{ where: 'file', message: (err as Error).message.split('\n')[0] }] };
  }
  const r = z.strictObject({ elements: z.array(elementSchema) }).safeParse(doc);
  if (!r.success) return { problems: r.error.issues.map((i) => ({ where: formatPath(i.path), message: i.message })) };
  return Topology.build(r.data.elements);
}

const CSV_COLUMNS = ['id', 'kind', 'site', 'region', 'lat', 'lon', 'parents'];

/** CSV as exported from inventory systems: quoted fields allowed, a header line first. */
export function parseCsvTopology(text: string): { topology?: Topology; problems: TopologyProblem[] } {
  const lines = text.split(/\r?\n/);
  const header = splitCsv(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const missing = ['id', 'kind'].filter((c) => !header.includes(c));
  if (missing.length > 0) return { problems: [{ where: 'line 1', message: `header needs columns ${missing.join(', ')} (known: ${CSV_COLUMNS.join(', ')})` }] };
  const unknown = header.filter((h) => !CSV_COLUMNS.includes(h));
  if (unknown.length > 0) return { problems: [{ where: 'line 1', message: `unknown column(s) ${unknown.join(', ')}` }] };
  const problems: TopologyProblem[] = [];
  const elements: Element[] = [];
  const lineOf: number[] = [];
  lines.slice(1).forEach((line, k) => {
    if (line.trim() === '') return;
    const n = k + 2;
    const cells = splitCsv(line);
    const row: Record<string, string> = {};
    header.forEach((h, i) => { row[h] = (cells[i] ?? '').trim(); });
    const raw = {
      id: row.id, kind: row.kind,
      site: row.site || undefined, region: row.region || undefined,
      lat: row.lat ? Number(row.lat) : undefined, lon: row.lon ? Number(row.lon) : undefined,
      parents: row.parents ? row.parents.split(';').map((p) => p.trim()).filter(Boolean) : [],
    };
    const r = elementSchema.safeParse(raw);
    if (!r.success) {
      for (const i of r.error.issues) problems.push({ where: `line ${n}`, message: `${formatPath(i.path)}: ${i.message}` });
      return;
    }
    elements.push(r.data);
    lineOf.push(n);
  });
  if (problems.length > 0) return { problems };
  const built = Topology.build(elements, (i) => `line ${lineOf[i]}`);
  // CSV has no element paths: say the column instead.
  return { ...built, problems: built.problems.map((p) => ({ ...p, where: p.where.replace(/\.parents\[\d+\]$/, ' (parents)').replace(/\.id$/, ' (id)') })) };
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}
