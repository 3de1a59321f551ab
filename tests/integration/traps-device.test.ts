import { describe, it, expect, afterEach, vi } from 'vitest';
import { execFileSync, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrapCollector } from '../../collectors/traps/collector.ts';
import { spreadOffset } from '../../src/schedule.ts';
import type { Sample } from '../../src/sample.ts';
import type { OutageEvent } from '../../correlators/outages/outage.ts';
import { hashToken } from '../../src/api/auth.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/temp.ts';
import { ip, quietly, startNamespacedSnmpd, testCleanups } from '../helpers/netns.ts';

// Issue 20, "a real device sending on its own": Debian's snmpd (net-snmp 5.9) in a network namespace
// of the test's own watches its interfaces through the DisMan Event MIB and sends linkDown and linkUp
// to netpulse by itself; the test only pulls a cable (takes the host end of a veth down) and plugs it
// back. Traffic goes only to the namespace and to the host ends of its veths.

const INTERVAL_MS = 30_000;
const CONFIRM_RECOVERY_MS = 2_000;
const TOKEN = 'noc-token-0123456789abcdef';
const ELEMENT = 'SW-NS';

interface DeviceNetwork {
  ns: string;
  /** The management link: netpulse polls and receives traps over it. */
  hostIp: string;
  deviceIp: string;
  /** The host end of the watched link: taking it down is pulling the device's uplink cable. */
  uplinkHostEnd: string;
  /** The device's (namespace) end of the watched link, and its ifIndex as the device's IF-MIB gives it. */
  uplinkDeviceEnd: string;
  uplinkIfIndex: number;
  close(): void;
}

/**
 * A namespace joined to the host by two veth pairs: a management link (a /30 of its own) and an
 * uplink with no address, whose namespace end the device's snmpd watches. `close` deletes the
 * namespace (its veth ends and their peers go with it) and the host ends, whatever is left.
 */
