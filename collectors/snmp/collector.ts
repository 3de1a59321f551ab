import type { Collector, Emit } from '../collector.ts';
import type { Logger } from '../../src/log.ts';
import type { Batch } from '../../src/sample.ts';
import type { Profile } from './profile.ts';
import { resolveProfiles } from './profile.ts';
import type { ResolvedTarget, SessionFactory, SnmpSession } from './session.ts';
import { compilePlan, pollTarget, reachabilitySample, type PollPlan } from './poll.ts';
import { CounterRates } from './rates.ts';
import { PollSchedule } from '../../src/schedule.ts';
import { LogThrottle } from '../../src/throttle.ts';
import { metric } from '../../src/api/metrics.ts';

export interface SnmpCollectorOptions {
  targets: readonly ResolvedTarget[];
  profiles: Map<string, Profile>;
  concurrency: number;
  sessionFactory: SessionFactory;
  logger: Logger;
  now?: () => number;
  /** Whether this instance polls a target now (several instances split them); absent: all. */
  owns?: (target: string) => boolean;
  /** Every poll's result for its element (a trap's down held until a poll contradicts it: see traps). */
  onPolled?: (element: string, result: { answered: boolean; samples: Batch }) => void;
  /** Whether an id is an element of the topology, for the rows a profile maps to elements (`rowElement`); absent: every id is. */
  known?: (id: string) => boolean;
}

interface TargetState {
  target: ResolvedTarget;
  plan: PollPlan;
  session: SnmpSession;
  rates: CounterRates;
  tags: Record<string, string>;
  failing: boolean;
  /** The last poll was the first failure of a streak: the scheduled run polls again at once. */
  firstFailure?: boolean;
  /** The poll running now, if any. */
  inFlight?: Promise<{ answered: boolean; samples: Batch } | undefined>;
}

export interface SnmpStats {
  polls: number;
  failures: number;
  /** Polls again at once after the first failure of a streak. */
  rechecks: number;
  samples: number;
  problems: number;
}

/**
 * Polls SNMP agents on their intervals and emits one batch per poll: the mapped samples plus a
 * reachability sample. Profiles are resolved when the collector is built, so an unknown profile
 * fails at start, not at the first poll.
 */
export class SnmpCollector implements Collector {
  readonly name = 'snmp';
  readonly stats: SnmpStats = { polls: 0, failures: 0, rechecks: 0, samples: 0, problems: 0 };
  private readonly opts: SnmpCollectorOptions;
  private readonly plans: Map<string, PollPlan>;
  private readonly states = new Map<string, TargetState>();
  private readonly schedule: PollSchedule;
  private readonly throttle = new LogThrottle(60_000);
  private readonly log: Logger;
  private emit: Emit | undefined;


  /** Its metrics in Prometheus text format. */
  metrics(): string {
    return metric('netpulse_snmp_polls_total', 'counter', 'SNMP polls by outcome; skipped: due again while the last poll of the target still ran (the poller is falling behind).',
      [[{ outcome: 'answered' }, this.stats.polls - this.stats.failures], [{ outcome: 'failed' }, this.stats.failures], [{ outcome: 'skipped' }, this.scheduleStats.overruns]])
      + metric('netpulse_snmp_polls_waiting', 'gauge', 'Polls due and waiting for a free slot (concurrency).', [[{}, this.scheduleStats.waiting]])
      + metric('netpulse_snmp_rechecks_total', 'counter', 'Polls again at once after the first failure of a streak (counted in the polls too).', [[{}, this.stats.rechecks]]);
  }

  constructor(opts: SnmpCollectorOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.plans = new Map(opts.targets.map((t) => [
      t.name, compilePlan(resolveProfiles(t.profiles, opts.profiles, `snmp target ${t.name}`), t.rowElements),
    ]));
    this.schedule = new PollSchedule(opts.concurrency, (key, err) => this.log.error({ target: key, err }, 'poll crashed'));
  }

  get scheduleStats() {
    return this.schedule.stats;
  }

