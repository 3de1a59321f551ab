import { describe, it, expect, afterEach, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dgram from 'node:dgram';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/temp.ts';
import { v2cTrap } from '../helpers/snmp-wire.ts';
import { FakeSession, T } from '../fakes/snmp-session.ts';
import type { TrapCollector } from '../../collectors/traps/collector.ts';
import type { SnmpSession } from '../../collectors/snmp/session.ts';

// Which link a trap's condition is about, and which poll can end it: the element's own ports, a
// parent's port it hangs off (named with that parent), polls that read one device's ports only.
// The agents are fakes (each poll reads the ports as they are when it starts, after `delayMs`);
// the traps go over loopback UDP to the daemon's real receiver.

const LINK_DOWN = '1.3.6.1.6.3.1.1.5.3';
const LINK_UP = '1.3.6.1.6.3.1.1.5.4';

/** ifOperStatus per device and port (1 up, 2 down), read by the fake agents at each poll. */
type Ports = Record<string, Record<number, number>>;

function agents(ports: Ports, delayMs = 0): { factory: (t: { name: string }) => SnmpSession; polls: Record<string, number> } {
  const polls: Record<string, number> = {};
  const snapshot = (device: string) => {
    const v: Record<string, [number, unknown]> = { '1.3.6.1.2.1.1.5.0': [T.OctetString, device], '1.3.6.1.2.1.1.3.0': [T.TimeTicks, 1000] };
    for (const [i, status] of Object.entries(ports[device] ?? {})) {
      v[`1.3.6.1.2.1.2.2.1.2.${i}`] = [T.OctetString, `eth${i}`];
      v[`1.3.6.1.2.1.2.2.1.8.${i}`] = [T.Integer, status];
    }
    return new FakeSession(v);
  };
  const factory = (t: { name: string }): SnmpSession => {
    let current: FakeSession | undefined;
    return {
      // A poll's first request takes the snapshot the rest of it reads.
      get: async (oids) => {
        current = snapshot(t.name);
        polls[t.name] = (polls[t.name] ?? 0) + 1;
        const r = await current.get(oids);
        if (delayMs) await new Promise((res) => setTimeout(res, delayMs));
        return r;
      },
      getBulk: async (oids, n) => (current ?? snapshot(t.name)).getBulk(oids, n),
      close() {},
    } as SnmpSession;
  };
  return { factory, polls };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(topology: string, devices: string[], ports: Ports, o: { intervalS?: number; delayMs?: number } = {}) {
  const dir = tempDir('traps-links');
  writeFileSync(join(dir, 'topology.yaml'), topology);
  const sources = devices.map((d, i) => ({ address: `127.0.0.${i + 2}`, element: d }));
  const { factory, polls } = agents(ports, o.delayMs);
  const { daemon, logs } = testDaemon({
    topology: { file: join(dir, 'topology.yaml') },
    traps: { enabled: true, address: '127.0.0.1', port: 0, communities: ['public'], sources },
    snmp: { defaults: { timeout: '2s', retries: 0, interval: `${o.intervalS ?? 600}s` }, targets: devices.map((d) => ({ name: d, element: d, host: `10.99.0.${devices.indexOf(d) + 2}`, port: 1161, profiles: ['system', 'if-mib'] })) },
  }, { snmpSession: factory as never });
  await daemon.start();
  cleanups.push(() => daemon.stop());
  const traps = daemon.collectors.find((c) => c.name === 'traps') as TrapCollector;
  const sockets = new Map<string, dgram.Socket>();
  for (const s of sources) {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, s.address, () => r()));
    sockets.set(s.element, sock);
    cleanups.push(() => { sock.close(); });
  }
  const accepted = () => traps.stats.accepted;
  const send = async (from: string, trapOid: string, ifIndex: number) => {
    const before = accepted();
    await new Promise<void>((r) => sockets.get(from)!.send(v2cTrap({ community: 'public', trapOid, vbs: [{ oid: `1.3.6.1.2.1.2.2.1.1.${ifIndex}`, v: { type: 'int', value: ifIndex } }] as never }), traps.address!.port, '127.0.0.1', () => r()));
    await vi.waitFor(() => expect(accepted()).toBe(before + 1), { timeout: 5_000, interval: 10 });
  };
  const held = (element: string) => traps.conditions.active(element).map((c) => c.condition);
  const confirmations = () => logs.filter((l) => l.msg === 'trap confirmed by an out-of-cycle poll');
  return { daemon, traps, send, held, polls, confirmations, topologyFile: join(dir, 'topology.yaml') };
}

