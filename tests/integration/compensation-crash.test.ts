import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { tempDir } from '../helpers/servers.ts';
import { netpulse, type NodeProcess } from '../helpers/process.ts';
import { smallNetwork, subscribersOf, loadNetwork, OutageWriter } from '../helpers/outages.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { Ledger } from '../../correlators/compensation/ledger.ts';
import { loadPolicies } from '../../correlators/compensation/policies.ts';
import { billingJob, BILLING_SECRET as SECRET } from '../helpers/billing.ts';

afterAll(() => stopDatabases());

const T0 = Date.parse('2026-05-04T08:00:00Z');

const until = async (cond: () => boolean | Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end && !(await cond())) await new Promise((r) => setTimeout(r, 5));
};

describe.each(DATABASES)('compensation across kill -9, on %s', (_kind, d) => {
  it('ends with exactly one credit per eligible subscriber, each applied once by the job, wherever the daemon died', { timeout: 240_000 }, async () => {
    const dir = tempDir('compensation-kill');
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const url = await d.url();
    const open = () => new Store(url ? new PostgresDb(url) : new SqliteDb(join(dataDir, 'netpulse.db')));
    const topology = smallNetwork();
    writeFileSync(join(dir, 'topology.yaml'), JSON.stringify({ elements: [...topology.elements.values()] }));

    // AGG-1 was down for 30 hours: 1,000 subscribers behind it, some 200 more degraded next door.
    const prepared = open();
    await loadNetwork(prepared, topology, subscribersOf(500));
    await new OutageWriter(prepared, topology).lasting('O-AGG1', 'AGG-1', T0, 30);
    const expected = await new Ledger({ policies: () => loadPolicies([{ policy: 'operator-default' }]) }).settle(prepared, 'O-AGG1', Date.now(), 'preview');
    await prepared.close();
    expect(expected.eligible).toBeGreaterThan(1000);

    const job = await billingJob();
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(cfg, JSON.stringify({
      daemon: { dataDir, logFormat: 'json' }, api: null, store: { url }, topology: { file: join(dir, 'topology.yaml') },
      compensation: { settle: 0, chunk: 100, deliver: { webhook: { name: 'billing', url: job.url, secret: SECRET, batchSize: 20 }, retry: { minDelay: 20, maxDelay: 200 } } },
    }));
    const watcher = open();
    const count = async (where = '') => Number((await watcher.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM credits ${where}`))[0].n);
    const killed: string[] = [];
    let daemon: NodeProcess | undefined;
    try {
      // Each run dies at a different moment: at start, while the ledger is written, while batches are
      // delivered, with a batch received but not yet recorded as delivered, and after everything.
      const points: [string, () => Promise<void>][] = [
        ['before the ledger', async () => until(() => daemon!.output().includes('netpulse starting'), 20_000)],
        ['at the first ledger writes', async () => until(async () => (await count()) > 0, 20_000)],
        ['mid-ledger', async () => until(async () => (await count()) >= 500, 20_000)],
        ['after the first delivery', async () => { const b = job.state.batches; await until(() => job.state.batches > b, 3_000); }],
        ['with a batch in the air', async () => { let hit = false; job.state.onBatch = () => { hit = true; daemon!.child.kill('SIGKILL'); }; await until(() => hit, 3_000); }],
        ['mid-delivery', async () => { const b = job.state.batches; await until(() => job.state.batches >= b + 8, 3_000); }],
        ['with another batch in the air', async () => { let hit = false; job.state.onBatch = () => { hit = true; daemon!.child.kill('SIGKILL'); }; await until(() => hit, 3_000); }],
        ['after everything', async () => until(async () => (await count(`WHERE state = 'delivered'`)) === expected.eligible, 30_000)],
      ];
      for (const [name, point] of points) {
        daemon = netpulse('start', '--config', cfg);
        await point();
        job.state.onBatch = undefined;
        await daemon.stop('SIGKILL');
        killed.push(`${name}: ledger ${await count()}, delivered ${await count(`WHERE state = 'delivered'`)}, job ${job.applied.size}`);
      }
      daemon = netpulse('start', '--config', cfg);
      await until(() => daemon!.output().includes('netpulse started'), 20_000);
      await until(async () => (await count(`WHERE state = 'delivered'`)) === expected.eligible && job.applied.size === expected.eligible, 60_000);
      expect(daemon.child.exitCode, daemon.output().slice(-3000)).toBeNull();
      const code = await daemon.stop('SIGTERM');
      expect(code, `${daemon.child.signalCode} ${daemon.output().slice(-2000)}`).toBe(0);

      const rows = (await watcher.db.query<{ id: string; subscriber_id: string; revision: number; state: string; amount_minor: number }>('SELECT id, subscriber_id, revision, state, amount_minor FROM credits'))
        .map((r) => ({ ...r, amount_minor: Number(r.amount_minor), revision: Number(r.revision) }));
      expect(rows.length, killed.join('\n')).toBe(expected.eligible);
      expect(new Set(rows.map((r) => r.subscriber_id)).size).toBe(expected.eligible);
      expect(rows.every((r) => r.revision === 0 && r.state === 'delivered')).toBe(true);
      expect(rows.reduce((a, r) => a + r.amount_minor, 0)).toBe(expected.owed.reduce((a, x) => a + x.amountMinor, 0));
      // The job: every credit once, nothing else; a repeat is the same credit (no duplicate effect).
      expect([...job.applied.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
      expect(new Set([...job.applied.values()].map((c) => c.subscriberId)).size).toBe(expected.eligible);
      expect(job.state.differing).toBe(0);
      expect(job.state.badSignatures).toBe(0);
      console.log(`${_kind}: ${killed.length} kills; ${job.state.batches} batches, ${job.state.repeats} repeated credits\n  ${killed.join('\n  ')}`);
    } finally {
      await daemon?.stop('SIGKILL');
      await watcher.close();
      await job.close();
    }
  });
});
