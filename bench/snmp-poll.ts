// End-to-end SNMP polling (poll, decode, map, write through the spooled sink) against Debian's
// snmpd, compared in the same run with a bare net-snmp GET loop and with Debian's
// prometheus-snmp-exporter scraping the same four OIDs from the same agent.
import snmp from 'net-snmp';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnmpd, startVictoriaMetrics, freeTcpPort, tempDir } from '../tests/helpers/servers.ts';
import { netSnmpSessionFactory, resolveTarget } from '../collectors/snmp/session.ts';
import { compilePlan, pollTarget } from '../collectors/snmp/poll.ts';
import { parseProfile } from '../collectors/snmp/profile.ts';
import { CounterRates } from '../collectors/snmp/rates.ts';
import { parseConfigText } from '../src/config/load.ts';
import { SpooledSink } from '../src/sinks/spooled.ts';
import { Spool } from '../src/sinks/spool.ts';
import { InfluxWriter } from '../src/sinks/influx.ts';
import { createLogger } from '../src/log.ts';
import { forDuration, rate, line, fmt, median } from './lib.ts';

const OIDS = ['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.3.0', '1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.1.7.0'];
// Requests in flight. The daemon's default is 256 across all targets; 16 is a small poller.
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? '16,64').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = 10;
const ROUND_MS = (SECONDS * 1000) / ROUNDS;

export async function benchSnmp(): Promise<void> {
  const snmpd = await startSnmpd();
  const vm = await startVictoriaMetrics();
  try {
    const profile = parseProfile(`name: bench\nmeasurements:\n  - measurement: snmp\n    tags:\n      - { name: source, oid: 1.3.6.1.2.1.1.5.0 }\n    fields:\n      - { name: descr, oid: 1.3.6.1.2.1.1.1.0 }\n      - { name: uptime, oid: 1.3.6.1.2.1.1.3.0 }\n      - { name: services, oid: 1.3.6.1.2.1.1.7.0 }\n`, 'bench');
    const plan = compilePlan([profile]);
    const defaults = parseConfigText('', {}).config!.snmp.defaults;
    const sink = new SpooledSink({
      // BENCH_SINK=discard keeps the spool but discards at the destination: it shows what
      // VictoriaMetrics' own CPU, on the same two cores, costs the ratio.
      name: 'influx', writer: process.env.BENCH_SINK === 'discard' ? { describe: 'discard', send: async () => {} }
        : new InfluxWriter({ version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'o', bucket: 'b', token: 't', timeout: 10_000 }),
      spool: new Spool(tempDir('bench-spool'), { maxBytes: 1 << 30, segmentBytes: 1 << 24 }),
      batchSize: 5000, flushIntervalMs: 1000, retry: { minDelayMs: 100, maxDelayMs: 1000 }, logger: createLogger({ level: 'silent' }),
    });
    sink.start();
    const results: { concurrency: number; bare: number; ours: number; pairRatio: number }[] = [];
    for (const concurrency of CONCURRENCIES) {
      // Reference 1: the bare library, one session per worker, GET of the same 4 OIDs.
      const sessions = Array.from({ length: concurrency }, () => snmp.createSession('127.0.0.1', 'public', { port: snmpd.port, version: snmp.Version2c, timeout: 2000, retries: 0 }));
      const bareRound = () => forDuration(ROUND_MS, concurrency, (w) => new Promise<void>((res, rej) => sessions[w].get(OIDS, (e: Error | null) => (e ? rej(e) : res()))));
      // netpulse: poll through a profile, map to samples, write through the spooled sink into VictoriaMetrics.
      const workers = Array.from({ length: concurrency }, (_, w) => {
        const t = resolveTarget({ name: `t${w}`, host: '127.0.0.1', port: snmpd.port, tags: {} }, { ...defaults, retries: 0 });
        return { session: netSnmpSessionFactory(t, () => {}), rates: new CounterRates() };
      });
      const oursRound = () => forDuration(ROUND_MS, concurrency, async (w) => {
        const r = await pollTarget(workers[w].session, plan, { element: `t${w}`, tags: { agent_host: '127.0.0.1' }, maxRepetitions: 25, maxRows: 100, rates: workers[w].rates, now: Date.now });
        if (r.failure) throw r.failure;
        sink.write(r.samples);
      });
      // Interleaved short rounds, medians compared: drift on a shared machine hits both alike.
      const bareRates: number[] = [];
      const oursRates: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        bareRates.push(rate(await bareRound()));
        oursRates.push(rate(await oursRound()));
      }
      for (const s of sessions) s.close();
      for (const w of workers) w.session.close();
      const bare = median(bareRates);
      const ours = median(oursRates);
      // Each netpulse round against the bare round just before it: the machine's drift (other
      // tenants come and go) moves both of a pair alike, so the median of these is the steadier figure.
      const pairRatio = median(oursRates.map((o, i) => o / bareRates[i]));
      results.push({ concurrency, bare, ours, pairRatio });
      line(`bare net-snmp GET loop (4 OIDs, ${concurrency} in flight), GETs/s`, `${fmt(bare)}  (rounds: ${bareRates.map(fmt).join(', ')})`);
      line(`netpulse poll+map+sink (same, ${concurrency} in flight), polls/s`, `${fmt(ours)}  (rounds: ${oursRates.map(fmt).join(', ')})`);
    }
    await sink.close(30_000);
    line('points written by the sink (into VictoriaMetrics)', fmt(sink.stats.written));

    // Reference 2: prometheus-snmp-exporter, the same 4 OIDs, the largest concurrency.
    const top = results.at(-1)!;
    const exporter = await exporterRate(snmpd.port, top.concurrency);
    line(`prometheus-snmp-exporter (${top.concurrency} in flight), scrapes/s`, exporter === undefined ? 'n/a (apt-get install prometheus-snmp-exporter)' : fmt(exporter));
    for (const r of results) {
      line(`RATIO netpulse / bare net-snmp, ${r.concurrency} in flight (target >= 0.8)`, `${r.pairRatio.toFixed(2)}  (median of round pairs; of the medians: ${(r.ours / r.bare).toFixed(2)})`);
    }
    if (exporter) line(`RATIO netpulse / snmp-exporter, ${top.concurrency} in flight (target >= 3)`, (top.ours / exporter).toFixed(2));
  } finally {
    await snmpd.stop();
    await vm.stop();
  }
}

