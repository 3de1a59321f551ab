import type { Db } from '../../src/store/db.ts';
import type { Subscriber } from './parse.ts';

/** The inventory as the rest of netpulse reads it: one subscriber, and how many there are. */
export class InventoryRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async subscriberCount(): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM subscribers');
    return Number(r.n);
  }
  async subscriber(id: string): Promise<Subscriber | undefined> {
    const r = await this.db.query<{ id: string; tier: Subscriber['tier']; service: Subscriber['service']; region: string | null; plan: string | null; arpu_minor: number | null; fee_minor: number | null; usage: string | null; serving: string }>(
      'SELECT id, tier, service, region, plan, arpu_minor, fee_minor, usage, serving FROM subscribers WHERE id = $1', [id]);
    if (r.length === 0) return undefined;
    const s = r[0];
    return { id: s.id, tier: s.tier, service: s.service, serving: s.serving.split(';'), ...(s.region !== null && { region: s.region }), ...(s.plan !== null && { plan: s.plan }), ...(s.arpu_minor !== null && { arpuMinor: Number(s.arpu_minor) }),
      ...(s.fee_minor !== null && { feeMinor: Number(s.fee_minor) }), ...(s.usage !== null && { usage: s.usage }) };
  }
}

/** The inventory over a store's database. */
export const inventoryOf = (store: { db: Db }) => new InventoryRepository(store.db);