  /**
   * Polls the targets of `element` now, out of their cycle (a trap says something happened: the
   * poll confirms or contradicts it), unless one is already being polled (`fresh`: that one is
   * waited for, then another starts: it may have read before the trap), and emits the result as
   * any poll does. Returns what each poll found (empty: no target of that element here).
   */
  async pollNow(element: string, o: { fresh?: boolean } = {}): Promise<{ target: string; answered: boolean; samples: Batch }[]> {
    const emit = this.emit;
    if (!emit) return [];
    const out: { target: string; answered: boolean; samples: Batch }[] = [];
    await Promise.all([...this.states.values()].filter((s) => s.target.element === element || s.target.name === element).map(async (s) => {
      // `fresh`: a poll under way may have read before the caller's reason to ask: waited for, then another.
      if (o.fresh && s.inFlight) await s.inFlight.catch(() => undefined);
      const r = await (s.inFlight ?? this.pollOnce(s, emit, this.opts.now ?? Date.now));
      if (r) out.push({ target: s.target.name, ...r });
    }));
    return out;
  }

  async start(emit: Emit): Promise<void> {
    if (this.states.size > 0) return;
    this.emit = emit;
    const now = this.opts.now ?? Date.now;
    for (const target of this.opts.targets) {
      const session = this.opts.sessionFactory(target, (err) => this.problem(target.name, 'datagram', `undecodable response: ${err.message}`));
      this.states.set(target.name, {
        target, session, plan: this.plans.get(target.name)!, rates: new CounterRates(),
        tags: { agent_host: target.host, ...target.tags }, failing: false,
      });
    }
    this.schedule.start([...this.states.values()].map((s) => ({
      key: s.target.name,
      intervalMs: s.target.interval,
      run: async () => {
        await this.pollOnce(s, emit, now);
        // A first failure is checked again at once, not an interval later: health wants two of three,
        // so a dead device is down after two timeouts instead of an interval and one (the first page
        // sooner). One check a streak, within the run's slot.
        if (s.firstFailure) {
          s.firstFailure = false;
          this.stats.rechecks++;
          await this.pollOnce(s, emit, now);
        }
      },
      // Another member's target: passed over before it takes a slot (half the slots, with two members).
      ...(this.opts.owns && { skip: () => !this.opts.owns!(s.target.name) }),
    })));
    this.log.info({ targets: this.states.size, concurrency: this.opts.concurrency }, 'snmp collector started');
  }

  /** One poll of `s`, never two at once: a poll asked for while one runs gets that one's result. */
  private pollOnce(s: TargetState, emit: Emit, now: () => number): Promise<{ answered: boolean; samples: Batch } | undefined> {
    s.inFlight ??= this.poll(s, emit, now).finally(() => { s.inFlight = undefined; });
    return s.inFlight;
  }

  private async poll(s: TargetState, emit: Emit, now: () => number): Promise<{ answered: boolean; samples: Batch } | undefined> {
    if (this.opts.owns && !this.opts.owns(s.target.name)) return undefined; // another instance polls it now
    const r = await pollTarget(s.session, s.plan, {
      element: s.target.element, tags: s.tags, maxRepetitions: s.target.maxRepetitions,
      maxRows: s.target.maxRows, rates: s.rates, now, ...(this.opts.known && { known: this.opts.known }),
    });
    this.stats.polls++;
    this.stats.samples += r.samples.length;
    this.stats.problems += r.problems.length;
    if (r.failure) {
      this.stats.failures++;
      if (!s.failing) this.log.warn({ target: s.target.name, host: s.target.host, port: s.target.port, reason: r.failure.message }, 'snmp target not answering');
    } else if (s.failing) {
      this.log.info({ target: s.target.name }, 'snmp target answering again');
    }
    s.firstFailure = !!r.failure && !s.failing;
    s.failing = !!r.failure;
    for (const p of r.problems) this.problem(s.target.name, p.oid, p.reason);
    r.samples.push(reachabilitySample(s.target.element, s.tags, r, r.samples[0]?.time ?? now()));
    await emit(r.samples);
    const result = { answered: !r.failure, samples: r.samples };
    if (s.target.element) this.opts.onPolled?.(s.target.element, result);
    return result;
  }

  private problem(target: string, oid: string, reason: string): void {
    const suppressed = this.throttle.allow(`${target}|${oid}|${reason}`);
    if (suppressed !== undefined) this.log.warn({ target, oid, reason, suppressed }, 'snmp value problem');
  }

  async stop(): Promise<void> {
    await this.schedule.stop();
    for (const s of this.states.values()) s.session.close();
    this.states.clear();
  }
}
