import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lossyNetwork, type LossyNetwork } from '../helpers/netns.ts';
import { IcmpCollector } from '../../collectors/icmp/collector.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Batch, Sample } from '../../src/sample.ts';

const LOSS = [0, 10, 50, 100];
const PROBES = 400;

describe('latency and loss probing with fping, on a network with known loss', () => {
  let net: LossyNetwork;
  beforeAll(() => { net = lossyNetwork(LOSS); });
  afterAll(() => net?.close());

  it('measures the loss nftables inflicts, within the binomial tolerance', async () => {
    const config = configSchema.parse({ icmp: { count: PROBES, period: '10ms', spacing: '1ms', timeout: '200ms', interval: '1h',
      targets: net.addresses.map((host, i) => ({ name: `t${i}`, host, element: `CELL-${LOSS[i]}` })) } }).icmp;
    const batches: Batch[] = [];
    const c = new IcmpCollector({ config, logger: memoryLogger().logger });
    (c as any).emit = async (b: Batch) => { batches.push(b); };
    await c.round();
    const ping = new Map<string, Sample>(batches[0].filter((s) => s.measurement === 'ping').map((s) => [s.element, s]));
    for (const loss of LOSS) {
      const f = ping.get(`CELL-${loss}`)!.fields;
      expect(f.packets_transmitted).toBe(BigInt(PROBES));
      const measured = f.percent_packet_loss as number;
      // Four standard deviations of a binomial(n, p) share: a false alarm about once in 16,000 runs.
      const tolerance = 4 * Math.sqrt((loss / 100) * (1 - loss / 100) / PROBES) * 100;
      expect(Math.abs(measured - loss), `loss ${loss}%: measured ${measured}%`).toBeLessThanOrEqual(tolerance);
      if (loss < 100) {
        expect(f.minimum_response_ms as number).toBeGreaterThan(0);
        expect(f.minimum_response_ms as number).toBeLessThanOrEqual(f.percentile50_response_ms as number);
        expect(f.percentile50_response_ms as number).toBeLessThanOrEqual(f.percentile95_response_ms as number);
        expect(f.percentile95_response_ms as number).toBeLessThanOrEqual(f.maximum_response_ms as number);
      } else {
        expect(f.average_response_ms).toBeUndefined();
      }
    }
    const reach = batches[0].filter((s) => s.measurement === 'reachability');
    expect(reach.map((s) => s.fields.up)).toEqual([true, true, true, false]);
  });

  it('needs no privilege of its own: fping works as an unprivileged user through its file capability', () => {
    const out = execFileSync('runuser', ['-u', 'nobody', '--', 'fping', '-C', '3', '-q', '-p', '20', net.addresses[0]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .toString();
    expect(out).toBe(''); // the report goes to stderr; success is the exit code (throws otherwise)
  });
});
