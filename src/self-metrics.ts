import type { Pipeline } from './pipeline.ts';
import type { Module } from './module.ts';
import { metric } from './api/metrics.ts';

/**
 * The daemon's own metrics in Prometheus text format: the pipeline's and the process's, then what
 * each module reports of itself (its collectors, its sink, its queues), in module order.
 */
export function selfMetrics(pipeline: Pipeline, modules: readonly Module[]): string {
  const p = pipeline.stats;
  const mem = process.memoryUsage();
  return [
    metric('netpulse_pipeline_samples_total', 'counter', 'Samples emitted by collectors.', [[{}, p.emitted]]),
    metric('netpulse_pipeline_queued_samples', 'gauge', 'Samples waiting in the pipeline.', [[{}, p.queuedSamples]]),
    metric('netpulse_pipeline_waits_total', 'counter', 'Times a collector waited for room (backpressure).', [[{}, p.waits]]),
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory.', [[{}, mem.rss]]),
    metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use.', [[{}, mem.heapUsed]]),
    ...modules.map((m) => m.metrics?.() ?? ''),
  ].join('');
}
