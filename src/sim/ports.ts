import { createSocket, type Socket } from 'node:dgram';

/**
 * The UDP port of one simulated device, held for as long as the process runs: bound once on port
 * 0 (the kernel picks it, so no other process can race for it), lent to the device's SNMP agent
 * while the device is on, and still held while it is off, dropping what it is sent as a dead
 * device would. A device switched back on therefore always gets its port back: no other socket
 * (an SNMP session's, a server another test starts) can take the port in between.
 */
export class HeldUdpPort {
  private readonly host: string;
  private socket: Socket | undefined;

  constructor(host: string) {
    this.host = host;
  }

  /** The port, once bound. */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  /** Binds the port on the first call; the same port after. */
  async bind(): Promise<number> {
    if (this.socket) return this.port;
    const s = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, this.host, () => { s.off('error', reject); resolve(); });
    });
    // Errors while no agent listens would only be about datagrams nobody answers.
    s.on('error', () => {});
    this.socket = s;
    return this.port;
  }

  /**
   * A `dgramModule` for net-snmp's agent: the one socket it creates is this port, already bound.
   * Closing it (`agent.close`) only takes the agent's listeners off: the port stays held, and a
   * held port nobody listens on does not keep the process alive.
   */
  lend(): { createSocket(): LentSocket } {
    const socket = this.socket;
    if (!socket) throw new Error('bind the port before lending it');
    return { createSocket: () => new LentSocket(socket) };
  }
}

/** The part of a dgram socket net-snmp's agent uses, over a socket it does not own. */
class LentSocket {
  private readonly socket: Socket;
  private readonly listeners: [string, (...args: any[]) => void][] = [];
  private open = true;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.ref();
  }

  on(event: string, listener: (...args: any[]) => void): this {
    this.socket.on(event, listener);
    this.listeners.push([event, listener]);
    return this;
  }

  bind(): void {
    // Bound already, by its HeldUdpPort.
  }

  address() {
    return this.socket.address();
  }

  send(...args: any[]): void {
    if (this.open) (this.socket.send as (...a: any[]) => void)(...args); // switched off: no late answers
  }

  close(callback?: () => void): void {
    this.open = false;
    for (const [event, listener] of this.listeners.splice(0)) this.socket.off(event, listener);
    this.socket.unref();
    if (callback) setImmediate(callback);
  }
}
