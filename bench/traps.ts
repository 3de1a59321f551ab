// SNMP traps (issue 20), two figures, each against a reference measured in the same run:
//
// 1. Detection: an element polled over SNMP (Debian's snmpd, one agent per element, every
//    BENCH_TRAPS_INTERVAL s, timeout 2 s, 1 retry, health down after 2 failed polls of 3: the
//    defaults) whose agent stops (SIGTERM; the process gone is "the failure"). Measured: the failure
//    to the outage opened (the daemon's `outage` event). Poll-only (no trap) against the same
//    failure announced by a linkDown trap of its uplink (topology `uplink: { ifIndex }`), sent from
//    this process at the moment of the failure. A fresh element per trial (a recovered outage stays
//    open for `outages.confirmRecovery`, 2 min, and would be reopened, not opened), trials interleaved
//    in pairs (poll-only then trap, then trap then poll-only...), each at a random phase of the polls.
//
// 2. Throughput: traps received, mapped and written by the daemon's trap collector (pipeline, spool,
//    VictoriaMetrics on loopback: the production path), against a bare net-snmp receiver that only
//    counts (same community, same socket buffer). One sender process for both (niced, as a device
//    would be, not this host's CPU), the same traps each round: BENCH_TRAPS_COUNT v2c linkDowns
//    of customer ports (no health meaning: each is one `snmp_trap` point) from COUNT/100 distinct
//    elements, each from its own loopback address, 100 each: within the shipped per-source limits
//    (traps.rate: 20/s, burst 100, per kind; the gate ten times that), which stay at their defaults.
//    Each round uses fresh addresses, so no round inherits a spent bucket. Rounds interleaved.
//
// The daemon is built in this process as `main` builds it: a config file through loadConfig and the
// same checks, the JSON logger (into memory), `build(config, { logger })`.
//
//   node bench/traps.ts                      everything (about 6 minutes)
//   BENCH_TRAPS_TRIALS=3 BENCH_TRAPS_COUNT=5000 BENCH_TRAPS_ROUNDS=3 node bench/traps.ts   quick
//   BENCH_TRAPS_PARTS=rate node bench/traps.ts   one part (detection, rate)
import snmp from 'net-snmp';
import dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { startSnmpd, startVictoriaMetrics, tempDir, type Server } from '../tests/helpers/servers.ts';
import { v2cTrap } from '../tests/helpers/snmp-wire.ts';
import { loadConfig, ConfigError } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { build, type Daemon } from '../src/daemon.ts';
import { checkProfiles, checkTrapDefinitions, configWarnings, readTopology } from '../src/check-config.ts';
import { checkPolicies } from '../correlators/compensation/assemble.ts';
import type { TrapCollector } from '../collectors/traps/collector.ts';
import type { SpooledSink } from '../src/sinks/spooled.ts';
import type { OutageEvent } from '../correlators/outages/outage.ts';
import { line, fmt, median, percentile } from './lib.ts';

const TRIALS = Number(process.env.BENCH_TRAPS_TRIALS ?? 10);
const INTERVAL_S = Number(process.env.BENCH_TRAPS_INTERVAL ?? 5);
const COUNT = Number(process.env.BENCH_TRAPS_COUNT ?? 20_000);
const ROUNDS = Number(process.env.BENCH_TRAPS_ROUNDS ?? 7);
const PARTS = (process.env.BENCH_TRAPS_PARTS ?? 'detection,rate').split(',');
/** Traps per source per round: the shipped burst of `traps.rate`, so storm control drops none. */
const PER_SOURCE = 100;
/** A round is over when its count reached COUNT, or nothing moved for this long after the sender was done (the kernel drops the rest). */
const QUIET_MS = 1_000;

const LINK_DOWN = '1.3.6.1.6.3.1.1.5.3';
const IF_INDEX = '1.3.6.1.2.1.2.2.1.1';
const SYS_NAME = '1.3.6.1.2.1.1.5.0';
const UPLINK = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const list = (xs: number[]) => xs.map(fmt).join(', ');
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

