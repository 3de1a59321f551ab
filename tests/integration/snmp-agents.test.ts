import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSnmpd, startSnmpsim, type Server } from '../helpers/servers.ts';
import { netSnmpSessionFactory, resolveTarget } from '../../collectors/snmp/session.ts';
import { compilePlan, pollTarget } from '../../collectors/snmp/poll.ts';
import { loadProfiles } from '../../collectors/snmp/profile.ts';
import { CounterRates } from '../../collectors/snmp/rates.ts';
import type { SnmpTargetConfig } from '../../src/config/schema.ts';
import { parseConfigText } from '../../src/config/load.ts';

const profiles = loadProfiles();
const defaults = parseConfigText('', {}).config!.snmp.defaults;

async function poll(target: Partial<SnmpTargetConfig> & { name: string; host: string }, names: string[]) {
  const t = resolveTarget({ tags: {}, ...target } as SnmpTargetConfig, { ...defaults, timeout: 1000, retries: 1 });
  const errors: Error[] = [];
  const session = netSnmpSessionFactory(t, (e) => errors.push(e));
  try {
    const rates = new CounterRates();
    const plan = compilePlan(names.map((n) => profiles.get(n)!));
    const ctx = { element: t.element, tags: { agent_host: t.host }, maxRepetitions: t.maxRepetitions, maxRows: t.maxRows, rates, now: Date.now };
    const first = await pollTarget(session, plan, ctx);
    const second = await pollTarget(session, plan, ctx);
    return { first, second, errors };
  } finally {
    session.close();
  }
}

describe('SNMP polling against Debian snmpd', () => {
  let snmpd: Server;
  beforeAll(async () => {
    snmpd = await startSnmpd([
      { name: 'shaaes', auth: 'SHA', authKey: 'authpass123', priv: 'AES', privKey: 'privpass123' },
      { name: 'sha256aes', auth: 'SHA-256', authKey: 'authpass456', priv: 'AES', privKey: 'privpass456' },
      { name: 'sha512auth', auth: 'SHA-512', authKey: 'authpass789' },
    ]);
  });
  afterAll(() => snmpd?.stop());

  it('reads the system group and the loopback interface over v2c', async () => {
    const { first, second } = await poll({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port }, ['system', 'if-mib']);
    expect(first.failure).toBeUndefined();
    expect(first.samples.find((s) => s.measurement === 'snmp')!.tags.source).toBe('netpulse-test-snmpd');
    const lo = second.samples.find((s) => s.measurement === 'interface' && s.tags.ifDescr === 'lo')!;
    expect(lo.tags.ifName).toBe('lo');
    expect(lo.fields.ifOperStatus).toBe(1n);
    expect(typeof lo.fields.ifHCInOctets).toBe('bigint');
    expect(lo.fields.in_bps).toBeGreaterThanOrEqual(0); // the second poll has a rate
  });

  it.each([
    ['authPriv SHA + AES', { user: 'shaaes', level: 'authPriv', authProtocol: 'sha', authKey: 'authpass123', privProtocol: 'aes', privKey: 'privpass123' }],
    ['authPriv SHA-256 + AES', { user: 'sha256aes', level: 'authPriv', authProtocol: 'sha256', authKey: 'authpass456', privProtocol: 'aes', privKey: 'privpass456' }],
    ['authNoPriv SHA-512', { user: 'sha512auth', level: 'authNoPriv', authProtocol: 'sha512', authKey: 'authpass789' }],
  ])('polls over SNMPv3 %s', async (_name, auth) => {
    const { first } = await poll({ name: 'v3', host: '127.0.0.1', port: snmpd.port, version: '3', auth: { context: '', privProtocol: 'aes', ...auth } as any }, ['system']);
    expect(first.failure).toBeUndefined();
    expect(first.samples[0].tags.source).toBe('netpulse-test-snmpd');
  });

  it('fails cleanly with a wrong SNMPv3 key', async () => {
    const { first } = await poll({ name: 'v3', host: '127.0.0.1', port: snmpd.port, version: '3',
      auth: { user: 'shaaes', level: 'authPriv', authProtocol: 'sha', authKey: 'wrongkey99', privProtocol: 'aes', privKey: 'privpass123', context: '' } }, ['system']);
    expect(first.failure).toBeDefined();
  });
});

describe('SNMP polling against snmpsim serving a recorded Cisco Catalyst 3750', () => {
  let sim: Server;
  beforeAll(async () => { sim = await startSnmpsim(); });
  afterAll(() => sim?.stop());

  it('maps the recorded IF-MIB into Telegraf-style interface samples', async () => {
    const { first } = await poll({ name: 'c3750', host: '127.0.0.1', port: sim.port, community: 'cisco3750' }, ['system', 'if-mib']);
    expect(first.failure).toBeUndefined();
    expect(first.samples.find((s) => s.measurement === 'snmp')!.tags.source).toBe('Profiler3750');
    const ifs = first.samples.filter((s) => s.measurement === 'interface');
    expect(ifs.length).toBeGreaterThan(16);
    const fa = ifs.find((s) => s.tags.ifDescr === 'FastEthernet3/0/1')!;
    expect(fa.tags.ifIndex).toBe('11001');
    expect(fa.tags.ifName).toBe('Fa3/0/1');
    expect(fa.fields).toHaveProperty('ifOperStatus');
    expect(fa.fields).toHaveProperty('ifHCInOctets');
  });
});
