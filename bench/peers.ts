// The peers netpulse is measured beside, as an operator runs them from Debian's packages:
// Prometheus 2.42 (its own TSDB), prometheus-snmp-exporter 0.21, Alertmanager 0.25; and the SNMP
// agents both poll: Debian's snmpd, one process answering as many targets (every 127.x.y.z
// address is on lo, so one agent bound to the wildcard address is a different target at each).
import { writeFileSync, mkdirSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freeTcpPort, tempDir } from '../tests/helpers/servers.ts';
import { loadProfiles, resolveProfiles } from '../collectors/snmp/profile.ts';
import { startProcess, waitFor, exitedText, requirePackages, type Proc } from './procs.ts';

export const PEER_PACKAGES = ['prometheus:/usr/bin/prometheus', 'prometheus-snmp-exporter:/usr/bin/prometheus-snmp-exporter', 'prometheus-alertmanager:/usr/bin/prometheus-alertmanager'];
export const AGENT_PACKAGES = ['snmpd:/usr/sbin/snmpd', 'snmp:/usr/bin/snmpget', 'victoria-metrics:/usr/bin/victoria-metrics'];

/** Installs what the side-by-side benchmarks start, when missing (as root). */
export function requirePeers(): void {
  requirePackages([...AGENT_PACKAGES, ...PEER_PACKAGES]);
}

