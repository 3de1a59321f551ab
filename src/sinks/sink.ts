import type { Batch } from '../sample.ts';

/**
 * Where batches go to be kept.
 *
 * `write` accepts a batch (it may buffer it in memory until the next flush); `flush` makes
 * everything written so far durable (in the sink's spool or at the destination); `close`
 * flushes, stops background work and reports what could not be delivered. A sink never loses
 * a batch that `flush` has returned for, except where a configured bound says so, and then it
 * counts the loss.
 */
export interface Sink {
  readonly name: string;
  /** Its own metrics in Prometheus text format. */
  metrics?(): string;
  /** Where the data goes, for logs ("InfluxDB v2 API at http://…"). Never includes secrets. */
  readonly destination: string;
  /**
   * Takes a batch into memory. Throws, taking nothing, when the disk has been refusing writes and
   * the sink's bound on what may wait in memory is reached: the caller must not acknowledge it.
   * A point the destination could not read the same way (see line-protocol.ts) is left out or
   * loses a field, and is counted.
   */
  write(batch: Batch): void;
  /**
   * Makes everything written so far durable now, synchronously (appended to the spool or the
   * local files and, by default, synced: a `kill -9` or a power loss after it returns cannot take
   * it). Throws when it cannot (disk full); a write that failed half way is cut back to the last
   * whole line, and what was written stays buffered. Sources that acknowledge data to a sender
   * (MQTT QoS 1) call it before acknowledging.
   */
  persist(): void;
  /**
   * `persist` with the sync to stable storage off the event loop (the group commit's way: what
   * arrives while a sync runs waits for the next one, so one sync serves more): appends now, and
   * throws as `persist` does when it cannot; the promise resolves once it is synced and rejects
   * when the sync fails (then what was appended may still be delivered: at least once). Optional.
   */
  persistDeferred?(): Promise<void>;
  flush(): Promise<void>;
  /** `deadlineMs` bounds how long delivery of buffered data may still be tried. */
  close(deadlineMs?: number): Promise<SinkCloseReport>;
}

export interface SinkCloseReport {
  /** Points accepted but not yet at the destination; they stay in the spool for the next run. */
  pending: number;
  /** Points dropped for good: bad lines rejected by the destination, spool overflow, points the encoder refused, corrupt spool lines. */
  dropped: number;
}