async function exporterRate(agentPort: number, concurrency: number): Promise<number | undefined> {
  const bin = '/usr/bin/prometheus-snmp-exporter';
  const { existsSync } = await import('node:fs');
  if (!existsSync(bin)) return undefined;
  const dir = tempDir('exporter');
  const metric = (name: string, oid: string, type: string) => `    - name: ${name}\n      oid: ${oid}\n      type: ${type}\n      help: ${name}\n`;
  writeFileSync(join(dir, 'snmp.yml'), `bench:\n  version: 2\n  auth:\n    community: public\n  timeout: 2s\n  retries: 0\n  get:\n${OIDS.map((o) => `  - ${o}\n`).join('')}  metrics:\n` +
    metric('sysDescr', '1.3.6.1.2.1.1.1', 'DisplayString') + metric('sysUpTime', '1.3.6.1.2.1.1.3', 'gauge') +
    metric('sysName', '1.3.6.1.2.1.1.5', 'DisplayString') + metric('sysServices', '1.3.6.1.2.1.1.7', 'gauge'));
  const port = await freeTcpPort();
  const child = spawn(bin, [`--config.file=${join(dir, 'snmp.yml')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}/snmp?target=127.0.0.1:${agentPort}&module=bench`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(url)).ok) break; } catch { /* starting */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const probe = await (await fetch(url)).text();
    if (!probe.includes('sysUpTime')) throw new Error(`snmp-exporter did not return the OIDs:\n${probe.slice(0, 500)}`);
    const r = await forDuration(SECONDS * 1000, concurrency, async () => { await (await fetch(url)).text(); });
    return rate(r);
  } finally {
    child.kill();
  }
}

if (import.meta.main) await benchSnmp();
