// Config: the schemas of health, outages, complaints and compensation; src/config/schema.ts puts the sections together.
import { z } from 'zod';
import cron from 'node-cron';
import { duration } from './units.ts';
import { name } from './names.ts';
import { webhookTarget, mqttTarget } from './outputs.ts';
import { mqttTls } from './inputs.ts';

export const healthSection = z.strictObject({
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
    /** Judge only samples carrying elementTag (rows an SNMP profile maps to elements). */
    onlyTagged: z.boolean().optional(),
    failUnless: z.number().optional(),
    failBelow: z.number().optional(),
    failAbove: z.number().optional(),
    degradedBelow: z.number().optional(),
    degradedAbove: z.number().optional(),
  }).refine((r) => [r.failUnless, r.failBelow, r.failAbove, r.degradedBelow, r.degradedAbove].some((x) => x !== undefined), { message: 'give at least one of failUnless, failBelow, failAbove, degradedBelow, degradedAbove', path: ['field'] })).default([]),
}).prefault({}).refine((h) => h.failOf <= h.window, { message: 'failOf cannot exceed window', path: ['failOf'] });

export const outagesSection = z.strictObject({
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
}).prefault({});

/** Complaint intake besides the API: an MQTT topic carrying one JSON complaint per message. */
export const complaintsSection = z.strictObject({
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
}).prefault({});

/** Automatic compensation: which policies, when settlements run, where credits go. */
export const compensationSection = z.strictObject({
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
}).prefault({});

/** Service reports (correlators/reports): the targets they measure against, the monthly run, the what-if's bounds. */
export const reportsSection = z.strictObject({
  /** Network availability target, a share (the guidelines: 99.9 % or better). */
  availabilityTarget: z.number().min(0.5).max(1).default(0.999),
  /** Fault recovery target (the guidelines: 48 hours). */
  recoveryTarget: duration(60_000).default(48 * 3_600_000),
  /** The monthly run (node-cron, server time): last month's report to `<dataDir>/reports/` and to the webhook; null: none. */
  schedule: z.string().refine((e) => cron.validate(e), 'not a cron expression (e.g. "0 6 1 * *")').nullable().default('0 6 1 * *'),
  /** Where the monthly report is posted (JSON, signed like every webhook). */
  webhook: webhookTarget.nullable().default(null),
  /** The longest period a report or a what-if may cover. */
  maxPeriod: duration(3_600_000).default(400 * 86_400_000),
  /** Subscribers a what-if decides between two pauses (it yields to the daemon's own work between chunks). */
  chunk: z.number().int().min(100).max(20_000).default(2_000),
}).prefault({});
