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
 * How long an instance may spend a lease's tokens. Unspent ones are dropped (never given back): the limit can only
 * err on the strict side, by at most one lease per instance that served the org in the last LEASE_TTL_MS.
 */
export const LEASE_TTL_MS = 1_000;

/**
 * Conditional writes a lease may take when instances race for the same bucket (a lost race is one failed
 * conditional write, which DynamoDB bills like a write): the model counts each lease at this many writes.
 */
export const LEASE_WRITES_WORST_CASE = 2;

/** Tokens an instance leases at once from an org's bucket: a fraction of its rate, at least 1, never above its burst. */
export function rateLimitLeaseSize(limits: { requestsPerSecond: number; burst: number }): number {
  return Math.max(1, Math.min(limits.burst, Math.ceil(limits.requestsPerSecond * LEASE_SECONDS)));
}

/**
 * Writes a second to one org's bucket item (`controlKeys.rateLimitBucket`) when the org sends `requestsPerSecond`:
 * one lease per `rateLimitLeaseSize` requests served (at most the org's rate: requests over it are refused from the
 * instance's memory until Retry-After, without a write), each lease at most LEASE_WRITES_WORST_CASE writes; plus,
 * once the org is over its limit, one probe a second per instance (`instances`) when its Retry-After passes.
 * One write is one write unit (the item is far below 1 KB).
 */
export function rateLimitStateWritesPerSecond(
  requestsPerSecond: number,
  limits: { requestsPerSecond: number; burst: number } = RATE_LIMIT_DEFAULTS,
  instances = 1,
): number {
  const served = Math.min(requestsPerSecond, limits.requestsPerSecond);
  const leases = served / rateLimitLeaseSize(limits);
  const probes = requestsPerSecond > limits.requestsPerSecond ? instances : 0;
  return leases * LEASE_WRITES_WORST_CASE + probes;
}
