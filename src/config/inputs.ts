// Config: the schemas of the inputs (SNMP, MQTT, ICMP); src/config/schema.ts puts the sections together.
import { z } from 'zod';
import { isIP } from 'node:net';
import { duration, size } from './units.ts';
import { name } from './names.ts';

/** An SNMPv3 user (RFC 3414): its name, security level, protocols and keys. */
const v3UserShape = {
  user: z.string().min(1),
  level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
  authProtocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
  authKey: z.string().min(8, 'must be at least 8 characters (RFC 3414)').optional(),
  privProtocol: z.enum(['aes', 'aes256b', 'aes256r', 'des']).default('aes'),
  privKey: z.string().min(8, 'must be at least 8 characters (RFC 3414)').optional(),
};

const v3Keys = (a: { level: string; authKey?: string; privKey?: string }, ctx: z.RefinementCtx) => {
  if (a.level !== 'noAuthNoPriv' && !a.authKey) {
    ctx.addIssue({ code: 'custom', path: ['authKey'], message: `required for level ${a.level}` });
  }
  if (a.level === 'authPriv' && !a.privKey) {
    ctx.addIssue({ code: 'custom', path: ['privKey'], message: 'required for level authPriv' });
  }
};

export const snmpV3Auth = z.strictObject({ ...v3UserShape, context: z.string().default('') }).superRefine(v3Keys);

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
  /** By measurement: which element each table row is, replacing its profile's `rowElement` (see collectors/snmp/README.md). */
  rowElements: z.record(z.string(), z.string().min(1).max(200)).optional(),
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
  // Each instance in a share group sees part of every publisher's counter: the rest would look lost.
  if (s.sequence && s.share) ctx.addIssue({ code: 'custom', path: ['sequence'], message: 'a shared subscription splits each publisher\'s counter between the instances: gaps cannot be judged here (remove sequence, or share)' });
});

/** TLS for an mqtts:// broker: the CA that signed its certificate, a client certificate if it asks for one. */
export const mqttTls = z.strictObject({
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
  /** MQTT 5: messages the broker may send before netpulse acknowledged them (Receive Maximum). 1,000: with 100, every group commit's fsync bounded ingest to 100 messages (issue 21). */
  maxInFlight: z.number().int().min(1).max(65_535).default(1000),
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

export const snmpSection = z.strictObject({
  concurrency: z.number().int().min(1).max(10_000).default(256),
  profilesDir: z.string().optional(),
  defaults: snmpDefaults.prefault({}),
  targets: z.array(snmpTarget).default([]),
}).prefault({});

export const mqttSection = z.strictObject({
  brokers: z.array(mqttBroker).default([]),
}).prefault({});

export const icmpSection = z.strictObject({
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
}).prefault({});

const ipAddress = z.string().refine((a) => isIP(a) !== 0, 'expected an IPv4 or IPv6 address such as 192.0.2.17');

/**
 * The SNMP trap and inform receiver (collectors/traps). Off by default. Port 162 needs
 * CAP_NET_BIND_SERVICE (deploy/netpulse.service grants it); a port above 1023 needs no privilege.
 */
export const trapsSection = z.strictObject({
  enabled: z.boolean().default(false),
  /** The local address to listen on: 0.0.0.0 (every IPv4 address), :: (IPv6 too), or one address. */
  address: ipAddress.default('0.0.0.0'),
  /** 0: a port the kernel picks (tests). */
  port: z.number().int().min(0).max(65535).default(162),
  /** v1 and v2c communities accepted; a trap with any other community is refused (none by default). */
  communities: z.array(z.string().min(1)).default([]),
  /** SNMPv3 users whose traps and informs are accepted (their keys check and decrypt them). */
  users: z.array(z.strictObject(v3UserShape).superRefine(v3Keys)).default([]),
  /** The receiver's SNMPv3 engine ID for informs, in hex (10 to 64 digits); absent: a random one per start (senders discover it). */
  engineID: z.string().regex(/^(0x)?([0-9a-fA-F]{2}){5,32}$/, 'expected 5 to 32 bytes in hex, such as 8000B98380AABBCCDDEEFF0011').optional(),
  /** Which element a trap from this address speaks for (the UDP source, or a v1 trap's agent address). */
  sources: z.array(z.strictObject({ address: ipAddress, element: z.string().min(1) })).default([]),
  /** Believe the sysName varbind (1.3.6.1.2.1.1.5.0) of a trap when it names an element of the topology. */
  sysNameVarbind: z.boolean().default(true),
  /** Trap definition files or folders of them, read after the shipped config/traps/ (a definition of the same name replaces a shipped one). */
  definitions: z.array(z.string().min(1)).default([]),
  /** Per source and kind of trap: a token bucket; beyond it traps are dropped and counted. */
  rate: z.strictObject({
    perSecond: z.number().min(0.001).max(1_000_000).default(20),
    burst: z.number().int().min(1).max(1_000_000).default(100),
  }).prefault({}),
  /** A trap identical to the last one from the same source about the same thing (interface, alarm) within this window is dropped as a duplicate. */
  dedupWindow: duration(0).default(1_000),
  /** Sources whose storm state is kept (the least recently seen forgotten first): memory stays bounded under spoofed floods. */
  maxSources: z.number().int().min(1).max(10_000_000).default(10_000),
}).superRefine((t, ctx) => {
  const dup = <T>(items: T[], key: (x: T) => string, path: string, field: string, what: string) => {
    const first = new Map<string, number>();
    items.forEach((x, i) => {
      const k = key(x);
      const j = first.get(k);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: [path, i, field], message: `duplicate ${what} "${k}" (also ${path}[${j}])` });
      else first.set(k, i);
    });
  };
  dup(t.users, (u) => u.user, 'users', 'user', 'user');
  dup(t.sources, (s) => s.address, 'sources', 'address', 'source address');
  if (t.enabled && t.communities.length === 0 && t.users.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['communities'], message: 'traps are enabled but no community and no user is configured: every trap would be refused' });
  }
}).prefault({});
