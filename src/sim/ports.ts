import { createSocket } from 'node:dgram';

/** A UDP port free on `host` right now (the kernel picks it), for agents that cannot bind port 0. */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
