import { KEY_HEADROOM, KEY_WRITE_UNITS_PER_SECOND, MAX_INDEX_SHARDS, SHARD_PLAN_WRITE_DELAY_MS } from '../definitions/scale.js';
import { eventKeysFor } from './keys.js';
import type { ShardPlanStore } from './ports.js';

/**
 * An org's index shard plan (contract section 15): its `by_day` and `by_flow` keys are spread over `shards` keys so
 * none takes more than half of DynamoDB's per-key write limit at the org's peak rate (indexShardsFor).
 *
 * Invariants, so that no event is ever written where a reader does not look:
 *  - a plan only grows (shard k of n is shard k of every larger n; an event's shard is shardOf(id, n) < n);
 *  - readers read `shards` (the newest count) at once; writers keep `previous` until `writers_from_ms`, which is
 *    later than any reader's cached plan can be old (SHARD_PLAN_WRITE_DELAY_MS = 2 × the plan cache's lifetime);
 *  - `previous` is the count writers were allowed when the plan was raised (a raise during another's wait keeps
 *    that one's `previous`), so no writer ever passes the count of the oldest plan a reader may still cache.
 * An org without a plan has one shard: its keys are the unsharded `<org>#<day>` / `<org>#<flow>`.
 */
export interface ShardPlanRecord {
  shards: number;
  previous: number;
  writers_from_ms: number;
}

/** What a reader and a writer use at a moment. */
export interface ShardPlan {
  /** How many shards an event written now spreads over. */
  write: number;
  /** How many shards a read must merge (≥ write, always). */
  read: number;
}

export const UNSHARDED: ShardPlan = { write: 1, read: 1 };

export function planAt(record: ShardPlanRecord | undefined, nowMs: number): ShardPlan {
  if (!record) return UNSHARDED;
  return { write: nowMs >= record.writers_from_ms ? record.shards : record.previous, read: record.shards };
}

/**
 * The record after asking for `wanted` shards: never fewer than today (lowering would hide events written to the
 * shards it drops), at most MAX_INDEX_SHARDS; `undefined` when nothing changes.
 */
export function raisedPlan(current: ShardPlanRecord | undefined, wanted: number, nowMs: number): ShardPlanRecord | undefined {
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_INDEX_SHARDS) {
    throw new RangeError(`shards must be a whole number from 1 to ${MAX_INDEX_SHARDS}`);
  }
  const shards = current?.shards ?? 1;
  if (wanted <= shards) return undefined;
  // `previous` is what writers may use now: the last raise's count only once its writers moved to it. Raised again
  // while they still wait, writers keep the older count, which readers caching the plan before the last raise read.
  const writing = current ? planAt(current, nowMs).write : 1;
  return { shards: wanted, previous: writing, writers_from_ms: nowMs + SHARD_PLAN_WRITE_DELAY_MS };
}

/** The by_day partitions of one day for a reader: every shard, read side by side. */
export const dayPartitions = (orgId: string, day: string, plan: ShardPlan): string[] => eventKeysFor.dayShards(orgId, day, plan.read);
/** The by_flow partitions of a flow for a reader. */
export const flowPartitions = (orgId: string, flowId: string, plan: ShardPlan): string[] => eventKeysFor.flowShards(orgId, flowId, plan.read);

/** A plan that never changes: for tools and benchmarks that write to a scratch table outside any org's plan. */
export const fixedShardPlans = (plan: ShardPlan = UNSHARDED): ShardPlanStore => ({ of: async () => plan, raise: async () => plan });

/**
 * The peak rate a plan was sized for, at most (indexShardsFor's inverse, rounded up: each shard takes at most half a
 * key's write units): what other per-org spreads follow, such as the archive's streams (archiveStreamsForOrg).
 */
export function plannedPeakEventsPerSecond(plan: ShardPlan): number {
  return plan.read <= 1 ? 0 : plan.read * KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM;
}
