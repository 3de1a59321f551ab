// Detection and paging, the whole job, beside Prometheus + Alertmanager (issue 21).
//
// A switch with 24 base stations behind it dies: every one of its 25 agents stops answering (one
// snmpd answering at their 25 addresses, SIGSTOPped; SIGCONT brings them back). Two more switches
// with 24 stations each stay healthy (another snmpd). Both systems poll the 75 targets every
// `--interval` s with the same profiles, timeout and retries, and page the same webhook receiver
// (a small HTTP server here). Measured per trial, from the SIGSTOP: time to the first page, the
// notifications while it is down (pages), and from the SIGCONT: time to the clear.
//
// netpulse: `netpulse start --config` in its own process, defaults for health (down after 2 failed
//   polls of 3), outages and alerts (hold-down 10 s), the topology with the parents.
// Peer: Prometheus scraping snmp_exporter (same module as the `snmp` bench) with the rules and routes
//   a careful operator writes: `up{job="snmp"} == 0` for one interval; Alertmanager grouping by
//   site (group_wait 10 s, as netpulse's hold-down; group_interval 1 m; repeat 4 h), the stations
//   inhibited while their switch is down (label `switch` equal); evaluation every interval.
// Systems alternate trial by trial, one at a time, each trial on fresh processes.
//
//   node bench/paging.ts [--trials 1] [--interval 10]
import { createServer, type Server as HttpServer } from 'node:http';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../tests/helpers/servers.ts';
import { startAgent, requirePeers, targetHost, snmpExporterModule, startSnmpExporter, startPrometheus, startAlertmanager, snmpScrapeJob, type Agent } from './peers.ts';
import { startNetpulse, waitFor, exitedText, metricValue, sleep, type Proc } from './procs.ts';
import { line, fmt, median } from './lib.ts';

function options() {
  const { values: v } = parseArgs({ args: process.argv.slice(2), strict: false, allowPositionals: true, options: { trials: { type: 'string' }, interval: { type: 'string' } } });
  return { trials: Number(v.trials ?? process.env.BENCH_PAGING_TRIALS ?? 1), intervalS: Number(v.interval ?? process.env.BENCH_PAGING_INTERVAL ?? 10) };
}

const SNMP = { timeoutS: 2, retries: 1, maxRepetitions: 25, profiles: ['system', 'if-mib'] };
const STATIONS = 24;

interface Element { id: string; kind: 'aggregation' | 'base_station'; site: string; sw: string; host: string; port: number }

function network(dying: Agent, healthy: Agent): Element[] {
  const els: Element[] = [];
  let i = 0;
  for (const [s, agent] of [[1, dying], [2, healthy], [3, healthy]] as const) {
    const sw = `SW-${s}`;
    els.push({ id: sw, kind: 'aggregation', site: `agg${s}`, sw, host: targetHost(i++), port: agent.port });
    for (let b = 1; b <= STATIONS; b++) els.push({ id: `BS-${s}-${String(b).padStart(2, '0')}`, kind: 'base_station', site: `site-${s}-${b}`, sw, host: targetHost(i++), port: agent.port });
  }
  return els;
}

interface Hook { at: number; path: string; body: any }

/** The webhook receiver both systems page: every POST kept with its arrival time. */
async function receiver(): Promise<{ port: number; hooks: Hook[]; close(): Promise<void> }> {
  const hooks: Hook[] = [];
  const srv: HttpServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      try { hooks.push({ at: Date.now(), path: req.url ?? '', body: JSON.parse(body) }); } catch { hooks.push({ at: Date.now(), path: req.url ?? '', body }); }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as { port: number }).port, hooks, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

interface Trial { system: string; firstPage: number; pages: number; pageText: string; clear: number; afterClear: number; falsePages: number }

/** What a notification says: firing (a page) or resolved (a clear), and of what. */
type Reading = { firing: boolean; about: string; root: boolean };
const readNetpulse = (b: any): Reading => ({ firing: b.state !== 'cleared', about: `${b.event} ${b.alarmedObject?.id}${b.correlatedAlarm?.length ? ` (+${b.correlatedAlarm.length})` : ''}`, root: b.alarmedObject?.id === 'SW-1' });
const readAlertmanager = (b: any): Reading => ({
  firing: b.status === 'firing',
  about: `${b.status} ${b.groupLabels?.site}: ${(b.alerts ?? []).filter((a: any) => a.status === b.status).map((a: any) => a.labels.element).join(',')}`,
  root: (b.alerts ?? []).some((a: any) => a.labels.element === 'SW-1'),
});

