import { join, resolve } from 'node:path';
import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import type { Collector } from '../collectors/collector.ts';
import type { Sink } from './sinks/sink.ts';
import { Pipeline } from './pipeline.ts';
import { SpooledSink } from './sinks/spooled.ts';
import { Spool } from './sinks/spool.ts';
import { InfluxWriter } from './sinks/influx.ts';
import { FileSink } from './sinks/files.ts';
import { SnmpCollector } from '../collectors/snmp/collector.ts';
import { loadProfiles, resolveProfiles, type Profile } from '../collectors/snmp/profile.ts';
import { resolveTarget, netSnmpSessionFactory, type SessionFactory } from '../collectors/snmp/session.ts';
import { SimNetwork } from './sim/network.ts';
import { startSimulation, dashboardToken } from './sim/assemble.ts';
import { MqttCollector } from '../collectors/mqtt/collector.ts';
import { IcmpCollector } from '../collectors/icmp/collector.ts';
import { OutageService } from '../correlators/outages/service.ts';
import { Topology, TopologyError } from './topology/topology.ts';
import { ruleBook } from '../correlators/health/check.ts';
import { loadTopology } from './topology/load.ts';
import { Store } from './store/store.ts';
import { SqliteDb } from './store/sqlite.ts';
import { PostgresDb } from './store/postgres.ts';
import { StoreRecorder } from './store/recorder.ts';
import { AlertDispatcher } from '../correlators/alerts/dispatcher.ts';
import { WebhookNotifier, MqttNotifier, type Notifier } from '../correlators/alerts/notifier.ts';
import { AlertStream } from '../correlators/alerts/sse.ts';
import { buildApi } from './api/app.ts';
import { ImpactService } from '../correlators/impact/service.ts';
import { RecentMeasurements } from './measurements/recent.ts';
import { ComplaintService } from '../correlators/complaints/service.ts';
import { suspicionAlertOf, deadlineAlertOf } from '../correlators/alerts/alert.ts';
import { ComplaintMqttIntake } from '../correlators/complaints/mqtt.ts';
import { communicationOf } from '../correlators/complaints/communication.ts';
import { DeliveryLanes } from '../correlators/alerts/lanes.ts';
import { HoldDown } from '../correlators/alerts/hold.ts';
import { Outbox } from '../correlators/alerts/outbox.ts';
import type { Grade } from '../correlators/complaints/complaint.ts';
import type { Deadlines } from '../correlators/complaints/grade.ts';
import { Authenticator, hashToken } from './api/auth.ts';
import { readPolicies, assembleCompensation } from '../correlators/compensation/assemble.ts';
import type { CreditBook } from '../correlators/compensation/credits.ts';
import type { CreditPusher } from '../correlators/compensation/delivery.ts';
import type { CompensationService } from '../correlators/compensation/service.ts';
import { creditMessageOf } from '../correlators/compensation/message.ts';
import { selfMetrics } from './self-metrics.ts';
import { EventHub } from './api/events.ts';
import type { FastifyInstance } from 'fastify';
import type { MaintenanceWindow, OutageEvent } from '../correlators/outages/outage.ts';

/** The NOC dashboard's files, served by the API at /ui/. */
const WEB_DIR = join(import.meta.dirname, 'web');

/** I/O factories the daemon is built with; tests pass their own. */
export interface DaemonDeps {
  logger: Logger;
  snmpSession?: SessionFactory;
}

