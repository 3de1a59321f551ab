import snmp from 'net-snmp';
import type { AddressInfo } from 'node:net';
import { freeUdpPort } from './ports.ts';
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
 * One simulated SNMP agent (net-snmp's own agent) on a loopback UDP port. `stop` closes the
 * socket, so polls time out as they would on a dead device; `start` brings it back on the same
 * port with a fresh boot time (sysUpTime restarts, as after a real reboot).
 */
export class SimDevice {
  readonly spec: DeviceSpec;
  readonly state: DeviceState;
  port = 0;
  private agent: any;
  private readonly clock: SimClock;
  private readonly host: string;
  private telemetry: SimTelemetry | undefined;

  constructor(spec: DeviceSpec, host = '127.0.0.1', clock: SimClock = { now: Date.now }) {
    this.spec = spec;
    this.host = host;
    this.clock = clock;
    this.state = { name: spec.name, bootTime: clock.now(), downRows: new Set(), radioOffsetDb: 0, cellOffsetDb: new Map(), link: { extraRttMs: 0, lossPercent: 0 } };
  }

  get running(): boolean {
    return this.agent !== undefined;
  }

  async start(): Promise<number> {
    if (this.agent) return this.port;
    this.state.bootTime = this.clock.now();
    if (this.port === 0) this.port = await freeUdpPort(this.host);
    const mib = this.spec.kind === 'base-station'
      ? baseStationMib(this.state, this.spec.rows, this.clock)
      : switchMib(this.state, this.spec.kind === 'olt' ? this.spec.rows + 1 : this.spec.rows, this.clock, this.spec.kind === 'olt');
    const agent = snmp.createAgent({ port: this.port, address: this.host, disableAuthorization: false }, () => {}, mib);
    agent.getAuthorizer().addCommunity(this.spec.community ?? 'public');
    const socket: any = Object.values(agent.listener.sockets)[0];
    await new Promise<void>((resolve, reject) => {
      socket.once('listening', resolve);
      socket.once('error', reject);
    });
    this.port = (socket.address() as AddressInfo).port;
    this.agent = agent;
    if (this.spec.telemetry && this.spec.kind === 'base-station') {
      this.telemetry = new SimTelemetry(this.state, { ...this.spec.telemetry, cells: this.spec.rows }, this.clock);
      this.telemetry.start();
    }
    return this.port;
  }

  async stop(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    this.telemetry?.stop();
    this.telemetry = undefined;
    if (agent) await new Promise<void>((resolve) => agent.close(() => resolve()));
  }
}
