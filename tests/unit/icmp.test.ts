import { describe, it, expect, vi } from 'vitest';
import { pingFields, percentile } from '../../collectors/icmp/stats.ts';
import { parseFpingReport, type FpingOptions } from '../../collectors/icmp/fping.ts';
import { IcmpCollector } from '../../collectors/icmp/collector.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Batch } from '../../src/sample.ts';

describe('ping statistics', () => {
  it('computes Telegraf ping fields from one round, lost probes counted', () => {
    expect(pingFields([1, 2, undefined, 4, 3])).toEqual({
      packets_transmitted: 5n, packets_received: 4n, percent_packet_loss: 20, result_code: 0n,
      minimum_response_ms: 1, average_response_ms: 2.5, maximum_response_ms: 4,
      standard_deviation_ms: 1.118, percentile50_response_ms: 2.5, percentile95_response_ms: 3.85,
    });
  });

  it('reports total loss without any RTT field', () => {
    expect(pingFields([undefined, undefined])).toEqual({ packets_transmitted: 2n, packets_received: 0n, percent_packet_loss: 100, result_code: 0n });
  });

  it('interpolates percentiles between ranks', () => {
    expect(percentile([10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBeCloseTo(9.55);
  });
});

describe('fping -C report', () => {
  it('reads one line per target, "-" for a lost probe, and keeps what it cannot read as errors', () => {
    const r = parseFpingReport('10.0.0.1 : 0.05 - 0.06\nrouter-1 : - - -\nICMP Host Unreachable from 10.0.0.254 for ICMP Echo sent to 10.0.0.9\n');
    expect([...r.results]).toEqual([['10.0.0.1', [0.05, undefined, 0.06]], ['router-1', [undefined, undefined, undefined]]]);
    expect(r.errors).toEqual(['ICMP Host Unreachable from 10.0.0.254 for ICMP Echo sent to 10.0.0.9']);
  });
});

describe('IcmpCollector', () => {
  const config = (targets: number, extra = {}) => configSchema.parse({
    icmp: { count: 4, period: '100ms', spacing: '10ms', interval: '1s', ...extra,
      targets: Array.from({ length: targets }, (_, i) => ({ name: `h${i}`, host: `10.0.${i >> 8}.${i & 255}`, element: `BS-${i}` })) },
  }).icmp;

  it('shares targets among as few fping processes as keep each target period apart, and maps the results', async () => {
    const calls: string[][] = [];
    const run = async (hosts: readonly string[], o: FpingOptions) => {
      calls.push([...hosts]);
      expect(o).toMatchObject({ count: 4, periodMs: 100, spacingMs: 10 });
      return { results: new Map(hosts.filter((h) => h !== '10.0.0.3').map((h) => [h, [1, undefined, 3, 2]])), errors: [] };
    };
    const batches: Batch[] = [];
    const c = new IcmpCollector({ config: config(25), logger: memoryLogger().logger, run, now: () => 5 });
    (c as any).emit = async (b: Batch) => { batches.push(b); };
    await c.round();
    expect(calls.map((h) => h.length)).toEqual([10, 10, 5]); // 100 ms / 10 ms = 10 targets per process
    const ping = batches[0].filter((s) => s.measurement === 'ping');
    expect(ping).toHaveLength(25);
    expect(ping[0]).toMatchObject({ element: 'BS-0', tags: { url: '10.0.0.0' }, time: 5, fields: { percent_packet_loss: 25, percentile50_response_ms: 2 } });
    expect(ping[3].fields).toEqual({ result_code: 1n, packets_transmitted: 0n, packets_received: 0n }); // no report: unknown host
    const reach = batches[0].filter((s) => s.measurement === 'reachability');
    expect(reach[0]).toMatchObject({ tags: { probe: 'icmp' }, fields: { up: true, loss_percent: 25, response_time_ms: 2 } });
    expect(reach[3].fields.up).toBe(false);
  });

  it('skips a round rather than stacking it on one still running', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      let release!: () => void;
      const run = () => new Promise<any>((r) => {
        calls++;
        release = () => r({ results: new Map(), errors: [] });
      });
      const { logger, lines } = memoryLogger();
      const c = new IcmpCollector({ config: config(1), logger, run });
      await c.start(async () => {});
      await vi.advanceTimersByTimeAsync(0); // the first round starts at once...
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000); // ...and is still running when the next is due
      expect(calls).toBe(1);
      expect(c.stats.skipped).toBe(1);
      expect(lines.some((l) => /skipped one/.test(l.msg))).toBe(true);
      release();
      await vi.advanceTimersByTimeAsync(1_000); // the one after runs again
      expect(calls).toBe(2);
      release();
      await c.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs a failed fping and still gives its targets a sample', async () => {
    const { logger, lines } = memoryLogger();
    const batches: Batch[] = [];
    const c = new IcmpCollector({ config: config(2), logger, run: async () => { throw new Error('fping exited with 4: socket: Operation not permitted'); } });
    (c as any).emit = async (b: Batch) => { batches.push(b); };
    await c.round();
    expect(c.stats.failures).toBe(1);
    expect(lines.find((l) => /fping failed/.test(l.msg)).reason).toMatch(/Operation not permitted/);
    expect(batches[0].filter((s) => s.measurement === 'ping').map((s) => s.fields.result_code)).toEqual([1n, 1n]);
  });
});