export interface Daemon {
  start(): Promise<void>;
  /** Stops collectors, drains the pipeline, flushes and closes sinks; bounded by `shutdownTimeout`. */
  stop(): Promise<void>;
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
 * Checks what the schema cannot: that every target's profiles exist and load. Returns problems
 * in the same `path: message` form as the config validation.
 */
export function checkProfiles(config: Config): { path: string; message: string }[] {
  let profiles: Map<string, Profile>;
  try {
    profiles = loadProfiles(config.snmp.profilesDir);
  } catch (err) {
    return [{ path: 'snmp.profilesDir', message: (err as Error).message }];
  }
  const problems: { path: string; message: string }[] = [];
  config.snmp.targets.forEach((t, i) => {
    const names = t.profiles ?? config.snmp.defaults.profiles;
    names.forEach((n, j) => {
      if (!profiles.has(n)) {
        problems.push({ path: `snmp.targets[${i}].profiles${t.profiles ? `[${j}]` : ''}`, message: `unknown profile "${n}" (known: ${[...profiles.keys()].join(', ')})` });
      }
    });
  });
  return problems;
}

/**
 * What is valid but unwise: an SNMP or ICMP target whose element is not in the topology (never
 * judged); an MQTT subscription or presence topic that names no elements, kinds or regions (it
 * may speak for every element: any publisher the broker lets in can put a core switch down).
 * Printed by check-config, logged at start.
 */
export function configWarnings(config: Config, topology?: Topology): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const book = ruleBook(config.health.thresholds, config.health.rules);
  // A target whose element is not in the topology is polled and written, but never judged: a typo cuts it out of outage tracking.
  if (topology && topology.size > 0) {
    const check = (kind: string, targets: readonly { name: string; element?: string }[]) => targets.forEach((t, i) => {
      const element = t.element ?? t.name;
      if (!topology.elements.has(element)) out.push({ path: `${kind}.targets[${i}]${t.element ? '.element' : '.name'}`, message: `element "${element}" is not in the topology: it is polled and written but never judged (no health, no outage)` });
    });
    check('snmp', config.snmp.targets);
    check('icmp', config.icmp.targets);
  }
  // An SNMP profile writing a measurement the health rules read, but none of the fields they read.
  let profiles: Map<string, Profile> | undefined;
  try {
    profiles = loadProfiles(config.snmp.profilesDir);
  } catch { /* checkProfiles reports it */ }
  for (const [name, p] of profiles ?? []) {
    for (const m of p.measurements) {
      const rules = book.get(m.measurement);
      if (rules && !m.fields.some((f) => rules.some((r) => r.field === f.name || r.field === f.rate))) {
        out.push({ path: `snmp profile ${name}`, message: `${m.measurement} without ${rules.map((r) => r.field).join(', ')}: its health rules have nothing to read` });
      }
    }
  }
  config.mqtt.brokers.forEach((b, i) => {
    const open = (a: { elements?: unknown; kinds?: unknown; regions?: unknown }) => !a.elements && !a.kinds && !a.regions;
    b.subscriptions.forEach((s, j) => {
      if (open(s.allow)) out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].allow`, message: `names no elements, kinds or regions: ${s.topic} may speak for every element of the topology` });
      // What the health rules read (README: Health): a mapping that feeds none of it judges nothing, silently.
      const fields = Object.keys(s.fields);
      const rules = book.get(s.measurement ?? '');
      if (s.measurement === 'reachability' || s.format === 'line' || s.format === 'value') return;
      if (!rules) {
        out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].measurement`, message: `no health rule reads ${s.measurement} (they read reachability, ${[...book.keys()].join(', ')}; health.rules adds more): it is written, but judges nothing` });
      } else if (!fields.some((f) => rules.some((r) => r.field === f))) {
        out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].fields`, message: `${s.measurement} without ${rules.map((r) => r.field).join(', ')}: its health rules have nothing to read (its elements stay unknown)` });
      }
    });
    if (b.presence && open(b.presence.allow)) out.push({ path: `mqtt.brokers[${i}].presence.allow`, message: `names no elements, kinds or regions: ${b.presence.topic} may say any element of the topology is offline` });
  });
  return out;
}

/** Checks the topology file, if any: every problem as `topology.file: <where>: <what>`. */
export function checkTopology(config: Config): { path: string; message: string }[] {
  if (!config.topology.file) return [];
  try {
    loadTopology(config.topology.file);
    return [];
  } catch (err) {
    if (err instanceof TopologyError) return err.problems.map((p) => ({ path: 'topology.file', message: `${config.topology.file}: ${p.where}: ${p.message}` }));
    return [{ path: 'topology.file', message: (err as Error).message }];
  }
}

/** The store the config names: PostgreSQL, or SQLite in the data directory. Opens it. */
export function openStore(config: Config): Store {
  return new Store(config.store.url ? new PostgresDb(config.store.url) : new SqliteDb(join(resolve(config.daemon.dataDir), 'netpulse.db')));
}

/** The topology: the configured file plus the simulator's own elements. Throws TopologyError. */
export function readTopology(config: Config, sim: SimNetwork | undefined): Topology {
  const b = Topology.build([...(config.topology.file ? loadTopology(config.topology.file).elements.values() : []), ...(sim?.elements() ?? [])]);
  if (!b.topology) throw new TopologyError(config.topology.file ?? 'simulated topology', b.problems);
  return b.topology;
}

/**
 * The composition root: builds the whole daemon from config. Nothing starts here; `start` brings
 * up sinks, then the pipeline's consumers, then the simulator, then collectors, and `stop` goes in
 * reverse so in-flight data drains into the sinks.
 */
export function build(config: Config, deps: DaemonDeps): Daemon {
  const log = deps.logger;
  const dataDir = resolve(config.daemon.dataDir);
  const pipeline = new Pipeline(config.pipeline.maxQueuedSamples, log.child({ component: 'pipeline' }));
  const ts = config.timeseries;

  let sink: SpooledSink | FileSink;
  if (ts.influx) {
    sink = new SpooledSink({
      name: 'influx',
      writer: new InfluxWriter(ts.influx),
      spool: new Spool(join(dataDir, 'spool'), { maxBytes: ts.spool.maxBytes, segmentBytes: ts.spool.segmentBytes, fsync: ts.spool.fsync }),
      batchSize: ts.batchSize,
      flushIntervalMs: ts.flushInterval,
      retry: { minDelayMs: ts.retry.minDelay, maxDelayMs: ts.retry.maxDelay },
      logger: log.child({ component: 'sink', sink: 'influx' }),
    });
  } else {
    sink = new FileSink({
      dir: join(dataDir, 'series'), maxFileBytes: ts.files.maxFileBytes, maxFiles: ts.files.maxFiles,
      flushIntervalMs: ts.flushInterval, logger: log.child({ component: 'sink', sink: 'files' }), fsync: ts.spool.fsync,
    });
  }
  pipeline.addSink(sink);

  const sim = config.sim.enabled ? new SimNetwork(config.sim) : undefined;
  let topology = readTopology(config, sim);
  const outages = new OutageService({ topology, config, logger: log.child({ component: 'outages' }) });
  pipeline.add(outages);
  const recent = new RecentMeasurements(60, 6, (id) => topology.elements.has(id));
  pipeline.add(recent);
  // Opened in start: building the daemon touches no file and no server.
  let store: Store | undefined;
  let recorder: StoreRecorder | undefined;
  const impacts = new ImpactService();
  const cc = config.complaints;
  const complaints = new ComplaintService({ health: (id) => outages.health.get(id), topology: () => topology }, {
    match: { graceBeforeMs: cc.graceBefore, graceAfterMs: cc.graceAfter, minConfidence: cc.minConfidence },
    deadlines: Object.fromEntries(Object.entries(cc.deadlines).map(([g, d]) => [g, { respondMs: d.respond, resolveMs: d.resolve }])) as Record<Grade, Deadlines>,
    ...(cc.gradeRules && { rules: cc.gradeRules }),
    suspect: { windowMs: cc.suspect.window, minComplaints: cc.suspect.minComplaints, usualPerWindow: cc.suspect.usualPerWindow, maxProbability: cc.suspect.maxProbability },
  });
  // Messages to subscribers per complaint state change (TMF681), for the operator's SMS gateway.
  let communications: DeliveryLanes | undefined;
  // What the dashboard hears about, live.
  const streamsPerToken = config.api?.streamsPerToken ?? 4;
  const events = new EventHub(1 << 20, streamsPerToken);
  const stream = new AlertStream(new EventHub(1 << 20, streamsPerToken));
  complaints.onChange((ch) => {
    events.publish({ type: 'complaint', data: { complaint: ch.complaint.id, state: ch.state, ...(ch.outage && { outage: ch.outage.id }) } });
    communications?.push(communicationOf(ch, cc.restorationTarget)).catch((err) => log.error({ err, complaint: ch.complaint.id }, 'cannot queue a subscriber message'));
  });
  complaints.onSuspicion((s) => {
    log.warn({ element: s.element, subscribers: s.subscribers, complaints: s.complaints.slice(0, 20), probability: s.probability }, 'suspected outage from complaints');
    alerts?.raise(suspicionAlertOf(s, topology, complaints.windowMinutes), s.at).catch((err) => log.error({ err, suspected: s.id }, 'cannot raise alert'));
  });
  let alerts: AlertDispatcher | undefined;
  // Alerts go out in event order, each once its outage's scope is written (or after a bounded wait:
  // a slow or unreachable database delays an alert by seconds, never holds it back). The store
  // writes in order: a no-op queued after the event's writes resolves once its scope is written.
  let alerting = Promise.resolve();
  const page = (e: OutageEvent) => {
    const scoped = recorder?.add(async () => undefined) ?? Promise.resolve();
    alerting = alerting
      .then(() => Promise.race([scoped, new Promise<void>((r) => setTimeout(r, config.outages.scopeWait).unref())]))
      .then(() => alerts?.onOutageEvent(e, impacts.scope(e.outage.id)))
      .then(() => undefined, (err) => log.error({ err, outage: e.outage.id }, 'cannot raise alert'));
  };
  // Held on while the outage's parent may yet take it in (up to the inference window), then paged.
  const hold = new HoldDown(config.alerts.holdDown, page, (e) => log.info({ outage: e.outage.id, mergedInto: e.outage.mergedInto }, 'outage over within the alert hold-down: not paged'),
    { pending: (e) => e.outage.state === 'open' && outages.awaitingParent(e.outage.root), maxHoldMs: Math.max(config.alerts.holdDown, config.outages.inference.window) });
  outages.onEvent((e) => {
    events.publish({ type: 'outage', data: { outage: e.outage.id, event: e.type, at: e.at } });
    if (!recorder) return;
    void recorder.add((s) => s.recordOutageEvent(e));
    void recorder.add((s) => impacts.apply(s, e));
    void recorder.add((s) => complaints.onOutageEvent(s, e));
    // After the event and its scope are written: a close starts the settle delay.
    void recorder.add(async () => compensation?.onOutageEvent(e));
    hold.offer(e);
  });
  outages.onTransition((t) => {
    events.publish({ type: 'health', data: { element: t.element, from: t.from, to: t.to, at: t.at, reason: t.reason } });
    void recorder?.add((s) => s.recordTransition(t));
  });
  const collectors: Collector[] = [];
  const configWindows: MaintenanceWindow[] = config.outages.maintenance.map(({ announced: _, ...w }) => ({ ...w, start: Date.parse(w.start), end: Date.parse(w.end) }));
  const policies = readPolicies(config);
  let compensation: CompensationService | undefined;
  let pusher: CreditPusher | undefined;
  outages.setMaintenance(configWindows);
  let api: FastifyInstance | undefined;
  let apiPort: number | undefined;
  let intake: ComplaintMqttIntake | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let simulation: { quiet(): Promise<void>; stop(): Promise<void> } | undefined;
  const metrics = (): string => selfMetrics({ pipeline, sink, collectors, outages, recorder, intake, compensation, pusher, alerts, events });
  let started = false;
  let stopping: Promise<void> | undefined;

  return {
    pipeline,
    sinks: [sink],
    collectors,
    sim,
    outages,
    complaints,
    get compensation() {
      return compensation;
    },
    async reloadTopology() {
      const next = readTopology(config, sim);
      topology = next;
      outages.setTopology(next);
      await store?.saveTopology([...next.elements.values()]);
      // The inventory may have changed too (`netpulse import-subscribers` while running): scopes follow.
      void recorder?.add(async (s) => impacts.reconcile(s, await s.activeOutages(), Date.now()));
      log.info({ elements: next.size }, 'topology reloaded');
      return next.size;
    },
    metrics,
    get apiPort() {
      return apiPort;
    },
    get alerts() {
      return alerts;
    },
    get store() {
      if (!store) throw new Error('the store opens when the daemon starts');
      return store;
    },
    async start() {
      if (started) return;
      started = true;
      sink.start();
      if (sink instanceof FileSink) log.warn({ destination: sink.destination }, 'no InfluxDB configured: series are kept locally');
      else log.info({ destination: sink.destination }, 'writing series to InfluxDB');
      store = openStore(config);
      recorder = new StoreRecorder(store, log.child({ component: 'store' }));
      const applied = await store.migrate();
      if (applied.length > 0) log.info({ versions: applied, db: store.db.kind }, 'store schema migrated');
      await store.saveTopology([...topology.elements.values()]);
      const active = await store.activeOutages();
      outages.restore(active);
      // Health as the last run left it, so an element last seen down is not `unknown` until it speaks again.
      const restoredHealth = outages.restoreHealth(await store.lastTransitions(), Date.now());
      if (restoredHealth > 0) log.info({ elements: restoredHealth }, 'element health restored from the last run');
      if (active.length > 0) log.info({ outages: active.map((o) => o.id) }, 'continuing outages open before the restart');
      // What a crash between an outage write and its scope write left behind is put right here.
      const restored = store;
      void recorder.add(async (s) => {
        const t0 = performance.now();
        await impacts.reconcile(s, active, Date.now(), await restored.openedAt(active.map((o) => o.id)));
        log.info({ outages: active.length, affected: active.reduce((n, o) => n + (impacts.scope(o.id)?.current ?? 0), 0), ms: Math.round(performance.now() - t0) }, 'subscriber impacts reconciled');
      });
      const notifiers: Notifier[] = config.alerts.webhooks.map((w) => new WebhookNotifier(w.name, { url: w.url, secret: w.secret, timeoutMs: w.timeout }));
      if (config.alerts.mqtt) notifiers.push(new MqttNotifier(config.alerts.mqtt));
      const opened = store;
      await complaints.restore(opened);
      const toSubscribers: Notifier[] = cc.notify.webhooks.map((w) => new WebhookNotifier(w.name, { url: w.url, secret: w.secret, timeoutMs: w.timeout, idHeader: 'x-netpulse-message-id' }));
      if (cc.notify.mqtt) toSubscribers.push(new MqttNotifier(cc.notify.mqtt));
      communications = new DeliveryLanes(toSubscribers, { what: 'communication', logger: log.child({ component: 'communications' }), outbox: new Outbox('communication', () => opened.db) });
      const owedMessages = await communications.restore();
      alerts = new AlertDispatcher(notifiers, { topology: () => topology, store: () => opened, stream: { publish: (a) => { stream.publish(a); events.publish({ type: 'alert', data: a }); } }, logger: log.child({ component: 'alerts' }) });
      const owedAlerts = await alerts.restore();
      // An outage opened just before a crash may have been in the hold-down, never paged: page it now.
      for (const o of active) if (o.state === 'open' && (await opened.alerts(o.id, 1)).length === 0) page({ type: 'opened', outage: o, at: o.startedAt });
      if (owedAlerts + owedMessages > 0) log.info({ alerts: owedAlerts, messages: owedMessages }, 'delivering what was owed before the restart');
      let book: CreditBook | undefined;
      if (config.compensation.enabled) {
        ({ service: compensation, book, pusher } = assembleCompensation(config, policies, () => opened, log.child({ component: 'compensation' })));
        compensation.onSettled((r) => events.publish({ type: 'compensation', data: { outage: r.outageId, entries: r.entries } }));
        compensation.start();
        pusher?.start();
      }
      const windows = async () => outages.setMaintenance([...configWindows, ...(await opened.maintenance())]);
      await windows();
      outages.start();
      log.info({ elements: topology.size, store: store.db.kind }, 'topology loaded');
      const subscribersChanged = () => recorder!.add(async (s) => impacts.reconcile(s, await s.activeOutages(), Date.now()));
      const token = config.sim.enabled && config.sim.dashboardToken ? dashboardToken(dataDir) : undefined;
      if (config.api) {
        const tokens = [...config.api.tokens, ...(token ? [{ name: 'dashboard', hash: hashToken(token), roles: ['dashboard' as const] }] : [])];
        api = buildApi({
          store: opened, health: (id) => outages.health.get(id), topology: () => topology, alerts: () => alerts,
          maintenanceChanged: windows, metrics, recent: (id) => recent.of(id), importLimit: config.api.importLimit, complaints,
          events, alertStream: stream, webDir: WEB_DIR,
          ...(compensation && book && {
            compensation: {
              service: compensation, book, policies,
              onApplied: (credits) => {
                if (!config.compensation.notifySubscribers) return;
                for (const c of credits) {
                  const m = creditMessageOf(c);
                  if (m) communications?.push(m).catch((err) => log.error({ err, credit: c.id }, 'cannot queue a subscriber message'));
                }
              },
            },
          }),
          subscribersChanged,
          auth: new Authenticator(tokens), rateLimit: config.api.rateLimit, authFailures: config.api.authFailures,
          bodyLimit: config.api.bodyLimit, logger: log.child({ component: 'api' }),
          times: { aheadMs: config.times.maxAhead, complaintPastMs: config.times.maxComplaintAge },
          maintenance: { maxLengthMs: config.api.maintenance.maxLength, maxPastMs: config.api.maintenance.maxPast, maxAheadMs: config.api.maintenance.maxAhead },
        });
        await api.listen({ host: config.api.host, port: config.api.port });
        apiPort = (api.server.address() as { port: number }).port;
        log.info({ url: `http://${config.api.host}:${apiPort}`, tokens: tokens.length }, 'api listening');
        // The token itself is never logged: the address says where to find it.
        if (token) log.info({ url: `http://${config.api.host}:${apiPort}/ui/`, tokenFile: join(dataDir, 'dashboard-token') }, 'NOC dashboard (its token is in tokenFile)');
      }
      // Every minute: complaint deadlines (each warned of once, before it is missed) and stale suspicions.
      const checkDeadlines = async () => {
        for (const w of await complaints.dueSoon(opened, Date.now(), cc.warnBefore)) await alerts?.raise(deadlineAlertOf(w, Date.now()), Date.now());
        for (const s of await complaints.expire(opened, Date.now(), cc.suspect.expireAfter)) log.info({ suspected: s.id, element: s.element }, 'suspected outage expired unconfirmed');
      };
      deadlineTimer = setInterval(() => void checkDeadlines().catch((err) => log.error({ err }, 'complaint deadline check failed')), 60_000);
      deadlineTimer.unref();
      if (config.complaints.mqtt) {
        intake = new ComplaintMqttIntake({
          config: config.complaints.mqtt, complaints, store: () => opened, logger: log.child({ component: 'complaints', intake: 'mqtt' }),
          times: { aheadMs: config.times.maxAhead, pastMs: config.times.maxComplaintAge },
        });
        intake.start();
      }
      if (sim) {
        simulation = await startSimulation(config, sim, {
          store: opened, topology: () => topology, complaints, maintenanceChanged: windows, subscribersChanged,
          told: (line, at) => events.publish({ type: 'story', data: { line, at } }), logger: log.child({ component: 'sim' }),
        });
      }
      const profiles = loadProfiles(config.snmp.profilesDir);
      const targets = [...config.snmp.targets, ...(sim?.targets() ?? [])].map((t) => resolveTarget(t, config.snmp.defaults));
      for (const t of targets) resolveProfiles(t.profiles, profiles, `snmp target ${t.name}`);
      if (targets.length > 0) {
        collectors.push(new SnmpCollector({
          targets, profiles, concurrency: config.snmp.concurrency,
          sessionFactory: deps.snmpSession ?? netSnmpSessionFactory,
          logger: log.child({ component: 'collector', collector: 'snmp' }),
        }));
      }
      for (const broker of [...config.mqtt.brokers, ...(sim?.brokers() ?? [])]) {
        collectors.push(new MqttCollector({
          broker, logger: log.child({ component: 'collector', collector: 'mqtt', broker: broker.name }),
          elements: (id) => topology.elements.get(id), times: { aheadMs: config.times.maxAhead, pastMs: config.times.maxSampleAge },
        }));
      }
      if (config.icmp.targets.length > 0) {
        collectors.push(new IcmpCollector({ config: config.icmp, logger: log.child({ component: 'collector', collector: 'icmp' }) }));
      }
      for (const c of collectors) await c.start(pipeline.emit);
      log.info({ collectors: collectors.map((c) => c.name) }, 'netpulse started');
    },
    stop() {
      stopping ??= (async () => {
        const deadline = Date.now() + config.daemon.shutdownTimeout;
        const left = () => Math.max(0, deadline - Date.now());
        const bounded = <T>(p: Promise<T>, what: string) => Promise.race([
          p, new Promise<void>((r) => setTimeout(() => { log.warn({ what }, 'shutdown step timed out'); r(); }, left()).unref()),
        ]);
        await simulation?.quiet();
        await bounded(Promise.all(collectors.map((c) => c.stop())), 'collectors');
        events.close();
        await api?.close();
        await intake?.stop();
        if (deadlineTimer) clearInterval(deadlineTimer);
        if (compensation) await bounded(compensation.stop(), 'compensation');
        if (pusher) await bounded(pusher.close(), 'credit delivery');
        await bounded(pipeline.idle(), 'pipeline');
        outages.stop();
        hold.flush();
        if (alerts) await bounded(alerts.close(Math.floor(left() * 0.3)), 'alerts');
        if (communications) await bounded(communications.close(Math.floor(left() * 0.3)), 'communications');
        stream.close();
        if (recorder) await bounded(recorder.drain(Math.floor(left() * 0.5)), 'store');
        await store?.close().catch((err) => log.error({ err }, 'closing the store'));
        const report = await bounded(sink.close(Math.floor(left() * 0.8)), 'sink');
        await simulation?.stop();
        log.info({ ...(report ?? {}) }, 'netpulse stopped');
      })();
      return stopping;
    },
  };
}
