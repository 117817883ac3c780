/**
 * Per-org rate limits (issue #22 point 3): plain data, read by the limiter (shared/domain/rate-limit.ts), the
 * settings route (`PUT /v1/settings/limits`) and the scale model (scripts/scale-model.ts).
 *
 * A request counts once, whatever it carries: a batch of 100 events (`POST /v1/events/batch`) is one request, so
 * batching is the way to go fast. Each org has a token bucket of RATE_LIMIT_DEFAULTS (or its own override); the
 * bucket's state is one control-table item per org (`controlKeys.rateLimitBucket`) that function instances LEASE
 * tokens from in chunks of `rateLimitLeaseSize(rate)`, so the item takes a few dozen writes a second at most,
 * whatever the request rate and however many instances serve it.
 */

import { INDEX_ENTRY_WRITE_UNITS, KEY_HEADROOM, KEY_WRITE_UNITS_PER_SECOND, MAX_INDEX_SHARDS } from './scale.js';

/** The limit every org has until it sets its own: requests a second sustained, and the bucket's size (burst). */
export const RATE_LIMIT_DEFAULTS = { requestsPerSecond: 1_000, burst: 2_000 } as const;

/**
 * The most an org may set. API Gateway's account throttle is 10,000 requests a second with a 5,000-request burst
 * bucket per Region (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): one org above it
 * could never be served anyway.
 */
export const MAX_RATE_LIMIT = { requestsPerSecond: 10_000, burst: 20_000 } as const;

/**
 * The HTTP API stage's default route throttle (infra/constructs/api.ts): the account's documented default quota per
 * Region, 10,000 requests a second with a burst bucket of 5,000 ("Throttle quota per account, per Region across HTTP
 * APIs, REST APIs, WebSocket APIs, and WebSocket callback APIs",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html; 2,500/1,250 in a few newer Regions,
 * where the account quota binds first). The stage no longer shares 1,000 a second among all orgs: each org has
 * its own limit (above), and the stage only guards the account. Raise both with the quota (Service Quotas L-8A5B8E43).
 */
export const API_STAGE_THROTTLE = { rateLimit: 10_000, burstLimit: 5_000 } as const;

/**
 * A lease is this share of a second of the org's rate (1/20 s: 50 tokens at the default 1,000/s): at the org's full
 * rate the bucket item is written about LEASES_PER_SECOND_AT_FULL_RATE times a second.
 */
export const LEASE_SECONDS = 0.05;
export const LEASES_PER_SECOND_AT_FULL_RATE = 1 / LEASE_SECONDS;

/**
 * How long an instance may spend a lease's tokens: twice the second of its own requests a lease is sized for
 * (instanceLeaseSize), so a steady instance spends a lease before it expires and writes about once a second.
 * Unspent ones are given back in the instance's next lease write (no extra write); an instance that falls idle drops
 * its last lease, so the limit can only err on the strict side, by at most one lease (about a second of that
 * instance's own requests) per instance.
 */
export const LEASE_TTL_MS = 2_000;
/** A lease is about this long of the instance's own requests. */
export const LEASE_OWN_SECONDS = 1;

/**
 * Conditional writes a lease may take when instances race for the same bucket (a lost race is one failed
 * conditional write, which DynamoDB bills like a write): the model counts each lease at this many writes.
 */
export const LEASE_WRITES_WORST_CASE = 2;

/** The most tokens an instance leases at once from an org's bucket: a fraction of its rate, at least 1, never above its burst. */
export function rateLimitLeaseSize(limits: { requestsPerSecond: number; burst: number }): number {
  return Math.max(1, Math.min(limits.burst, Math.ceil(limits.requestsPerSecond * LEASE_SECONDS)));
}

/**
 * Tokens one instance leases when it serves `instanceRequestsPerSecond` of the org's requests: what it spends in
 * LEASE_OWN_SECONDS (half a lease's lifetime), at least 1, at most rateLimitLeaseSize. Sized by the org's rate alone, N instances
 * would hold N leases of 1/20 s of it (250 × 500 tokens against a 20,000 bucket at 10,000/s), so the bucket emptied
 * into leases that expired unspent and an org at its own limit was refused; sized by what each spends, the leases
 * held together are about one lease lifetime of the org's rate, whatever the number of instances.
 */
export function instanceLeaseSize(limits: { requestsPerSecond: number; burst: number }, instanceRequestsPerSecond: number): number {
  const own = Math.ceil(Math.max(0, instanceRequestsPerSecond) * LEASE_OWN_SECONDS);
  return Math.max(1, Math.min(rateLimitLeaseSize(limits), own));
}

/**
 * Lambda instances serving one org's requests at once, for the model: its requests a second × a request's time
 * (Little's law; ~20 ms for an ingest or a verified webhook, as the webhook function's reserved concurrency assumes).
 */
