import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netpulse, type NodeProcess } from './process.ts';
import { hashToken } from '../../src/api/auth.ts';

export const CLUSTER_TOKEN = 'cluster-admin-token-0123456789';

/** One netpulse process of a cluster the test runs: its config file is written once, so a restart (as systemd would) starts the same member. */
export interface Member {
  name: string;
  p: NodeProcess;
  /** Its API's base URL as it last logged it (a member that rejoined listens again). */
  url(): string | undefined;
  get(path: string): Promise<Response>;
  json(path: string): Promise<any>;
  /** Its JSON log lines, parsed. */
  logs(): any[];
  restart(): void;
}

/** Starts member `name` with `config` (the cluster section and the API filled in here). */
export function member(dir: string, name: string, config: Record<string, any>): Member {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    ...config,
    daemon: { dataDir: join(dir, name), logFormat: 'json', shutdownTimeout: '5s', ...(config.daemon ?? {}) },
    api: { port: 0, tokens: [{ name: 'admin', hash: hashToken(CLUSTER_TOKEN), roles: ['admin'] }], ...(config.api ?? {}) },
    cluster: { enabled: true, member: name, ...(config.cluster ?? {}) },
  }));
  const m: Member = {
    name,
    p: netpulse('start', '--config', file),
    logs: () => m.p.output().split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } }),
    url: () => m.logs().filter((l) => l.msg === 'api listening').at(-1)?.url,
    get: (path) => fetch(`${m.url()}${path}`, { headers: { authorization: `Bearer ${CLUSTER_TOKEN}` } }),
    json: async (path) => (await m.get(path)).json(),
    restart: () => { m.p = netpulse('start', '--config', file); },
  };
  return m;
}

/** The cluster as `m` sees it, or undefined while it cannot answer. */
export async function clusterView(m: Member): Promise<{ member: string; leading: boolean; leader: { member: string; epoch: number } | null; members: { id: string; targets: number }[] } | undefined> {
  if (!m.url()) return undefined;
  try {
    const r = await m.get('/v1/cluster');
    return r.ok ? r.json() as never : undefined;
  } catch {
    return undefined;
  }
}
