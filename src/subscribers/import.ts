import { Store } from '../store/store.ts';
import { csvRowParser, parseJsonLine, type RowResult, type Subscriber } from './parse.ts';

export interface ImportOptions {
  format: 'csv' | 'jsonl';
  /** `replace`: the file is the whole inventory (one transaction: all of it or nothing). `incremental`: upsert its rows. */
  mode: 'replace' | 'incremental';
  known: (element: string) => boolean;
  batchSize?: number;
}

export interface ImportReport {
  rows: number;
  loaded: number;
  rejected: number;
  /** The first 1,000 rejected rows, with their line number and why. */
  problems: { line: number; reason: string }[];
  seconds: number;
}

const SUBSCRIBER_COLUMNS = ['id', 'tier', 'service', 'region', 'plan', 'arpu_minor', 'fee_minor', 'usage', 'serving'];

/**
 * Loads a subscriber inventory from lines of CSV (header first) or JSON Lines, validated row by
 * row: a bad row is reported with its line number and reason, the good rows load. Batches go in
 * with `insertMany`; a replace runs in one transaction with the old inventory deleted first.
 */
export async function importSubscribers(store: Store, lines: AsyncIterable<string>, o: ImportOptions): Promise<ImportReport> {
  const t0 = performance.now();
  const report: ImportReport = { rows: 0, loaded: 0, rejected: 0, problems: [], seconds: 0 };
  const batchSize = o.batchSize ?? 10_000;
  // Taken now, before any await: readline drops lines (and its end) that come before its iterator exists.
  const input = lines[Symbol.asyncIterator]();
  const run = async (tx: Store) => {
    if (o.mode === 'replace') {
      await tx.db.run('DELETE FROM subscriber_serving');
      await tx.db.run('DELETE FROM subscribers');
    }
    let parse: ((line: string) => RowResult) | undefined = o.format === 'jsonl' ? (l) => parseJsonLine(l, o.known) : undefined;
    let batch: Subscriber[] = [];
    let n = 0;
    for (let next = await input.next(); !next.done; next = await input.next()) {
      const line = next.value;
      n++;
      if (line.trim() === '') continue;
      if (!parse) {
        const p = csvRowParser(line);
        if ('error' in p) throw new Error(`line 1: ${p.error}`);
        parse = (l) => p.parse(l, o.known);
        continue;
      }
      report.rows++;
      const r = parse(line);
      if ('error' in r) {
        report.rejected++;
        if (report.problems.length < 1000) report.problems.push({ line: n, reason: r.error });
        continue;
      }
      batch.push(r.subscriber);
      if (batch.length >= batchSize) {
        await write(tx, batch, o.mode === 'incremental');
        report.loaded += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await write(tx, batch, o.mode === 'incremental');
      report.loaded += batch.length;
    }
  };
  if (o.mode === 'replace') await store.db.bulk(() => store.db.transaction((db) => run(new Store(db))));
  else await store.db.bulk(() => run(store));
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

async function write(store: Store, batch: Subscriber[], upsert: boolean): Promise<void> {
  await store.db.transaction(async (db) => {
    if (upsert) {
      // The old serving elements come from the subscriber's own row: no index by subscriber needed.
      for (const s of batch) {
        const old = await db.query<{ serving: string }>('SELECT serving FROM subscribers WHERE id = $1', [s.id]);
        if (old.length === 0) continue;
        for (const e of old[0].serving.split(';')) await db.run('DELETE FROM subscriber_serving WHERE element = $1 AND subscriber_id = $2', [e, s.id]);
        await db.run('DELETE FROM subscribers WHERE id = $1', [s.id]);
      }
    }
    await db.insertMany('subscribers', SUBSCRIBER_COLUMNS, batch.map((s) => [s.id, s.tier, s.service, s.region ?? null, s.plan ?? null, s.arpuMinor ?? null, s.feeMinor ?? null, s.usage ?? null, s.serving.join(';')]));
    const serving = batch.flatMap((s) => s.serving.map((e) => [e, s.id]));
    serving.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // in key order: fewer B-tree pages touched
    await db.insertMany('subscriber_serving', ['element', 'subscriber_id'], serving);
  });
}
