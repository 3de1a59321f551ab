import dgram from 'node:dgram';
import { TrapCollector } from '../../collectors/traps/collector.ts';
import { loadTrapDefinitions } from '../../collectors/traps/definitions.ts';
import { configSchema } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { v2cTrap } from '../helpers/snmp-wire.ts';
import { collectorContract } from './collector.contract.ts';

const definitions = loadTrapDefinitions();

/** A trap receiver on a loopback port of its own; the source is a socket sending it linkDowns (each about an interface of its own: no duplicates). */
collectorContract('TrapCollector (SNMP traps on loopback)', async () => {
  const config = configSchema.parse({ traps: { enabled: true, address: '127.0.0.1', port: 0, communities: ['public'] } }).traps;
  const collector = new TrapCollector({ config, definitions, known: (e) => e === 'BS-1', targets: [], logger: memoryLogger().logger });
  const sender = dgram.createSocket('udp4');
  let port: number | undefined;
  let n = 0;
  return {
    collector,
    // Keeps sending to the port it listened on, after the stop too: nothing may come of it then.
    poke: async () => {
      port = collector.address?.port ?? port;
      if (port === undefined) return;
      const datagrams = [0, 1, 2].map(() => v2cTrap({ community: 'public', trapOid: '1.3.6.1.6.3.1.1.5.3', vbs: [
        { oid: `1.3.6.1.2.1.2.2.1.1.${++n}`, v: { type: 'int', value: n } }, { oid: '1.3.6.1.2.1.1.5.0', v: { type: 'str', value: 'BS-1' } }] }));
      await Promise.all(datagrams.map((d) => new Promise<void>((r) => sender.send(d, port!, '127.0.0.1', () => r()))));
    },
    close: async () => { sender.close(); },
  };
}, { quietMs: 300, firstBatchMs: 5_000 });
