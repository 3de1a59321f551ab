import { SimDevice, type DeviceSpec } from './device.ts';
import type { Config, SnmpTargetConfig, MqttBrokerConfig } from '../config/schema.ts';
import { mqttBroker } from '../config/schema.ts';
import type { Element } from '../topology/topology.ts';
import { SimGeography } from './geography.ts';
import { SimFleet } from './fleet.ts';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * The built-in simulated network: aggregation switches, OLTs and base stations as SNMP agents on
 * loopback. The daemon polls it through the same collector as real devices; it only adds targets,
 * elements and (with `sim.mqtt`) a broker subscription.
 */
export class SimNetwork {
  readonly devices: SimDevice[];
  /** The generated sites that report without an agent each (`sim.fleet`). */
  readonly fleet: SimFleet;
  private readonly cfg: Config['sim'];
  private placed: Element[] | undefined;
  private brokerUrl: string | undefined;

  constructor(cfg: Config['sim']) {
    this.cfg = cfg;
    const specs: DeviceSpec[] = [];
    for (let i = 1; i <= cfg.switches; i++) specs.push({ name: `SIM-SW-${pad(i, 3)}`, kind: 'switch', rows: cfg.portsPerSwitch });
    for (let i = 1; i <= cfg.olts; i++) specs.push({ name: `SIM-OLT-${pad(i, 2)}`, kind: 'olt', rows: cfg.ponPortsPerOlt });
    // With the embedded broker the URL is known once it listens (`useEmbeddedBroker`).
    const telemetry = cfg.mqtt.url || cfg.mqtt.embedded ? { url: cfg.mqtt.url ?? '', prefix: cfg.mqtt.prefix, intervalMs: cfg.mqtt.interval } : undefined;
    for (let i = 1; i <= cfg.baseStations; i++) specs.push({ name: `SIM-BS-${pad(i, 4)}`, kind: 'base-station', rows: cfg.cellsPerBaseStation, telemetry: telemetry && { ...telemetry } });
    this.devices = specs.map((s) => new SimDevice(s, cfg.host));
    this.fleet = new SimFleet(cfg.fleet.interval);
  }

  async start(): Promise<void> {
    for (const d of this.devices) await d.start();
  }

