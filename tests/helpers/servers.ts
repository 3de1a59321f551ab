import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, chmodSync, mkdirSync, rmSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempDir, beforeTempDirsRemoved } from './temp.ts';

export { tempDir };

/**
 * A TCP port free right now, released again: another process can take it before the caller binds
 * it. Kept for the bench scripts; tests start their servers with `run` below, which does not race.
 */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Server {
  port: number;
  dir: string;
  process: ChildProcess;
  /** Everything the server printed, for failure messages. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same server again on the same port and data (after a crash or stop). */
  restart(): Promise<void>;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, output: () => string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new ExitedError(`${what} exited before it was ready:\n${output().slice(-2000)}`);
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${what} did not become ready in ${timeoutMs} ms:\n${output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class ExitedError extends Error {}

/** Whether `port` can be bound on loopback for TCP and for UDP right now (the probe lets go at once). */
async function portFree(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => { sock.close(); resolve(false); });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
}

/** What the kernel reads as a port another socket holds, in every server's own words. */
const ADDRESS_IN_USE = /address already in use/i;

/**
 * How a server gets its port on its first start. `kernel`: it listens on port 0 and `read` finds
 * the port it got (from its log or from /proc). `pick`: it cannot listen on 0 (Mosquitto takes
 * port 0 for a Unix socket, PostgreSQL refuses it), so it gets a port below the kernel's ephemeral
 * range, which neither connect() nor bind(0) ever hands out; when another worker picked the same
 * one first, the server exits with "address already in use" and starts again on another.
 */
type PortSource = { kind: 'kernel'; read: (child: ChildProcess, output: string) => number | undefined } | { kind: 'pick' };

interface ServerSpec {
  what: string;
  dir: string;
  port: PortSource;
  /** The command for this port (0: the kernel's choice); it may (re)write the server's config first. */
  command(port: number): { cmd: string; args: string[]; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string };
  ready(port: number): Promise<boolean>;
  /** The signal `stop` sends by default: PostgreSQL's "fast" shutdown is SIGINT (SIGTERM waits for clients). */
  stopSignal?: NodeJS.Signals;
}

/**
 * Runs a server process until `stop`; `ready` polls until it answers. stdout and stderr are kept
 * for failure messages. A server still running when its test file ends is stopped then (before its
 * temp dir is removed), and killed when the worker exits.
 */
async function run(spec: ServerSpec): Promise<Server> {
  let out = '';
  let child!: ChildProcess;
  let port = 0;
  const launch = async (want: number) => {
    const { cmd, args, env, uid, gid, cwd } = spec.command(want);
    child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], uid, gid, cwd });
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    child.on('error', (err) => { out += `\nspawn error: ${err.message}`; });
    all.add(server);
    const started = child;
    const got = want !== 0 ? () => want : () => (spec.port as Extract<PortSource, { kind: 'kernel' }>).read(started, out);
    await until(spec.what, async () => { const p = got(); return p !== undefined && p !== 0 && (await spec.ready(p)); }, 30_000, () => out, () => started.exitCode !== null)
      .catch((err) => { started.kill('SIGKILL'); throw err; });
    port = got()!;
  };
  /** Starts it on `want`, again while another socket holds that port (a restart must keep its port). */
  const launchOn = async (want: number, attempts: number) => {
    for (let i = 1; ; i++) {
      const before = out.length;
      try { return await launch(want); } catch (err) {
        if (!(err instanceof ExitedError) || !ADDRESS_IN_USE.test(out.slice(before)) || i >= attempts) throw err;
      }
      // Wait until the holder (usually a short-lived client socket) lets go of the port, then start again.
      await until(`port ${want} free`, () => portFree(want), 10_000, () => out, () => false);
    }
  };
  const server: Server = {
    get port() { return port; },
    dir: spec.dir,
    get process() { return child; },
    output: () => out,
    async stop(signal = spec.stopSignal ?? 'SIGTERM') {
      all.delete(server);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    async restart() { await launchOn(port, 25); },
  };
  if (spec.port.kind === 'kernel') await launch(0);
  else {
    for (let i = 1; ; i++) {
      const before = out.length;
      try { await launch(await pickPort()); break; } catch (err) {
        if (!(err instanceof ExitedError) || !ADDRESS_IN_USE.test(out.slice(before)) || i >= 10) throw err;
      }
    }
  }
  return server;
}

const all = new Set<Server>();
beforeTempDirsRemoved(async () => { await Promise.all([...all].map((s) => s.stop())); });
process.on('exit', () => { for (const s of all) s.process.kill('SIGKILL'); });

/** The first port of the kernel's ephemeral range (connect() and bind(0) take ports from there). */
function ephemeralLow(): number {
  try { return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]); } catch { return 32768; }
}

/** A random loopback TCP port below the ephemeral range, free right now. */
async function pickPort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1024, high - 12_000);
  for (let i = 0; ; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    const srv = createServer();
    const free = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, '127.0.0.1', () => r(true));
    });
    if (free) {
      await new Promise<void>((r) => srv.close(() => r()));
      return port;
    }
    if (i > 100) throw new Error(`no free port in ${low}-${high - 1}`);
  }
}

