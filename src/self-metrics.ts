import type { Pipeline } from './pipeline.ts';
import type { Collector } from '../collectors/collector.ts';
import { SpooledSink } from './sinks/spooled.ts';
import type { FileSink } from './sinks/files.ts';
import { SnmpCollector } from '../collectors/snmp/collector.ts';
import { MqttCollector } from '../collectors/mqtt/collector.ts';
import { IcmpCollector } from '../collectors/icmp/collector.ts';
import type { OutageService } from '../correlators/outages/service.ts';
import type { StoreRecorder } from './store/recorder.ts';
import type { ComplaintMqttIntake } from '../correlators/complaints/mqtt.ts';
import type { CompensationService } from '../correlators/compensation/service.ts';
import type { CreditPusher } from '../correlators/compensation/delivery.ts';
import type { AlertDispatcher } from '../correlators/alerts/dispatcher.ts';
import type { EventHub } from './events.ts';
import { metric } from './api/metrics.ts';

/** The parts of a running daemon that report on themselves; absent ones are not started (or not configured). */
export interface MeteredParts {
  pipeline: Pipeline;
  sink: SpooledSink | FileSink;
  collectors: readonly Collector[];
  outages: OutageService;
  recorder?: StoreRecorder;
  intake?: ComplaintMqttIntake;
  compensation?: CompensationService;
  pusher?: CreditPusher;
  alerts?: AlertDispatcher;
  events?: EventHub;
}

