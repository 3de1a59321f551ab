import { createServer, connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A TCP relay between netpulse and the broker that reads the MQTT packets going each way (what
 * the broker sees), and whose connections a test can cut. `unacked` is QoS 1 PUBLISHes delivered to netpulse and not yet PUBACKed,
 * `worst` the most it ever was, measured at each packet (not sampled).
 */
export async function watchedLink(target: number) {
  /** `closed` connections so far; `unackedAtClose`: what the last of them left unacknowledged (what the broker must send again). */
  const state = { delivered: 0, acked: 0, worst: 0, unacked: 0, duplicates: 0, connections: 0, closed: 0, unackedAtClose: 0, deliveredAtAck: [] as number[] };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    state.connections++;
    state.unacked = 0; // a new session: what the last one left unacknowledged comes again, counted anew
    const down = mqttPacket.parser({ protocolVersion: 5 });
    const up = mqttPacket.parser({ protocolVersion: 5 });
    down.on('packet', (p) => {
      if (p.cmd === 'connack' || p.cmd !== 'publish' || p.qos !== 1) return;
      state.delivered++;
      if (p.dup) state.duplicates++;
      state.unacked++;
      state.worst = Math.max(state.worst, state.unacked);
    });
    up.on('packet', (p) => {
      if (p.cmd !== 'puback') return;
      state.acked++;
      state.unacked--;
      state.deliveredAtAck.push(state.delivered); // how far delivery had got when this PUBACK passed
    });
    upstream.on('data', (b) => down.parse(b));
    client.on('data', (b) => up.parse(b));
    client.once('close', () => {
      state.closed++;
      state.unackedAtClose = state.unacked;
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    state, port: (server.address() as { port: number }).port,
    /** Cuts every connection through it, as a network would (new ones are relayed again). */
    cut: () => { for (const s of sockets) s.destroy(); },
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

