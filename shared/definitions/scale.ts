/**
 * DynamoDB's per-key limits and the share of them leadlog plans to use (contract section 15): plain data, read by
 * the key layout (shared/domain/keys.ts), the shard plans and the scale model (scripts/scale-model.ts).
 *
 * A partition key value takes at most 1,000 write units and 3,000 read units a second
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html); leadlog keeps
 * every key under half of that at its design targets, so a burst or an uneven hash never throttles.
 */
export const KEY_WRITE_UNITS_PER_SECOND = 1_000;
export const KEY_READ_UNITS_PER_SECOND = 3_000;
export const KEY_HEADROOM = 0.5;

/** An index entry of the events table (FILTER_ATTRIBUTES only, well under 1 KB) costs one write unit. */
export const INDEX_ENTRY_WRITE_UNITS = 1;

/** The most shards an org's day or flow key is spread over: a page then reads at most this many partitions. */
export const MAX_INDEX_SHARDS = 256;

/**
 * Shards an org's `by_day` and `by_flow` keys need for a peak rate (events a second, bursts included): the fullest
 * shard takes at most half of a key's write limit. Events land on shards by a hash of their id, so a shard's count
 * is binomial: its mean + 4 standard deviations (exceeded about once in 30,000 seconds) must fit, not the mean alone
 * (at the mean alone, the scale model measured the fullest of 200 shards at 55 % of the limit in the 10× burst).
 * An org without a plan has 1 (the unsharded key).
 */
export function indexShardsFor(peakEventsPerSecond: number): number {
  const perShard = (KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM) / INDEX_ENTRY_WRITE_UNITS;
  for (let shards = Math.max(1, Math.ceil(peakEventsPerSecond / perShard)); shards < MAX_INDEX_SHARDS; shards++) {
    const mean = peakEventsPerSecond / shards;
    if (mean + 4 * Math.sqrt(mean * (1 - 1 / shards)) <= perShard) return shards;
  }
  return MAX_INDEX_SHARDS;
}

/**
 * How long a raised shard count waits before writers use it: readers (whose plan cache is at most
 * SHARD_PLAN_CACHE_MS old) read the new shards first, so no written event is ever outside what a reader reads.
 */
export const SHARD_PLAN_CACHE_MS = 60_000;
export const SHARD_PLAN_WRITE_DELAY_MS = 2 * SHARD_PLAN_CACHE_MS;

/**
 * Proof of record's integrator (functions/proofLog.ts, every minute, 5 minutes at most): orgs integrated side by side
 * in a run (10,000 small orgs at ~40–70 ms each must fit in a minute) and the most leaves one org appends in a run. A
 * run cut off by the function's timeout commits nothing and the next starts over, so a run's leaves must fit in its
 * time with room to spare: 500,000 at the ~2,400 leaves/s measured on DynamoDB Local is 3.5 minutes (an org at
 * 10,000 events/s queues 600,000 a minute: it falls behind; docs/benchmarks.md, "Proof of record").
 */
export const LOG_INTEGRATOR_CONCURRENCY = 32;
export const LOG_MAX_LEAVES_PER_RUN = 500_000;
