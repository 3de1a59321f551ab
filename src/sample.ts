/**
 * The unit every collector emits and every sink takes.
 *
 * Line-protocol friendly: `measurement` and `tags` identify a series, `fields` carry the values,
 * `time` is milliseconds since the epoch (integer nanoseconds are derived when encoding).
 * `element` names the network element the sample is about; it is also written as a tag.
 */
export interface Sample {
  element: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  time: number;
}

/** A field value. `bigint` is written as an integer (Counter64 values exceed 2^53). */
export type FieldValue = number | bigint | string | boolean;

/** A batch is what a collector emits in one go; order within it is kept. */
export type Batch = readonly Sample[];

/** Marks a number that must be written as an integer, not as a float. */
export function int(value: number | bigint): bigint {
  return typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
}
