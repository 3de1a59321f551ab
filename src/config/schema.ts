import { z } from 'zod';
import { duration, size } from './units.ts';

const name = z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');

export const snmpV3Auth = z.strictObject({
  user: z.string().min(1),
  level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
  authProtocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
  authKey: z.string().min(8, 'must be at least 8 characters (RFC 3414)').optional(),
  privProtocol: z.enum(['aes', 'aes256b', 'aes256r', 'des']).default('aes'),
  privKey: z.string().min(8, 'must be at least 8 characters (RFC 3414)').optional(),
  context: z.string().default(''),
}).superRefine((a, ctx) => {
  if (a.level !== 'noAuthNoPriv' && !a.authKey) {
    ctx.addIssue({ code: 'custom', path: ['authKey'], message: `required for level ${a.level}` });
  }
  if (a.level === 'authPriv' && !a.privKey) {
    ctx.addIssue({ code: 'custom', path: ['privKey'], message: 'required for level authPriv' });
  }
});

/** Settings a target inherits from `snmp.defaults` unless it sets its own. */
const snmpTargetSettings = {
  port: z.number().int().min(1).max(65535),
  version: z.enum(['2c', '3']),
  community: z.string().min(1),
  interval: duration(100),
  timeout: duration(10),
  retries: z.number().int().min(0).max(10),
  maxRepetitions: z.number().int().min(1).max(200),
  maxRows: z.number().int().min(1),
  profiles: z.array(z.string().min(1)).min(1),
};

export const snmpTarget = z.strictObject({
  name,
  element: z.string().min(1).optional(),
  host: z.string().min(1),
  auth: snmpV3Auth.optional(),
  tags: z.record(z.string(), z.string()).default({}),
  ...Object.fromEntries(Object.entries(snmpTargetSettings).map(([k, v]) => [k, v.optional()])) as {
    [K in keyof typeof snmpTargetSettings]: z.ZodOptional<(typeof snmpTargetSettings)[K]>
  },
});

const snmpDefaults = z.strictObject({
  port: snmpTargetSettings.port.default(161),
  version: snmpTargetSettings.version.default('2c'),
  community: snmpTargetSettings.community.default('public'),
  interval: snmpTargetSettings.interval.default(60_000),
  timeout: snmpTargetSettings.timeout.default(2_000),
  retries: snmpTargetSettings.retries.default(1),
  maxRepetitions: snmpTargetSettings.maxRepetitions.default(25),
  maxRows: snmpTargetSettings.maxRows.default(10_000),
  profiles: snmpTargetSettings.profiles.default(['system', 'if-mib']),
});

const influxV2 = z.strictObject({
  version: z.literal(2),
  url: z.url(),
  org: z.string().min(1),
  bucket: z.string().min(1),
  token: z.string().min(1),
  timeout: duration(100).default(10_000),
});

const influxV1 = z.strictObject({
  version: z.literal(1),
  url: z.url(),
  database: z.string().min(1),
  retentionPolicy: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  timeout: duration(100).default(10_000),
});

export const configSchema = z.strictObject({
  daemon: z.strictObject({
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    logFormat: z.enum(['json', 'pretty', 'auto']).default('auto'),
    shutdownTimeout: duration(100).default(10_000),
  }).prefault({}),
  pipeline: z.strictObject({
    /** Samples that may wait in the pipeline before collectors are held back. */
    maxQueuedSamples: z.number().int().min(1).default(100_000),
  }).prefault({}),
  timeseries: z.strictObject({
    influx: z.discriminatedUnion('version', [influxV2, influxV1]).nullable().default(null),
    batchSize: z.number().int().min(1).max(100_000).default(5_000),
    flushInterval: duration(10).default(1_000),
    retry: z.strictObject({
      minDelay: duration(1).default(1_000),
      maxDelay: duration(1).default(60_000),
    }).prefault({}),
    spool: z.strictObject({
      maxBytes: size(1024).prefault('1GiB'),
      segmentBytes: size(1024).prefault('16MiB'),
    }).prefault({}),
    files: z.strictObject({
      maxFileBytes: size(1024).prefault('64MiB'),
      maxFiles: z.number().int().min(1).default(16),
    }).prefault({}),
  }).prefault({}),
  snmp: z.strictObject({
    concurrency: z.number().int().min(1).max(10_000).default(256),
    profilesDir: z.string().optional(),
    defaults: snmpDefaults.prefault({}),
    targets: z.array(snmpTarget).default([]),
  }).prefault({}),
  sim: z.strictObject({
    enabled: z.boolean().default(false),
    host: z.string().default('127.0.0.1'),
    switches: z.number().int().min(0).default(1),
    baseStations: z.number().int().min(0).default(4),
    cellsPerBaseStation: z.number().int().min(1).max(12).default(3),
    portsPerSwitch: z.number().int().min(1).max(512).default(24),
    interval: duration(100).default(10_000),
  }).prefault({}),
}).superRefine((c, ctx) => {
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
export type InfluxConfig = NonNullable<Config['timeseries']['influx']>;