/** The daemon's own metrics in Prometheus text format. */
export function selfMetrics(parts: MeteredParts): string {
  const { pipeline, sink, collectors, outages, recorder, intake, compensation, pusher, alerts, events } = parts;
  const out: string[] = [];
  const p = pipeline.stats;
  out.push(metric('netpulse_pipeline_samples_total', 'counter', 'Samples emitted by collectors.', [[{}, p.emitted]]));
  out.push(metric('netpulse_pipeline_queued_samples', 'gauge', 'Samples waiting in the pipeline.', [[{}, p.queuedSamples]]));
  out.push(metric('netpulse_pipeline_waits_total', 'counter', 'Times a collector waited for room (backpressure).', [[{}, p.waits]]));
  if (sink instanceof SpooledSink) {
    const s = sink.stats;
    out.push(metric('netpulse_sink_points_total', 'counter', 'Points by outcome.', [[{ outcome: 'accepted' }, s.accepted], [{ outcome: 'written' }, s.written], [{ outcome: 'rejected' }, s.rejected],
      [{ outcome: 'overflowed' }, s.overflowed], [{ outcome: 'refused' }, s.refused], [{ outcome: 'invalid' }, s.invalid], [{ outcome: 'corrupt' }, s.corrupt]]));
    out.push(metric('netpulse_sink_fields_dropped_total', 'counter', 'Fields left out of a point the destination could not take (a Counter64 past 2^63).', [[{}, s.fieldsDropped]]));
    out.push(metric('netpulse_sink_write_errors_total', 'counter', 'Failed writes to InfluxDB (retried).', [[{}, s.sendErrors]]));
    out.push(metric('netpulse_spool_errors_total', 'counter', 'Appends the disk refused (full, gone); nothing they held was acknowledged.', [[{}, s.spoolErrors]]));
    out.push(metric('netpulse_spool_bytes', 'gauge', 'Bytes spooled and not yet delivered.', [[{}, s.spoolBytes]]));
  } else {
    out.push(metric('netpulse_sink_points_total', 'counter', 'Points by outcome.', [[{ outcome: 'written' }, sink.stats.accepted], [{ outcome: 'refused' }, sink.stats.refused]]));
    out.push(metric('netpulse_spool_errors_total', 'counter', 'Writes the disk refused (full, gone); nothing they held was acknowledged.', [[{}, sink.stats.writeErrors]]));
  }
  for (const c of collectors) {
    if (c instanceof SnmpCollector) {
      out.push(metric('netpulse_snmp_polls_total', 'counter', 'SNMP polls by outcome; skipped: due again while the last poll of the target still ran (the poller is falling behind).', [[{ outcome: 'answered' }, c.stats.polls - c.stats.failures], [{ outcome: 'failed' }, c.stats.failures], [{ outcome: 'skipped' }, c.scheduleStats.overruns]]));
      out.push(metric('netpulse_snmp_polls_waiting', 'gauge', 'Polls due and waiting for a free slot (concurrency).', [[{}, c.scheduleStats.waiting]]));
    }
    if (c instanceof MqttCollector) {
      out.push(metric('netpulse_mqtt_messages_total', 'counter', 'MQTT messages by outcome.', [[{ broker: c.name, outcome: 'accepted' }, c.stats.messages - c.stats.rejected - c.stats.unmatched], [{ broker: c.name, outcome: 'rejected' }, c.stats.rejected], [{ broker: c.name, outcome: 'unmatched' }, c.stats.unmatched]]));
      out.push(metric('netpulse_mqtt_unacknowledged_messages', 'gauge', 'QoS 1 messages taken whose PUBACK waits for their group commit.', [[{ broker: c.name }, c.unacknowledged]]));
      out.push(metric('netpulse_mqtt_missing_messages_total', 'counter', 'Messages that never arrived, by the publishers\' own counters (subscriptions with a sequence).', [[{ broker: c.name }, c.stats.missing]]));
      out.push(metric('netpulse_mqtt_largest_commit_messages', 'gauge', 'The most QoS 1 messages one group commit covered (their PUBACKs went out together).', [[{ broker: c.name }, c.stats.largestCommit]]));
      out.push(metric('netpulse_mqtt_acknowledged_total', 'counter', 'QoS 1 messages acknowledged to the broker once persisted.', [[{ broker: c.name }, c.stats.acknowledged]]));
      out.push(metric('netpulse_mqtt_refused_total', 'counter', 'MQTT messages refused whole and samples refused one by one, by reason.', [...c.stats.refused].map(([reason, n]) => [{ broker: c.name, reason }, n])));
    }
    if (c instanceof IcmpCollector) out.push(metric('netpulse_icmp_rounds_total', 'counter', 'ICMP probe rounds by outcome.', [[{ outcome: 'done' }, c.stats.rounds], [{ outcome: 'skipped' }, c.stats.skipped], [{ outcome: 'failed' }, c.stats.failures]]));
  }
  const active = outages.outages.outages;
  out.push(metric('netpulse_outages_active', 'gauge', 'Open and cleared outages.', [[{ severity: 'outage' }, active.filter((o) => o.severity === 'outage').length], [{ severity: 'degradation' }, active.filter((o) => o.severity === 'degradation').length]]));
  out.push(metric('netpulse_store_pending_writes', 'gauge', 'Store writes queued (the database is slow or down).', [[{}, recorder?.pending ?? 0]]));
  const mem = process.memoryUsage();
  out.push(metric('process_resident_memory_bytes', 'gauge', 'Resident memory.', [[{}, mem.rss]]));
  out.push(metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use.', [[{}, mem.heapUsed]]));
  if (intake) out.push(metric('netpulse_complaint_messages_total', 'counter', 'Complaints over MQTT by outcome.', [[{ outcome: 'stored' }, intake.stats.stored], [{ outcome: 'duplicate' }, intake.stats.duplicates], [{ outcome: 'rejected' }, intake.stats.rejected]]));
  if (compensation) {
    out.push(metric('netpulse_compensation_settlements_total', 'counter', 'Compensation settlements by outcome.', [[{ outcome: 'done' }, compensation.stats.settlements], [{ outcome: 'failed' }, compensation.stats.failures]]));
    out.push(metric('netpulse_compensation_entries_total', 'counter', 'Ledger entries written (credits and corrections).', [[{}, compensation.stats.entries]]));
  }
  if (pusher) out.push(metric('netpulse_credits_pushed_total', 'counter', 'Credits pushed to the compensation job by outcome.', [[{ outcome: 'delivered' }, pusher.stats.delivered], [{ outcome: 'retried' }, pusher.stats.retries], [{ outcome: 'parked' }, pusher.stats.parked]]));
  if (alerts) out.push(metric('netpulse_alerts_total', 'counter', 'Alerts by outcome.', [[{ outcome: 'raised' }, alerts.stats.raised], [{ outcome: 'delivered' }, alerts.stats.delivered], [{ outcome: 'retried' }, alerts.stats.retries], [{ outcome: 'dropped' }, alerts.stats.dropped]]));
  if (events) out.push(metric('netpulse_live_listeners', 'gauge', 'Clients following the live event stream.', [[{}, events.listeners]]));
  return out.join('');
}
