import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnect } from '../../collectors/mqtt/connect.ts';
import { cellRadio, backhaul, type DeviceState, type SimClock } from './mib.ts';

export interface TelemetryOptions {
  url: string;
  prefix: string;
  intervalMs: number;
  cells: number;
  /** Opens the connection (default `connectMqtt`). */
  connect?: MqttConnect;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * A simulated base station's MQTT agent: announces itself "online" (retained) with an "offline"
 * last will, and publishes one JSON message per cell every interval at QoS 1:
 * `<prefix>/<station>/cell/<n>` `{"rsrp_dbm":-91.2,"rsrq_db":-9.1,"sinr_db":14.3,"connected_users":87,
 * "prb_utilization":55,"oper_status":"up","ts":1700000000000}`, and its backhaul probe's figures,
 * `<prefix>/<station>/backhaul` `{"rtt_ms":7.2,"loss_percent":0,"ts":...}`. `stop` drops the connection without a
 * DISCONNECT, so the broker publishes the will, as when a real station dies.
 */
export class SimTelemetry {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly state: DeviceState;
  private readonly o: TelemetryOptions;
  private readonly clock: SimClock;

  constructor(state: DeviceState, o: TelemetryOptions, clock: SimClock) {
    this.state = state;
    this.o = o;
    this.clock = clock;
  }

  static presenceTopic(prefix: string, station: string): string {
    return `${prefix}/presence/${station}`;
  }

  start(): void {
    if (this.client) return;
    const presence = SimTelemetry.presenceTopic(this.o.prefix, this.state.name);
    const client = (this.o.connect ?? connectMqtt)({
      url: this.o.url, clientId: `sim-${this.state.name}`, reconnectPeriodMs: 1000,
      will: { topic: presence, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    client.on('error', () => { /* the simulator retries quietly */ });
    client.on('connect', () => { client.publish(presence, 'online', { qos: 1, retain: true }); });
    this.client = client;
    this.timer = setInterval(() => this.publish(), this.o.intervalMs);
    this.timer.unref();
  }

  private publish(): void {
    const c = this.client;
    if (!c?.connected) return;
    const ts = this.clock.now();
    // Presence again every round: after a quick restart the broker may publish the old
    // connection's will ("offline") after this connection's "online"; the next round corrects it.
    c.publish(SimTelemetry.presenceTopic(this.o.prefix, this.state.name), 'online', { qos: 1, retain: true });
    this.publishBackhaul(c, ts);
    for (let cell = 1; cell <= this.o.cells; cell++) {
      const r = cellRadio(this.state, cell, this.clock);
      if (!r.up) continue; // a cell that is down sends nothing
      c.publish(`${this.o.prefix}/${this.state.name}/cell/${cell}`, JSON.stringify({
        rsrp_dbm: round1(r.rsrp), rsrq_db: round1(r.rsrq), sinr_db: round1(r.sinr), connected_users: r.users,
        prb_utilization: r.prb, oper_status: 'up', ts,
      }), { qos: 1 });
    }
  }

  private publishBackhaul(c: MqttClient, ts: number): void {
    const b = backhaul(this.state, this.clock);
    c.publish(`${this.o.prefix}/${this.state.name}/backhaul`, JSON.stringify({ rtt_ms: round1(b.rttMs), loss_percent: round1(b.lossPercent), ts }), { qos: 1 });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    c?.end(true);
    c?.stream?.destroy();
  }
}