/** Stops the dying agent, waits for the first page and a while more, brings it back, waits for the clear. */
async function fail(o: ReturnType<typeof options>, system: string, dying: Agent, hooks: Hook[], read: (b: any) => Reading): Promise<Trial> {
  const before = hooks.length;
  const stopAt = Date.now();
  dying.proc.child.kill('SIGSTOP');
  let resumeAt = NaN;
  try {
    const first = await waitFor('the first page', 180_000, () => hooks.slice(before).find((h) => read(h.body).firing));
    await sleep(o.intervalS * 3000); // what else pages while it is down
    resumeAt = Date.now();
  } finally {
    dying.proc.child.kill('SIGCONT');
    if (Number.isNaN(resumeAt)) resumeAt = Date.now();
  }
  const down = hooks.slice(before).filter((h) => h.at < resumeAt);
  const clear = await waitFor('the clear', 240_000, () => hooks.slice(before).find((h) => h.at >= resumeAt && !read(h.body).firing && read(h.body).root)).catch(() => undefined);
  await sleep(o.intervalS * 2000); // pages after the clear (a station late to recover)
  const after = hooks.slice(before).filter((h) => h.at > (clear?.at ?? Infinity) && read(h.body).firing);
  const pages = down.filter((h) => read(h.body).firing);
  return {
    system, firstPage: (pages[0]?.at ?? NaN) - stopAt, pages: pages.length, pageText: pages.map((h) => read(h.body).about).join(' | '),
    clear: (clear?.at ?? NaN) - resumeAt, afterClear: after.length, falsePages: pages.filter((h) => /SW-[23]|BS-[23]-/.test(read(h.body).about)).length,
  };
}

