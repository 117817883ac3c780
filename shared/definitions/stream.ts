/**
 * The events table's stream into the fan-out (contract section 15, issue #22 point 5): the event source mapping's
 * settings, defined once, read by CDK (infra/constructs/fanout.ts) and the scale model (shared/domain/scale-model.ts,
 * `npm run scale-model`), which is where the numbers come from (docs/scale.md, "Stream fan-out").
 *
 * DynamoDB Streams gives a table one stream shard per partition, and a table's partitions follow its size (one per
 * 10 GB) as much as its traffic: a table that keeps 90 days of 10,000 events/s has ~12,500 partitions, each seeing
 * under one event a second. Lambda then invokes per shard (× the parallelization factor) whatever the batch size, so
 * what a batch costs once (an alert total ADD per touched rule and dimension, a PutEvents and a PutRecordBatch call)
 * is paid ~ shards × factor / window times a second. The window is the lever: it bounds batches per second on a grown
 * table, at the price of up to its length in bus and alert latency when a shard is quiet (a busy shard fills its batch
 * first and never waits). The factor is the other side: a new table (few partitions) must still drain 10,000
 * events/s with each concurrent batch under half its throughput.
 */

/** The stream mapping's settings (Lambda's event source mapping for the events table's stream). */
export interface StreamSettings {
  /**
   * Records per invocation: at most 1,000 (CDK's DynamoEventSource, and GetRecords' most per call). Lambda never
   * sends more than its 6 MB synchronous payload: a batch of large items is cut short, never refused
   * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
   */
  batchSize: number;
  /**
   * Seconds Lambda gathers records before invoking (MaximumBatchingWindowInSeconds, at most 300): the added latency
   * of a quiet shard's bus events and alerts (a busy shard fills its batch first and never waits).
   */
  windowSeconds: number;
  /** Concurrent batches per shard (ParallelizationFactor, at most 10); records of one item key stay in order. */
  parallelization: number;
}

/**
 * Two profiles, chosen at deploy (`cdk deploy -c streamProfile=large`; default standard). The window trades latency
 * for calls: on a grown table (one stream shard per 10 GB held) batches a second ≈ shards × factor / window, and each
 * batch writes its alert totals and calls PutEvents and PutRecordBatch.
 *  - standard: bus events and alerts within ~5 s; holds an org at 1,000 events/s on a table that kept 90 days of
 *    1,000 events/s (the model's "standard profile" scenario).
 *  - large: section 15's targets (10,000 events/s held 90 days: ~12,500 stream shards) keep every alert key under
 *    half its limit only with few batches a second: up to 90 s of added latency on a quiet shard (docs/scale.md).
 */
export const STREAM_PROFILES = {
  standard: { batchSize: 1_000, windowSeconds: 5, parallelization: 2 },
  large: { batchSize: 1_000, windowSeconds: 90, parallelization: 2 },
} as const satisfies Record<string, StreamSettings>;

export type StreamProfile = keyof typeof STREAM_PROFILES;
export const DEFAULT_STREAM_PROFILE: StreamProfile = 'standard';
export const isStreamProfile = (value: string): value is StreamProfile => Object.hasOwn(STREAM_PROFILES, value);

/** The settings before issue #22, for the model's before/after table. */
export const STREAM_SETTINGS_BEFORE = { batchSize: 100, windowSeconds: 1, parallelization: 1 } as const;

/**
 * The fan-out's time for a batch, for planning: a fixed part (a PutEvents, a PutRecordBatch, the alert transactions and
 * reads, each a round trip, in parallel where they can be) and ~1 ms an event (docs/benchmarks.md, the cost bench).
 */
export const FANOUT_BATCH_FIXED_SECONDS = 0.06;
export const FANOUT_SECONDS_PER_EVENT = 0.001;

/** DynamoDB splits a partition at 10 GB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.Partitions.html). */
export const PARTITION_BYTES = 10 * 1024 ** 3;
/** A new on-demand table starts with warm throughput of 4,000 write units a second: about 4 partitions. */
export const NEW_TABLE_WRITE_UNITS = 4_000;