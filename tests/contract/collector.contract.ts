import { describe, it, expect, vi } from 'vitest';
import type { Collector, Emit } from '../../collectors/collector.ts';
import type { Batch } from '../../src/sample.ts';

/** One collector wired to a real source, as a contract test needs it. */
export interface CollectorUnderTest {
  collector: Collector;
  /**
   * Makes the source speak (publishes a message, ...), for sources that only speak when spoken
   * to; called again each time the suite looks for a batch. Absent: the collector polls by itself.
   */
  poke?: () => Promise<void>;
  /** Resolves once data the source sends will reach the collector (MQTT: subscribed). */
  ready?: () => Promise<void>;
  /** Ends what the harness started besides the collector. */
  close?: () => Promise<void>;
}

export interface CollectorContractOptions {
  /**
   * How long to watch for a batch that must not come: a few of the collector's periods. Only an
   * absence is waited for this way; everything that must happen is waited for with `vi.waitFor`.
   */
  quietMs: number;
  /** How long the first batch may take (a round, a poll, a delivery). */
  firstBatchMs?: number;
  /** The same collector with its target unreachable (nothing listening, no route). */
  unreachable?: () => Promise<CollectorUnderTest>;
}

/** Records what a collector emits, and what it emitted after its `stop` resolved. */
function recorder(fail = 0) {
  const r = {
    batches: [] as Batch[],
    rejected: 0,
    stopped: false,
    afterStop: 0,
    emit: (async (batch) => {
      if (r.stopped) r.afterStop++;
      if (r.rejected < fail) {
        r.rejected++;
        throw new Error('sinks refused the batch (contract test)');
      }
      r.batches.push(batch);
    }) as Emit,
  };
  return r;
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What every `Collector` promises (collectors/collector.ts): `start` returns once it runs, without
 * waiting for data; `start` and `stop` are idempotent; once `stop` has resolved, `emit` is never
 * called again; a failing emit or target never throws out of the collector. `make` builds a fresh
 * collector and its source for each test.
 */
export function collectorContract(name: string, make: () => Promise<CollectorUnderTest>, o: CollectorContractOptions): void {
  const firstBatch = { timeout: o.firstBatchMs ?? 15_000, interval: 100 };

  /** Waits until the recorder holds more than `n` batches, poking the source meanwhile. */
  const batchAfter = async (t: CollectorUnderTest, r: ReturnType<typeof recorder>, n: number) => {
    await t.ready?.();
    await vi.waitFor(async () => {
      await t.poke?.();
      expect(r.batches.length).toBeGreaterThan(n);
    }, firstBatch);
  };

  /** After `stop` resolved: pokes the source and watches for `quietMs`; nothing may be emitted. */
  const nothingAfterStop = async (t: CollectorUnderTest, r: ReturnType<typeof recorder>) => {
    r.stopped = true;
    await t.poke?.();
    await quiet(o.quietMs);
    await t.poke?.();
    expect(r.afterStop).toBe(0);
  };

  describe(`${name} honours the Collector contract`, () => {
    it('start and stop are idempotent; stop before start is harmless', async () => {
      const t = await make();
      const r = recorder();
      try {
        await t.collector.stop(); // never started: nothing to stop
        await t.collector.start(r.emit);
        await t.collector.start(r.emit); // running already: changes nothing (no second timer or connection)
        await batchAfter(t, r, 0);
        await Promise.all([t.collector.stop(), t.collector.stop()]);
        await t.collector.stop();
        // A second timer or connection left by the second start would still emit here.
        await nothingAfterStop(t, r);
      } finally {
        await t.collector.stop();
        await t.close?.();
      }
    });

    it('emits nothing once stop has resolved, even when stopped while data flows', async () => {
      const t = await make();
      const r = recorder();
      try {
        await t.collector.start(r.emit);
        await batchAfter(t, r, 0);
        await t.poke?.(); // data on its way while stopping
        await t.collector.stop();
        await nothingAfterStop(t, r);
      } finally {
        await t.collector.stop();
        await t.close?.();
      }
    });

    it('stopped right after start (a round or a connection under way), it emits nothing afterwards', async () => {
      const t = await make();
      const r = recorder();
      try {
        await t.collector.start(r.emit);
        await t.collector.stop();
        await nothingAfterStop(t, r);
      } finally {
        await t.close?.();
      }
    });

    it('a rejected emit never escapes the collector: it goes on collecting', async () => {
      const t = await make();
      const r = recorder(1);
      try {
        await t.collector.start(r.emit);
        await batchAfter(t, r, 0); // the first emit was refused; a later one went through
        expect(r.rejected).toBe(1);
      } finally {
        await t.collector.stop();
        await t.close?.();
      }
    });

    if (o.unreachable) it('with its target unreachable, start and stop still return and nothing throws', async () => {
      const t = await o.unreachable!();
      const r = recorder();
      try {
        await t.collector.start(r.emit);
        await t.poke?.();
        await quiet(o.quietMs);
        await t.collector.stop();
        await nothingAfterStop(t, r);
      } finally {
        await t.collector.stop();
        await t.close?.();
      }
    });
  });
}
