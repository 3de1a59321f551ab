import { beforeAll, afterAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startVictoriaMetrics, vmExport, freeTcpPort, tempDir, type Server } from '../helpers/servers.ts';
import { SpooledSink } from '../../src/sinks/spooled.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { InfluxWriter } from '../../src/sinks/influx.ts';
import { FileSink } from '../../src/sinks/files.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { sinkContract } from './sink.contract.ts';

let vm: Server;
beforeAll(async () => { vm = await startVictoriaMetrics(); });
afterAll(() => vm?.stop());

/** The spooled InfluxDB sink (v2 write API) with a spool of its own, retrying quickly. */
function spooled(port: number): SpooledSink {
  return new SpooledSink({
    name: 'influx', writer: new InfluxWriter({ version: 2, url: `http://127.0.0.1:${port}`, org: 'o', bucket: 'b', token: 't', timeout: 2_000 }),
    spool: new Spool(tempDir('contract-spool'), { maxBytes: 1 << 24, segmentBytes: 1 << 16 }),
    batchSize: 100, flushIntervalMs: 100, retry: { minDelayMs: 50, maxDelayMs: 200 }, logger: memoryLogger().logger,
  });
}

/** Points VictoriaMetrics holds for a measurement (its field is `v`). */
async function inVictoria(measurement: string): Promise<number> {
  return (await vmExport(vm.port, `${measurement}_v`)).reduce((n, s) => n + s.timestamps.length, 0);
}

sinkContract('SpooledSink (VictoriaMetrics, InfluxDB v2 API)', async () => ({ sink: spooled(vm.port), stored: inVictoria }), {
  unreachable: async () => ({ sink: spooled(await freeTcpPort()), stored: async () => 0 }),
});

sinkContract('FileSink (local line-protocol files)', async () => {
  const dir = tempDir('contract-files');
  const sink = new FileSink({ dir, maxFileBytes: 1 << 20, maxFiles: 4, flushIntervalMs: 100, logger: memoryLogger().logger });
  return {
    sink,
    stored: async (measurement) => readdirSync(dir).filter((f) => f.endsWith('.lp'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
      .filter((l) => l.startsWith(`${measurement},`)).length,
  };
});