export const MODEL_REQUEST_SECONDS = 0.02;
export const modelInstancesFor = (requestsPerSecond: number): number => Math.max(1, Math.ceil(requestsPerSecond * MODEL_REQUEST_SECONDS));

/**
 * Writes a second to one org's bucket item (`controlKeys.rateLimitBucket`) when the org sends `requestsPerSecond`
 * over `instances` instances evenly: each instance leases `instanceLeaseSize` of its share of the requests served (at
 * most the org's rate: requests over it are refused from the instance's memory until Retry-After, without a write),
 * each lease at most LEASE_WRITES_WORST_CASE writes; plus, once the org is over its limit, one probe a second per
 * instance when its Retry-After passes. One write is one write unit (the item is far below 1 KB).
 */
export function rateLimitStateWritesPerSecond(
  requestsPerSecond: number,
  limits: { requestsPerSecond: number; burst: number } = RATE_LIMIT_DEFAULTS,
  instances = 1,
): number {
  const served = Math.min(requestsPerSecond, limits.requestsPerSecond);
  const share = served / instances;
  const leases = share > 0 ? instances * (share / instanceLeaseSize(limits, share)) : 0;
  const probes = requestsPerSecond > limits.requestsPerSecond ? instances : 0;
  return leases * LEASE_WRITES_WORST_CASE + probes;
}

// ── Events a second, by the org's shard plan ─────────────────────────────────────────────────────────────────

/**
 * The events an org's fullest index shard takes when the org writes `eventsPerSecond` over `shards` shards: a
 * shard's count is binomial (events land by a hash of their id), judged at its mean + 4 standard deviations, as
 * indexShardsFor sizes plans (shared/definitions/scale.ts). With one shard every event is on the one key.
 */
export function fullestShardEventsPerSecond(eventsPerSecond: number, shards: number): number {
  const mean = eventsPerSecond / shards;
  return mean + 4 * Math.sqrt(mean * (1 - 1 / shards));
}

/** The most events a second `shards` shards take with the fullest at most `perShard` index write units a second. */
function capacityOf(shards: number, perShard: number): number {
  // fullestShardEventsPerSecond grows with the rate: the largest whole rate within perShard, by bisection.
  let low = 0;
  let high = Math.ceil(shards * perShard) + 1;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (fullestShardEventsPerSecond(mid, shards) * INDEX_ENTRY_WRITE_UNITS <= perShard) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * The events a second an org with `shards` index shards may write (the events bucket's rate, shared/domain/rate-limit.ts):
 * the largest rate whose fullest shard stays within half a key's write limit (contract section 15), so the inverse of
 * indexShardsFor: `indexShardsFor(eventsPerSecondFor(n)) <= n`. Unsharded (1 shard): 500 events a second, every one
 * on the org's one day key. A batch of 100 is 100 events here (it is one request to the request bucket).
 */
export function eventsPerSecondFor(shards: number): number {
  const n = Math.min(Math.max(1, Math.floor(shards)), MAX_INDEX_SHARDS);
  return capacityOf(n, (KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM) / INDEX_ENTRY_WRITE_UNITS);
}

/**
 * The events bucket's burst: ONE second of its rate. A token bucket lets `burst + rate × t` events through in any
 * t seconds, so the busiest second of a plan's keys is rate + burst = twice the rate, which keeps the fullest shard
 * within a key's whole limit (1,000 write units a second; 2 × (mean + 4σ) ≥ 2·mean + 4σ·√2). DynamoDB's burst capacity
 * (up to 300 s of a partition's unused throughput, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html)
 * does NOT stretch that: it is best effort, serves a provisioned table's own capacity, and "can't alleviate
 * partition-level throttling" above 1,000 WCU a second per partition
 * (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals). So a burst of 30 s of the rate
 * (12,000 events at once on an unsharded day key) would be throttled, and with it every base-table write whose index
 * entry shares the partition, other orgs' included; a longer burst is what a larger shard plan is for.
 */
export const eventBurstFor = (shards: number): number => eventsPerSecondFor(shards);

/** The events bucket of an org whose writers spread over `shards` shards (its plan's `write`), as the limiter takes it. */
export function eventLimitsFor(shards: number): { requestsPerSecond: number; burst: number } {
  return { requestsPerSecond: eventsPerSecondFor(shards), burst: eventBurstFor(shards) };
}

/**
 * How long the ways in that are no HTTP request (LeadConduit's inbox and pull) wait for the events bucket before
 * they give up for now (their own retry then comes back: the inbox's message, the pull's next run from its position).
 * Well under the inbox function's timeout.
 */
export const EVENT_ADMISSION_MAX_WAIT_MS = 20_000;