  /** The embedded broker's URL, once it listens: the base stations publish there and the daemon subscribes there. */
  useEmbeddedBroker(url: string): void {
    this.brokerUrl = url;
    for (const d of this.devices) if (d.spec.telemetry) d.spec.telemetry.url = url;
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop()));
  }

  device(name: string): SimDevice | undefined {
    return this.devices.find((d) => d.spec.name === name);
  }

  /** SNMP targets for every simulated device (call after `start`: ports are known then). */
  targets(): SnmpTargetConfig[] {
    return this.devices.map((d) => ({
      name: d.spec.name,
      element: d.spec.name,
      host: this.cfg.host,
      port: d.port,
      version: '2c',
      community: d.spec.community ?? 'public',
      interval: this.cfg.interval,
      profiles: d.spec.kind === 'base-station' ? ['system', 'lte-cell'] : ['system', 'if-mib'],
      // An OLT's PON ports are elements: each reports its own health from its ifTable row.
      ...(d.spec.kind === 'olt' && { rowElements: { interface: '{ifAlias}' } }),
      tags: { sim: 'true' },
    }));
  }

  /**
   * The broker the simulated base stations publish to, with the subscriptions that map their
   * telemetry (measurement `lte_cell`, tag `source=mqtt`), their backhaul probe (measurement
   * `ping`, Telegraf's field names) and their presence; none without `sim.mqtt`.
   */
  brokers(): MqttBrokerConfig[] {
    const m = this.cfg.mqtt;
    const url = this.brokerUrl ?? m.url;
    if (!url) return [];
    const at = m.prefix.split('/').length; // topic level of the station name
    const staleAfter = Math.max(1000, m.interval * 3);
    return [mqttBroker.parse({
      name: 'sim', url, clientId: 'netpulse-sim-subscriber',
      // aedes, the embedded broker, speaks MQTT 3.1.1.
      ...(this.brokerUrl && { protocolVersion: 4 }),
      subscriptions: [{
        topic: `${m.prefix}/+/cell/+`, format: 'json', element: `{${at}}`, measurement: 'lte_cell',
        tags: { cell_name: `{${at}}-C{${at + 2}}`, source: 'mqtt', sim: 'true' },
        fields: {
          rsrp_dbm: '$.rsrp_dbm', rsrq_db: '$.rsrq_db', sinr_db: '$.sinr_db',
          connected_users: { path: '$.connected_users', type: 'int' }, prb_utilization: { path: '$.prb_utilization', type: 'int' },
        },
        time: '$.ts', staleAfter,
      }, {
        topic: `${m.prefix}/+/backhaul`, format: 'json', element: `{${at}}`, measurement: 'ping',
        tags: { url: `{${at}}-backhaul`, source: 'mqtt', sim: 'true' },
        fields: { average_response_ms: '$.rtt_ms', percent_packet_loss: '$.loss_percent' },
        time: '$.ts', staleAfter,
      }],
      presence: { topic: `${m.prefix}/presence/+`, element: `{${at + 1}}` },
    })];
  }

  /**
   * The simulated network's topology: a core (not polled; or `sim.uplink`) above the switches;
   * base stations and OLTs spread over the switches (round robin), each with its cells or PON
   * ports below it. Each switch has a region of `sim.regions` in turn, passed down to what hangs below.
   */
  elements(): Element[] {
    if (this.placed) return this.placed;
    const up = this.cfg.uplink ?? 'SIM-CORE';
    const regions = this.cfg.regions;
    const geo = new SimGeography(regions.length);
    const where = new Map<string, { lat: number; lon: number }>();
    const switches = this.devices.filter((d) => d.spec.kind === 'switch');
    const out: Element[] = this.cfg.uplink ? [] : [{ id: 'SIM-CORE', kind: 'core', site: 'sim-core', region: regions[0], parents: [], ...geo.hub(0) }];
    switches.forEach((sw, i) => {
      where.set(sw.spec.name, geo.hub(i % regions.length));
      out.push({ id: sw.spec.name, kind: 'aggregation', site: `${sw.spec.name}-site`, region: regions[i % regions.length], parents: [up], ...where.get(sw.spec.name) });
    });
    const hang = (i: number) => (switches.length > 0 ? { parent: switches[i % switches.length].spec.name, region: regions[(i % switches.length) % regions.length] } : { parent: up, region: regions[0] });
    const near = (parent: string, region: string) => geo.near(where.get(parent) ?? geo.hub(regions.indexOf(region)));
    this.devices.filter((d) => d.spec.kind === 'base-station').forEach((bs, i) => {
      const { parent, region } = hang(i);
      const at = near(parent, region);
      out.push({ id: bs.spec.name, kind: 'base_station', site: `${bs.spec.name}-site`, region, parents: [parent], ...at });
      for (let c = 1; c <= bs.spec.rows; c++) out.push({ id: `${bs.spec.name}-C${c}`, kind: 'cell', site: `${bs.spec.name}-site`, region, parents: [bs.spec.name], ...at });
    });
    this.devices.filter((d) => d.spec.kind === 'olt').forEach((olt, i) => {
      const { parent, region } = hang(i);
      const at = near(parent, region);
      out.push({ id: olt.spec.name, kind: 'olt', site: `${olt.spec.name}-site`, region, parents: [parent], ...at });
      for (let p = 1; p <= olt.spec.rows; p++) out.push({ id: `${olt.spec.name}-P${pad(p, 2)}`, kind: 'access', site: `${olt.spec.name}-site`, region, parents: [olt.spec.name], ...at });
    });
    // The generated fleet: hubs in the regions in turn, their sites around them.
    const f = this.cfg.fleet;
    const width = Math.max(5, String(f.sites).length);
    for (let i = 0; i < f.sites; i++) {
      const h = Math.floor(i / f.sitesPerHub);
      const hub = `SIM-AGG-${pad(h + 1, 4)}`;
      const region = regions[h % regions.length];
      if (i % f.sitesPerHub === 0) {
        where.set(hub, geo.hub(h % regions.length));
        out.push({ id: hub, kind: 'aggregation', site: `${hub}-site`, region, parents: [up], ...where.get(hub) });
      }
      const bs = `SIM-FS-${pad(i + 1, width)}`;
      const at = geo.near(where.get(hub)!, 30);
      out.push({ id: bs, kind: 'base_station', site: `${bs}-site`, region, parents: [hub], ...at });
      for (let c = 1; c <= this.cfg.cellsPerBaseStation; c++) out.push({ id: `${bs}-C${c}`, kind: 'cell', site: `${bs}-site`, region, parents: [bs], ...at });
    }
    this.placed = out;
    this.fleet.adopt(out.filter((e) => e.id.startsWith('SIM-AGG-') || e.id.startsWith('SIM-FS-')));
    return out;
  }

}
