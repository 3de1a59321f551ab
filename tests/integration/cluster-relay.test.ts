import { describe, it, expect, afterAll, vi } from 'vitest';
import { DATABASES, stopDatabases } from '../helpers/databases.ts';
import { EventRelay } from '../../src/cluster/relay.ts';
import { EventHub, type LiveEvent } from '../../src/events.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { memoryLogger } from '../fakes/logger.ts';

afterAll(() => stopDatabases());
const postgres = DATABASES.find(([kind]) => kind === 'PostgreSQL')![1];

describe('the live-event relay between cluster members (PostgreSQL LISTEN/NOTIFY)', () => {
  it("passes the leader's events to the other members in order, large ones in parts, never back to their sender", async () => {
    const url = (await postgres.url())!;
    const [dbA, dbB] = [new PostgresDb(url), new PostgresDb(url)];
    const a = new EventRelay(dbA, 'np-a', memoryLogger().logger);
    const b = new EventRelay(dbB, 'np-b', memoryLogger().logger);
    const [hubA, hubB] = [new EventHub(), new EventHub()];
    const heardA: LiveEvent[] = [];
    const heardB: LiveEvent[] = [];
    hubA.hear((e) => heardA.push(e));
    hubB.hear((e) => heardB.push(e));
    try {
      await a.start(hubA);
      await b.start(hubB);
      // An alert naming 2,000 impacted elements, with text that is not ASCII: far over a notification's 8,000 bytes.
      const big: LiveEvent = { type: 'alert', data: { id: 'A-1', impacted: Array.from({ length: 2000 }, (_, i) => `BS-${i}-Zürich-"quoted"`) } };
      const sent: LiveEvent[] = [
        { type: 'outage', data: { outage: 'O-1', event: 'opened', at: 1 } },
        big,
        { type: 'health', data: { element: 'SW-1', from: 'up', to: 'down', at: 2, reason: 'snmp: timeout' } },
      ];
      for (const e of sent) a.send(e);
      await vi.waitFor(() => expect(heardB).toHaveLength(3), { timeout: 5_000, interval: 20 });
      expect(heardB).toEqual(sent);
      expect(heardA).toEqual([]); // its own come back to nobody
      // The sender counts an event once its last notification's query has returned, which may be after the other member heard it.
      await vi.waitFor(() => expect(a.sent).toBe(3), { timeout: 5_000, interval: 20 });
      expect(b.received).toBe(3);
    } finally {
      await a.close();
      await b.close();
      await dbA.close();
      await dbB.close();
    }
  });
});
