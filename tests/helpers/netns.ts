import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

function sh(cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
}

export interface LossyNetwork {
  /** One address inside the namespace per requested loss percentage, in order. */
  addresses: string[];
  close(): void;
}

/**
 * A small network of the test's own: a namespace joined to the host by a veth pair, one address
 * in it per loss rate, and an nftables rule in the namespace that drops that share of the echo
 * requests sent to each address at random (`numgen random mod 100`). Traffic goes only to
 * addresses inside this namespace.
 */
export function lossyNetwork(lossPercents: number[]): LossyNetwork {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const ns = `np-${id}`;
  const host = `npa${id}`;
  const peer = `npb${id}`;
  const net = `10.213.${Math.floor(Math.random() * 250) + 1}`;
  const addresses = lossPercents.map((_, i) => `${net}.${i + 2}`);
  try {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    sh('ip', ['link', 'set', peer, 'netns', ns]);
    sh('ip', ['addr', 'add', `${net}.1/24`, 'dev', host]);
    sh('ip', ['link', 'set', host, 'up']);
    sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    for (const a of addresses) sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${a}/24`, 'dev', peer]);
    sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up']);
    const rules = lossPercents.map((loss, i) => loss <= 0 ? '' : loss >= 100
      ? `    ip daddr ${addresses[i]} icmp type echo-request drop\n`
      : `    ip daddr ${addresses[i]} icmp type echo-request numgen random mod 100 < ${loss} drop\n`).join('');
    sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table inet netpulse_loss {\n  chain input {\n    type filter hook input priority 0; policy accept;\n${rules}  }\n}\n`);
  } catch (err) {
    try { sh('ip', ['netns', 'del', ns]); } catch { /* never made */ }
    try { sh('ip', ['link', 'del', host]); } catch { /* gone with the namespace */ }
    throw err;
  }
  return {
    addresses,
    close() {
      try { sh('ip', ['link', 'del', host]); } catch { /* gone */ }
      try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
    },
  };
}

/** `ip` with these arguments; its output (throws with its stderr on failure). */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a clean-up step that may find its object already gone. */
export function quietly(f: () => unknown): void {
  try { f(); } catch { /* already gone */ }
}

export interface NamespacedSnmpd { process: ChildProcess; output(): string; stop(): Promise<void> }

/**
 * Debian's snmpd in network namespace `ns` (`ip netns exec` execs it: the child is snmpd itself),
 * in the foreground, logging to stdout, with the configuration in `dir/snmpd.conf` and its
 * persistent state in `dir/persist`.
 */
export function startNamespacedSnmpd(ns: string, dir: string): NamespacedSnmpd {
  const child = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/snmpd', '-f', '-C', '-c', join(dir, 'snmpd.conf'), '-Lo', '-p', join(dir, 'snmpd.pid')], {
    env: { ...process.env, SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  return {
    process: child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Clean-ups run after each test, last first, each whatever the others do; and the networks' own
 * `close` at process exit too, so a worker that dies mid-test still removes its namespace and veths.
 */
export function testCleanups(): { add(f: () => Promise<void> | void): void; network(close: () => void): void; run(): Promise<void> } {
  const steps: Array<() => Promise<void> | void> = [];
  const atExit = new Set<() => void>();
  process.on('exit', () => { for (const c of atExit) c(); });
  return {
    add: (f) => { steps.push(f); },
    network(close) {
      atExit.add(close);
      steps.push(() => { close(); atExit.delete(close); });
    },
    async run() {
      for (const c of steps.splice(0).reverse()) {
        try { await c(); } catch { /* the others still run */ }
      }
    },
  };
}