function deviceNetwork(): DeviceNetwork {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const ns = `npd-${id}`;
  const mgmtHost = `npdm${id}`;
  const mgmtDevice = `npdn${id}`;
  const uplinkHostEnd = `npdu${id}`;
  const uplinkDeviceEnd = `npdv${id}`;
  const base = `10.215.${1 + Math.floor(Math.random() * 250)}`;
  const block = 4 * Math.floor(Math.random() * 63);
  const hostIp = `${base}.${block + 1}`;
  const deviceIp = `${base}.${block + 2}`;
  const close = () => {
    quietly(() => ip('netns', 'del', ns));
    quietly(() => ip('link', 'del', mgmtHost));
    quietly(() => ip('link', 'del', uplinkHostEnd));
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', mgmtHost, 'type', 'veth', 'peer', 'name', mgmtDevice);
    ip('link', 'add', uplinkHostEnd, 'type', 'veth', 'peer', 'name', uplinkDeviceEnd);
    ip('link', 'set', mgmtDevice, 'netns', ns);
    ip('link', 'set', uplinkDeviceEnd, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', mgmtHost);
    ip('link', 'set', mgmtHost, 'up');
    ip('link', 'set', uplinkHostEnd, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${deviceIp}/30`, 'dev', mgmtDevice);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', mgmtDevice, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', uplinkDeviceEnd, 'up');
    const uplinkIfIndex = Number(ip('netns', 'exec', ns, 'cat', `/sys/class/net/${uplinkDeviceEnd}/ifindex`).trim());
    return { ns, hostIp, deviceIp, uplinkHostEnd, uplinkDeviceEnd, uplinkIfIndex, close };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * snmpd's configuration: polled with community public on the management address; notifications as
 * v2c traps to netpulse. `linkUpDownNotifications yes` is, in net-snmp 5.9's mteTriggerConf.c, exactly
 * the two `monitor` lines below with `-r 60` (ifOperStatus sampled once a minute): they are written
 * out here with `-r 1`, the same built-in events (`_linkUp`, `_linkDown`: ifIndex, ifAdminStatus,
 * ifOperStatus) and `-S` (no notification for the state found at start). The monitors sample the
 * agent through internal SNMPv3 queries, which need `iquerySecName` and that user created with
 * read access (without them snmpd refuses the monitor lines: "You must specify a default user name
 * using the agentSecName token"). The sink's notification filter lets only linkDown and linkUp
 * through: snmpd's coldStart at start (a reboot for netpulse) and its nsNotifyShutdown at the end
 * are not this test's subject.
 */
function snmpdConf(net: DeviceNetwork, trapPort: number): string {
  return [
    `agentAddress udp:${net.deviceIp}:161`,
    'rocommunity public',
    'sysName netpulse-ns-device',
    'createUser _netpulse_iquery SHA "iquery-pass-0123"',
    'rouser _netpulse_iquery noauth',
    'iquerySecName _netpulse_iquery',
    'notificationFilter links .1.3.6.1.6.3.1.1.5.3 0x00 included',
    'notificationFilter links .1.3.6.1.6.3.1.1.5.4 0x00 included',
    `trap2sink -profile links ${net.hostIp}:${trapPort} public`,
    'monitor -r 1 -S -e _linkUp   "linkUp"   .1.3.6.1.2.1.2.2.1.8 != 2',
    'monitor -r 1 -S -e _linkDown "linkDown" .1.3.6.1.2.1.2.2.1.8 == 2',
  ].join('\n') + '\n';
}

/** Whether the agent answers a GET of sysUpTime over the management link. */
function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => execFile('snmpget', ['-v2c', '-c', 'public', '-t', '0.3', '-r', '0', `${host}:161`, '1.3.6.1.2.1.1.3.0'],
    { env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: tempDir('snmpapp') } }, (err) => resolve(!err)));
}

/**
 * A target name whose first poll the schedule puts 3 to 4 s after the start (`spreadOffset`): snmpd,
 * started after netpulse (it needs the trap port), answers by then, and the test need not wait long.
 */
function earlyTargetName(): string {
  for (let i = 0; ; i++) {
    const name = `sw-ns-${i}`;
    const offset = spreadOffset(name, INTERVAL_MS);
    if (offset >= 3_000 && offset < 4_000) return name;
  }
}

const cleanups = testCleanups();
afterEach(() => cleanups.run());

describe('a real device sending on its own: snmpd in a namespace watches its uplink', () => {
  it('a pulled uplink: snmpd\'s linkDown reaches netpulse and the element\'s outage opens long before the next poll is due, the trap its first evidence; a linkUp that lies is overruled by the poll it asks for; plugged back, snmpd\'s linkUp clears it, confirmed by a poll, and the outage closes after confirmRecovery', async () => {
    const net = deviceNetwork();
    cleanups.network(net.close);

    const dir = tempDir('traps-device');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n  - { id: ${ELEMENT}, kind: aggregation, uplink: { ifIndex: ${net.uplinkIfIndex} } }\n`);
    const target = earlyTargetName();
    const { daemon, logs } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      traps: { enabled: true, address: net.hostIp, port: 0, communities: ['public'] },
      // Polled every 30 s: between the first poll and the next, only a trap (and the poll it asks for) can tell netpulse anything.
      snmp: { defaults: { interval: `${INTERVAL_MS / 1000}s`, timeout: '1s', retries: 0 }, targets: [{ name: target, element: ELEMENT, host: net.deviceIp, profiles: ['system', 'if-mib'] }] },
      outages: { confirmRecovery: `${CONFIRM_RECOVERY_MS / 1000}s` },
      api: { tokens: [{ name: 'noc', hash: hashToken(TOKEN), roles: ['noc'] }] },
    });
    // Everything the pipeline carries, with when it passed, and every outage event, with when it was seen.
    const seen: { at: number; s: Sample }[] = [];
    daemon.pipeline.add({ name: 'test-spy', write: (batch) => { const at = Date.now(); for (const s of batch) seen.push({ at, s }); } });
    const events: (OutageEvent & { seenAt: number })[] = [];
    daemon.outages.onEvent((e) => events.push({ ...e, seenAt: Date.now() }));
    cleanups.add(() => daemon.stop());
    await daemon.start();

    const traps = daemon.collectors.find((c) => c.name === 'traps') as TrapCollector;
    expect(traps.address).toMatchObject({ address: net.hostIp });
    writeFileSync(join(dir, 'snmpd.conf'), snmpdConf(net, traps.address!.port));
    const snmpd = startNamespacedSnmpd(net.ns, dir);
    cleanups.add(() => snmpd.stop());
    await vi.waitFor(async () => {
      expect(snmpd.process.exitCode, snmpd.output()).toBeNull();
      expect(await answers(net.deviceIp)).toBe(true);
    }, { timeout: 15_000, interval: 100 });

    const api = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.status).toBe(200);
      return r.json();
    };
    const health = async () => (await api(`/v1/elements/${ELEMENT}`)).health;
    const snmpPolls = () => seen.filter((x) => x.s.measurement === 'reachability' && x.s.tags.probe === 'snmp');
    const uplinkRows = () => seen.filter((x) => x.s.measurement === 'interface' && x.s.tags.ifIndex === String(net.uplinkIfIndex));
    const trapsNamed = (name: string) => seen.filter((x) => x.s.measurement === 'snmp_trap' && x.s.tags.name === name);

    // The first scheduled poll: the agent answers and its uplink is up. (Should snmpd have been slow
    // to start and this poll failed, the one due 30 s later does.)
    await vi.waitFor(() => expect(snmpPolls().filter((x) => x.s.fields.up === true)).not.toHaveLength(0), { timeout: INTERVAL_MS + 15_000, interval: 50 });
    await vi.waitFor(async () => expect(await health()).toMatchObject({ state: 'up' }), { timeout: 5_000, interval: 100 });
    const firstPoll = snmpPolls().find((x) => x.s.fields.up === true)!;
    const pollsBefore = snmpPolls().length;
    expect(uplinkRows().at(-1)!.s.fields.ifOperStatus).toBe(1n);
    // The poll after it is due one interval after the last scheduled poll (fixed-rate schedule).
    const nextPollDue = snmpPolls().at(-1)!.s.time + INTERVAL_MS;
    expect(events).toEqual([]);
    expect(traps.stats.accepted).toBe(0);

    // Pull the cable: the device's end loses its carrier (ifOperStatus down, ifAdminStatus still up).
    const pulledAt = Date.now();
    ip('link', 'set', net.uplinkHostEnd, 'down');
    await vi.waitFor(() => expect(trapsNamed('linkDown')).toHaveLength(1), { timeout: 10_000, interval: 20 });
    const linkDown = trapsNamed('linkDown')[0];
    expect(linkDown.s).toMatchObject({
      element: ELEMENT,
      tags: { source: net.deviceIp, name: 'linkDown', oid: '.1.3.6.1.6.3.1.1.5.3', version: '2c', community: 'public', meaning: 'link-down' },
      fields: { ifIndex: BigInt(net.uplinkIfIndex), ifAdminStatus: 1n, ifOperStatus: 2n },
    });
    expect(traps.stats.bySender.get('target')).toBe(1); // no sysName in snmpd's linkDown: the source address is the SNMP target's host
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'opened')).toHaveLength(1), { timeout: 10_000, interval: 20 });
    const opened = events.find((e) => e.type === 'opened')!;
    expect(opened.outage).toMatchObject({ root: ELEMENT, state: 'open', severity: 'outage', reason: `trap: linkDown ifIndex ${net.uplinkIfIndex}` });
    // It starts at the trap, opens before the next poll, and no scheduled poll came in between.
    expect(opened.outage.startedAt).toBe(linkDown.s.time);
    expect(opened.seenAt).toBeLessThan(nextPollDue - 10_000);
    const fromTrap = opened.seenAt - linkDown.s.time;
    console.log(`cable pulled -> linkDown received ${linkDown.s.time - pulledAt} ms -> outage opened ${fromTrap} ms (the first poll ${pulledAt - firstPoll.s.time} ms before the pull, the next due ${nextPollDue - opened.seenAt} ms after the opening)`);
    expect(fromTrap).toBeLessThan(3_000);
    expect(await health()).toMatchObject({ state: 'down', reason: `trap: linkDown ifIndex ${net.uplinkIfIndex}` });
    const open = await api(`/v1/outages?element=${ELEMENT}&state=open`);
    expect(open.items).toEqual([expect.objectContaining({ id: opened.outage.id, state: 'open', rootCause: expect.objectContaining({ id: ELEMENT, reason: opened.outage.reason }) })]);
    // The outage records the trap as its first evidence, kept whatever later checks say.
    expect(open.items[0].firstEvidence).toEqual({ at: new Date(linkDown.s.time).toISOString(), reason: `trap: linkDown ifIndex ${net.uplinkIfIndex}` });
    const metrics = await (await fetch(`http://127.0.0.1:${daemon.apiPort}/metrics`)).text();
    expect(metrics).toContain('netpulse_traps_by_definition_total{name="linkDown"} 1');
    expect(metrics).toContain('netpulse_traps_received_total{version="2c"} 1');

    // The trap asked for a poll out of cycle: the agent answers, and its uplink is down: the trap stands.
    await vi.waitFor(() => expect(logs.find((l) => l.msg === 'trap confirmed by an out-of-cycle poll')).toMatchObject({ element: ELEMENT, answered: true, contradicted: false }), { timeout: 10_000, interval: 20 });
    // (The log line comes once the poll's batch is queued: the spy sees it a moment later.)
    await vi.waitFor(() => expect(snmpPolls()).toHaveLength(pollsBefore + 1), { timeout: 5_000, interval: 20 });
    expect(snmpPolls().at(-1)!.at).toBeGreaterThanOrEqual(linkDown.at);
    expect(uplinkRows().at(-1)!.s.fields.ifOperStatus).toBe(2n);
    expect(traps.conditions.active(ELEMENT)).toEqual([{ condition: `if:${net.uplinkIfIndex}`, state: 'down', reason: `linkDown ifIndex ${net.uplinkIfIndex}` }]);
    expect(await health()).toMatchObject({ state: 'down' });

    // A linkUp that lies (sent from the device's address, the cable still out): the element is up at
    // once, the poll the clear asks for finds the uplink down, and the poll decides: down again.
    const confirmations = () => logs.filter((l) => l.msg === 'trap confirmed by an out-of-cycle poll');
    execFileSync('ip', ['netns', 'exec', net.ns, 'snmptrap', '-Ln', '-v2c', '-c', 'public', `${net.hostIp}:${traps.address!.port}`, '',
      '1.3.6.1.6.3.1.1.5.4', `1.3.6.1.2.1.2.2.1.1.${net.uplinkIfIndex}`, 'i', String(net.uplinkIfIndex)], { env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: tempDir('snmpapp') } });
    await vi.waitFor(() => expect(confirmations()).toHaveLength(2), { timeout: 10_000, interval: 20 });
    expect(confirmations()[1]).toMatchObject({ element: ELEMENT, trap: `linkUp ifIndex ${net.uplinkIfIndex}`, answered: true, contradicted: true });
    const overruled = `the confirming poll found ifIndex ${net.uplinkIfIndex} not up after linkUp ifIndex ${net.uplinkIfIndex}`;
    expect(traps.conditions.active(ELEMENT)).toEqual([{ condition: `if:${net.uplinkIfIndex}`, state: 'down', reason: overruled }]);
    await vi.waitFor(async () => expect(await health()).toMatchObject({ state: 'down', reason: `trap: ${overruled}` }), { timeout: 5_000, interval: 50 });
    // The outage goes on: the lie's moment up is not seen by the correlator, or clears it for less
    // than confirmRecovery and it reopens; either way the same outage, not a second one.
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);

    // Plug it back: snmpd's linkUp ends the condition, the element is up again, the outage clears and,
    // its recovery held for confirmRecovery, closes.
    const pluggedAt = Date.now();
    ip('link', 'set', net.uplinkHostEnd, 'up');
    await vi.waitFor(() => expect(trapsNamed('linkUp')).toHaveLength(2), { timeout: 10_000, interval: 20 });
    const linkUp = trapsNamed('linkUp')[1];
    expect(linkUp.s.fields).toMatchObject({ ifIndex: BigInt(net.uplinkIfIndex), ifOperStatus: 1n });
    await vi.waitFor(async () => expect(await health()).toMatchObject({ state: 'up', reason: `trap: linkUp ifIndex ${net.uplinkIfIndex}` }), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(events.at(-1)?.type).toBe('closed'), { timeout: 15_000, interval: 50 });
    expect(events.map((e) => e.type).join(' ')).toMatch(/^opened( cleared reopened)? cleared closed$/);
    expect(events.every((e) => e.outage.id === opened.outage.id)).toBe(true);
    const [cleared, closed] = events.slice(-2);
    // Clears are confirmed the same way: the poll finds the uplink up, and the linkUp stands.
    await vi.waitFor(() => expect(confirmations()).toHaveLength(3), { timeout: 10_000, interval: 20 });
    expect(confirmations()[2]).toMatchObject({ element: ELEMENT, answered: true, contradicted: false });
    expect(await health()).toMatchObject({ state: 'up' });
    expect(cleared.outage.clearedAt).toBe(linkUp.s.time);
    expect(closed.at - cleared.outage.clearedAt!).toBeGreaterThanOrEqual(CONFIRM_RECOVERY_MS);
    console.log(`cable plugged -> linkUp received ${linkUp.s.time - pluggedAt} ms -> outage cleared ${cleared.seenAt - linkUp.s.time} ms -> closed ${closed.seenAt - linkUp.s.time} ms`);
    expect(traps.conditions.active(ELEMENT)).toEqual([]);
    const all = await api(`/v1/outages?element=${ELEMENT}`);
    expect(all.items).toEqual([expect.objectContaining({ id: opened.outage.id, state: 'closed', clearedAt: new Date(linkUp.s.time).toISOString(), firstEvidence: open.items[0].firstEvidence })]);
    // Each notification once (snmpd sends each change once, and the lie), nothing refused or dropped.
    expect(traps.stats).toMatchObject({ received: { 1: 0, '2c': 3, 3: 0 }, accepted: 3 });
    expect(Object.values(traps.stats.dropped).every((n) => n === 0)).toBe(true);
    expect([...traps.stats.refused.values()].every((n) => n === 0)).toBe(true);
    // Out of cycle, only the three traps' polls.
    expect(snmpPolls().filter((x) => x.at < nextPollDue)).toHaveLength(pollsBefore + 3);
  }, 90_000);
});
