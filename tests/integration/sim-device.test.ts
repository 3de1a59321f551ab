import { describe, it, expect } from 'vitest';
import { createSocket } from 'node:dgram';
import snmp from 'net-snmp';
import { SimDevice } from '../../src/sim/device.ts';

/** sysUpTime from the agent on `port`, or the error its one try ended in. */
function sysUpTime(port: number): Promise<number | Error> {
  const session = snmp.createSession('127.0.0.1', 'public', { port, version: snmp.Version2c, timeout: 300, retries: 0 });
  return new Promise((resolve) => session.get(['1.3.6.1.2.1.1.3.0'], (err, varbinds) => {
    session.close();
    resolve(err ?? (varbinds![0].value as number));
  }));
}

/** Whether another socket can bind `port` on loopback now. */
function bindable(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('a simulated device switched off and on', () => {
  it('keeps its port while off (unanswered, but nobody else can take it) and answers on it again once on', async () => {
    const device = new SimDevice({ name: 'SW', kind: 'switch', rows: 2 });
    const port = await device.start();
    try {
      expect(port).toBeGreaterThan(0);
      expect(typeof await sysUpTime(port)).toBe('number');
      await device.stop();
      expect(await sysUpTime(port)).toMatchObject({ name: 'RequestTimedOutError' });
      expect(await bindable(port)).toBe(false);
      expect(await device.start()).toBe(port);
      expect(device.port).toBe(port);
      expect(typeof await sysUpTime(port)).toBe('number');
    } finally {
      await device.stop();
    }
  });
});
