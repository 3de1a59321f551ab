import { beforeAll, afterAll } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { startSnmpd, type Server } from '../helpers/servers.ts';
import { SnmpCollector } from '../../collectors/snmp/collector.ts';
import { netSnmpSessionFactory, resolveTarget } from '../../collectors/snmp/session.ts';
import { loadProfiles } from '../../collectors/snmp/profile.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { collectorContract } from './collector.contract.ts';

let snmpd: Server;
/** A UDP port that takes requests and never answers: an agent that is gone. */
let silent: Socket;
beforeAll(async () => {
  snmpd = await startSnmpd();
  silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
});
afterAll(() => {
  silent?.close();
  return snmpd?.stop();
});

const profiles = loadProfiles();

/** Polls the system group every 300 ms. */
function collector(port: number): SnmpCollector {
  const snmp = configSchema.parse({ snmp: { targets: [{ name: 'snmpd', host: '127.0.0.1', port, interval: '300ms', timeout: '200ms', retries: 0, profiles: ['system'] }] } }).snmp;
  return new SnmpCollector({
    targets: snmp.targets.map((t) => resolveTarget(t, snmp.defaults)), profiles, concurrency: 4,
    sessionFactory: netSnmpSessionFactory, logger: memoryLogger().logger,
  });
}

collectorContract('SnmpCollector (Debian snmpd)', async () => ({ collector: collector(snmpd.port) }), {
  quietMs: 1_000,
  unreachable: async () => ({ collector: collector(silent.address().port) }),
});
