import { z } from 'zod';
import cron from 'node-cron';
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

/**
 * Where a sample's element, tags and fields come from in an MQTT message: `$.a.b` is a path into
 * the JSON payload, `{N}` inside a string is topic level N (0-based), anything else is literal.
 */
const valueSpec = z.string().min(1);
const mqttField = z.union([valueSpec, z.strictObject({
  path: valueSpec,
  /** float (default) accepts numbers and numeric strings; int writes an integer; bool, string as named. */
  type: z.enum(['float', 'int', 'bool', 'string']).default('float'),
  scale: z.number().optional(),
  /** A field most messages do not carry: absent (or null), it is left out silently; present but malformed, it is counted. */
  optional: z.boolean().default(false),
})]);

export const mqttSubscription = z.strictObject({
  topic: z.string().min(1).refine((t) => !t.startsWith('$share/'), 'write the group in `share`, not in the topic'),
  /** Subscribe as `$share/<share>/<topic>`: instances in one group split the stream. */
  share: z.string().regex(/^[^/+#]+$/, 'a group name without / + #').optional(),
  qos: z.union([z.literal(0), z.literal(1)]).default(1),
  format: z.enum(['json', 'line', 'value']),
  /** Larger payloads are refused unread (counted and logged). */
  maxPayload: size(16).prefault('1MiB'),
  element: valueSpec.optional(),
  measurement: z.string().min(1).optional(),
  tags: z.record(z.string(), valueSpec).default({}),
  fields: z.record(z.string(), mqttField).default({}),
  /** For `value`: the field name (a template such as "{4}"); the payload is the value. */
  field: valueSpec.optional(),
  /** For `json`: the timestamp (ms or s since the epoch, or ISO-8601); absent = receive time. */
  time: valueSpec.optional(),
  /** For `json`: a path to an array; each element becomes a sample. */
  each: valueSpec.optional(),
  /** For `line`: the timestamp precision of the lines. */
  precision: z.enum(['ns', 'us', 'ms', 's']).default('ns'),
  /** An element silent this long becomes stale (a reachability sample says so). */
  staleAfter: duration(1000).default(300_000),
  /**
   * For `json`: a counter each publisher puts in its messages (`path`), and who the publisher is
   * (`publisher`, a path or topic template): a jump shows messages that never arrived, counted in
   * /metrics and logged, instead of a silence nobody notices (a broker queue that overflowed).
   */
  sequence: z.strictObject({ path: valueSpec, publisher: valueSpec }).optional(),
  /**
   * What the subscription may speak for; a sample outside it is refused and counted. Elements must
   * be in the topology and match every rule given (patterns with * and ?, kinds, regions);
   * measurements default to `measurement` (or any but reachability for line protocol);
   * reachability samples may claim only the probes named.
   */
  allow: z.strictObject({
    elements: z.array(z.string().min(1)).min(1).optional(),
    kinds: z.array(z.string().min(1)).min(1).optional(),
    regions: z.array(z.string().min(1)).min(1).optional(),
    measurements: z.array(z.string().min(1)).min(1).optional(),
    probes: z.array(z.string().min(1)).default(['mqtt']),
  }).prefault({}),
}).superRefine((s, ctx) => {
  if (s.format === 'json' && Object.keys(s.fields).length === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'json subscriptions need at least one field' });
  if (s.format !== 'line' && !s.measurement) ctx.addIssue({ code: 'custom', path: ['measurement'], message: `required for format ${s.format}` });
  if (s.format !== 'line' && !s.element) ctx.addIssue({ code: 'custom', path: ['element'], message: `required for format ${s.format}` });
  if (s.format === 'value' && !s.field) ctx.addIssue({ code: 'custom', path: ['field'], message: 'required for format value' });
});

/** TLS for an mqtts:// broker: the CA that signed its certificate, a client certificate if it asks for one. */
const mqttTls = z.strictObject({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

export const mqttBroker = z.strictObject({
  name,
  url: z.string().regex(/^(mqtt|mqtts|tcp|tls|ws|wss):\/\//, 'expected mqtt://host:port or mqtts://host:port'),
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  /** Fixed, so the broker keeps the session (and the messages not yet acknowledged) across restarts. */
  clientId: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: mqttTls.optional(),
  keepalive: duration(1000).default(30_000),
  reconnectPeriod: duration(100).default(1_000),
  /** MQTT 5: how long the broker keeps the session while netpulse is away. */
  sessionExpiry: duration(1000).default(7 * 86_400_000),
  /** MQTT 5: messages the broker may send before netpulse acknowledged them (Receive Maximum). */
  maxInFlight: z.number().int().min(1).max(65_535).default(100),
  subscriptions: z.array(mqttSubscription).default([]),
  /** Birth and last-will messages: "online"/"offline" per element. */
  presence: z.strictObject({
    topic: z.string().min(1),
    element: valueSpec,
    online: z.string().default('online'),
    offline: z.string().default('offline'),
    /** The elements presence may speak for (in the topology, and matching every rule given), as for subscriptions. */
    allow: z.strictObject({
      elements: z.array(z.string().min(1)).min(1).optional(),
      kinds: z.array(z.string().min(1)).min(1).optional(),
      regions: z.array(z.string().min(1)).min(1).optional(),
    }).prefault({}),
  }).optional(),
});

export const icmpTarget = z.strictObject({
  name,
  host: z.string().min(1),
  element: z.string().min(1).optional(),
  tags: z.record(z.string(), z.string()).default({}),
});

/** A webhook that takes JSON messages (alerts, subscriber communications). */
const webhookTarget = z.strictObject({
  name,
  url: z.url(),
  /** Signs each body: X-Netpulse-Signature: sha256=<HMAC-SHA256 hex>. */
  secret: z.string().min(16, 'use at least 16 characters')
    .refine((v) => !/change[-_ ]?me|placeholder|example|^(.)\1+$/i.test(v), 'this is a placeholder, not a secret: set a random one (e.g. openssl rand -hex 32)').optional(),
  timeout: duration(100).default(5_000),
});

/** An MQTT topic that takes JSON messages at QoS 1. */
const mqttTarget = (topic: string, clientId: string) => z.strictObject({
  url: z.string().regex(/^(mqtt|mqtts):\/\//, 'expected mqtt://host:port or mqtts://host:port'),
  topic: z.string().min(1).regex(/^[^+#]+$/, 'no wildcards').default(topic),
  clientId: z.string().min(1).default(clientId),
  username: z.string().optional(),
  password: z.string().optional(),
});

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
  }).prefault({}),
  snmp: z.strictObject({
    concurrency: z.number().int().min(1).max(10_000).default(256),
    profilesDir: z.string().optional(),
    defaults: snmpDefaults.prefault({}),
    targets: z.array(snmpTarget).default([]),
  }).prefault({}),
  mqtt: z.strictObject({
    brokers: z.array(mqttBroker).default([]),
  }).prefault({}),
  icmp: z.strictObject({
    /** Probes per target per round (SmokePing's default: 20). */
    count: z.number().int().min(1).max(10_000).default(20),
    interval: duration(1000).default(60_000),
    /** Between two probes to the same target. */
    period: duration(10).default(1_000),
    /** Between any two probes fping sends (fping's -i): period / spacing targets share one fping. */
    spacing: duration(1).default(1),
    timeout: duration(10).default(1_000),
    fping: z.string().default('fping'),
    targets: z.array(icmpTarget).default([]),
  }).prefault({}),
  /** The HTTP API for NOC screens, complaint systems and compensation jobs; null turns it off. */
  api: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8088),
    /** Bearer tokens, kept as their SHA-256 (`netpulse hash-token TOKEN`), each with roles. */
    tokens: z.array(z.strictObject({
      name,
      hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits> (netpulse hash-token prints it)'),
      roles: z.array(z.enum(['noc', 'dashboard', 'maintenance', 'complaints', 'compensation', 'admin'])).min(1),
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
  }).nullable().prefault({}),
  /** Where outages, health history and alerts are kept: SQLite in the data directory, or PostgreSQL. */
  store: z.strictObject({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user:password@host:port/database').nullable().default(null),
  }).prefault({}),
  /** Complaint intake besides the API: an MQTT topic carrying one JSON complaint per message. */
  complaints: z.strictObject({
    /** A complaint matches an impact from this long before it was seen to this long after it ended. */
    graceBefore: duration(0).default(30 * 60_000),
    graceAfter: duration(0).default(2 * 3_600_000),
    /** A category that fits an impact less than this (0..1, README: the fits) never matches it; confidence inside the graces ranks matches, never drops one. */
    minConfidence: z.number().min(0).max(1).default(0.5),
    /** An alert goes out this long before a response or resolution deadline that is not yet met. */
    warnBefore: duration(0).default(3_600_000),
    /** Response and resolution deadlines per grade (from the operator standard by default). */
    deadlines: z.strictObject({
      general: z.strictObject({ respond: duration(60_000).default(48 * 3_600_000), resolve: duration(60_000).default(72 * 3_600_000) }).prefault({}),
      major: z.strictObject({ respond: duration(60_000).default(24 * 3_600_000), resolve: duration(60_000).default(72 * 3_600_000) }).prefault({}),
      urgent: z.strictObject({ respond: duration(60_000).default(4 * 3_600_000), resolve: duration(60_000).default(24 * 3_600_000) }).prefault({}),
    }).prefault({}),
    /** Grading rules; the highest grade whose rule holds wins. Omitted: the built-in rules (see README). */
    gradeRules: z.array(z.strictObject({
      grade: z.enum(['general', 'major', 'urgent']),
      reason: z.string().min(1),
      tiers: z.array(z.string().min(1)).optional(),
      categories: z.array(z.enum(['no_service', 'weak_signal', 'slow_data', 'call_drop', 'broadband_down', 'wifi', 'billing', 'service_attitude', 'other'])).optional(),
      network: z.boolean().optional(),
      matched: z.boolean().optional(),
      impact: z.enum(['no_service', 'degraded']).optional(),
      minOutageSubscribers: z.number().int().min(0).optional(),
      minPrevious30d: z.number().int().min(0).optional(),
      minEscalations: z.number().int().min(0).optional(),
    })).optional(),
    /** Outages found by complaints: a burst of unmatched network complaints around one element. */
    suspect: z.strictObject({
      window: duration(60_000).default(15 * 60_000),
      minComplaints: z.number().int().min(2).default(5),
      usualPerWindow: z.number().positive().default(0.2),
      maxProbability: z.number().positive().max(0.5).default(1e-5),
      /** A suspicion nothing confirmed or dismissed within this long expires. */
      expireAfter: duration(60_000).default(24 * 3_600_000),
    }).prefault({}),
    mqtt: z.strictObject({
      url: z.string().regex(/^(mqtt|mqtts):\/\//, 'expected mqtt://host:port or mqtts://host:port'),
      topic: z.string().min(1).default('netpulse/complaints'),
      clientId: z.string().min(1).default('netpulse-complaints'),
      username: z.string().optional(),
      password: z.string().optional(),
      tls: mqttTls.optional(),
    }).optional(),
    /** Messages to subscribers (TMF681 CommunicationMessage) per complaint state change, for the operator's SMS gateway. */
    notify: z.strictObject({
      webhooks: z.array(webhookTarget).default([]),
      mqtt: mqttTarget('netpulse/communications', 'netpulse-communications').nullable().default(null),
    }).prefault({}),
    /** The fault recovery target told to customers as the expected restoration (the standard: 48 h). */
    restorationTarget: duration(60_000).default(48 * 3_600_000),
  }).prefault({}),
  /** Where outage alerts go: webhooks and an MQTT topic page the NOC; SSE streams them to screens. */
  alerts: z.strictObject({
    /** A new outage is paged this long after it opened, unless merged into another or closed by then. 0: at once. */
    holdDown: duration(0).default(10_000),
    webhooks: z.array(webhookTarget).default([]),
    mqtt: mqttTarget('netpulse/alerts', 'netpulse-alerts').extend({ tls: mqttTls.optional() }).nullable().default(null),
    /** Gone: the alert stream is served by the API (GET /v1/alerts/stream, with a token). Only null is accepted. */
    sse: z.unknown().optional().superRefine((v, ctx) => {
      if (v !== undefined && v !== null) ctx.addIssue({ code: 'custom', message: 'the alert stream moved to the API: GET /v1/alerts/stream with a bearer token (role noc or dashboard); remove alerts.sse' });
    }),
  }).prefault({}),
  /** The network's elements and links: a YAML or CSV file (see the README); the simulator adds its own. */
  topology: z.strictObject({
    file: z.string().min(1).nullable().default(null),
  }).prefault({}),
  health: z.strictObject({
    /** Down (or degraded) after `failOf` of the last `window` checks; back after `recoverAfter` good ones. */
    failOf: z.number().int().min(1).default(2),
    window: z.number().int().min(1).default(3),
    recoverAfter: z.number().int().min(1).default(2),
    /** A source silent this long knows nothing: the element becomes unknown (never down for it). */
    staleAfter: duration(1000).default(180_000),
    thresholds: z.strictObject({
      rsrpDegradedDbm: z.number().default(-110),
      sinrDegradedDb: z.number().default(0),
      lossDegradedPercent: z.number().min(0).max(100).default(2),
      latencyDegradedMs: z.number().min(0).default(150),
    }).prefault({}),
    /**
     * Rules over numeric fields, besides the built-in radio ones (README: what the health rules
     * read): for telemetry that names its fields otherwise, or measurements of your own. One for a
     * measurement and field the built-in rules read replaces that rule.
     */
    rules: z.array(z.strictObject({
      measurement: z.string().min(1).refine((m) => m !== 'reachability', 'reachability is judged by its own rule'),
      field: z.string().min(1),
      source: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, _ and -'),
      elementTag: z.string().min(1).optional(),
      failUnless: z.number().optional(),
      failBelow: z.number().optional(),
      failAbove: z.number().optional(),
      degradedBelow: z.number().optional(),
      degradedAbove: z.number().optional(),
    }).refine((r) => [r.failUnless, r.failBelow, r.failAbove, r.degradedBelow, r.degradedAbove].some((x) => x !== undefined), { message: 'give at least one of failUnless, failBelow, failAbove, degradedBelow, degradedAbove', path: ['field'] })).default([]),
  }).prefault({}).refine((h) => h.failOf <= h.window, { message: 'failOf cannot exceed window', path: ['failOf'] }),
  outages: z.strictObject({
    /** A cleared outage closes once recovery has held this long; a failure before reopens it. */
    confirmRecovery: duration(0).default(120_000),
    /** Reopened this many times: marked flapping. */
    flapAfterReopens: z.number().int().min(1).default(2),
    /**
     * Elements an outage cut off that are still down when its root is back stay in that outage this
     * long (they come back a little later); past it each gets an outage of its own. 0: at once.
     */
    followRecovery: duration(0).default(60_000),
    evaluateEvery: duration(100).default(1_000),
    /**
     * A silent parent (not polled, or its management plane unreachable) inferred down from the
     * elements behind it: at least `minChildren` of those that depend on it, and at least `share`
     * of those whose state is known, went down within `window` of each other, and it was not heard
     * alive since the first of them. Its outage is marked inferred until real evidence confirms or
     * moves it.
     */
    inference: z.strictObject({
      enabled: z.boolean().default(true),
      share: z.number().gt(0).max(1).default(0.8),
      minChildren: z.number().int().min(2).default(2),
      window: duration(0).default(120_000),
    }).prefault({}),
    /** How long an alert waits for its outage's subscriber scope before it goes out without it. */
    scopeWait: duration(0).default(5_000),
    /** Planned work: outages inside are recorded, marked planned, never paged. */
    maintenance: z.array(z.strictObject({
      id: z.string().min(1),
      elements: z.array(z.string().min(1)).optional(),
      sites: z.array(z.string().min(1)).optional(),
      start: z.iso.datetime({ offset: true }),
      end: z.iso.datetime({ offset: true }),
      reason: z.string().optional(),
      /** When the work was announced to customers (compensation policies may exclude work announced far enough ahead). */
      announced: z.iso.datetime({ offset: true }).optional(),
    }).refine((w) => Date.parse(w.end) > Date.parse(w.start), { message: 'end must be after start', path: ['end'] })
      .refine((w) => (w.elements?.length ?? 0) + (w.sites?.length ?? 0) > 0, { message: 'name elements or sites', path: ['elements'] })).default([]),
  }).prefault({}),
  /** Automatic compensation: which policies, when settlements run, where credits go. */
  compensation: z.strictObject({
    enabled: z.boolean().default(true),
    /** Policy files (`<name>.yaml`) and calendars; the shipped ones by default. */
    policiesDir: z.string().min(1).nullable().default(null),
    calendarsDir: z.string().min(1).nullable().default(null),
    /** In order: a subscriber gets the first policy meant for them (its appliesTo, narrowed to `regions` when given). */
    policies: z.array(z.strictObject({
      policy: z.string().min(1),
      regions: z.array(z.string().min(1)).min(1).optional(),
    })).min(1).default([{ policy: 'operator-default' }]),
    /** A closed outage is settled once it has stayed closed this long (a reopen in between waits for the next close). */
    settle: duration(0).default(10 * 60_000),
    /** An outage still open is settled in part as policy thresholds are crossed, at most this often. */
    interimEvery: duration(60_000).default(6 * 3_600_000),
    /** The batch that picks up anything pending (node-cron syntax, server time). */
    schedule: z.string().default('*/15 * * * *').refine((e) => cron.validate(e), 'not a cron expression (e.g. "*/15 * * * *")'),
    /** Subscribers settled per transaction. */
    chunk: z.number().int().min(100).max(100_000).default(5_000),
    /** Push credits to the operator's compensation job (besides the pull API). */
    deliver: z.strictObject({
      webhook: webhookTarget.extend({
        batchSize: z.number().int().min(1).max(10_000).default(500),
        maxAttempts: z.number().int().min(1).default(20),
      }).nullable().default(null),
      mqtt: mqttTarget('netpulse/credits', 'netpulse-credits').extend({
        batchSize: z.number().int().min(1).max(10_000).default(500),
        maxAttempts: z.number().int().min(1).default(20),
      }).nullable().default(null),
      retry: z.strictObject({ minDelay: duration(10).default(1_000), maxDelay: duration(10).default(300_000) }).prefault({}),
    }).prefault({}).refine((d) => !(d.webhook && d.mqtt), { message: 'push to a webhook or to MQTT, not both (the pull API is always there)', path: ['mqtt'] }),
    /** Tell each subscriber (through complaints.notify) once their credit was applied. */
    notifySubscribers: z.boolean().default(true),
  }).prefault({}),
  sim: z.strictObject({
    enabled: z.boolean().default(false),
    host: z.string().default('127.0.0.1'),
    switches: z.number().int().min(0).default(1),
    baseStations: z.number().int().min(0).default(4),
    cellsPerBaseStation: z.number().int().min(1).max(12).default(3),
    portsPerSwitch: z.number().int().min(1).max(512).default(24),
    interval: duration(100).default(10_000),
    /** Broadband access: optical line terminals, each with PON ports, hanging below the switches (round robin). */
    olts: z.number().int().min(0).default(0),
    ponPortsPerOlt: z.number().int().min(1).max(128).default(8),
    /** Region names given to the switches in turn (and to everything below them). */
    regions: z.array(z.string().min(1)).min(1).default(['sim']),
    /** A generated subscriber inventory of this size, loaded at start when the store holds no subscribers. */
    subscribers: z.number().int().min(0).max(10_000_000).default(0),
    /** The scripted, repeating storyline of faults, with complaints that follow them plus background noise. */
    story: z.strictObject({
      enabled: z.boolean().default(false),
      /** One turn of the story; every act's time scales with it. */
      cycle: duration(10_000).default(10 * 60_000),
      /** The first act begins this long after start. */
      startAfter: duration(0).default(15_000),
      /** Background complaints (unrelated to any fault) per minute. */
      noisePerMinute: z.number().min(0).max(600).default(3),
      /** Complaints per minute from the subscribers a fault hits, at the switch failure's scale. */
      faultComplaintsPerMinute: z.number().min(0).max(6000).default(40),
    }).prefault({}),
    /**
     * A token for the dashboard, kept in `<dataDir>/dashboard-token` (made on first start, admin role);
     * the daemon logs the dashboard's address with it. For the demo on loopback, not for production.
     */
    dashboardToken: z.boolean().default(false),
    /** An element of the topology file the simulated switches hang below (default: a SIM-CORE of their own). */
    uplink: z.string().min(1).nullable().default(null),
    /** Base stations also publish telemetry (and presence) to this broker, and the daemon subscribes. */
    mqtt: z.strictObject({
      url: z.string().regex(/^(mqtt|mqtts):\/\//, 'expected mqtt://host:port').nullable().default(null),
      /** Or a broker of the daemon's own (aedes, in memory) on sim.host: the demo needs nothing installed. Port 0: any free one. */
      embedded: z.strictObject({ port: z.number().int().min(0).max(65535).default(18830) }).nullable().default(null),
      prefix: z.string().min(1).regex(/^[^+#]+$/, 'no wildcards').default('netpulse/sim'),
      interval: duration(100).default(10_000),
    }).prefault({}).refine((m) => !(m.url && m.embedded), { message: 'use a broker url or the embedded broker, not both', path: ['embedded'] }),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const unique = (items: { name: string }[], path: string[], what: string) => {
    const first = new Map<string, number>();
    items.forEach((x, i) => {
      const j = first.get(x.name);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: [...path, i, 'name'], message: `duplicate ${what} name "${x.name}" (also ${path.at(-1)}[${j}])` });
      else first.set(x.name, i);
    });
  };
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
export type InfluxConfig = NonNullable<Config['timeseries']['influx']>;
