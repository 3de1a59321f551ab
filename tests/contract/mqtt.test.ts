import { beforeAll, afterAll } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto, freeTcpPort, type Server } from '../helpers/servers.ts';
import { MqttCollector } from '../../collectors/mqtt/collector.ts';
import { mqttBroker } from '../../src/config/schema.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { collectorContract } from './collector.contract.ts';

let broker: Server;
beforeAll(async () => { broker = await startMosquitto(); });
afterAll(() => broker?.stop());

let made = 0;

/** A collector on a persistent session of its own, subscribed to a topic of its own. */
function collector(id: string, url: string): MqttCollector {
  return new MqttCollector({ logger: memoryLogger().logger, broker: mqttBroker.parse({
    name: id, url, clientId: `np-${id}`, reconnectPeriod: '100ms',
    subscriptions: [{ topic: `${id}/+`, format: 'json', element: '{1}', measurement: 'contract', fields: { v: '$.v' }, staleAfter: '1s' }], // staleness checked every 250 ms
  }) });
}

collectorContract('MqttCollector (Debian Mosquitto)', async () => {
  const id = `contract-${++made}`;
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const c = collector(id, url);
  const publisher = await mqtt.connectAsync(url, { clientId: `pub-${id}` });
  let seq = 0;
  return {
    collector: c,
    ready: () => c.subscribed(),
    // A few messages at once: some are still on their way when the suite stops the collector.
    poke: async () => { await Promise.all([0, 1, 2].map(() => publisher.publishAsync(`${id}/BS-1`, JSON.stringify({ v: seq++ }), { qos: 1 }))); },
    close: () => publisher.endAsync(),
  };
}, {
  quietMs: 1_500, // past staleAfter: a staleness check left running would emit
  unreachable: async () => ({ collector: collector(`contract-${++made}`, `mqtt://127.0.0.1:${await freeTcpPort()}`) }),
});