export async function benchTraps(): Promise<void> {
  if (PARTS.includes('detection')) await detection();
  if (PARTS.includes('rate')) await throughput();
}

/** A daemon as `main` starts one: the config file loaded and checked, the JSON logger (here into memory), built, started. */
async function startDaemon(dir: string, yaml: string): Promise<{ daemon: Daemon; logs: any[] }> {
  const file = join(dir, 'netpulse.yaml');
  writeFileSync(file, yaml);
  const config = loadConfig(file);
  const problems = [...checkProfiles(config), ...checkPolicies(config), ...checkTrapDefinitions(config)];
  if (problems.length > 0) throw new ConfigError(file, problems);
  const logs: any[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } });
  const logger = createLogger({ level: config.daemon.logLevel, format: 'json', destination });
  for (const w of configWarnings(config, readTopology(config, undefined))) logger.warn({ path: w.path }, w.message);
  const daemon = build(config, { logger });
  await daemon.start();
  return { daemon, logs };
}

async function waitFor(what: string, check: () => boolean, ms: number, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---- 1. detection: poll-only against a linkDown trap ----

type Variant = 'poll' | 'trap';

async function detection(): Promise<void> {
  const dir = tempDir('bench-traps-detection');
  const ids = { poll: range(TRIALS).map((i) => `SW-P${pad(i + 1)}`), trap: range(TRIALS).map((i) => `SW-T${pad(i + 1)}`) };
  const all = [...ids.poll, ...ids.trap];
  const agents = new Map<string, Server>();
  const sender = dgram.createSocket('udp4');
  let daemon: Daemon | undefined;
  try {
    // One agent per element, so that stopping one fails that element alone.
    for (let i = 0; i < all.length; i += 4) {
      const started = await Promise.all(all.slice(i, i + 4).map(async (id) => [id, await startSnmpd()] as const));
      for (const [id, s] of started) agents.set(id, s);
    }
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${all.map((id) => `  - { id: ${id}, kind: aggregation, uplink: { ifIndex: ${UPLINK} } }\n`).join('')}`);
    const started = await startDaemon(dir, [
      `daemon: { dataDir: ${join(dir, 'data')}, logLevel: info }`,
      'api: { port: 0 }',
      `topology: { file: ${join(dir, 'topology.yaml')} }`,
      'snmp:',
      `  defaults: { interval: ${INTERVAL_S}s }`,
      '  targets:',
      ...all.map((id) => `    - { name: ${id.toLowerCase()}, element: ${id}, host: 127.0.0.1, port: ${agents.get(id)!.port} }`),
      'traps: { enabled: true, address: 127.0.0.1, port: 0, communities: [public] }',
      '',
    ].join('\n'));
    daemon = started.daemon;
    const logs = started.logs;
    const traps = daemon.collectors.find((c) => c.name === 'traps') as TrapCollector;
    const opened = new Map<string, { at: number; e: OutageEvent }>();
    daemon.outages.onEvent((e) => {
      if (e.type === 'opened' && !opened.has(e.outage.root)) opened.set(e.outage.root, { at: Date.now(), e });
    });
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
    // Every element answered at least twice: up, and its health settled.
    await waitFor('every element up', () => all.every((id) => daemon!.outages.health.get(id)?.state === 'up'), 60_000, 100);
    await sleep(INTERVAL_S * 1000);

    const took: Record<Variant, number[]> = { poll: [], trap: [] };
    const reasons: Record<Variant, string[]> = { poll: [], trap: [] };
    const pairs: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const order: Variant[] = i % 2 === 0 ? ['poll', 'trap'] : ['trap', 'poll'];
      for (const v of order) {
        const id = ids[v][i];
        // A random phase of the polling cycle.
        await sleep(Math.random() * INTERVAL_S * 1000);
        if (daemon.outages.health.get(id)?.state !== 'up') throw new Error(`${id} is not up before its trial: ${JSON.stringify(daemon.outages.health.get(id))}`);
        await agents.get(id)!.stop();
        const t0 = Date.now();
        if (v === 'trap') {
          sender.send(v2cTrap({ community: 'public', trapOid: LINK_DOWN, uptime: 123_456, vbs: [
            { oid: `${IF_INDEX}.${UPLINK}`, v: { type: 'int', value: UPLINK } },
            { oid: SYS_NAME, v: { type: 'str', value: id } },
          ] }), traps.address!.port, '127.0.0.1');
        }
        await waitFor(`the outage of ${id} (${v})`, () => opened.has(id), INTERVAL_S * 8_000 + 10_000);
        const o = opened.get(id)!;
        took[v].push(o.at - t0);
        reasons[v].push(o.e.outage.reason);
        if (!logs.some((l) => l.msg === 'outage opened' && l.root === id)) throw new Error(`no "outage opened" log line for ${id}`);
      }
      pairs.push(took.poll[i] / took.trap[i]);
    }

    const poll = sorted(took.poll);
    const trap = sorted(took.trap);
    const trapReasons = new Set(reasons.trap);
    const pollReasons = new Set(reasons.poll);
    line('elements / poll interval', `${all.length} (own snmpd each) / ${INTERVAL_S} s, timeout 2 s, 1 retry; down after 2 failed of 3; evaluateEvery 1 s`);
    line(`poll-only: agent stopped -> outage opened, ms (${TRIALS} trials)`, list(poll));
    line(`linkDown trap at the failure -> outage opened, ms (${TRIALS})`, list(trap));
    line('poll-only p50 / p95, ms', `${fmt(median(poll))} / ${fmt(percentile(poll, 95))}`);
    line('trap p50 / p95, ms', `${fmt(median(trap))} / ${fmt(percentile(trap, 95))}`);
    line('outage reasons (poll-only; trap)', `${[...pollReasons].join(' | ')}; ${[...trapReasons].join(' | ')}`);
    line('traps accepted / dropped / refused', `${traps.stats.accepted} / ${sum(Object.values(traps.stats.dropped))} / ${sum([...traps.stats.refused.values()])}`);
    line('RATIO poll-only / trap, p50 (times sooner with the trap)', `${(median(poll) / median(trap)).toFixed(1)}  (p95: ${(percentile(poll, 95) / percentile(trap, 95)).toFixed(1)}; median of trial pairs: ${median(pairs).toFixed(1)})`);
  } finally {
    sender.close();
    await daemon?.stop();
    await Promise.all([...agents.values()].map((a) => a.stop()));
  }
}

// ---- 2. throughput: the daemon's trap path against a bare net-snmp receiver ----

interface Measured {
  /** Traps the primary count saw in the round (written, or counted), and when it last moved. */
  got: number;
  seconds: number;
  /** Other counts, with their own last moves (the daemon's spool). */
  others: Record<string, { got: number; seconds: number }>;
  sent: { n: number; ms: number; errors: number };
}

async function throughput(): Promise<void> {
  const dir = tempDir('bench-traps-rate');
  const sources = Math.ceil(COUNT / PER_SOURCE);
  const vm = await startVictoriaMetrics();
  const senderProc = new Sender();
  const bare = new BareReceiver();
  let daemon: Daemon | undefined;
  try {
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${range(sources).map((s) => `  - { id: ${element(s)}, kind: access, uplink: { ifIndex: 1 } }\n`).join('')}`);
    const started = await startDaemon(dir, [
      `daemon: { dataDir: ${join(dir, 'data')}, logLevel: info }`,
      'api: { port: 0 }',
      `topology: { file: ${join(dir, 'topology.yaml')} }`,
      `timeseries: { influx: { version: 2, url: "http://127.0.0.1:${vm.port}", org: o, bucket: b, token: t } }`,
      'traps: { enabled: true, address: 127.0.0.1, port: 0, communities: [public] }',
      '',
    ].join('\n'));
    daemon = started.daemon;
    const traps = daemon.collectors.find((c) => c.name === 'traps') as TrapCollector;
    const sink = daemon.sinks[0] as SpooledSink;
    if (!('written' in sink.stats)) throw new Error('expected the spooled InfluxDB sink');
    await bare.start();
    await senderProc.start();

    let block = 0;
    const runOurs = async () => {
      // What an earlier round spooled is in VictoriaMetrics before this one starts: its late writes would count here.
      await waitFor('the spool drained', () => sink.stats.written === sink.stats.accepted, 30_000);
      const before = { received: traps.stats.received['2c'], accepted: traps.stats.accepted, dropped: { ...traps.stats.dropped }, refused: sum([...traps.stats.refused.values()]), kernel: traps.socketStats()?.drops ?? 0, emitFailures: traps.stats.emitFailures };
      const m = await round(senderProc, traps.address!.port, block++, { written: () => sink.stats.written, spooled: () => sink.stats.accepted });
      const dropped = Object.entries(traps.stats.dropped).map(([k, n]) => [k, n - before.dropped[k as keyof typeof before.dropped]] as const).filter(([, n]) => n > 0);
      return {
        ...m, lost: m.sent.n - m.got,
        where: { kernel: (traps.socketStats()?.drops ?? 0) - before.kernel, received: traps.stats.received['2c'] - before.received, accepted: traps.stats.accepted - before.accepted,
          refused: sum([...traps.stats.refused.values()]) - before.refused, dropped: Object.fromEntries(dropped), emitFailures: traps.stats.emitFailures - before.emitFailures },
      };
    };
    const runBare = async () => {
      const kernel = bare.drops();
      const m = await round(senderProc, bare.port, block++, { counted: () => bare.count });
      return { ...m, lost: m.sent.n - m.got, where: { kernel: bare.drops() - kernel, errors: bare.errors } };
    };

    // Warm-up, not counted: both receivers and VictoriaMetrics' first series.
    await runBare();
    await runOurs();
    const ours: Awaited<ReturnType<typeof runOurs>>[] = [];
    const bares: Awaited<ReturnType<typeof runBare>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        bares.push(await runBare());
        ours.push(await runOurs());
      } else {
        ours.push(await runOurs());
        bares.push(await runBare());
      }
    }
    const r = (m: { got: number; seconds: number }) => m.got / m.seconds;
    const bareRates = bares.map(r);
    const ourRates = ours.map(r);
    const spoolRates = ours.map((m) => r(m.others.spooled));
    const pairRatio = median(ourRates.map((o, i) => o / bareRates[i]));
    line('traps per round / elements (own address each) / per element', `${fmt(COUNT)} / ${fmt(sources)} / ${PER_SOURCE} (v2c linkDown of a customer port; traps.rate left at its default; send errors ${sum([...bares, ...ours].map((m) => m.sent.errors))})`);
    const offered = (ms: { sent: Measured['sent'] }[]) => list(ms.map((m) => m.sent.n / (m.sent.ms / 1000)));
    line('sender (nice 19, own process), traps/s offered', `bare rounds ${offered(bares)}; netpulse rounds ${offered(ours)}`);
    line('bare net-snmp receiver (counts only), traps/s', `${fmt(median(bareRates))}  (rounds: ${list(bareRates)})`);
    line('netpulse received+mapped+spooled, traps/s', `${fmt(median(spoolRates))}  (rounds: ${list(spoolRates)})`);
    line('netpulse received+mapped+written (VictoriaMetrics), traps/s', `${fmt(median(ourRates))}  (rounds: ${list(ourRates)})`);
    line('bare receiver: lost per round (kernel buffer drops)', `${bares.map((m) => `${fmt(m.lost)} (${fmt(m.where.kernel)})`).join(', ')}; refused ${fmt(bare.errors)}`);
    line('netpulse: lost per round (kernel buffer drops)', ours.map((m) => `${fmt(m.lost)} (${fmt(m.where.kernel)})`).join(', '));
    const dropNames = new Set(ours.flatMap((m) => Object.keys(m.where.dropped)));
    line('netpulse: dropped by the collector, refused, emit failures', `${dropNames.size === 0 ? 'none' : [...dropNames].map((k) => `${k} ${fmt(sum(ours.map((m) => m.where.dropped[k] ?? 0)))}`).join(', ')}; ${fmt(sum(ours.map((m) => m.where.refused)))}; ${fmt(sum(ours.map((m) => m.where.emitFailures)))}`);
    line('netpulse: accepted by the collector but not written', fmt(sum(ours.map((m) => m.where.accepted - m.got))));
    line('RATIO netpulse written / bare, traps/s', `${pairRatio.toFixed(2)}  (median of round pairs; of the medians: ${(median(ourRates) / median(bareRates)).toFixed(2)})`);
  } finally {
    await senderProc.stop();
    await bare.stop();
    await daemon?.stop();
    await vm.stop();
  }
}