describe('link conditions and the polls that end them', () => {
  it('an element held by two links (its own port and its parent\'s) is freed by the polls that read each up, the clears lost', async () => {
    const ports: Ports = { 'SW-P': { 5: 2 }, 'BS-C': { 2: 2 } };
    const h = await harness('elements:\n  - { id: SW-P, kind: aggregation }\n  - { id: BS-C, kind: base_station, parents: [SW-P], uplink: { ifIndex: 2, parentIfIndex: 5 } }\n', ['SW-P', 'BS-C'], ports, { intervalS: 1 });
    await h.send('SW-P', LINK_DOWN, 5);
    await h.send('BS-C', LINK_DOWN, 2);
    expect(h.held('BS-C').sort()).toEqual(['if:2', 'if:5@SW-P']);
    ports['SW-P'][5] = 1;
    ports['BS-C'][2] = 1; // the link is back; both linkUps lost
    await vi.waitFor(() => expect(h.traps.holds('BS-C')).toBe(false), { timeout: 10_000, interval: 50 });
    expect(h.held('BS-C')).toEqual([]);
  });

  it('a child\'s own port and its parent\'s port with the same ifIndex are two links: the parent\'s port up does not free the child\'s', async () => {
    const ports: Ports = { 'SW-P': { 1: 1 }, 'BS-C': { 1: 2 } };
    const h = await harness('elements:\n  - { id: SW-P, kind: aggregation }\n  - { id: BS-C, kind: base_station, parents: [SW-P], uplink: { ifIndex: 1, parentIfIndex: 1 } }\n', ['SW-P', 'BS-C'], ports, { intervalS: 1 });
    await h.send('BS-C', LINK_DOWN, 1);
    expect(h.held('BS-C')).toEqual(['if:1']);
    const parentPolls = h.polls['SW-P'] ?? 0;
    await vi.waitFor(() => expect(h.polls['SW-P']).toBeGreaterThan(parentPolls + 1), { timeout: 10_000, interval: 50 });
    expect(h.held('BS-C')).toEqual(['if:1']);
    ports['BS-C'][1] = 1;
    await vi.waitFor(() => expect(h.held('BS-C')).toEqual([]), { timeout: 10_000, interval: 50 });
  });

  it('a dual-homed child hangs off the port of the parent its uplink names: the other parent\'s port of that number neither holds nor frees it', async () => {
    const ports: Ports = { AGG: { 5: 2 }, CORE: { 5: 1 } };
    const h = await harness('elements:\n  - { id: CORE, kind: core }\n  - { id: AGG, kind: aggregation, parents: [CORE] }\n  - { id: BS, kind: base_station, parents: [CORE, AGG], uplink: { parentIfIndex: 5, parent: AGG } }\n', ['AGG', 'CORE'], ports, { intervalS: 1 });
    await h.send('CORE', LINK_DOWN, 5); // CORE's port 5 is not BS's link
    expect(h.held('BS')).toEqual([]);
    await h.send('AGG', LINK_DOWN, 5);
    expect(h.held('BS')).toEqual(['if:5@AGG']);
    const corePolls = h.polls.CORE ?? 0;
    await vi.waitFor(() => expect(h.polls.CORE).toBeGreaterThan(corePolls + 1), { timeout: 10_000, interval: 50 });
    expect(h.held('BS')).toEqual(['if:5@AGG']);
    ports.AGG[5] = 1;
    await vi.waitFor(() => expect(h.held('BS')).toEqual([]), { timeout: 10_000, interval: 50 });
  });

  it('a condition names its port: a topology reload that moves the uplink still lets a poll that reads the old port up end it', async () => {
    const ports: Ports = { SW: { 3: 2, 4: 1 } };
    const h = await harness('elements:\n  - { id: SW, kind: aggregation, uplink: { ifIndex: 3 } }\n', ['SW'], ports, { intervalS: 1 });
    await h.send('SW', LINK_DOWN, 3);
    expect(h.held('SW')).toEqual(['if:3']);
    writeFileSync(h.topologyFile, 'elements:\n  - { id: SW, kind: aggregation, uplink: { ifIndex: 4 } }\n');
    expect(await h.daemon.reloadTopology()).toBe(1);
    ports.SW[3] = 1;
    await vi.waitFor(() => expect(h.traps.holds('SW')).toBe(false), { timeout: 10_000, interval: 50 });
  });

  it('a link that flaps while a poll is under way: the linkUp\'s confirming poll starts after it, reads the port up, and the linkUp stands', async () => {
    const ports: Ports = { SW: { 3: 1 } };
    const h = await harness('elements:\n  - { id: SW, kind: aggregation, uplink: { ifIndex: 3 } }\n', ['SW'], ports, { delayMs: 300 });
    ports.SW[3] = 2;
    await h.send('SW', LINK_DOWN, 3); // its confirming poll starts now and reads the port down
    ports.SW[3] = 1;
    await h.send('SW', LINK_UP, 3); // back 100 ms later, while that poll is still under way
    await vi.waitFor(() => expect(h.confirmations()).toHaveLength(2), { timeout: 10_000, interval: 20 });
    expect(h.confirmations().find((l) => String(l.trap).startsWith('linkUp'))).toMatchObject({ answered: true, contradicted: false });
    expect(h.held('SW')).toEqual([]);
    expect(h.traps.holds('SW')).toBe(false);
  });
});
