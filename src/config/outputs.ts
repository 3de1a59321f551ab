// Config: the schemas of where data goes (time series, the API, the store, alerts); src/config/schema.ts puts the sections together.
import { z } from 'zod';
import { duration, size } from './units.ts';
import { name } from './names.ts';
import { mqttTls } from './inputs.ts';

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

/** A webhook that takes JSON messages (alerts, subscriber communications). */
export const webhookTarget = z.strictObject({
  name,
  url: z.url(),
  /** Signs each body: X-Netpulse-Signature: sha256=<HMAC-SHA256 hex>. */
  secret: z.string().min(16, 'use at least 16 characters')
    .refine((v) => !/change[-_ ]?me|placeholder|example|^(.)\1+$/i.test(v), 'this is a placeholder, not a secret: set a random one (e.g. openssl rand -hex 32)').optional(),
  timeout: duration(100).default(5_000),
});

/** An MQTT topic that takes JSON messages at QoS 1. */
export const mqttTarget = (topic: string, clientId: string) => z.strictObject({
  url: z.string().regex(/^(mqtt|mqtts):\/\//, 'expected mqtt://host:port or mqtts://host:port'),
  topic: z.string().min(1).regex(/^[^+#]+$/, 'no wildcards').default(topic),
  clientId: z.string().min(1).default(clientId),
  username: z.string().optional(),
  password: z.string().optional(),
});

export const timeseriesSection = z.strictObject({
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
    /**
     * fdatasync every append to the spool, which is the group commit before an MQTT PUBACK: an
     * acknowledged point survives power loss, not only kill -9. Off trades that for throughput.
     */
    fsync: z.boolean().default(true),
  }).prefault({}),
  files: z.strictObject({
    maxFileBytes: size(1024).prefault('64MiB'),
    maxFiles: z.number().int().min(1).default(16),
  }).prefault({}),
}).prefault({});

/** The HTTP API for NOC screens, complaint systems and compensation jobs; null turns it off. */
export const apiSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8088),
  /** Bearer tokens, kept as their SHA-256 (`netpulse hash-token TOKEN`), each with roles. */
  tokens: z.array(z.strictObject({
    name,
    hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits> (netpulse hash-token prints it)'),
    roles: z.array(z.enum(['noc', 'dashboard', 'maintenance', 'complaints', 'compensation', 'manager', 'admin'])).min(1),
  })).default([]),
  /** Requests per token per minute; past it, 429 with Retry-After. */
  rateLimit: z.number().int().min(1).default(6_000),
  /** Failed authentications per source address per minute; past it, every request from there is 429 until the minute ends. */
  authFailures: z.number().int().min(1).default(20),
  /** Live event streams (`/v1/events`, `/v1/alerts/stream`) one token may hold open at once. */
  streamsPerToken: z.number().int().min(1).max(1000).default(4),
  bodyLimit: size(1024).prefault('1MiB'),
  /** The largest subscriber file `POST /v1/subscribers/import` takes (it is streamed, not held). */
  importLimit: size(1024).prefault('4GiB'),
  /** Maintenance windows posted to the API: how long one may last, how far back it may start, how far ahead. */
  maintenance: z.strictObject({
    maxLength: duration(60_000).default(7 * 86_400_000),
    maxPast: duration(0).default(3_600_000),
    maxAhead: duration(60_000).default(366 * 86_400_000),
  }).prefault({}),
}).nullable().prefault({});

/** Where outages, health history and alerts are kept: SQLite in the data directory, or PostgreSQL. */
export const storeSection = z.strictObject({
  url: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user:password@host:port/database').nullable().default(null),
}).prefault({});

/**
 * Several instances on one PostgreSQL store (README: cluster): each renews a membership lease; one
 * holds the leadership lease, with an epoch every leader-only write is fenced by. Off: one instance.
 */
export const clusterSection = z.strictObject({
  enabled: z.boolean().default(false),
  /** This instance's id in the cluster (default: the host name and the API port). */
  member: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only').optional(),
  /** A member (and the leader) not renewed for this long is out. */
  lease: duration(300).default(10_000),
  /** This instance's API as the other members reach it, to pass writes to the leader (default: http://<api.host>:<the port it listens on>). */
  advertise: z.string().regex(/^https?:\/\/[^/?#\s]+$/, 'expected http(s)://host:port, without a path').optional(),
}).prefault({});

/** Where outage alerts go: webhooks and an MQTT topic page the NOC; SSE streams them to screens. */
export const alertsSection = z.strictObject({
  /** A new outage is paged this long after it opened, unless merged into another or closed by then. 0: at once. */
  holdDown: duration(0).default(10_000),
  webhooks: z.array(webhookTarget).default([]),
  mqtt: mqttTarget('netpulse/alerts', 'netpulse-alerts').extend({ tls: mqttTls.optional() }).nullable().default(null),
  /** Gone: the alert stream is served by the API (GET /v1/alerts/stream, with a token). Only null is accepted. */
  sse: z.unknown().optional().superRefine((v, ctx) => {
    if (v !== undefined && v !== null) ctx.addIssue({ code: 'custom', message: 'the alert stream moved to the API: GET /v1/alerts/stream with a bearer token (role noc or dashboard); remove alerts.sse' });
  }),
}).prefault({});