/** 127.0.0.1 as /proc/net/{tcp,udp} print it on this (little-endian) machine. */
const LOOPBACK_HEX = '0100007F';

/**
 * The loopback ports a process has bound, from /proc: its sockets' inodes, then the lines of
 * /proc/net/tcp (listening) or /proc/net/udp with those inodes. For servers that listen on port 0
 * and do not print the port they got.
 */
function boundPorts(pid: number, proto: 'tcp' | 'udp'): number[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try { fds = readdirSync(`/proc/${pid}/fd`); } catch { return []; }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const line of readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addr, port] = f[1].split(':');
    const listening = proto === 'udp' || f[3] === '0A';
    if (addr === LOOPBACK_HEX && listening && inodes.has(f[9])) ports.push(parseInt(port, 16));
  }
  return ports;
}

/** The one loopback port the process has bound (undefined until it has). */
const onlyPort = (proto: 'tcp' | 'udp') => (child: ChildProcess): number | undefined => {
  const ports = child.pid === undefined ? [] : boundPorts(child.pid, proto);
  return ports.length === 1 ? ports[0] : undefined;
};

async function httpOk(url: string): Promise<boolean> {
  const r = await fetch(url);
  return r.ok;
}

/** Asks an SNMP agent for sysUpTime with the net-snmp command-line tools until it answers. */
async function snmpAnswers(port: number, community: string): Promise<boolean> {
  const child = spawn('snmpget', ['-v2c', '-c', community, '-t', '0.3', '-r', '0', `127.0.0.1:${port}`, '1.3.6.1.2.1.1.3.0'], { stdio: 'ignore' });
  return new Promise((r) => child.on('exit', (code) => r(code === 0)));
}

export interface SnmpdUser { name: string; auth: string; authKey: string; priv?: string; privKey?: string }

