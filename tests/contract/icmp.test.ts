import { afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IcmpCollector } from '../../collectors/icmp/collector.ts';
import { runFping } from '../../collectors/icmp/fping.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { tempDir } from '../helpers/servers.ts';
import { collectorContract } from './collector.contract.ts';

/** fping on loopback: rounds of 3 probes 20 ms apart, every second (the shortest interval allowed). */
function collector(host: string, binary?: string): IcmpCollector {
  const config = configSchema.parse({ icmp: { count: 3, period: '20ms', spacing: '1ms', timeout: '100ms', interval: '1s', targets: [{ name: 'target', host }] } }).icmp;
  return new IcmpCollector({ config, logger: memoryLogger().logger, ...(binary && { run: (t, o, signal) => runFping(t, { ...o, binary }, signal) }) });
}

// Unreachable without sending a packet anywhere: fping runs in a network namespace made here, with
// no interface up and no route, so every probe fails at once inside it.
const ns = `np-contract-icmp-${process.pid}`;
let fpingInNs: string | undefined;
const isolated = () => {
  if (!fpingInNs) {
    execFileSync('ip', ['netns', 'add', ns]);
    fpingInNs = join(tempDir('icmp-contract'), 'fping-in-netns');
    writeFileSync(fpingInNs, `#!/bin/sh\nexec ip netns exec ${ns} fping "$@"\n`);
    chmodSync(fpingInNs, 0o755);
  }
  return fpingInNs;
};
afterAll(() => {
  if (fpingInNs) execFileSync('ip', ['netns', 'del', ns]);
});

collectorContract('IcmpCollector (fping on loopback)', async () => ({ collector: collector('127.0.0.1') }), {
  quietMs: 2_500,
  unreachable: async () => ({ collector: collector('192.0.2.1', isolated()) }),
});
