import type { Collector, Emit } from '../collector.ts';
import type { Logger } from '../../src/log.ts';
import type { Sample } from '../../src/sample.ts';
import type { IcmpConfig } from '../../src/config/schema.ts';
import { runFping, type FpingOptions, type FpingRound } from './fping.ts';
import { pingFields } from './stats.ts';
import { PollSchedule } from '../../src/schedule.ts';
import { metric } from '../../src/api/metrics.ts';

/** Runs one fping process over `targets` (`runFping` spawns the real one). */
export type Fping = (targets: readonly string[], o: FpingOptions, signal?: AbortSignal) => Promise<FpingRound>;

export interface IcmpCollectorOptions {
  config: IcmpConfig;
  logger: Logger;
  now?: () => number;
  /** The prober (default `runFping`, which spawns fping); tests and benchmarks pass a fake. */
  run?: Fping;
  /** Whether this instance probes a target now (several instances split them); absent: all. */
  owns?: (target: string) => boolean;
}

export interface IcmpStats { rounds: number; skipped: number; failures: number; samples: number }

/**
 * Latency and loss the way SmokePing measures them: every `interval`, a burst of `count` echo
 * requests per target, `period` apart, and one `ping` sample per target with loss, min, median,
 * average, max, standard deviation and p95 (Telegraf's field names), plus a reachability sample.
 * Targets are shared among as few fping processes as keep every target's probes `period` apart
 * at fping's `spacing` (period / spacing targets each). Rounds run on the collectors' schedule,
 * the first at once: a round still running when the next is due is not doubled up, the next one
 * is skipped and counted. `stop` kills the fping processes of a round under way and waits for it.
 */
export class IcmpCollector implements Collector {
  readonly name = 'icmp';
  readonly stats: IcmpStats = { rounds: 0, skipped: 0, failures: 0, samples: 0 };
  private readonly o: IcmpCollectorOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly schedule: PollSchedule;
  private started = false;
  private abort = new AbortController();
  private emit: Emit | undefined;


  /** Its metrics in Prometheus text format. */
  metrics(): string {
    return metric('netpulse_icmp_rounds_total', 'counter', 'ICMP probe rounds by outcome.', [[{ outcome: 'done' }, this.stats.rounds], [{ outcome: 'skipped' }, this.stats.skipped], [{ outcome: 'failed' }, this.stats.failures]]);
  }

  constructor(o: IcmpCollectorOptions) {
    this.o = o;
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.schedule = new PollSchedule(1, (_key, err) => this.log.error({ err }, 'icmp round failed'));
  }

  async start(emit: Emit): Promise<void> {
    if (this.started || this.o.config.targets.length === 0) return;
    this.started = true;
    this.emit = emit;
    this.abort = new AbortController();
    const c = this.o.config;
    this.log.info({ targets: c.targets.length, count: c.count, interval: c.interval, processes: this.chunks().length }, 'icmp collector started');
    this.schedule.start([{ key: 'icmp', intervalMs: c.interval, firstRunMs: 0, run: () => this.round(), onOverrun: () => this.skipped() }]);
  }

  /** Targets per fping process, so that each target's probes stay `period` apart. */
  private chunks(targets = this.o.config.targets): string[][] {
    const c = this.o.config;
    const hosts = [...new Set(targets.map((t) => t.host))];
    const per = Math.max(1, Math.floor(c.period / c.spacing));
    const out: string[][] = [];
    for (let i = 0; i < hosts.length; i += per) out.push(hosts.slice(i, i + per));
    return out;
  }

  private skipped(): void {
    this.stats.skipped++;
    this.log.warn({ interval: this.o.config.interval }, 'icmp round still running when the next was due; skipped one (lower count or period, or raise interval)');
  }

  /** One round: every chunk in its own fping, all at once; samples stamped with the round's start. */
  async round(): Promise<void> {
    const c = this.o.config;
    const started = this.now();
    const run = this.o.run ?? runFping;
    const opts: FpingOptions = { binary: c.fping, count: c.count, periodMs: c.period, spacingMs: c.spacing, timeoutMs: c.timeout };
    const results = new Map<string, (number | undefined)[]>();
    const mine = this.o.owns ? c.targets.filter((t) => this.o.owns!(t.name)) : c.targets; // several instances split them
    const settled = await Promise.allSettled(this.chunks(mine).map((hosts) => run(hosts, opts, this.abort.signal)));
    if (this.abort.signal.aborted) return;
    for (const s of settled) {
      if (s.status === 'rejected') {
        this.stats.failures++;
        this.log.error({ reason: (s.reason as Error).message }, 'fping failed; its targets get no sample this round');
        continue;
      }
      for (const [host, rtts] of s.value.results) results.set(host, rtts);
      if (s.value.errors.length > 0) this.log.warn({ errors: s.value.errors.slice(0, 10) }, 'fping reported problems');
    }
    this.stats.rounds++;
    const batch: Sample[] = [];
    for (const t of mine) {
      const element = t.element ?? t.name;
      const tags = { ...t.tags, url: t.host };
      const rtts = results.get(t.host);
      if (!rtts) {
        // No report for it: the name did not resolve (Telegraf's result_code 1) or fping failed.
        batch.push({ element, measurement: 'ping', tags, fields: { result_code: 1n, packets_transmitted: 0n, packets_received: 0n }, time: started });
        batch.push({ element, measurement: 'reachability', tags: { probe: 'icmp', url: t.host }, fields: { up: false, error: 'no result (unknown host?)' }, time: started });
        continue;
      }
      const fields = pingFields(rtts);
      batch.push({ element, measurement: 'ping', tags, fields, time: started });
      const reach: Sample['fields'] = { up: fields.packets_received !== 0n, loss_percent: fields.percent_packet_loss };
      if (fields.average_response_ms !== undefined) reach.response_time_ms = fields.average_response_ms;
      batch.push({ element, measurement: 'reachability', tags: { probe: 'icmp', url: t.host }, fields: reach, time: started });
    }
    this.stats.samples += batch.length;
    await this.emit!(batch);
  }

  async stop(): Promise<void> {
    this.started = false;
    const stopped = this.schedule.stop(); // no new round from here on
    this.abort.abort(); // the round under way ends its fping processes and emits nothing
    await stopped;
  }
}
