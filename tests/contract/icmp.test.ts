import { IcmpCollector } from '../../collectors/icmp/collector.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { collectorContract } from './collector.contract.ts';

/** fping on loopback: rounds of 3 probes 20 ms apart, every second (the shortest interval allowed). */
function collector(host: string): IcmpCollector {
  const config = configSchema.parse({ icmp: { count: 3, period: '20ms', spacing: '1ms', timeout: '100ms', interval: '1s', targets: [{ name: 'target', host }] } }).icmp;
  return new IcmpCollector({ config, logger: memoryLogger().logger });
}

collectorContract('IcmpCollector (fping on loopback)', async () => ({ collector: collector('127.0.0.1') }), {
  quietMs: 2_500,
  // TEST-NET-1 (RFC 5737): nothing answers there.
  unreachable: async () => ({ collector: collector('192.0.2.1') }),
});
