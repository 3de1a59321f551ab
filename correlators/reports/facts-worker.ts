// A worker thread that reads a report's facts from a SQLite file over a connection of its own:
// node:sqlite answers synchronously, and a month's aggregates take seconds that the daemon's event
// loop (outage evaluation, the API) must not wait for. WAL lets it read while the daemon writes.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { ReportRepository } from './repository.ts';

const { file, from, to, asOf } = workerData as { file: string; from: number; to: number; asOf: number };
const db = new SqliteDb(file);
try {
  parentPort!.postMessage({ facts: await new ReportRepository(db).facts(from, to, asOf) });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
} finally {
  await db.close();
}