/**
 * One round: the sender prepares (binds this round's addresses, encodes the traps), then sends on
 * `go`; the counts are read every 5 ms. Rate: the round's count over the time from `go` to its
 * last move.
 */
async function round(sender: Sender, port: number, block: number, counts: Record<string, () => number>): Promise<Measured> {
  await sender.prepare(port, block);
  const names = Object.keys(counts);
  const base = Object.fromEntries(names.map((n) => [n, counts[n]()]));
  const last = Object.fromEntries(names.map((n) => [n, { v: base[n], at: 0 }]));
  const t0 = performance.now();
  let sent: Measured['sent'] | undefined;
  const going = sender.go().then((s) => { sent = s; });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (const n of names) {
        const v = counts[n]();
        if (v !== last[n].v) last[n] = { v, at: now };
      }
      const primary = names[0];
      const quiet = names.every((n) => now - Math.max(last[n].at, t0) > QUIET_MS);
      if (last[primary].v - base[primary] >= COUNT || (sent && quiet) || now - t0 > 120_000) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  await going;
  const m = (n: string) => ({ got: last[n].v - base[n], seconds: (last[n].at - t0) / 1000 });
  return { ...m(names[0]), others: Object.fromEntries(names.slice(1).map((n) => [n, m(n)])), sent: sent! };
}

