import { describe, it, expect, vi } from 'vitest';
import type { Sink } from '../../src/sinks/sink.ts';
import type { Batch } from '../../src/sample.ts';

/** Every sink the daemon builds is started before the first write (the `Sink` contract leaves `start` to them). */
export type StartableSink = Sink & { start(): void };

/** One sink wired to a real destination, as a contract test needs it. */
export interface SinkUnderTest {
  sink: StartableSink;
  /** How many points of `measurement` the destination holds now. */
  stored(measurement: string): Promise<number>;
  /** Ends what the harness started besides the sink. */
  close?: () => Promise<void>;
}

export interface SinkContractOptions {
  /** The same sink with its destination unreachable (nothing listening); absent for local sinks. */
  unreachable?: () => Promise<SinkUnderTest>;
  /** How long the destination may take to show what it was sent. */
  visibleMs?: number;
}

let made = 0;

/** A measurement of its own for each test (the destination is shared), and `n` points of it, a millisecond apart. */
function points(n: number): { measurement: string; batch: Batch } {
  const measurement = `contract_${process.pid}_${++made}`;
  const t0 = Date.now() - 60_000;
  return { measurement, batch: Array.from({ length: n }, (_, i) => ({ element: 'EL-1', measurement, tags: {}, fields: { v: i }, time: t0 + i })) };
}

/** Points no line protocol can carry (a time that is not a number): the encoder refuses them. */
function unwritable(measurement: string, n: number): Batch {
  return Array.from({ length: n }, () => ({ element: 'EL-1', measurement, tags: {}, fields: { v: 1 }, time: Number.NaN }));
}

/**
 * What every `Sink` promises (src/sinks/sink.ts): `start` and `close` are idempotent; nothing is
 * taken after `close` (a write then throws, it never vanishes); `close` reports honestly: what it
 * says was neither pending nor dropped is at the destination, what the encoder refused is counted
 * as dropped, and what never got through is pending. `make` builds a fresh sink for each test.
 */
export function sinkContract(name: string, make: () => Promise<SinkUnderTest>, o: SinkContractOptions = {}): void {
  const visible = { timeout: o.visibleMs ?? 15_000, interval: 200 };

  describe(`${name} honours the Sink contract`, () => {
    it('delivers what it was given and says so at close: nothing pending, nothing dropped', async () => {
      const t = await make();
      const { measurement, batch } = points(250);
      try {
        t.sink.start();
        t.sink.write(batch.slice(0, 100));
        t.sink.write(batch.slice(100));
        await t.sink.flush();
        const report = await t.sink.close(10_000);
        expect(report).toEqual({ pending: 0, dropped: 0 });
        await vi.waitFor(async () => expect(await t.stored(measurement)).toBe(250), visible);
      } finally {
        await t.sink.close(0).catch(() => {}); // already closed, unless the test failed first
        await t.close?.();
      }
    });

    it('counts the points the encoder refuses as dropped, and delivers the rest', async () => {
      const t = await make();
      const { measurement, batch } = points(20);
      try {
        t.sink.start();
        t.sink.write([...batch.slice(0, 10), ...unwritable(measurement, 3), ...batch.slice(10)]);
        t.sink.persist();
        const report = await t.sink.close(10_000);
        expect(report).toEqual({ pending: 0, dropped: 3 });
        await vi.waitFor(async () => expect(await t.stored(measurement)).toBe(20), visible);
      } finally {
        await t.sink.close(0).catch(() => {}); // already closed, unless the test failed first
        await t.close?.();
      }
    });

    it('persistDeferred, where a sink has it, appends at once and resolves once synced; the points are delivered like persisted ones', async () => {
      const t = await make();
      const { measurement, batch } = points(30);
      try {
        t.sink.start();
        if (!t.sink.persistDeferred) return; // optional: the pipeline calls persist then
        t.sink.write(batch.slice(0, 10));
        const first = t.sink.persistDeferred();
        t.sink.write(batch.slice(10)); // while the sync runs: the next commit's
        await first;
        await t.sink.persistDeferred();
        const report = await t.sink.close(10_000);
        expect(report).toEqual({ pending: 0, dropped: 0 });
        await vi.waitFor(async () => expect(await t.stored(measurement)).toBe(30), visible);
      } finally {
        await t.sink.close(0).catch(() => {});
        await t.close?.();
      }
    });

    it('start and close are idempotent: a second start adds no second writer, a second close reports the same', async () => {
      const t = await make();
      const { measurement, batch } = points(50);
      try {
        t.sink.start();
        t.sink.start(); // running already: changes nothing
        t.sink.write(batch);
        await t.sink.flush();
        const first = await t.sink.close(10_000);
        const second = await t.sink.close(10_000);
        expect(second).toEqual(first);
        await vi.waitFor(async () => expect(await t.stored(measurement)).toBe(50), visible); // each point once
      } finally {
        await t.close?.();
      }
    });

    it('takes nothing after close: a write throws instead of vanishing', async () => {
      const t = await make();
      const { measurement, batch } = points(10);
      try {
        t.sink.start();
        t.sink.write(batch.slice(0, 5));
        await t.sink.close(10_000);
        expect(() => t.sink.write(batch.slice(5))).toThrow();
        await vi.waitFor(async () => expect(await t.stored(measurement)).toBe(5), visible);
      } finally {
        await t.close?.();
      }
    });

    if (o.unreachable) it('with its destination unreachable, close returns and reports every point as pending', async () => {
      const t = await o.unreachable!();
      const { measurement, batch } = points(40);
      try {
        t.sink.start();
        t.sink.write(batch);
        t.sink.write(unwritable(measurement, 2));
        await t.sink.flush();
        const report = await t.sink.close(300);
        expect(report).toEqual({ pending: 40, dropped: 2 });
      } finally {
        await t.sink.close(0).catch(() => {}); // already closed, unless the test failed first
        await t.close?.();
      }
    });
  });
}
