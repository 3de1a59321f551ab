import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { startInfluxdb, startVictoriaMetrics, tempDir, type Server } from '../helpers/servers.ts';
import { hostileText, integers, record } from '../helpers/arbitraries.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { SpooledSink } from '../../src/sinks/spooled.ts';
import { InfluxWriter } from '../../src/sinks/influx.ts';
import { encodeLine } from '../../src/sinks/line-protocol.ts';
import type { InfluxConfig } from '../../src/config/schema.ts';
import type { Sample, FieldValue } from '../../src/sample.ts';

/**
 * Generated samples go through the real sink path (encoder, spool, HTTP writer) into a real
 * InfluxDB 1.x and a real VictoriaMetrics, and are read back. Every sample the encoder does not
 * refuse must be accepted by both servers (no line refused) and read back equal, in what each
 * server keeps:
 * - InfluxDB 1.x keeps everything: names, tag values, field types (float, int64, boolean,
 *   string) and values exactly, times to the nanosecond (milliseconds here). A measurement that
 *   starts with `#` is stored as `\#...` (the escape that keeps the line from being a comment; no
 *   server defines it, so they keep the backslash).
 * - VictoriaMetrics turns measurement + field into one metric `measurement_field` with the tags
 *   as labels, keeps numbers only, as float64 in its own decimal form (compared to 12 significant
 *   digits; values under about 1e-250 may come back as 0), booleans as 1 and 0, times in
 *   milliseconds.
 *   It keeps no string field (1.79 stores 0 for one: not compared). The label `__name__` is its
 *   own and is not generated.
 * The encoder's refusals (newline, NUL, lone surrogate, a backslash the servers read differently,
 * reserved names) are checked by the unit property test; here they are only counted.
 */

// Mostly what can be written (separators, quotes, a comment mark, a backslash before a letter,
// white space, other scripts); now and then what cannot, which the sink must count and skip.
const SERVER_SPECIALS = [',', '=', ' ', '"', '\\x', 'C:\\dir', '\r', '\t', '#', 'é', 'ß', '日本', '𝄞', '\u200B', "'", '/', '*'];
const UNWRITABLE = ['\n', '\0', '\uD800', '\\', 'time'];
const text = hostileText(SERVER_SPECIALS, UNWRITABLE);
const name = hostileText(SERVER_SPECIALS, UNWRITABLE, 1).filter((t) => t !== '' && t !== '__name__');

/**
 * The type of a field follows from its key, so two samples of one measurement never give a field
 * two types (InfluxDB refuses a point whose field changes type within a shard).
 */
function valueFor(key: string): fc.Arbitrary<FieldValue> {
  switch (key.length % 4) {
    case 0: return fc.double();
    case 1: return integers;
    case 2: return fc.boolean();
    default: return text;
  }
}
const fields = fc.uniqueArray(name.chain((k) => valueFor(k).map((v) => [k, v] as const)), { selector: ([k]) => k, minLength: 1, maxLength: 4 })
  .map((e) => Object.fromEntries(e) as Record<string, FieldValue>);

const T0 = Date.UTC(2020, 0, 1);

/** A few hundred generated samples, each at its own millisecond; plus the cases issue 15 names. */
function samples(seed: number): Sample[] {
  const generated = fc.sample(fc.record({ element: name, measurement: name, tags: record(name, text, 4), fields }), { numRuns: 300, seed });
  const named: Omit<Sample, 'time'>[] = [
    // A Counter64 above 2^63-1 used to make the server refuse the whole line.
    { element: 'SW-1', measurement: 'interface', tags: { ifName: 'Gi0/1' }, fields: { ifHCInOctets: 2n ** 64n - 1n, ifOperStatus: 1n, in_bps: 8e9 } },
    { element: 'SW-1', measurement: '#hash', tags: { '#t': '#v' }, fields: { '#f': 1.5 } },
    { element: 'DOMAIN\\host', measurement: 'back\\slash', tags: { path: 'C:\\dir\\file' }, fields: { 'k\\x': 2n, s: 'ends in \\' } },
  ];
  return [...named, ...generated].map((s, i) => ({ ...s, time: T0 + i * 1000 }));
}

/** JSON with integers kept exact: every number is returned as its source text. */
function parseExact(body: string): any {
  const reviver = (_key: string, value: unknown, context: { source: string }) => (typeof value === 'number' ? { num: context.source } : value);
  return JSON.parse(body, reviver as (key: string, value: unknown) => unknown);
}

function sinkTo(writer: InfluxConfig, logger: ReturnType<typeof memoryLogger>['logger']): SpooledSink {
  return new SpooledSink({
    name: 'influx', writer: new InfluxWriter(writer), spool: new Spool(tempDir('lpspool'), { maxBytes: 1 << 26, segmentBytes: 1 << 20 }),
    batchSize: 50, flushIntervalMs: 20, retry: { minDelayMs: 20, maxDelayMs: 200 }, logger,
  });
}
/**
 * VictoriaMetrics keeps about 15 significant digits; it turns a float into a decimal of bounded
 * exponent, so a value under about 1e-250 that has all its digits may come back as 0.
 */
const closeTo = (got: number, want: number) =>
  got === want || Math.abs(got - want) <= 1e-12 * Math.max(Math.abs(got), Math.abs(want)) || (got === 0 && Math.abs(want) < 1e-250);

