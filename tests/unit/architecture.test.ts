import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

// The shape docs/architecture.md describes, checked: packages form no cycle, the kernel imports no
// noun, and SQL lives only in repositories (and the store's own connection and migrations).
const ROOT = join(import.meta.dirname, '../..');
const COMPOSITION = new Set(['src/daemon.ts', 'src/main.ts', 'src/self-metrics.ts', 'src/check-config.ts']);

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const ALL = ['src', 'collectors', 'correlators'].flatMap(files);

/** The package a file belongs to: the composition root, the simulator, the kernel, the collectors, or one noun. */
function packageOf(f: string): string {
  if (COMPOSITION.has(f)) return 'root';
  if (f.startsWith('src/sim/')) return 'sim';
  if (f.startsWith('src/')) return 'kernel';
  if (f.startsWith('collectors/')) return 'collectors';
  return f.split('/').slice(0, 2).join('/');
}

function imports(f: string): string[] {
  const text = readFileSync(join(ROOT, f), 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => relative(ROOT, normalize(join(ROOT, dirname(f), m[1]))));
}

const graph = new Map<string, Map<string, string>>();
for (const f of ALL) {
  for (const t of imports(f)) {
    const [a, b] = [packageOf(f), packageOf(t)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    if (!graph.get(a)!.has(b)) graph.get(a)!.set(b, `${f} -> ${t}`);
  }
}

describe('the architecture', () => {
  it('packages import one another without a cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (p: string, path: string[]) => {
      state.set(p, 'open');
      for (const [q, why] of graph.get(p) ?? []) {
        if (state.get(q) === 'open') cycles.push([...path, why].join('; '));
        else if (!state.has(q)) walk(q, [...path, why]);
      }
      state.set(p, 'done');
    };
    for (const p of graph.keys()) if (!state.has(p)) walk(p, []);
    expect(cycles).toEqual([]);
  });

  it('the kernel (src/, but the composition root and the simulator) imports no collector and no noun', () => {
    expect([...(graph.get('kernel') ?? new Map()).values()]).toEqual([]);
  });

  it('SQL is written only in repositories and the store itself', () => {
    const sql = /\b(SELECT .+ FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/;
    const allowed = (f: string) => /repository\.ts$/.test(f) || f.startsWith('src/store/') || f === 'correlators/alerts/outbox.ts';
    expect(ALL.filter((f) => !allowed(f) && sql.test(readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });
});
