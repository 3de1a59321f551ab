// The time-series sink with its spool, against the bare @influxdata/influxdb-client write loop,
// both writing the same points into the same VictoriaMetrics, in interleaved rounds.
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { startVictoriaMetrics, tempDir } from '../tests/helpers/servers.ts';
import { SpooledSink } from '../src/sinks/spooled.ts';
import { Spool } from '../src/sinks/spool.ts';
import { InfluxWriter } from '../src/sinks/influx.ts';
import { createLogger } from '../src/log.ts';
import type { Sample } from '../src/sample.ts';
import { line, fmt, median } from './lib.ts';

const POINTS = Number(process.env.BENCH_POINTS ?? 200_000);
const BATCH = 5000;
const ROUNDS = 3;

function samples(round: number, who: string): Sample[] {
  const t0 = Date.now() - 3_600_000 + round * 1000;
  return Array.from({ length: POINTS }, (_, i) => ({
    element: `BS-${i % 500}`, measurement: 'lte_cell', tags: { cell_name: `BS-${i % 500}-C${i % 3}`, run: who },
    fields: { rsrp_dbm: -90 - (i % 20), sinr_db: 10 + (i % 7), connected_users: BigInt(i % 200) }, time: t0 + Math.floor(i / 1500),
  }));
}

export async function benchSink(): Promise<void> {
  const vm = await startVictoriaMetrics();
  const url = `http://127.0.0.1:${vm.port}`;
  try {
    const bareRates: number[] = [];
    const oursRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Reference: the client library's own WriteApi, batches of 5000. Its close() waits for the
      // last batch only, so delivery is counted through writeSuccess until every point is in.
      const data = samples(round, 'bare');
      let delivered = 0;
      let allIn!: () => void;
      const done = new Promise<void>((r) => { allIn = r; });
      let t = performance.now();
      const api = new InfluxDB({ url, token: 't' }).getWriteApi('o', 'b', 'ms', {
        batchSize: BATCH, flushInterval: 0, gzipThreshold: Infinity, maxRetries: 0,
        writeSuccess: (lines: string[]) => { delivered += lines.length; if (delivered >= POINTS) allIn(); },
        writeFailed: (err: Error) => { throw err; },
      });
      for (const s of data) {
        const p = new Point(s.measurement).tag('element', s.element).timestamp(s.time);
        for (const [k, v] of Object.entries(s.tags)) p.tag(k, v);
        p.floatField('rsrp_dbm', s.fields.rsrp_dbm).floatField('sinr_db', s.fields.sinr_db).intField('connected_users', Number(s.fields.connected_users));
        api.writePoint(p);
      }
      await api.flush();
      await done;
      await api.close();
      bareRates.push(POINTS / ((performance.now() - t) / 1000));

      // netpulse: the spooled sink, every point through the disk spool, until all acknowledged.
      const ours = samples(round, 'netpulse');
      const sink = new SpooledSink({
        name: 'influx', writer: new InfluxWriter({ version: 2, url, org: 'o', bucket: 'b', token: 't', timeout: 30_000 }),
        spool: new Spool(tempDir('bench-sink'), { maxBytes: 1 << 30, segmentBytes: 1 << 24 }),
        batchSize: BATCH, flushIntervalMs: 1000, retry: { minDelayMs: 100, maxDelayMs: 1000 }, logger: createLogger({ level: 'silent' }),
      });
      sink.start();
      t = performance.now();
      for (let i = 0; i < ours.length; i += 100) sink.write(ours.slice(i, i + 100));
      if (!(await sink.drained(120_000))) throw new Error('sink did not drain');
      oursRates.push(POINTS / ((performance.now() - t) / 1000));
      await sink.close();
    }
    line('bare influxdb-client WriteApi -> VictoriaMetrics, points/s', `${fmt(median(bareRates))}  (rounds: ${bareRates.map(fmt).join(', ')})`);
    line('netpulse spooled sink -> VictoriaMetrics, points/s', `${fmt(median(oursRates))}  (rounds: ${oursRates.map(fmt).join(', ')})`);
    line('RATIO netpulse sink / bare client (target >= 0.8)', (median(oursRates) / median(bareRates)).toFixed(2));
  } finally {
    await vm.stop();
  }
}

if (import.meta.main) await benchSink();