/** The bare reference: net-snmp's receiver, the community, a count. The same 4 MiB receive buffer the daemon asks for. */
class BareReceiver {
  count = 0;
  errors = 0;
  port = 0;
  private receiver: any;

  async start(): Promise<void> {
    let socket!: dgram.Socket;
    // net-snmp reads port 0 as "unset" (162): its socket factory binds the kernel's choice instead.
    const dgramModule = {
      createSocket: (type: dgram.SocketType) => {
        socket = dgram.createSocket(type);
        const bind = socket.bind.bind(socket) as (port: number, address?: string) => dgram.Socket;
        (socket as any).bind = (_port: number, address?: string) => bind(0, address);
        return socket;
      },
    };
    this.receiver = snmp.createReceiver({ port: 162, address: '127.0.0.1', transport: 'udp4', dgramModule } as any, (err: unknown) => {
      if (err) this.errors++;
      else this.count++;
    });
    this.receiver.getAuthorizer().addCommunity('public');
    await new Promise<void>((r) => socket.once('listening', () => r()));
    socket.setRecvBufferSize(4 * 1024 * 1024);
    this.port = socket.address().port;
  }

  /** Datagrams the kernel dropped with the socket's receive buffer full (/proc/net/udp). */
  drops(): number {
    const hexPort = this.port.toString(16).toUpperCase().padStart(4, '0');
    for (const l of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = l.trim().split(/\s+/);
      if (f.length >= 13 && f[1].endsWith(`:${hexPort}`)) return Number(f[12]);
    }
    return NaN;
  }

