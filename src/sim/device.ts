import snmp from 'net-snmp';
import { HeldUdpPort } from './ports.ts';
import { switchMib, baseStationMib, type DeviceState, type SimClock } from './mib.ts';
import { SimTelemetry, type TelemetryOptions } from './telemetry.ts';

export type DeviceKind = 'switch' | 'olt' | 'base-station';

export interface DeviceSpec {
  name: string;
  kind: DeviceKind;
  /** Ports for a switch, PON ports (plus the uplink) for an OLT, cells for a base station. */
  rows: number;
  community?: string;
  /** Base stations: also publish MQTT telemetry. */
  telemetry?: Omit<TelemetryOptions, 'cells'>;
}

/**
 * One simulated SNMP agent (net-snmp's own agent) on a loopback UDP port. `stop` closes the agent,
 * so polls time out as they would on a dead device; `start` brings it back on the same port with a
 * fresh boot time (sysUpTime restarts, as after a real reboot). The port stays the device's while
 * it is off (see HeldUdpPort), so a restart never finds it taken.
 */
export class SimDevice {
  readonly spec: DeviceSpec;
  readonly state: DeviceState;
  private readonly held: HeldUdpPort;
  private agent: any;
  private readonly clock: SimClock;
  private readonly host: string;
  private telemetry: SimTelemetry | undefined;

  constructor(spec: DeviceSpec, host = '127.0.0.1', clock: SimClock = { now: Date.now }) {
    this.spec = spec;
    this.host = host;
    this.held = new HeldUdpPort(host);
    this.clock = clock;
    this.state = { name: spec.name, bootTime: clock.now(), downRows: new Set(), radioOffsetDb: 0, cellOffsetDb: new Map(), link: { extraRttMs: 0, lossPercent: 0 } };
  }

  /** The device's UDP port (0 before its first start). */
  get port(): number {
    return this.held.port;
  }

  get running(): boolean {
    return this.agent !== undefined;
  }

  async start(): Promise<number> {
    if (this.agent) return this.port;
    this.state.bootTime = this.clock.now();
    const port = await this.held.bind();
    const mib = this.spec.kind === 'base-station'
      ? baseStationMib(this.state, this.spec.rows, this.clock)
      : switchMib(this.state, this.spec.kind === 'olt' ? this.spec.rows + 1 : this.spec.rows, this.clock, this.spec.kind === 'olt');
    const agent = snmp.createAgent({ port, address: this.host, disableAuthorization: false, dgramModule: this.held.lend() }, () => {}, mib);
    agent.getAuthorizer().addCommunity(this.spec.community ?? 'public');
    this.agent = agent;
    if (this.spec.telemetry && this.spec.kind === 'base-station') {
      this.telemetry = new SimTelemetry(this.state, { ...this.spec.telemetry, cells: this.spec.rows }, this.clock);
      this.telemetry.start();
    }
    return port;
  }

  async stop(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    this.telemetry?.stop();
    this.telemetry = undefined;
    if (agent) await new Promise<void>((resolve) => agent.close(() => resolve()));
  }
}
