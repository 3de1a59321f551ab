import { z } from 'zod';
import { duration } from './units.ts';
import { snmpSection, mqttSection, icmpSection, snmpTarget, trapsSection } from './inputs.ts';
import { timeseriesSection, apiSection, storeSection, alertsSection, clusterSection } from './outputs.ts';
import { healthSection, outagesSection, complaintsSection, compensationSection, reportsSection } from './correlation.ts';
import { simSection } from './sim.ts';

export { snmpV3Auth, snmpTarget, mqttSubscription, mqttBroker, icmpTarget } from './inputs.ts';

/** The whole configuration: each section's schema is in the file named for what it configures (inputs, outputs, correlation, sim). */
export const configSchema = z.strictObject({
  daemon: z.strictObject({
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    logFormat: z.enum(['json', 'pretty', 'auto']).default('auto'),
    shutdownTimeout: duration(100).default(10_000),
  }).prefault({}),
  /** Times from outside (telemetry, complaints, API bodies) must fall in this window around the host's clock, or are refused. */
  times: z.strictObject({
    /** How far ahead of this host's clock (skew between sources). */
    maxAhead: duration(0).default(5 * 60_000),
    /** How old a sample may be (a broker's backlog after netpulse was away, back-filled history). */
    maxSampleAge: duration(60_000).default(7 * 86_400_000),
    /** How long before it reaches netpulse a complaint may have been reported. */
    maxComplaintAge: duration(60_000).default(30 * 86_400_000),
  }).prefault({}),
  pipeline: z.strictObject({
    /** Samples that may wait in the pipeline before collectors are held back. */
    maxQueuedSamples: z.number().int().min(1).default(100_000),
  }).prefault({}),
  timeseries: timeseriesSection,
  snmp: snmpSection,
  mqtt: mqttSection,
  icmp: icmpSection,
  /** SNMP traps and informs (collectors/traps). */
  traps: trapsSection,
  api: apiSection,
  store: storeSection,
  cluster: clusterSection,
  complaints: complaintsSection,
  alerts: alertsSection,
  /** The network's elements and links: a YAML or CSV file (see the README); the simulator adds its own. */
  topology: z.strictObject({
    file: z.string().min(1).nullable().default(null),
    /** The map's outline on the dashboard: a GeoJSON file (the operator's country or region); the simulator's own when unset. */
    outline: z.string().min(1).nullable().default(null),
  }).prefault({}),
  health: healthSection,
  outages: outagesSection,
  compensation: compensationSection,
  /** Service reports and the policy what-if. */
  reports: reportsSection,
  sim: simSection,
}).superRefine((c, ctx) => {
  const unique = (items: { name: string }[], path: string[], what: string) => {
    const first = new Map<string, number>();
    items.forEach((x, i) => {
      const j = first.get(x.name);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: [...path, i, 'name'], message: `duplicate ${what} name "${x.name}" (also ${path.at(-1)}[${j}])` });
      else first.set(x.name, i);
    });
  };
  if (c.cluster.enabled && !c.store.url) {
    ctx.addIssue({ code: 'custom', path: ['cluster', 'enabled'], message: 'several instances share one PostgreSQL store: set store.url (SQLite is one instance\'s)' });
  }
  unique(c.mqtt.brokers, ['mqtt', 'brokers'], 'broker');
  unique(c.icmp.targets, ['icmp', 'targets'], 'target');
  const seen = new Map<string, number>();
  c.snmp.targets.forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['snmp', 'targets', i, 'name'], message: `duplicate target name "${t.name}" (also targets[${first}])` });
    } else seen.set(t.name, i);
    const version = t.version ?? c.snmp.defaults.version;
    if (version === '3' && !t.auth) {
      ctx.addIssue({ code: 'custom', path: ['snmp', 'targets', i, 'auth'], message: 'required for SNMP version 3' });
    }
  });
});

export type Config = z.output<typeof configSchema>;
export type SnmpTargetConfig = z.output<typeof snmpTarget>;
export type SnmpDefaults = Config['snmp']['defaults'];
export type MqttBrokerConfig = Config['mqtt']['brokers'][number];
export type MqttSubscriptionConfig = MqttBrokerConfig['subscriptions'][number];
export type IcmpConfig = Config['icmp'];
export type TrapsConfig = Config['traps'];
export type InfluxConfig = NonNullable<Config['timeseries']['influx']>;