  async stop(): Promise<void> {
    try { this.receiver?.close(); } catch { /* closed */ }
  }
}

/** The element sending as source `s`, and its address in address block `block` (one block a round). */
const element = (s: number) => `BS-${String(s + 1).padStart(4, '0')}`;
const address = (block: number, s: number) => `127.${1 + block}.${Math.floor(s / 250)}.${1 + (s % 250)}`;

/** The sender, a process of its own for every round: JSON commands in on stdin, one answer line each out on stdout. */
class Sender {
  private child: ChildProcess | undefined;
  private answers: ((line: string) => void)[] = [];

  async start(): Promise<void> {
    this.child = spawn('nice', ['-n', '19', process.execPath, fileURLToPath(import.meta.url), 'send'], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.answers.shift()?.(l));
  }

  private ask(cmd: object): Promise<string> {
    return new Promise((resolve) => {
      this.answers.push(resolve);
      this.child!.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  async prepare(port: number, block: number): Promise<void> {
    const a = await this.ask({ prepare: { port, block, count: COUNT } });
    if (a !== 'ready') throw new Error(`sender: ${a}`);
  }

  async go(): Promise<{ n: number; ms: number; errors: number }> {
    return JSON.parse(await this.ask({ go: true }));
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.stdin!.end();
    await exited;
  }
}

/** The sender's side: binds a round's addresses, encodes its traps, sends them on `go` (yielding every 500, as tests/helpers/trap-storm.ts does). */
async function senderMain(): Promise<void> {
  let prepared: { sockets: dgram.Socket[]; packets: Buffer[]; port: number } | undefined;
  for await (const l of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(l);
    if (cmd.prepare) {
      const { port, block, count } = cmd.prepare as { port: number; block: number; count: number };
      const n = Math.ceil(count / PER_SOURCE);
      const sockets = await Promise.all(range(n).map((s) => new Promise<dgram.Socket>((resolve, reject) => {
        const sock = dgram.createSocket('udp4');
        sock.once('error', reject);
        sock.bind(0, address(block, s), () => resolve(sock));
      })));
      // Trap i from source i % n, about its port 1000 + i / n: sources interleaved, as many devices at once; no two alike (no duplicates).
      const packets = range(count).map((i) => v2cTrap({ community: 'public', requestId: i, uptime: 1000 + i, trapOid: LINK_DOWN, vbs: [
        { oid: `${IF_INDEX}.${1000 + Math.floor(i / n)}`, v: { type: 'int', value: 1000 + Math.floor(i / n) } },
        { oid: SYS_NAME, v: { type: 'str', value: element(i % n) } },
      ] }));
      prepared = { sockets, packets, port };
      console.log('ready');
    } else if (cmd.go && prepared) {
      const { sockets, packets, port } = prepared;
      let errors = 0;
      let done = 0;
      const t = performance.now();
      let resolveAll!: () => void;
      const all = new Promise<void>((resolve) => { resolveAll = resolve; });
      for (let i = 0; i < packets.length; i++) {
        sockets[i % sockets.length].send(packets[i], port, '127.0.0.1', (err) => {
          if (err) errors++;
          if (++done === packets.length) resolveAll();
        });
        if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the sockets drain their queues
      }
      await all;
      const ms = performance.now() - t;
      for (const s of sockets) s.close();
      prepared = undefined;
      console.log(JSON.stringify({ n: packets.length, ms, errors }));
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

if (import.meta.main) {
  if (process.argv[2] === 'send') {
    await senderMain();
    process.exit(0);
  }
  await benchTraps();
  process.exit(0);
}
