import { SimDevice, type DeviceSpec } from './device.ts';
import type { Config, SnmpTargetConfig } from '../config/schema.ts';

/**
 * The built-in simulated network: switches and base stations as SNMP agents on loopback. The
 * daemon polls it through the same collector as real devices; it only adds targets.
 */
export class SimNetwork {
  readonly devices: SimDevice[];
  private readonly cfg: Config['sim'];

  constructor(cfg: Config['sim']) {
    this.cfg = cfg;
    const specs: DeviceSpec[] = [];
    for (let i = 1; i <= cfg.switches; i++) specs.push({ name: `SIM-SW-${String(i).padStart(3, '0')}`, kind: 'switch', rows: cfg.portsPerSwitch });
    for (let i = 1; i <= cfg.baseStations; i++) specs.push({ name: `SIM-BS-${String(i).padStart(4, '0')}`, kind: 'base-station', rows: cfg.cellsPerBaseStation });
    this.devices = specs.map((s) => new SimDevice(s, cfg.host));
  }

  async start(): Promise<void> {
    for (const d of this.devices) await d.start();
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
      profiles: d.spec.kind === 'switch' ? ['system', 'if-mib'] : ['system', 'lte-cell'],
      tags: { sim: 'true' },
    }));
  }
}
