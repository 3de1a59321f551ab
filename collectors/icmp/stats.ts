import type { FieldValue } from '../../src/sample.ts';

/**
 * The fields of one probe round, named as Telegraf's `ping` measurement names them so existing
 * dashboards work: loss, min/avg/max, population standard deviation, median (percentile50) and
 * p95 of the round-trip times that came back. `rtts` holds one entry per probe sent, undefined
 * for a probe that was lost. Pure.
 */
export function pingFields(rtts: readonly (number | undefined)[]): Record<string, FieldValue> {
  const sent = rtts.length;
  const got = rtts.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const fields: Record<string, FieldValue> = {
    packets_transmitted: BigInt(sent),
    packets_received: BigInt(got.length),
    percent_packet_loss: sent === 0 ? 100 : round(((sent - got.length) / sent) * 100),
    result_code: 0n,
  };
  if (got.length === 0) return fields;
  const avg = got.reduce((a, b) => a + b, 0) / got.length;
  const variance = got.reduce((a, r) => a + (r - avg) ** 2, 0) / got.length;
  fields.minimum_response_ms = round(got[0]);
  fields.average_response_ms = round(avg);
  fields.maximum_response_ms = round(got.at(-1)!);
  fields.standard_deviation_ms = round(Math.sqrt(variance));
  fields.percentile50_response_ms = round(percentile(got, 50));
  fields.percentile95_response_ms = round(percentile(got, 95));
  return fields;
}

/** Linear interpolation between closest ranks, on sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 1) return sorted[0];
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

const round = (x: number) => Math.round(x * 1000) / 1000;