export interface Agent { proc: Proc; port: number }

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '0.0.0.0', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Debian's snmpd on the wildcard address (community public, from loopback only), answering at every 127.x.y.z. */
export async function startAgent(): Promise<Agent> {
  const dir = tempDir('bench-agent');
  const port = await freeUdpPort();
  writeFileSync(join(dir, 'snmpd.conf'), [`agentAddress udp:0.0.0.0:${port}`, 'rocommunity public 127.0.0.0/8', 'sysName bench-agent', 'dontLogTCPWrappersConnects yes', ''].join('\n'));
  const proc = startProcess('snmpd', '/usr/sbin/snmpd', ['-f', '-C', '-c', join(dir, 'snmpd.conf'), '-Lo', '-p', join(dir, 'snmpd.pid')], { env: { SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' } });
  await waitFor('snmpd answering', 30_000, () => new Promise<boolean>((r) => {
    spawn('snmpget', ['-v2c', '-c', 'public', '-t', '0.3', '-r', '0', `127.0.0.1:${port}`, '1.3.6.1.2.1.1.3.0'], { stdio: 'ignore' }).on('exit', (c) => r(c === 0));
  }), () => exitedText(proc));
  return { proc, port };
}

/** Target i's loopback address: distinct for every i (up to 16 million), never 127.0.0.x. */
export function targetHost(i: number): string {
  return `127.${1 + Math.floor(i / 65_025)}.${Math.floor(i / 255) % 255}.${(i % 255) + 1}`;
}

/**
 * An snmp_exporter 0.21 module (its generated snmp.yml format, written by hand) fetching what the
 * netpulse profiles `profiles` fetch: their scalars by GET, every table column they read by a walk,
 * the tags of a table as lookups (labels on each of its metrics), a scalar tag as a DisplayString
 * metric. Counters where the MIB says counter.
 */
export function snmpExporterModule(name: string, profiles: string[], o: { timeoutS: number; retries: number; maxRepetitions: number }): string {
  const ps = resolveProfiles(profiles, loadProfiles(), 'snmp_exporter module');
  const get: string[] = [];
  const walk: string[] = [];
  const metrics: string[] = [];
  const counter = /Octets|Pkts|Discards|Errors/;
  for (const m of ps.flatMap((p) => p.measurements)) {
    if (!m.table) {
      for (const c of [...m.tags, ...m.fields]) {
        get.push(c.oid);
        const type = m.tags.includes(c as never) ? 'DisplayString' : 'gauge';
        metrics.push(`  - name: ${m.measurement}_${c.name}\n    oid: ${c.oid.replace(/\.0$/, '')}\n    type: ${type}\n    help: ${c.name}\n`);
      }
      continue;
    }
    for (const c of [...m.tags, ...m.fields]) walk.push(c.oid);
    const lookups = m.tags.map((t) => `    - labels: [${m.indexTag ?? 'index'}]\n      labelname: ${t.name}\n      oid: ${t.oid}\n      type: DisplayString\n`).join('');
    for (const f of m.fields) {
      metrics.push(`  - name: ${f.name}\n    oid: ${f.oid}\n    type: ${counter.test(f.name) ? 'counter' : 'gauge'}\n    help: ${f.name}\n    indexes:\n    - labelname: ${m.indexTag ?? 'index'}\n      type: gauge\n    lookups:\n${lookups}`);
    }
  }
  return `${name}:\n  walk:\n${walk.map((x) => `  - ${x}\n`).join('')}  get:\n${get.map((x) => `  - ${x}\n`).join('')}  metrics:\n${metrics.join('')}` +
    `  version: 2\n  max_repetitions: ${o.maxRepetitions}\n  retries: ${o.retries}\n  timeout: ${o.timeoutS}s\n  auth:\n    community: public\n`;
}

async function httpOk(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
}

export interface HttpServer extends Proc { port: number }

/** Debian's prometheus-snmp-exporter with `snmpYml` as its config. */
export async function startSnmpExporter(snmpYml: string): Promise<HttpServer> {
  const dir = tempDir('bench-snmp-exporter');
  writeFileSync(join(dir, 'snmp.yml'), snmpYml);
  const port = await freeTcpPort();
  const p = startProcess('snmp_exporter', '/usr/bin/prometheus-snmp-exporter', [`--config.file=${join(dir, 'snmp.yml')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  await waitFor('snmp_exporter ready', 30_000, () => httpOk(`http://127.0.0.1:${port}/metrics`), () => exitedText(p));
  return Object.assign(p, { port });
}

/** The scrape job of Prometheus for snmp_exporter (the relabelling of its README): each target an agent address, `labels` per target. */
export function snmpScrapeJob(o: { exporterPort: number; module: string; intervalS: number; timeoutS: number; targets: { address: string; labels?: Record<string, string> }[] }): string {
  const groups = o.targets.map((t) => `  - targets: ['${t.address}']${t.labels ? `\n    labels: {${Object.entries(t.labels).map(([k, v]) => `${k}: '${v}'`).join(', ')}}` : ''}\n`).join('');
  return `- job_name: snmp
  scrape_interval: ${o.intervalS}s
  scrape_timeout: ${o.timeoutS}s
  metrics_path: /snmp
  params: { module: [${o.module}] }
  static_configs:
${groups}  relabel_configs:
  - { source_labels: [__address__], target_label: __param_target }
  - { source_labels: [__param_target], target_label: instance }
  - { target_label: __address__, replacement: '127.0.0.1:${o.exporterPort}' }
`;
}

export interface Prometheus extends HttpServer {
  /** An instant query's result vector/matrix, at `time` (s) if given. */
  query(q: string, time?: number): Promise<any[]>;
}

/** PromQL over HTTP (Prometheus, or VictoriaMetrics' Prometheus API). */
export async function promQuery(port: number, q: string, time?: number): Promise<any[]> {
  const params = new URLSearchParams({ query: q, ...(time !== undefined && { time: String(time) }) });
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?${params}`, { signal: AbortSignal.timeout(60_000) });
  const body = await r.json() as { status: string; data: { result: any[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
  return body.data.result;
}

/** Debian's Prometheus with its own TSDB in a temp dir; `config` is its prometheus.yml. */
export async function startPrometheus(config: string, extraFiles: Record<string, string> = {}): Promise<Prometheus> {
  const dir = tempDir('bench-prometheus');
  mkdirSync(join(dir, 'data'));
  for (const [f, text] of Object.entries(extraFiles)) writeFileSync(join(dir, f), text);
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freeTcpPort();
  const p = startProcess('prometheus', '/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { cwd: dir });
  await waitFor('prometheus ready', 60_000, () => httpOk(`http://127.0.0.1:${port}/-/ready`), () => exitedText(p));
  return Object.assign(p, { port, query: (q: string, time?: number) => promQuery(port, q, time) });
}

/** Debian's Alertmanager, clustering off, `config` its alertmanager.yml. */
export async function startAlertmanager(config: string): Promise<HttpServer> {
  const dir = tempDir('bench-alertmanager');
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  const port = await freeTcpPort();
  const p = startProcess('alertmanager', '/usr/bin/prometheus-alertmanager', [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=', '--log.level=warn',
  ], { cwd: dir });
  await waitFor('alertmanager ready', 30_000, () => httpOk(`http://127.0.0.1:${port}/-/ready`), () => exitedText(p));
  return Object.assign(p, { port });
}
