import { describe, it, expect, afterAll } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { Store } from '../../src/store/store.ts';
import type { Db } from '../../src/store/db.ts';
import { ComplaintRepository, type StoredComplaint } from '../../correlators/complaints/repository.ts';

afterAll(() => stopDatabases());

const H = 3_600_000;
const T = Date.UTC(2026, 10, 2, 8);

/** A stored complaint reported at T with these deadlines and handling. */
function complaint(id: string, c: Partial<StoredComplaint> = {}): StoredComplaint {
  return {
    id, subscriberId: `S-${id}`, channel: 'app', category: 'no_service', reportedAt: T, receivedAt: T, previous30d: 0, escalations: 0,
    grade: 'major', gradeReasons: ['matched to a network outage'], respondBy: T + 24 * H, resolveBy: T + 72 * H, status: 'accepted', reasons: [], ...c,
  };
}

/** The SQL a repository call runs, as it runs it. */
function recording(db: Db): { db: Db; sql: string[] } {
  const sql: string[] = [];
  const wrapped: Db = Object.assign(Object.create(db) as Db, {
    query: (s: string, p?: readonly unknown[]) => (sql.push(s), db.query(s, p)),
    run: (s: string, p?: readonly unknown[]) => (sql.push(s), db.run(s, p)),
  });
  return { db: wrapped, sql };
}

describe.each(DATABASES.map(([kind, d]) => [kind, d.open] as const))('the deadline sweep on %s', (_kind, open) => {
  it('finds each deadline due and not warned of, and none handled, warned of or later', async () => {
    const store = new Store(await open());
    try {
      await store.migrate();
      const repo = new ComplaintRepository(store.db);
      const by = T + 25 * H; // response deadlines (T + 24 h) are due, resolution deadlines (T + 72 h) are not
      const cases: StoredComplaint[] = [
        complaint('due-response'),
        complaint('responded', { firstResponseAt: T + H }),
        complaint('resolved', { resolvedAt: T + H, status: 'resolved' }),
        complaint('later', { respondBy: T + 48 * H }),
        complaint('both-due', { respondBy: T + 4 * H, resolveBy: T + 24 * H }),
        complaint('responded-resolution-due', { firstResponseAt: T + H, respondBy: T + 23 * H, resolveBy: T + 24 * H }),
      ];
      for (const c of cases) {
        await repo.add(c, T);
        if (c.firstResponseAt !== undefined || c.resolvedAt !== undefined) await repo.saveHandling(c, T); // handling is written apart
      }
      await repo.add(complaint('warned'), T);
      await repo.markWarned('warned', ['response']);
      await repo.add(complaint('warned-response-only', { respondBy: T + 5 * H, resolveBy: T + 24 * H }), T);
      await repo.markWarned('warned-response-only', ['response']);

      const due = await repo.dueUnwarned(by);
      expect(due.map((d) => d.complaint.id)).toEqual(['both-due', 'warned-response-only', 'responded-resolution-due', 'due-response']); // by response deadline
      expect(due.find((d) => d.complaint.id === 'warned-response-only')!.warned).toEqual(['response']);
      expect(due[0].complaint).toEqual(complaint('both-due', { respondBy: T + 4 * H, resolveBy: T + 24 * H }));
    } finally {
      await store.close();
    }
  });
});

/** What SQLite would read for each statement the sweep and an outage's clearing run. */
describe('complaint queries that run as the table grows, on SQLite', () => {
  it('read by index (the deadlines still to warn of, an outage\'s matched complaints), never a scan of complaints', async () => {
    const [, sqlite] = DATABASES.find(([kind]) => kind === 'SQLite')!;
    const store = new Store(await sqlite.open());
    try {
      await store.migrate();
      const { db, sql } = recording(store.db);
      const repo = new ComplaintRepository(db);
      await repo.dueUnwarned(T);
      await repo.matchedTo('O-1');
      await repo.markRestored('O-1', T);
      expect(sql).toHaveLength(3);
      const plans = await Promise.all(sql.map(async (s) => (await store.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${s}`, s.includes('$2') ? [T, 'O-1'] : [s.includes('outage_id = $1') ? 'O-1' : T])).map((r) => r.detail)));
      const [sweep, matched, restored] = plans;
      expect(sweep.filter((d) => d.includes('complaints'))).toEqual([
        expect.stringMatching(/^SEARCH complaints USING INDEX complaints_response_due \(respond_by<\?\)/),
        expect.stringMatching(/^SEARCH complaints USING INDEX complaints_resolution_due \(resolve_by<\?\)/),
      ]);
      for (const p of [matched, restored]) expect(p).toEqual([expect.stringMatching(/^SEARCH complaints USING INDEX \w+ \(outage_id=\? AND status=\?\)/)]);
    } finally {
      await store.close();
    }
  });
});
