import { metric } from '../../src/api/metrics.ts';

/** What an MQTT collector counts, for its metrics and the tests. */
export interface MqttStats {
  messages: number;
  samples: number;
  /** Messages that could not become samples (counted, logged, acknowledged). */
  rejected: number;
  /** Values left out of otherwise good messages. */
  problems: number;
  /** Messages on no configured subscription. */
  unmatched: number;
  /** Rejected messages per topic (the busiest 1,000 topics). */
  rejectedByTopic: Map<string, number>;
  /** Times the sinks could not persist a message; it stays unacknowledged with the broker. */
  persistFailures: number;
  /** QoS 1 messages acknowledged to the broker (each once its samples were persisted). */
  acknowledged: number;
  /** The most PUBACKs released in one turn of the event loop: what one group commit covers. */
  largestCommit: number;
  /** The most messages taken and not yet acknowledged at once (the commit being synced and the one filling). */
  mostUnacknowledged: number;
  /** Messages that never arrived, by the publishers' own counters (`sequence`). */
  missing: number;
  /** Messages refused whole and samples refused one by one, by reason (a fixed set of reasons). */
  refused: Map<string, number>;
}

export const newStats = (): MqttStats => ({
  messages: 0, samples: 0, rejected: 0, problems: 0, unmatched: 0, rejectedByTopic: new Map(), persistFailures: 0, acknowledged: 0, largestCommit: 0, mostUnacknowledged: 0, missing: 0, refused: new Map(),
});

/** An MQTT collector's metrics in Prometheus text format, labelled with its broker. */
export function mqttMetrics(broker: string, s: MqttStats, unacknowledged: number): string {
  return metric('netpulse_mqtt_messages_total', 'counter', 'MQTT messages by outcome.', [[{ broker, outcome: 'accepted' }, s.messages - s.rejected - s.unmatched], [{ broker, outcome: 'rejected' }, s.rejected], [{ broker, outcome: 'unmatched' }, s.unmatched]])
    + metric('netpulse_mqtt_unacknowledged_messages', 'gauge', 'QoS 1 messages taken whose PUBACK waits for their group commit.', [[{ broker }, unacknowledged]])
    + metric('netpulse_mqtt_missing_messages_total', 'counter', 'Messages that never arrived, by the publishers\' own counters (subscriptions with a sequence).', [[{ broker }, s.missing]])
    + metric('netpulse_mqtt_largest_commit_messages', 'gauge', 'The most QoS 1 messages one group commit covered (their PUBACKs went out together).', [[{ broker }, s.largestCommit]])
    + metric('netpulse_mqtt_acknowledged_total', 'counter', 'QoS 1 messages acknowledged to the broker once persisted.', [[{ broker }, s.acknowledged]])
    + metric('netpulse_mqtt_refused_total', 'counter', 'MQTT messages refused whole and samples refused one by one, by reason.', [...s.refused].map(([reason, n]) => [{ broker, reason }, n]));
}
