import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { freeUdpPort } from '../../src/sim/ports.ts';

export { freeUdpPort };

/** A directory under the system temp dir, readable by the unprivileged users servers run as. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `netpulse-${prefix}-`));
  chmodSync(d, 0o755);
  return d;
}

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
    if (exited()) throw new Error(`${what} exited before it was ready:\n${output().slice(-2000)}`);
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${what} did not become ready in ${timeoutMs} ms:\n${output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a server process until `stop`; `ready` polls until it answers. stdout and stderr are kept
 * for failure messages. Every server is stopped (SIGKILL if it will not stop) when tests end.
 */
async function run(what: string, cmd: string, args: string[], port: number, dir: string, ready: () => Promise<boolean>, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  let out = '';
  let child!: ChildProcess;
  const launch = async () => {
    child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    child.on('error', (err) => { out += `\nspawn error: ${err.message}`; });
    all.add(server);
    await until(what, ready, 30_000, () => out, () => child.exitCode !== null)
      .catch((err) => { child.kill('SIGKILL'); throw err; });
  };
  const server: Server = {
    port, dir,
    get process() { return child; },
    output: () => out,
    async stop(signal = 'SIGTERM') {
      all.delete(server);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    async restart() { await launch(); },
  };
  await launch();
  return server;
}

const all = new Set<Server>();
process.on('exit', () => { for (const s of all) s.process.kill('SIGKILL'); });

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
  const port = await freeUdpPort();
  const conf = [
    `agentAddress udp:127.0.0.1:${port}`,
    'rocommunity public 127.0.0.1',
    ...users.map((u) => `createUser ${u.name} ${u.auth} "${u.authKey}"${u.priv ? ` ${u.priv} "${u.privKey}"` : ''}`),
    ...users.map((u) => `rouser ${u.name} ${u.priv ? 'priv' : 'auth'}`),
    'sysName netpulse-test-snmpd',
  ].join('\n');
  writeFileSync(join(dir, 'snmpd.conf'), conf + '\n');
  return run('snmpd', '/usr/sbin/snmpd', ['-f', '-C', '-c', join(dir, 'snmpd.conf'), '-Lo', '-p', join(dir, 'snmpd.pid')],
    port, dir, () => snmpAnswers(port, 'public'), { SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' });
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
  const port = await freeUdpPort();
  const first = Object.keys(recordings)[0];
  return run('snmpsimd', '/usr/bin/snmpsimd', [
    `--data-dir=${data}`, `--cache-dir=${cache}`, `--agent-udpv4-endpoint=127.0.0.1:${port}`,
    '--process-user=nobody', '--process-group=nogroup', '--logging-method=stderr',
  ], port, dir, () => snmpAnswers(port, first));
}

/** Debian's VictoriaMetrics: accepts the InfluxDB v1 and v2 write APIs, queried via its export API. */
export async function startVictoriaMetrics(): Promise<Server> {
  const dir = tempDir('vm');
  const port = await freeTcpPort();
  return run('victoria-metrics', '/usr/bin/victoria-metrics', [
    `-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-retentionPeriod=100y',
    '-search.latencyOffset=0s', '-loggerLevel=WARN',
  ], port, dir, () => httpOk(`http://127.0.0.1:${port}/health`));
}

/** Debian's InfluxDB 1.x with its own meta/data dirs, HTTP and RPC on loopback ports. */
export async function startInfluxdb(database = 'netpulse'): Promise<Server> {
  const dir = tempDir('influxdb');
  const port = await freeTcpPort();
  const rpc = await freeTcpPort();
  writeFileSync(join(dir, 'influxdb.conf'), `
reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
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
  const s = await run('influxd', '/usr/bin/influxd', ['-config', join(dir, 'influxdb.conf')], port, dir,
    () => fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.status === 204));
  await influxQuery(port, `CREATE DATABASE ${database}`);
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
  const port = await freeTcpPort();
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
  return run('mosquitto', '/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], port, dir, () => tcpOpen(port));
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

/**
 * Debian's PostgreSQL 15 in a temporary cluster (it refuses to run as root: initdb and the server
 * run as the postgres user), trust authentication on loopback. `url` connects to database postgres.
 */
export async function startPostgres(): Promise<Server & { url: string }> {
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  mkdirSync(data);
  execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const bin = '/usr/lib/postgresql/15/bin';
  execFileSync('runuser', ['-u', 'postgres', '--', `${bin}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'ignore' });
  const port = await freeTcpPort();
  const s = await run('postgres', 'runuser', ['-u', 'postgres', '--', `${bin}/postgres`, '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on'], port, dir, () => tcpOpen(port).then(async (open) => {
    if (!open) return false;
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    try { await c.connect(); await c.query('SELECT 1'); return true; } catch { return false; } finally { await c.end().catch(() => {}); }
  }));
  return Object.assign(s, { url: `postgres://postgres@127.0.0.1:${port}/postgres` });
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
