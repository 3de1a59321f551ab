import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Topology } from '../topology/topology.ts';
import { bounded, module, type Module } from '../module.ts';
import { Store } from './store.ts';
import { SqliteDb } from './sqlite.ts';
import { PostgresDb } from './postgres.ts';
import { StoreRecorder } from './recorder.ts';
import { metric } from '../api/metrics.ts';

/** The store the config names: PostgreSQL, or SQLite in the data directory. Opens it. */
export function openStore(config: Config): Store {
  return new Store(config.store.url ? new PostgresDb(config.store.url) : new SqliteDb(join(resolve(config.daemon.dataDir), 'netpulse.db')));
}

/**
 * The store and its ordered writer: opened and migrated at start (building the daemon touches no
 * file and no server), the topology saved; at stop, what is queued is written (within the
 * deadline) and the store closed.
 */
export function storeModule(config: Config, topology: () => Topology, log: Logger): Module & { store(): Store; recorder(): StoreRecorder | undefined } {
  let store: Store | undefined;
  let recorder: StoreRecorder | undefined;
  const m = module('store', 'every', async () => {
    store = openStore(config);
    // SQLite commits with an fsync: up to 64 queued writes share one transaction (a network coming up is 50,000 health transitions).
    recorder = new StoreRecorder(store, log.child({ component: 'store' }), store.db.kind === 'sqlite' ? 64 : 1);
    const applied = await store.migrate();
    if (applied.length > 0) log.info({ versions: applied, db: store.db.kind }, 'store schema migrated');
    await store.saveTopology([...topology().elements.values()]);
  }, async (deadline) => {
    if (recorder) await bounded(recorder.drain(Math.floor(Math.max(0, deadline - Date.now()) * 0.5)), deadline, 'store', log);
    await store?.close().catch((err) => log.error({ err }, 'closing the store'));
  }, { metrics: () => metric('netpulse_store_pending_writes', 'gauge', 'Store writes queued (the database is slow or down).', [[{}, recorder?.pending ?? 0]]) });
  return {
    ...m,
    store: () => {
      if (!store) throw new Error('the store opens when the daemon starts');
      return store;
    },
    recorder: () => recorder,
  };
}
