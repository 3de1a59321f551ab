import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { bounded, module, type Module } from '../module.ts';
import { SpooledSink } from './spooled.ts';
import { Spool } from './spool.ts';
import { InfluxWriter } from './influx.ts';
import { FileSink } from './files.ts';

/** The time-series sink the config names: InfluxDB (or anything speaking its write API) behind the spool, or local files. */
export function sinkFromConfig(config: Config, dataDir: string, log: Logger): SpooledSink | FileSink {
  const ts = config.timeseries;
  if (ts.influx) {
    return new SpooledSink({
      name: 'influx',
      writer: new InfluxWriter(ts.influx),
      spool: new Spool(join(dataDir, 'spool'), { maxBytes: ts.spool.maxBytes, segmentBytes: ts.spool.segmentBytes, fsync: ts.spool.fsync }),
      batchSize: ts.batchSize,
      flushIntervalMs: ts.flushInterval,
      retry: { minDelayMs: ts.retry.minDelay, maxDelayMs: ts.retry.maxDelay },
      logger: log.child({ component: 'sink', sink: 'influx' }),
    });
  }
  return new FileSink({
    dir: join(dataDir, 'series'), maxFileBytes: ts.files.maxFileBytes, maxFiles: ts.files.maxFiles,
    flushIntervalMs: ts.flushInterval, logger: log.child({ component: 'sink', sink: 'files' }), fsync: ts.spool.fsync,
  });
}

/** The sink: first up, last down (it takes what everything else drains into it); its close report is logged. */
export function sinkModule(sink: SpooledSink | FileSink, log: Logger): Module {
  return module('sink', 'every', async () => {
    sink.start();
    if (sink instanceof FileSink) log.warn({ destination: sink.destination }, 'no InfluxDB configured: series are kept locally');
    else log.info({ destination: sink.destination }, 'writing series to InfluxDB');
  }, async (deadline) => {
    const report = await bounded(sink.close(Math.floor(Math.max(0, deadline - Date.now()) * 0.8)), deadline, 'sink', log);
    log.info({ ...(report ?? {}) }, 'netpulse stopped');
  }, { metrics: () => sink.metrics() });
}
