import type { Db } from './db.ts';
import { migrate } from './migrations.ts';
import type { Element } from '../topology/topology.ts';

const TOPOLOGY_LOCK = 7_324_002;

/**
 * The durable, transactional place everything netpulse must not forget is kept in: the database
 * (SQLite or PostgreSQL, see `Db`), its migrations, and the topology. Each noun keeps its own
 * statements in its repository (`correlators/<noun>/repository.ts`), over `store.db`.
 */
export class Store {
  readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** Applies pending migrations; returns the versions it applied. */
  migrate(): Promise<number[]> {
    return migrate(this.db);
  }

  /** Replaces the stored topology with this one (a reload), in one transaction. */
  async saveTopology(elements: readonly Element[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Cluster members save it as they start, maybe at once: one at a time.
      if (tx.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [TOPOLOGY_LOCK]);
      await tx.run('DELETE FROM links');
      await tx.run('DELETE FROM elements');
      for (const e of elements) {
        await tx.run('INSERT INTO elements (id, kind, site, region, lat, lon) VALUES ($1, $2, $3, $4, $5, $6)',
          [e.id, e.kind, e.site ?? null, e.region ?? null, e.lat ?? null, e.lon ?? null]);
        for (const p of e.parents) await tx.run('INSERT INTO links (child, parent) VALUES ($1, $2)', [e.id, p]);
      }
    });
  }

  async elements(): Promise<Element[]> {
    const rows = await this.db.query<{ id: string; kind: Element['kind']; site: string | null; region: string | null; lat: number | null; lon: number | null }>('SELECT * FROM elements ORDER BY id');
    const links = await this.db.query<{ child: string; parent: string }>('SELECT child, parent FROM links ORDER BY child, parent');
    const parents = new Map<string, string[]>();
    for (const l of links) (parents.get(l.child) ?? parents.set(l.child, []).get(l.child)!).push(l.parent);
    return rows.map((r) => ({
      id: r.id, kind: r.kind, parents: parents.get(r.id) ?? [],
      ...(r.site !== null && { site: r.site }), ...(r.region !== null && { region: r.region }),
      ...(r.lat !== null && { lat: r.lat }), ...(r.lon !== null && { lon: r.lon }),
    }));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