/** Debian's snmpd (net-snmp) on a loopback UDP port, community "public" and the given v3 users. */
export async function startSnmpd(users: SnmpdUser[] = []): Promise<Server> {
  const dir = tempDir('snmpd');
  return run({
    what: 'snmpd', dir, port: { kind: 'kernel', read: onlyPort('udp') },
    command: (port) => {
      const conf = [
        `agentAddress udp:127.0.0.1:${port}`,
        'rocommunity public 127.0.0.1',
        ...users.map((u) => `createUser ${u.name} ${u.auth} "${u.authKey}"${u.priv ? ` ${u.priv} "${u.privKey}"` : ''}`),
        ...users.map((u) => `rouser ${u.name} ${u.priv ? 'priv' : 'auth'}`),
        'sysName netpulse-test-snmpd',
      ].join('\n');
      writeFileSync(join(dir, 'snmpd.conf'), conf + '\n');
      return {
        cmd: '/usr/sbin/snmpd', args: ['-f', '-C', '-c', join(dir, 'snmpd.conf'), '-Lo', '-p', join(dir, 'snmpd.pid')],
        env: { SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' },
      };
    },
    ready: (port) => snmpAnswers(port, 'public'),
  });
}

/** The recorded Cisco Catalyst 3750 walk that Debian's snmpsim ships among its examples. */
export const CISCO_3750 = '/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec.gz';

/** Debian's snmpsim serving recordings; each file name (without .snmprec) is its community. */
export async function startSnmpsim(recordings: Record<string, string> = { cisco3750: CISCO_3750 }): Promise<Server> {
  const dir = tempDir('snmpsim');
  const data = join(dir, 'data');
  mkdirSync(data);
  chmodSync(data, 0o755);
  for (const [community, file] of Object.entries(recordings)) {
    const raw = readFileSync(file);
    writeFileSync(join(data, `${community}.snmprec`), file.endsWith('.gz') ? gunzipSync(raw) : raw);
  }
  const cache = join(dir, 'cache');
  mkdirSync(cache);
  chmodSync(cache, 0o777);
  const first = Object.keys(recordings)[0];
  return run({
    what: 'snmpsimd', dir, port: { kind: 'kernel', read: onlyPort('udp') },
    command: (port) => ({
      cmd: '/usr/bin/snmpsimd', args: [
        `--data-dir=${data}`, `--cache-dir=${cache}`, `--agent-udpv4-endpoint=127.0.0.1:${port}`,
        '--process-user=nobody', '--process-group=nogroup', '--logging-method=stderr',
      ],
    }),
    ready: (port) => snmpAnswers(port, first),
  });
}

/** Debian's VictoriaMetrics: accepts the InfluxDB v1 and v2 write APIs, queried via its export API. */
export async function startVictoriaMetrics(): Promise<Server> {
  const dir = tempDir('vm');
  return run({
    what: 'victoria-metrics', dir, port: { kind: 'kernel', read: onlyPort('tcp') },
    command: (port) => ({
      cmd: '/usr/bin/victoria-metrics', args: [
        `-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-retentionPeriod=100y',
        '-search.latencyOffset=0s', '-loggerLevel=WARN',
      ],
    }),
    ready: (port) => httpOk(`http://127.0.0.1:${port}/health`),
  });
}

/** Debian's InfluxDB 1.x with its own meta/data dirs, HTTP and RPC on loopback ports. */
export async function startInfluxdb(database = 'netpulse'): Promise<Server> {
  const dir = tempDir('influxdb');
  const s = await run({
    what: 'influxd', dir,
    // It says where HTTP listens; RPC (only for backups here) takes any port, on every start.
    port: { kind: 'kernel', read: (_, out) => { const m = /msg="Listening on HTTP".*addr=127\.0\.0\.1:(\d+)/.exec(out); return m ? Number(m[1]) : undefined; } },
    command: (port) => {
      writeFileSync(join(dir, 'influxdb.conf'), `
reporting-disabled = true
bind-address = "127.0.0.1:0"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
`);
      return { cmd: '/usr/bin/influxd', args: ['-config', join(dir, 'influxdb.conf')] };
    },
    ready: (port) => fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.status === 204),
  });
  await influxQuery(s.port, `CREATE DATABASE ${database}`);
  return s;
}

export async function influxQuery(port: number, q: string, db?: string): Promise<any> {
  const params = new URLSearchParams({ q, ...(db ? { db } : {}) });
  const r = await fetch(`http://127.0.0.1:${port}/query`, { method: 'POST', body: params });
  if (!r.ok) throw new Error(`InfluxQL ${q}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

/** Series from VictoriaMetrics' export API: one object per series with its labels and values. */
export async function vmExport(port: number, match: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]> {
  await fetch(`http://127.0.0.1:${port}/internal/force_flush`).catch(() => {});
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`);
  if (!r.ok) throw new Error(`export ${match}: HTTP ${r.status} ${await r.text()}`);
  return (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * Debian's Mosquitto on a loopback port, anonymous, with persistence (a restart keeps sessions
 * and queued messages) and no limit on messages queued for a disconnected persistent client.
 */
export async function startMosquitto(extra = ''): Promise<Server> {
  const dir = tempDir('mosquitto');
  // Started as root, Mosquitto drops to its own user: it must be able to write its database here,
  // or every restart silently forgets the sessions and queued messages.
  if (process.getuid?.() === 0) execFileSync('chown', ['mosquitto:mosquitto', dir]);
  return run({
    what: 'mosquitto', dir, port: { kind: 'pick' },
    command: (port) => {
      writeFileSync(join(dir, 'mosquitto.conf'), `
listener ${port} 127.0.0.1
${extra.includes('allow_anonymous') ? '' : 'allow_anonymous true'}
persistence true
persistence_location ${dir}/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 100
log_dest stderr
log_type error
log_type warning
${extra}
`);
      return { cmd: '/usr/sbin/mosquitto', args: ['-c', join(dir, 'mosquitto.conf')] };
    },
    ready: (port) => tcpOpen(port),
  });
}

/**
 * Mosquitto speaking MQTT over TLS only, with a password file: a CA and a server certificate for
 * 127.0.0.1 made with openssl for this run. `ca` is the CA certificate's path.
 */
export async function startMosquittoTls(user: string, password: string): Promise<Server & { ca: string }> {
  const pki = tempDir('pki');
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=netpulse test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem');
  execFileSync('mosquitto_passwd', ['-b', '-c', join(pki, 'passwd'), user, password], { stdio: 'ignore' });
  chmodSync(join(pki, 'server.key'), 0o644);
  chmodSync(join(pki, 'passwd'), 0o644);
  const s = await startMosquitto(`allow_anonymous false
password_file ${pki}/passwd
cafile ${pki}/ca.pem
certfile ${pki}/server.pem
keyfile ${pki}/server.key
`);
  return Object.assign(s, { ca: join(pki, 'ca.pem') });
}

/** The uid and gid of a system user. */
function account(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Debian's PostgreSQL 15 in a temporary cluster (it refuses to run as root: initdb and the server
 * run as the postgres user, as our own child so that a kill reaches it), trust authentication on
 * loopback. `url` connects to database postgres.
 */
export async function startPostgres(): Promise<Server & { url: string }> {
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  mkdirSync(data);
  execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const bin = '/usr/lib/postgresql/15/bin';
  const as = { ...account('postgres'), cwd: dir };
  execFileSync(`${bin}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'ignore', ...as });
  const s = await run({
    what: 'postgres', dir, port: { kind: 'pick' }, stopSignal: 'SIGINT',
    command: (port) => ({
      cmd: `${bin}/postgres`, args: ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on'], ...as,
    }),
    ready: (port) => tcpOpen(port).then(async (open) => {
      if (!open) return false;
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      try { await c.connect(); await c.query('SELECT 1'); return true; } catch { return false; } finally { await c.end().catch(() => {}); }
    }),
  });
  return Object.assign(s, { url: `postgres://postgres@127.0.0.1:${s.port}/postgres` });
}

async function tcpOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
