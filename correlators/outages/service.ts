import type { Batch } from '../../src/sample.ts';
import type { Logger } from '../../src/log.ts';
import type { Consumer } from '../../src/pipeline.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Topology } from '../../src/topology/topology.ts';
import { HealthTracker, type HealthTransition } from '../health/tracker.ts';
import { checksOf, ruleBook, type Check, type FieldRule, type Thresholds } from '../health/check.ts';
import { OutageCorrelator } from './correlator.ts';
import type { Outage, OutageEvent, MaintenanceWindow } from './outage.ts';

export type OutageListener = (e: OutageEvent) => void;

/**
 * The runtime around the pure health and outage correlators: takes samples from the pipeline,
 * turns them into health checks, and on a timer ages stale sources and evaluates outages, handing
 * every outage event to its listeners (the log now; the store and the alerts next).
 */
export class OutageService implements Consumer {
  readonly name = 'outages';
  readonly health: HealthTracker;
  readonly outages: OutageCorrelator;
  private readonly thresholds: Thresholds;
  private readonly rules: ReadonlyMap<string, readonly FieldRule[]>;
  private readonly listeners: OutageListener[] = [];
  private readonly transitionListeners: ((t: HealthTransition) => void)[] = [];
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Something the evaluation depends on changed since the last one (health, maintenance, topology, restore). */
  private dirty = true;
  private topology: Topology;

  constructor(o: { topology: Topology; config: Pick<Config, 'health' | 'outages'>; logger: Logger; now?: () => number; restore?: Outage[] }) {
    const h = o.config.health;
    this.health = new HealthTracker({ failOf: h.failOf, window: h.window, recoverAfter: h.recoverAfter, staleAfterMs: h.staleAfter });
    this.thresholds = h.thresholds;
    this.rules = ruleBook(h.thresholds, h.rules);
    this.outages = new OutageCorrelator(o.topology, { confirmRecoveryMs: o.config.outages.confirmRecovery, flapAfterReopens: o.config.outages.flapAfterReopens, followRecoveryMs: o.config.outages.followRecovery,
      inference: o.config.outages.inference.enabled && { share: o.config.outages.inference.share, minChildren: o.config.outages.inference.minChildren, windowMs: o.config.outages.inference.window } });
    if (o.restore) this.outages.restore(o.restore);
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.everyMs = o.config.outages.evaluateEvery;
    this.topology = o.topology;
  }

  /** The maintenance windows in force (config and API together); applies from the next evaluation. */
  setMaintenance(windows: MaintenanceWindow[]): void {
    this.outages.setMaintenance(windows);
    this.dirty = true;
  }

  /** A reloaded topology; applies from the next evaluation. */
  setTopology(t: Topology): void {
    this.topology = t;
    this.outages.setTopology(t);
    this.dirty = true;
  }

  /**
   * Health a previous run left (each element's last transition, from the store); call before
   * `start`. The source is read from the transition's reason ("snmp: timeout", a radio verdict);
   * one that names none (staleness) is left unknown. Elements not in the topology are skipped.
   */
  restoreHealth(last: readonly HealthTransition[], now: number): number {
    const entries = last.filter((t) => this.topology.elements.has(t.element)).flatMap((t) => {
      const source = sourceOf(t.reason);
      return source ? [{ element: t.element, source, state: t.to, since: t.at, reason: t.reason }] : [];
    });
    this.health.restore(entries, now);
    this.dirty = true;
    return entries.length;
  }

  /** Outages a previous run left open (from the store); call before `start`. */
  restore(outages: Outage[]): void {
    this.outages.restore(outages);
    this.dirty = true;
  }

  /** Whether the outage rooted at `root` may yet be taken in by one above it (for the alert hold-down). */
  awaitingParent(root: string): boolean {
    return this.outages.awaitingParent(root, this.health.all);
  }

  onEvent(l: OutageListener): void {
    this.listeners.push(l);
  }

  onTransition(l: (t: HealthTransition) => void): void {
    this.transitionListeners.push(l);
  }

  /** Health is kept for the topology's elements only: a sample about anything else grows no state. */
  write(batch: Batch): void {
    this.ingest(this.checks(batch));
  }

  /** What a batch says about the topology's elements, as health checks (the judging is `ingest`'s). */
  checks(batch: Batch): Check[] {
    const out: Check[] = [];
    for (const s of batch) for (const c of checksOf(s, this.thresholds, this.rules)) if (this.topology.elements.has(c.element)) out.push(c);
    return out;
  }

  /** Judges checks, wherever they were made (here, or forwarded by another cluster member). */
  ingest(checks: readonly Check[]): void {
    for (const c of checks) {
      if (!this.topology.elements.has(c.element)) continue;
      for (const t of this.health.ingest(c)) this.transition(t);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  /**
   * Ages silent sources and evaluates; the timer calls it, tests may too. The evaluation walks the
   * whole topology, so it runs only when its inputs changed or a recovery is due to be confirmed:
   * a quiet network of 80,000 elements costs nothing per tick.
   */
  tick(now = this.now()): OutageEvent[] {
    for (const t of this.health.tick(now)) this.transition(t);
    const due = this.outages.nextDeadline();
    if (!this.dirty && (due === undefined || now < due)) return [];
    this.dirty = false;
    const events = this.outages.evaluate(this.health.all, now);
    for (const e of events) {
      const o = e.outage;
      const fields = { outage: o.id, root: o.root, severity: o.severity, impacted: o.impacted.length, planned: o.planned, flapping: o.flapping, at: new Date(e.at).toISOString() };
      if (e.type === 'opened' || e.type === 'reopened') this.log.warn({ ...fields, reason: o.reason, impactedElements: o.impacted.slice(0, 20).map((i) => i.element) }, `outage ${e.type}`);
      else this.log.info(fields, `outage ${e.type}`);
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.log.error({ err, outage: o.id }, 'outage listener failed');
        }
      }
    }
    return events;
  }

  private transition(t: HealthTransition): void {
    this.dirty = true;
    for (const l of this.transitionListeners) l(t);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The health source a transition's reason names: `<source>: ...` for reachability, the radio's verdicts for cells. */
export function sourceOf(reason: string): string | undefined {
  const m = /^([a-z][a-z0-9_-]*): /.exec(reason);
  if (m) return m[1];
  if (/^(RSRP|SINR) |^cell operationally down|^radio in range/.test(reason)) return 'radio';
  return undefined;
}
