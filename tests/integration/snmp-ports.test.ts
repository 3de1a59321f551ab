import { describe, it, expect, afterEach, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken } from '../../src/api/auth.ts';
import type { OutageEvent } from '../../correlators/outages/outage.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/temp.ts';
import { ip, quietly, startNamespacedSnmpd, testCleanups } from '../helpers/netns.ts';

// Issue 23, "ports that report": an OLT's ports are elements of the topology, and the SNMP profile's
// table rows are mapped to them (`rowElements: { interface: '{element}-{ifName}' }`), so a port's
// ifOperStatus is its health. The device is Debian's snmpd in a network namespace of the test's own,
// its ports two veths whose host ends the test takes down and up (pulling a fibre). Traffic goes
// only to the namespace and to the host ends of its veths.

const ADMIN = 'admin-token-0123456789abcdef';
const OLT = 'OLT-NS';

/** A namespace with a management link (a /30) and two ports: veths whose namespace ends are the device's ports. */
function oltNetwork() {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const ns = `npo-${id}`;
  const mgmtHost = `npom${id}`, mgmtDevice = `npon${id}`;
  const ports = [1, 2].map((n) => ({ hostEnd: `npo${n}h${id}`, deviceEnd: `pon${n}x${id}` }));
  const base = `10.216.${1 + Math.floor(Math.random() * 250)}`;
  const block = 4 * Math.floor(Math.random() * 63);
  const hostIp = `${base}.${block + 1}`, deviceIp = `${base}.${block + 2}`;
  const close = () => {
    quietly(() => ip('netns', 'del', ns));
    quietly(() => ip('link', 'del', mgmtHost));
    for (const p of ports) quietly(() => ip('link', 'del', p.hostEnd));
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', mgmtHost, 'type', 'veth', 'peer', 'name', mgmtDevice);
    ip('link', 'set', mgmtDevice, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', mgmtHost);
    ip('link', 'set', mgmtHost, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${deviceIp}/30`, 'dev', mgmtDevice);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', mgmtDevice, 'up');
    for (const p of ports) {
      ip('link', 'add', p.hostEnd, 'type', 'veth', 'peer', 'name', p.deviceEnd);
      ip('link', 'set', p.deviceEnd, 'netns', ns);
      ip('link', 'set', p.hostEnd, 'up');
      ip('netns', 'exec', ns, 'ip', 'link', 'set', p.deviceEnd, 'up');
    }
    return { ns, deviceIp, ports, close };
  } catch (err) {
    close();
    throw err;
  }
}

function startSnmpd(ns: string, deviceIp: string, dir: string) {
  writeFileSync(join(dir, 'snmpd.conf'), `agentAddress udp:${deviceIp}:161\nrocommunity public\nsysName netpulse-ns-olt\n`);
  return startNamespacedSnmpd(ns, dir);
}

const cleanups = testCleanups();
afterEach(() => cleanups.run());

describe('ports that report: table rows mapped to topology elements (snmpd in a namespace)', () => {
  it('a port whose fibre is pulled goes down by its own ifOperStatus and opens an outage with the subscribers behind it; its neighbour and the OLT stay up', async () => {
    const net = oltNetwork();
    cleanups.network(net.close);
    const dir = tempDir('snmp-ports');
    const [p1, p2] = net.ports.map((p) => `${OLT}-${p.deviceEnd}`);
    writeFileSync(join(dir, 'topology.yaml'), [
      'elements:',
      `  - { id: ${OLT}, kind: olt, site: central-1, region: north }`,
      `  - { id: ${p1}, kind: access, site: central-1, region: north, parents: [${OLT}] }`,
      `  - { id: ${p2}, kind: access, site: central-1, region: north, parents: [${OLT}] }`,
      // A row that names nothing in the topology (the management link, lo) says nothing about health.
    ].join('\n') + '\n');
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      snmp: {
        defaults: { interval: '1s', timeout: '1s', retries: 0 },
        targets: [{ name: 'olt-ns', element: OLT, host: net.deviceIp, profiles: ['system', 'if-mib'], rowElements: { interface: '{element}-{ifName}' } }],
      },
      outages: { confirmRecovery: '1s' },
      api: { tokens: [{ name: 'admin', hash: hashToken(ADMIN), roles: ['admin'] }] },
    });
    const events: OutageEvent[] = [];
    daemon.outages.onEvent((e) => events.push(e));
    cleanups.add(() => daemon.stop());
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.apiPort}`;
    const headers = { authorization: `Bearer ${ADMIN}` };
    // Three broadband subscribers behind the first port, one behind the second.
    const csv = `id,tier,service,serving\nS-1,gold,broadband,${p1}\nS-2,standard,broadband,${p1}\nS-3,standard,broadband,${p1}\nS-4,standard,broadband,${p2}\n`;
    expect((await fetch(`${base}/v1/subscribers/import`, { method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: csv })).status).toBe(200);

    const snmpd = startSnmpd(net.ns, net.deviceIp, dir);
    cleanups.add(() => snmpd.stop());
    const state = (id: string) => daemon.outages.health.get(id)?.state;
    await vi.waitFor(() => {
      expect(snmpd.process.exitCode, snmpd.output()).toBeNull();
      expect([state(OLT), state(p1), state(p2)]).toEqual(['up', 'up', 'up']);
    }, { timeout: 30_000, interval: 200 });
    expect(daemon.outages.health.get(p1)!.reason).toBe('port: operationally up');

    // The first port's fibre is pulled: the device's end of it loses its carrier.
    ip('link', 'set', net.ports[0].hostEnd, 'down');
    await vi.waitFor(() => expect(events.find((e) => e.type === 'opened' && e.outage.root === p1)).toBeDefined(), { timeout: 20_000, interval: 100 });
    expect(daemon.outages.health.get(p1)!.reason).toMatch(/^port: operationally down \(ifOperStatus [2-7]\)$/);
    expect([state(OLT), state(p2)]).toEqual(['up', 'up']);
    // Its subscribers, and only theirs, are hit.
    await vi.waitFor(async () => {
      const { items } = await (await fetch(`${base}/v1/outages?state=active`, { headers })).json();
      expect(items.map((o: any) => [o.rootCause.id, o.affectedSubscribers?.current])).toEqual([[p1, 3]]);
    }, { timeout: 10_000, interval: 200 });

    // Plugged back: the port is up again and its outage clears, then closes.
    ip('link', 'set', net.ports[0].hostEnd, 'up');
    await vi.waitFor(() => expect(events.find((e) => e.type === 'closed' && e.outage.root === p1)).toBeDefined(), { timeout: 20_000, interval: 100 });
    expect(state(p1)).toBe('up');
  }, 90_000);
});
