import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

/**
 * An MQTT broker inside the daemon (aedes, in memory), for the demo: the simulated base stations
 * publish to it and the daemon subscribes through the same MQTT collector it uses with a real
 * broker. Not for production: nothing survives a restart, and nothing is authenticated.
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;

  /** Listens on host:port (0: a free port); returns the broker's URL. */
  async start(host: string, port: number): Promise<string> {
    this.broker = await Aedes.createBroker();
    this.server = createServer(this.broker.handle);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return `mqtt://${host}:${(server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    await new Promise<void>((r) => (broker ? broker.close(() => r()) : r()));
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
}
