import { resolve } from 'node:path';
import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import type { Collector } from '../collectors/collector.ts';
import type { Sink } from './sinks/sink.ts';
import type { Store } from './store/store.ts';
import type { AlertDispatcher } from '../correlators/alerts/dispatcher.ts';
import type { CompensationService } from '../correlators/compensation/service.ts';
import type { ComplaintService } from '../correlators/complaints/service.ts';
import type { MaintenanceWindow } from '../correlators/outages/outage.ts';
import { Pipeline } from './pipeline.ts';
import { EventHub } from './events.ts';
import { SimNetwork } from './sim/network.ts';
import { RecentMeasurements } from './measurements/recent.ts';
import { OutageService } from '../correlators/outages/service.ts';
import { readTopology } from './check-config.ts';
import { selfMetrics } from './self-metrics.ts';
import { SYSTEM_CLOCK, type Clock, type Kernel, type Module } from './module.ts';
import { sinkFromConfig, sinkModule } from './sinks/module.ts';
import { storeModule } from './store/module.ts';
import { outageModules } from '../correlators/outages/module.ts';
import { impactModule } from '../correlators/impact/module.ts';
import { complaintsModule } from '../correlators/complaints/module.ts';
import { compensationModule } from '../correlators/compensation/module.ts';
import { reportsModule } from '../correlators/reports/module.ts';
import { alertsModule } from '../correlators/alerts/module.ts';
import { placesModule } from '../correlators/places/module.ts';
import { SIM_OUTLINE } from './sim/geography.ts';
import { alertsOf } from '../correlators/alerts/repository.ts';
import { apiModule } from './api/module.ts';
import { dashboardAccess } from './sim/assemble.ts';
import type { CommunicationMessage } from '../correlators/complaints/communication.ts';
import { simModules } from './sim/module.ts';
import { collectorsModule, type CollectorFactories } from '../collectors/module.ts';
import { clusterModule } from './cluster/module.ts';
import { ModuleRunner } from './cluster/gate.ts';
import { checkForwarding } from '../correlators/health/forward.ts';

/** The clock and the I/O factories the daemon is built with; tests pass their own. */
export interface DaemonDeps extends CollectorFactories {
  logger: Logger;
  clock?: Clock;
  /**
   * In a cluster, this instance led and does not any more (its lease ran out: it was paused, or cut
   * off from the store). Its leader-only modules cannot be taken back: the caller builds a new
   * daemon, which joins as a follower (`main` does that). Without it, the daemon stops.
   */
  onDeposed?: () => void;
}

export interface Daemon {
  start(): Promise<void>;
  /** Stops every module in reverse order, draining into the sinks; bounded by `shutdownTimeout`. */
  stop(): Promise<void>;
  readonly modules: readonly Module[];
  readonly pipeline: Pipeline;
  readonly sinks: readonly Sink[];
  readonly collectors: readonly Collector[];
  readonly sim?: SimNetwork;
  readonly outages: OutageService;
  readonly complaints: ComplaintService;
  /** Set once started, when compensation is on. */
  readonly compensation: CompensationService | undefined;
  readonly store: Store;
  /** Set once started. */
  readonly alerts: AlertDispatcher | undefined;
  /** Service reports: last month's written and posted now, as the monthly schedule does. */
  readonly reports: { runMonthly(): Promise<{ files: string[]; posted: boolean }> };
  /** The port the HTTP API listens on, once started. */
  readonly apiPort: number | undefined;
  /** Self metrics in Prometheus text format. */
  metrics(): string;
  /**
   * Reads the topology file again and applies it from the next evaluation (SIGHUP), and checks
   * every open subscriber impact against the inventory. A bad file changes nothing: the error
   * names every problem and the running topology stays.
   */
  reloadTopology(): Promise<number>;
}

/**
 * The composition root: the daemon is an ordered list of modules built from config. Nothing
 * starts here; `start` brings them up in order, `stop` takes them down in reverse within the
 * shutdown deadline. Modules that listen to outage events are built in the order their writes
 * must land: the event, its scope, its complaints, compensation, then paging.
 */
