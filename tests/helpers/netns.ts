import { execFileSync } from 'node:child_process';

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
