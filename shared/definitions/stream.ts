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

/**
 * Records per invocation: the most CDK's DynamoEventSource accepts (1,000, also GetRecords' most per call). Lambda
 * never sends more than its 6 MB synchronous payload: a batch of large items is cut short, never refused
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
 */
export const STREAM_BATCH_SIZE = 1_000;
/**
 * Seconds Lambda gathers records before invoking (MaximumBatchingWindowInSeconds, at most 300): the added latency of a
 * quiet shard's bus events and alerts. 90 s keeps the hottest alert key of one org at 10,000 events/s on a grown table
 * at about a third of a key's write limit, 41 % in the 10× burst (the model's "alert counters" row: the fullest of
 * hundreds of keys, not their mean); 60 s measured 50 %, on the line; 1 s, the former setting, 755 %. With 8 alert
 * total shards instead of 4, 45 s would do.
 */
export const STREAM_BATCHING_WINDOW_SECONDS = 90;
/** Concurrent batches per shard (ParallelizationFactor, at most 10); records of one item key stay in order. */
export const STREAM_PARALLELIZATION_FACTOR = 2;

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