export function build(config: Config, deps: DaemonDeps): Daemon {
  const log = deps.logger;
  const sim = config.sim.enabled ? new SimNetwork(config.sim) : undefined;
  let topology = readTopology(config, sim);
  const pipeline = new Pipeline(config.pipeline.maxQueuedSamples, log.child({ component: 'pipeline' }));
  const dataDir = resolve(config.daemon.dataDir);
  const sink = sinkFromConfig(config, dataDir, log);
  pipeline.addSink(sink);
  const store = storeModule(config, () => topology, log);
  const k: Kernel = {
    config, log, clock: deps.clock ?? SYSTEM_CLOCK, dataDir, pipeline, events: new EventHub(1 << 20, config.api?.streamsPerToken ?? 4),
    topology: () => topology, store: store.store, recorder: store.recorder,
  };
  const outages = new OutageService({ topology, config, logger: log.child({ component: 'outages' }), now: () => k.clock.now() });
  const recent = new RecentMeasurements(60, 6, (id) => topology.elements.has(id));
  pipeline.add(recent);

  // In a cluster, this instance polls only the targets rendezvous hashing gives it among the living
  // members; the leader-only modules are built on `lk`, whose writes carry the leader's epoch.
  const targetNames = () => [...config.snmp.targets, ...(sim?.targets() ?? []), ...config.icmp.targets].map((t) => t.name);
  const cluster = config.cluster.enabled ? clusterModule(k, targetNames, () => api.port()) : undefined;
  const lk = cluster?.leader ?? k;
  const checks = cluster && checkForwarding(k, lk, outages, cluster.member);
  pipeline.add(checks?.consumer ?? outages);
  const configWindows: MaintenanceWindow[] = config.outages.maintenance.map(({ announced: _, ...w }) => ({ ...w, start: Date.parse(w.start), end: Date.parse(w.end) }));
  const correlation = outageModules(lk, outages, configWindows, recent);
  const impact = impactModule(lk, outages, correlation.restored, (id) => alertsOf(k.store()).acknowledgement(id));
  // Complaints, compensation and paging reach each other through these two: a suspicion or a deadline is an alert; a change is a message.
  let alertsOut: ReturnType<typeof alertsModule> | undefined;
  const tell = (m: CommunicationMessage) => alertsOut?.tell(m);
  const complaints = complaintsModule(lk, outages, { raise: (a, at) => alertsOut?.raise(a, at) ?? Promise.resolve(), tell }, deps.mqttConnect);
  const compensation = compensationModule(lk, outages, tell);
  const reports = reportsModule(lk, () => compensation.policies);
  const alerts = (alertsOut = alertsModule(lk, outages, (id) => impact.impacts.scope(id), correlation.restored, deps.mqttConnect));
  const places = placesModule(lk, outages, config.topology.outline ?? (sim ? SIM_OUTLINE : null));
  const collectors = collectorsModule(k, { targets: () => sim?.targets() ?? [], brokers: () => sim?.brokers() ?? [], ...(cluster && { owns: cluster.owns, member: cluster.member() }) }, deps);
  const metrics = (): string => selfMetrics(pipeline, modules);
  const api = apiModule(k, {
    modules: () => modules, metrics, started: () => runner.started, ...(cluster && { leader: cluster.route(() => runner.leaderUp) }),
    ...(sim && config.sim.dashboardToken && dashboardAccess(k.dataDir, log)),
  });
  const simulation = sim && simModules(k, sim, { complaints: complaints.complaints, maintenanceChanged: correlation.maintenanceChanged, subscribersChanged: impact.subscribersChanged });

  const modules: Module[] = [
    ...(simulation ? [simulation.teardown] : []), sinkModule(sink, log), store, ...(cluster ? [cluster.module] : []), ...(checks ? [checks.forwarding] : []),
    correlation.state, ...(checks ? [checks.inbox] : []), impact.module, alerts.module,
    complaints.module, compensation.module, reports.module, places.module, correlation.clock, api.module, ...(simulation ? [simulation.run] : []), collectors.module,
  ];
  const runner = new ModuleRunner(modules, {
    cluster: cluster !== undefined, log,
    deposed: () => {
      cluster?.cluster()?.halt();
      if (deps.onDeposed) deps.onDeposed();
      else void daemon.stop();
    },
  });
  cluster?.onLeadership((epoch) => runner.leadership(epoch, cluster.member()));
  const daemon: Daemon = {
    modules, pipeline, sinks: [sink], collectors: collectors.collectors, sim, outages, complaints: complaints.complaints, metrics,
    get compensation() { return compensation.service(); },
    reports: { runMonthly: () => reports.runMonthly() },
    get apiPort() { return api.port(); },
    get alerts() { return alerts.dispatcher(); },
    get store() { return store.store(); },
    async reloadTopology() {
      const next = readTopology(config, sim);
      topology = next;
      outages.setTopology(next);
      if (store.recorder()) await store.store().saveTopology([...next.elements.values()]);
      // The inventory may have changed too (`netpulse import-subscribers` while running): scopes follow (on the leader, in a cluster).
      if (store.recorder() && (!cluster || runner.leaderUp)) void impact.subscribersChanged();
      log.info({ elements: next.size }, 'topology reloaded');
      return next.size;
    },
    start: () => runner.start(),
    stop: () => runner.stop(Date.now() + config.daemon.shutdownTimeout),
  };
  return daemon;
}
