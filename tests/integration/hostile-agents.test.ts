import { describe, it, expect, afterEach, vi } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { SimDevice } from '../../src/sim/device.ts';
import { SnmpCollector } from '../../collectors/snmp/collector.ts';
import { loadProfiles } from '../../collectors/snmp/profile.ts';
import { netSnmpSessionFactory, resolveTarget } from '../../collectors/snmp/session.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { memoryLogger } from '../fakes/logger.ts';
import type { Sample } from '../../src/sample.ts';

type Mangle = (response: Buffer) => Buffer;

/** A UDP proxy in front of a real agent that mangles every response on its way back. */
async function manglingProxy(agentPort: number, mangle: Mangle): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket('udp4');
  const upstream = createSocket('udp4');
  let client: { address: string; port: number } | undefined;
  socket.on('message', (msg, rinfo) => { client = rinfo; upstream.send(msg, agentPort, '127.0.0.1'); });
  upstream.on('message', (msg) => { if (client) socket.send(mangle(msg), client.port, client.address); });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.on('close', () => upstream.close());
  return { port: socket.address().port, socket };
}

const MANGLERS: Record<string, Mangle> = {
  garbage: (b) => Buffer.from(b.map((_, i) => (i * 97 + 13) & 0xff)),
  truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
  empty: () => Buffer.alloc(0),
};

describe('hostile and broken agents', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => { for (const c of cleanup.splice(0)) await c(); });

  it('turns garbage, truncated and empty responses into error samples while healthy targets carry on', async () => {
    const healthy = new SimDevice({ name: 'GOOD', kind: 'base-station', rows: 3 });
    const victim = new SimDevice({ name: 'VICTIM', kind: 'base-station', rows: 3 });
    await healthy.start();
    await victim.start();
    cleanup.push(() => healthy.stop(), () => victim.stop());
    const defaults = { ...parseConfigText('', {}).config!.snmp.defaults, interval: 200, timeout: 150, retries: 0 };
    const targets = [resolveTarget({ name: 'GOOD', host: '127.0.0.1', port: healthy.port, profiles: ['system', 'lte-cell'], tags: {} }, defaults)];
    for (const [mode, mangle] of Object.entries(MANGLERS)) {
      const proxy = await manglingProxy(victim.port, mangle);
      cleanup.push(() => proxy.socket.close());
      targets.push(resolveTarget({ name: mode, host: '127.0.0.1', port: proxy.port, profiles: ['system', 'lte-cell'], tags: {} }, defaults));
    }
    const { logger, lines: logs } = memoryLogger();
    const collector = new SnmpCollector({ targets, profiles: loadProfiles(), concurrency: 8, sessionFactory: netSnmpSessionFactory, logger });
    const got: Sample[] = [];
    await collector.start(async (b) => { got.push(...b); });
    cleanup.push(() => collector.stop());

    await vi.waitFor(() => {
      for (const name of ['garbage', 'truncated', 'empty']) {
        expect(got.filter((s) => s.measurement === 'reachability' && s.element === name).length).toBeGreaterThanOrEqual(3);
      }
      expect(got.filter((s) => s.element === 'GOOD' && s.measurement === 'lte_cell').length).toBeGreaterThanOrEqual(9);
    }, { timeout: 15_000, interval: 100 });

    for (const name of ['garbage', 'truncated', 'empty']) {
      const reach = got.filter((s) => s.measurement === 'reachability' && s.element === name);
      expect(reach.every((s) => s.fields.up === false && typeof s.fields.error === 'string')).toBe(true);
      // One line when the target starts failing, not one per poll.
      expect(logs.filter((l) => l.msg === 'snmp target not answering' && l.target === name).length).toBe(1);
    }
    // Undecodable datagrams are named, rate-limited per target.
    const garbled = logs.filter((l) => l.msg === 'snmp value problem' && l.oid === 'datagram');
    expect(garbled.length).toBeGreaterThan(0);
    expect(new Set(garbled.map((l) => l.target)).size).toBe(garbled.length);
    expect(got.filter((s) => s.element === 'GOOD' && s.measurement === 'reachability').every((s) => s.fields.up === true)).toBe(true);
  });
});
