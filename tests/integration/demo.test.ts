import { describe, it, expect } from 'vitest';
import { testDaemon } from '../helpers/daemon.ts';
import { embeddedDefaults } from '../../src/config/load.ts';
import { MqttCollector } from '../../collectors/mqtt/collector.ts';

describe('the demo on embedded defaults', () => {
  it('runs the simulator with its telemetry through the embedded MQTT broker', () => {
    const { config } = embeddedDefaults({});
    expect(config!.sim).toMatchObject({ enabled: true, mqtt: { url: null, embedded: { port: 18830 } } });
  });

  it('takes MQTT telemetry from the simulated base stations through its own broker (aedes), nothing installed', async () => {
    const { daemon } = testDaemon({ api: null, sim: { enabled: true, switches: 1, baseStations: 2, interval: '500ms', mqtt: { embedded: { port: 0 }, interval: '200ms' } } });
    try {
      await daemon.start();
      const mqtt = daemon.collectors.find((c): c is MqttCollector => c instanceof MqttCollector);
      expect(mqtt?.name).toBeDefined();
      await expect.poll(() => mqtt!.stats.messages, { timeout: 15_000 }).toBeGreaterThan(6);
      expect(mqtt!.stats.rejected).toBe(0);
    } finally {
      await daemon.stop();
    }
  });
});
