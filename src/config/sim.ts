// Config: the simulated operator's schema; src/config/schema.ts puts the sections together.
import { z } from 'zod';
import { duration } from './units.ts';

export const simSection = z.strictObject({
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
  /**
   * The operator's scale without an SNMP agent per device: generated sites (a base station and its
   * cells each), `sitesPerHub` below each generated aggregation switch, regions in turn, that report
   * their reachability every `interval` (as a probe would) and can be put down (`SimFleet.fail`).
   */
  fleet: z.strictObject({
    sites: z.number().int().min(0).max(250_000).default(0),
    sitesPerHub: z.number().int().min(1).max(10_000).default(50),
    interval: duration(1000).default(30_000),
  }).prefault({}),
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
}).prefault({});