describe('generated line protocol through the real sink into InfluxDB 1.x and VictoriaMetrics', () => {
  let influx: Server;
  let vm: Server;
  beforeAll(async () => {
    [influx, vm] = await Promise.all([startInfluxdb('lpfuzz'), startVictoriaMetrics()]);
  });
  afterAll(async () => {
    await influx?.stop();
    await vm?.stop();
  });

  const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

  it(`reads back equal what each server keeps (seed ${seed}; rerun with FC_SEED=${seed})`, async () => {
    const all = samples(seed);
    // What the encoder writes, and which fields it leaves out (reported and counted by the sink).
    const written = all.flatMap((s) => {
      const left = new Set<string>();
      const line = encodeLine(s, (_reason, field) => { if (field !== undefined) left.add(field); });
      return line === undefined ? [] : [{ s, fields: Object.fromEntries(Object.entries(s.fields).filter(([k]) => !left.has(k))) }];
    });
    expect(written.length).toBeGreaterThan(150); // most of them: what cannot be written comes now and then

    const { logger } = memoryLogger();
    const sinks = [
      sinkTo({ version: 1, url: `http://127.0.0.1:${influx.port}`, database: 'lpfuzz', timeout: 10_000 }, logger),
      sinkTo({ version: 2, url: `http://127.0.0.1:${vm.port}`, org: 'op', bucket: 'lpfuzz', token: 'x', timeout: 10_000 }, logger),
    ];
    for (const sink of sinks) {
      sink.start();
      sink.write(all);
      expect(await sink.drained(30_000)).toBe(true);
      // No server refused a line: everything encoded was accepted.
      expect(sink.stats).toMatchObject({ written: written.length, rejected: 0, invalid: all.length - written.length });
      await sink.close(1000);
    }

    // InfluxDB 1.x: every point of every measurement in one InfluxQL statement, by time (one
    // sample per millisecond). Integers are read from the JSON text, so int64 stays exact.
    const q = `SELECT * FROM /.*/ WHERE time >= ${T0}ms GROUP BY *`;
    const r = await fetch(`http://127.0.0.1:${influx.port}/query?${new URLSearchParams({ db: 'lpfuzz', epoch: 'ms' })}`, { method: 'POST', body: new URLSearchParams({ q }) });
    expect(r.status).toBe(200);
    const points = new Map<number, { name: string; tags: Record<string, string>; row: Record<string, any> }[]>();
    for (const series of parseExact(await r.text()).results[0].series ?? []) {
      for (const values of series.values) {
        const row = Object.fromEntries((series.columns as string[]).map((c, j) => [c, values[j]]).filter(([, v]) => v !== null));
        const time = Number(row.time.num);
        delete row.time;
        const at = points.get(time) ?? [];
        at.push({ name: series.name, tags: Object.fromEntries(Object.entries(series.tags as Record<string, string>).filter(([, v]) => v !== '')), row });
        points.set(time, at);
      }
    }
    for (const { s, fields: want } of written) {
      const where = `sample ${JSON.stringify({ ...s, fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, String(v)])) })}`;
      const at = points.get(s.time) ?? [];
      expect(at.length, where).toBe(1);
      const [one] = at;
      expect(one.name, where).toBe(s.measurement.startsWith('#') ? '\\' + s.measurement : s.measurement);
      const wantTags = Object.fromEntries([...Object.entries(s.tags).filter(([k]) => k !== 'element'), ['element', s.element]].filter(([, v]) => v !== ''));
      expect(one.tags, where).toEqual(wantTags);
      const got = Object.fromEntries(Object.entries(one.row).map(([k, v]: [string, any]) => {
        const w = want[k];
        if (typeof w === 'bigint') return [k, BigInt(v.num)];
        if (typeof w === 'number') return [k, Number(v.num)];
        return [k, v];
      }));
      expect(got, where).toEqual(want);
    }

    // VictoriaMetrics: every series, grouped by timestamp (one sample per millisecond).
    await fetch(`http://127.0.0.1:${vm.port}/internal/force_flush`);
    const exp = await fetch(`http://127.0.0.1:${vm.port}/api/v1/export?${new URLSearchParams({ 'match[]': '{__name__!=""}' })}`);
    expect(exp.status).toBe(200);
    const byTime = new Map<number, { metric: Record<string, string>; value: number }[]>();
    for (const l of (await exp.text()).split('\n').filter(Boolean)) {
      const { metric, values, timestamps } = JSON.parse(l);
      timestamps.forEach((t: number, j: number) => {
        const at = byTime.get(t) ?? [];
        at.push({ metric, value: values[j] });
        byTime.set(t, at);
      });
    }
    for (const { s, fields: want } of written) {
      const where = `sample at ${s.time}: ${JSON.stringify({ ...s, fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, String(v)])) })}`;
      const labels = Object.fromEntries([...Object.entries(s.tags).filter(([k]) => k !== 'element'), ['element', s.element]].filter(([, v]) => v !== ''));
      const numeric = Object.entries(want).filter(([, v]) => typeof v !== 'string');
      const got = byTime.get(s.time) ?? [];
      for (const [k, v] of numeric) {
        const metric = `${s.measurement.startsWith('#') ? '\\' : ''}${s.measurement}_${k}`;
        const m = got.find((g) => g.metric.__name__ === metric);
        expect(m, `${where}: no series ${metric}`).toBeDefined();
        const { __name__: _, ...gotLabels } = m!.metric;
        expect(gotLabels, where).toEqual(labels);
        const wantValue = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
        expect(closeTo(m!.value, wantValue), `${where}: ${k} = ${m!.value}, expected ${wantValue}`).toBe(true);
      }
    }
  });
});