async function trialNetpulse(o: ReturnType<typeof options>, els: Element[], dying: Agent, hook: { port: number; hooks: Hook[] }, dir: string): Promise<Trial> {
  const name = `np-${Date.now()}`;
  writeFileSync(join(dir, 'topology.yaml'), `elements:\n${els.map((e) => `  - { id: ${e.id}, kind: ${e.kind}, site: ${e.site}${e.kind === 'base_station' ? `, parents: [${e.sw}]` : ''} }\n`).join('')}`);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    daemon: { dataDir: join(dir, name), logFormat: 'json', logLevel: 'info', shutdownTimeout: '5s' },
    api: { port: 0, host: '127.0.0.1' }, topology: { file: join(dir, 'topology.yaml') },
    alerts: { webhooks: [{ name: 'bench', url: `http://127.0.0.1:${hook.port}/netpulse` }] },
    snmp: {
      defaults: { interval: `${o.intervalS}s`, timeout: `${SNMP.timeoutS}s`, retries: SNMP.retries, maxRepetitions: SNMP.maxRepetitions, profiles: SNMP.profiles },
      targets: els.map((e) => ({ name: e.id.toLowerCase(), element: e.id, host: e.host, port: e.port })),
    },
  }));
  const np: Proc & { url(): string | undefined; metrics(): Promise<string> } = startNetpulse(name, file);
  try {
    await waitFor('netpulse polling every target', 120_000, async () => np.url() && metricValue(await np.metrics(), 'netpulse_snmp_polls_total', '{outcome="answered"}') >= els.length, () => exitedText(np));
    await sleep(o.intervalS * 2000); // every element known up
    return await fail(o, 'netpulse', dying, hook.hooks, readNetpulse);
  } finally {
    await np.stop();
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

async function trialPeer(o: ReturnType<typeof options>, els: Element[], dying: Agent, hook: { port: number; hooks: Hook[] }): Promise<Trial> {
  const am = await startAlertmanager(`route:
  receiver: noc
  group_by: [site]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 4h
receivers:
- name: noc
  webhook_configs:
  - url: http://127.0.0.1:${hook.port}/alertmanager
    send_resolved: true
inhibit_rules:
- source_matchers: [alertname="TargetDown", role="switch"]
  target_matchers: [alertname="TargetDown", role="base_station"]
  equal: [switch]
`);
  const exporter = await startSnmpExporter(snmpExporterModule('netpulse', SNMP.profiles, SNMP));
  let prom: Proc | undefined;
  try {
    const rules = `groups:
- name: snmp
  rules:
  - alert: TargetDown
    expr: up{job="snmp"} == 0
    for: ${o.intervalS}s
    labels: { severity: critical }
    annotations: { summary: '{{ $labels.element }} does not answer SNMP' }
`;
    const p = await startPrometheus(`global:\n  scrape_interval: ${o.intervalS}s\n  evaluation_interval: ${o.intervalS}s\nrule_files: [rules.yml]\n` +
      `alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:${am.port}']\nscrape_configs:\n` +
      snmpScrapeJob({
        exporterPort: exporter.port, module: 'netpulse', intervalS: o.intervalS, timeoutS: o.intervalS,
        targets: els.map((e) => ({ address: `${e.host}:${e.port}`, labels: { element: e.id, site: e.site, switch: e.sw, role: e.kind === 'aggregation' ? 'switch' : 'base_station' } })),
      }), { 'rules.yml': rules });
    prom = p;
    await waitFor('prometheus scraping every target', 120_000, async () => Number((await p.query('count(up{job="snmp"} == 1)'))[0]?.value?.[1] ?? 0) === els.length, () => exitedText(p) ?? exitedText(exporter));
    await sleep(o.intervalS * 2000);
    return await fail(o, 'prometheus + alertmanager', dying, hook.hooks, readAlertmanager);
  } finally {
    await prom?.stop();
    await exporter.stop();
    await am.stop();
  }
}

export async function benchPaging(): Promise<Trial[]> {
  const o = options();
  requirePeers();
  const [dying, healthy] = await Promise.all([startAgent(), startAgent()]);
  const hook = await receiver();
  const dir = tempDir('bench-paging');
  const els = network(dying, healthy);
  const trials: Trial[] = [];
  try {
    for (let i = 0; i < o.trials * 2; i++) {
      const npFirst = Math.floor(i / 2) % 2 === 0;
      trials.push((i % 2 === 0) === npFirst ? await trialNetpulse(o, els, dying, hook, dir) : await trialPeer(o, els, dying, hook));
    }
  } finally {
    dying.proc.child.kill('SIGCONT');
    await Promise.all([dying.proc.stop(), healthy.proc.stop()]);
    await hook.close();
  }
  line('network', `3 switches x ${STATIONS} base stations (75 targets), SW-1 and its ${STATIONS} stations die together (SIGSTOP of their agent)`);
  line('both systems', `poll every ${o.intervalS} s, profiles ${SNMP.profiles.join(' + ')}, timeout ${SNMP.timeoutS} s, ${SNMP.retries} retry; one webhook receiver`);
  for (const system of ['netpulse', 'prometheus + alertmanager']) {
    const ts = trials.filter((t) => t.system === system);
    line(`${system}: failure -> first page, s`, ts.map((t) => (t.firstPage / 1000).toFixed(1)).join(', '));
    line('  notifications while down (pages)', ts.map((t) => `${t.pages}${t.falsePages ? ` (${t.falsePages} of healthy elements)` : ''}`).join(', '));
    line('  what they said', ts.map((t) => t.pageText).join(' || ').slice(0, 400));
    line('  agents back -> the clear, s', ts.map((t) => (t.clear / 1000).toFixed(1)).join(', '));
    line('  pages after the clear', ts.map((t) => t.afterClear).join(', '));
  }
  const m = (system: string, f: (t: Trial) => number) => median(trials.filter((t) => t.system === system).map(f));
  line('RATIO time to first page, netpulse / peer', (m('netpulse', (t) => t.firstPage) / m('prometheus + alertmanager', (t) => t.firstPage)).toFixed(2));
  line('RATIO time to clear, netpulse / peer', (m('netpulse', (t) => t.clear) / m('prometheus + alertmanager', (t) => t.clear)).toFixed(2));
  line('pages: netpulse / peer (median)', `${fmt(m('netpulse', (t) => t.pages))} / ${fmt(m('prometheus + alertmanager', (t) => t.pages))}`);
  return trials;
}

if (import.meta.main) {
  await benchPaging();
  process.exit(0);
}
