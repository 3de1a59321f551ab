import type { Batch } from '../src/sample.ts';
import type { EmitOptions } from '../src/pipeline.ts';

/**
 * Hands a batch to the pipeline. The promise resolves once the pipeline has accepted the
 * batch (with `durable`, once the sinks hold it on disk); a collector awaits it, which is how
 * backpressure reaches the source.
 */
export type Emit = (batch: Batch, opts?: EmitOptions) => Promise<void>;

/**
 * A source of samples. It turns the outside world into samples and knows nothing else.
 *
 * `start` begins collecting and returns once the collector is running (it does not wait for
 * data); `stop` ends every timer and socket it owns and resolves when no further `emit` will
 * happen. Both are idempotent. A failing target never throws out of a collector: it becomes an
 * error sample and a log line.
 */
export interface Collector {
  readonly name: string;
  start(emit: Emit): Promise<void>;
  stop(): Promise<void>;
  /** Its own metrics in Prometheus text format (registered with its module, never discovered). */
  metrics?(): string;
}
