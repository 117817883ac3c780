import * as z from 'zod/mini';
import { MAX_RATE_LIMIT, LEASE_SECONDS, LEASE_TTL_MS, RATE_LIMIT_DEFAULTS, instanceLeaseSize, rateLimitLeaseSize } from '../definitions/rate-limits.js';
import { RateLimitedError, ValidationError } from './errors.js';
import type { Clock, Log, RateLimitSettings, RateLimitStore } from './ports.js';
import { parseOrThrow } from './schema.js';

/**
 * Per-org rate limits (issue #22 point 3): a token bucket per org, correct across any number of function instances.
 *
 * The bucket is GCRA (the generic cell rate algorithm, a token bucket kept as one number): `tat`, the time at which
 * the bucket would be full again. With T = 1000 / rate ms per token and a capacity of burst·T ms, taking k tokens at
 * `now` is allowed when max(tat, now) + k·T − now ≤ burst·T, and sets tat to max(tat, now) + k·T. The state lives in
 * one item per org (RateLimitStore) that is only ever changed by conditional writes, never read first: so two
 * instances can never both take the last tokens.
 *
 * Instances do not write per request: each LEASES tokens in chunks (instanceLeaseSize: what the instance itself spent
 * in a lease's lifetime, at most 1/20 s of the org's rate), spends them from memory, and leases again when they run
 * out (one lease in flight per org per instance; the other requests wait for it). A lease not spent within
 * LEASE_TTL_MS is no longer spent: its rest is given back in the instance's next lease write. So the tokens all
 * instances hold stay about a second of the org's own rate however many instances serve it (sized by the org's rate,
 * 250 instances held six times a 10,000/s org's bucket and refused 83 % of its requests at its own limit). When the bucket is empty, the instance
 * answers 429 from memory until the Retry-After it computed has passed: a flood over the limit costs no writes.
 *
 * Fail open: if the store fails (or the org's override cannot be read), requests are let through (never a 5xx for
 * the limiter's own fault), with one log line per outage per instance.
 */

export interface Limits {
  requestsPerSecond: number;
  burst: number;
}

/** A request let through: the org's rate, and the tokens left as this instance last saw them (approximate). */
export interface Admission {
  limits: Limits;
  remaining: number;
}

/** GCRA over ms: the emission interval T and the bucket's capacity in ms. */
export function bucketShape(limits: Limits): { intervalMs: number; capacityMs: number } {
  const intervalMs = 1000 / limits.requestsPerSecond;
  return { intervalMs, capacityMs: limits.burst * intervalMs };
}

/** Whole tokens the bucket holds at `nowMs` given its `tat` (undefined: no state yet, so full). */
export function tokensAvailable(limits: Limits, tatMs: number | undefined, nowMs: number): number {
  if (tatMs === undefined || tatMs <= nowMs) return limits.burst;
  const { intervalMs, capacityMs } = bucketShape(limits);
  // A tiny epsilon: tat is a sum of fractional intervals, and a whole token must not be lost to rounding.
  return Math.max(0, Math.floor((nowMs + capacityMs - tatMs) / intervalMs + 1e-9));
}

/** Milliseconds from `nowMs` until the bucket (at `tat`) holds one whole token again (0: it holds one now). */
export function msUntilNextToken(limits: Limits, tatMs: number | undefined, nowMs: number): number {
  if (tatMs === undefined) return 0;
  const { intervalMs, capacityMs } = bucketShape(limits);
  return Math.max(0, tatMs - capacityMs + intervalMs - nowMs);
}

/** Retry-After as sent: whole seconds, at least 1 (a client that retries at once would only be refused again). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000 - 1e-9));
}

/** The smallest burst for a rate: one full lease (1/20 s of it), so no lease is ever smaller than the rate needs. */
export const minimumBurst = (requestsPerSecond: number): number => Math.ceil(requestsPerSecond * LEASE_SECONDS);

/**
 * The org's limits in force: its override, field by field, else the defaults. The burst is at least minimumBurst: a
 * bucket smaller than a lease makes every request a lease (10,000 writes a second on one key at 10,000/s with a
 * burst of 1), which throttles the item and so lets the org through unlimited (the limiter fails open).
 */
export function limitsOf(settings: RateLimitSettings | undefined): Limits {
  const requestsPerSecond = settings?.requests_per_second ?? RATE_LIMIT_DEFAULTS.requestsPerSecond;
  return { requestsPerSecond, burst: Math.max(settings?.burst ?? RATE_LIMIT_DEFAULTS.burst, minimumBurst(requestsPerSecond)) };
}

/** How many conditional writes a lease may try before it gives up for now (instances racing for the same item). */
const MAX_LEASE_ATTEMPTS = 4;

/**
 * Takes up to `want` tokens from the org's bucket: as many as it holds, at most `want` (a partial lease when fewer
 * are left). Advances from the instance's last known `tat` (restarts when it knows none), and follows what each
 * refused write reports (a tat in the past: the bucket is full, restart). `giveBack` unspent tokens of the
 * instance's previous lease return in the same write. Granted 0: the bucket is empty (or the race was lost
 * MAX_LEASE_ATTEMPTS times); `tatMs` tells when a token comes back.
 */
export async function leaseTokens(
  store: RateLimitStore, orgId: string, limits: Limits, want: number, nowMs: number, knownTatMs?: number, giveBack = 0,
): Promise<{ granted: number; tatMs: number | undefined }> {
  const { intervalMs, capacityMs } = bucketShape(limits);
  let seen = knownTatMs;
  // Restart only when the store itself said the bucket is full (or the instance knows nothing): a tat this instance
  // saw in the past is usually stale because OTHER instances lease too, so it advances first (one write, not a
  // refused restart and then an advance for every lease of an org served by many instances).
  let full = seen === undefined;
  for (let attempt = 0; attempt < MAX_LEASE_ATTEMPTS; attempt++) {
    if (full) {
      const tokens = Math.min(want, limits.burst);
      const change = await store.restart(orgId, { nowMs, addMs: tokens * intervalMs });
      if (change.ok) return { granted: tokens, tatMs: change.tatMs };
      seen = change.tatMs;
      full = seen === undefined || seen < nowMs;
      continue;
    }
    // `giveBack` tokens of an earlier lease, taken from this bucket and never spent, return in the same write (a
    // bucket that filled up meanwhile took the restart path above: nothing to give back to a full bucket).
    const room = Math.min(limits.burst, tokensAvailable(limits, seen, nowMs) + giveBack);
    if (room < 1) return { granted: 0, tatMs: seen };
    const tokens = Math.min(want, room);
    const net = tokens - giveBack;
    const change = await store.advance(orgId, { nowMs, addMs: net * intervalMs, atMostMs: nowMs + capacityMs - net * intervalMs });
    if (change.ok) return { granted: tokens, tatMs: change.tatMs };
    // No state at all (deleted by its TTL meanwhile), or a tat in the past, is a full bucket: restart.
    seen = change.tatMs;
    full = seen === undefined || seen < nowMs;
  }
  return { granted: 0, tatMs: seen };
}

/** What one instance holds of one org's bucket. */
interface Held {
  tokens: number;
  leaseExpiresAtMs: number;
  /** Refusing from memory until then (the Retry-After this instance gave). */
  refusedUntilMs: number;
  /** The org's tat as this instance last saw it, and the tokens the bucket held then. */
  tatMs?: number;
  /** When the current lease was taken and how many of its tokens came from the bucket (0 when failing open). */
  leasedAtMs: number;
  leased: number;
  remainingAtLease: number;
  limits: Limits;
  limitsReadAtMs: number;
  leasing?: Promise<void>;
}

/** Orgs one instance keeps state for before it starts afresh (bounded memory; forgetting only costs a lease). */
const MAX_ORGS_HELD = 10_000;

export interface RateLimiterOptions {
  /** How long an org's override is kept before it is read again (SETTINGS_CACHE_SECONDS; 0: at every lease). */
  settingsCacheMs: number;
  clock: Clock;
}

export class RateLimiter {
  private readonly held = new Map<string, Held>();
  private storeFailing = false;

  constructor(private readonly store: RateLimitStore, private readonly options: RateLimiterOptions) {}

  /**
   * Lets one request of the org through (its Admission), or throws RateLimitedError (429 + Retry-After). Never throws
   * anything else: a failing store lets the request through.
   */
  async admit(orgId: string, log?: Log): Promise<Admission> {
    for (;;) {
      const now = this.options.clock.now();
      const held = this.heldFor(orgId);
      if (held.refusedUntilMs > now) throw new RateLimitedError((held.refusedUntilMs - now) / 1000, held.limits);
      if (held.tokens > 0 && held.leaseExpiresAtMs > now) {
        held.tokens -= 1;
        return { limits: held.limits, remaining: Math.max(0, held.remainingAtLease + held.tokens) };
      }
      // One lease in flight per org on this instance: the others wait for it, then look again.
      held.leasing ??= this.lease(orgId, held, log).finally(() => {
        held.leasing = undefined;
      });
      await held.leasing;
    }
  }

  private heldFor(orgId: string): Held {
    let held = this.held.get(orgId);
    if (!held) {
      if (this.held.size >= MAX_ORGS_HELD) this.held.clear();
      // limitsReadAtMs -Infinity: the override is read at the first lease.
      held = { tokens: 0, leaseExpiresAtMs: 0, refusedUntilMs: 0, remainingAtLease: 0, limits: limitsOf(undefined), limitsReadAtMs: -Infinity, leasedAtMs: 0, leased: 0 };
      this.held.set(orgId, held);
    }
    return held;
  }

  private async lease(orgId: string, held: Held, log?: Log): Promise<void> {
    try {
      let now = this.options.clock.now();
      if (now - held.limitsReadAtMs > this.options.settingsCacheMs) {
        held.limits = limitsOf(await this.store.limits(orgId));
        held.limitsReadAtMs = now;
        now = this.options.clock.now();
      }
      // This instance's own rate, from what it spent of its last lease (over at least LEASE_SECONDS, so a quick
      // second request does not read as a huge rate): the next lease is about a lease lifetime of it.
      const unspent = Math.min(held.tokens, held.leased);
      const spent = held.leased - unspent;
      const ownRate = spent / (Math.max(now - held.leasedAtMs, LEASE_SECONDS * 1000) / 1000);
      const want = instanceLeaseSize(held.limits, ownRate);
      const { granted, tatMs } = await leaseTokens(this.store, orgId, held.limits, want, now, held.tatMs, unspent);
      held.tatMs = tatMs;
      if (this.storeFailing) {
        this.storeFailing = false;
        log?.info('rate limiter store available again', { org_id: orgId });
      }
      if (granted > 0) {
        Object.assign(held, { tokens: granted, leased: granted, leasedAtMs: now, leaseExpiresAtMs: now + LEASE_TTL_MS, remainingAtLease: tokensAvailable(held.limits, tatMs, now) });
      } else {
        // Empty (or a lost race, which reads as "try again in a moment"): refuse from memory until a token is back.
        const waitMs = tatMs === undefined ? 1000 : Math.max(msUntilNextToken(held.limits, tatMs, now), 1);
        held.refusedUntilMs = now + retryAfterSeconds(waitMs) * 1000;
      }
    } catch (error) {
      // Fail open: the limiter's own fault never refuses a request. One log line per outage, not per request; the
      // instance then serves a lease's worth from memory before it asks the store again.
      if (!this.storeFailing) {
        this.storeFailing = true;
        const cause = error as { name?: string; code?: string } | null;
        log?.warn('rate limiter store failed; letting requests through', { org_id: orgId, cause: cause?.name ?? cause?.code });
      }
      const now = this.options.clock.now();
      // Tokens the store never gave are never given back to it (leased: 0).
      Object.assign(held, { tokens: rateLimitLeaseSize(held.limits), leased: 0, leasedAtMs: now, leaseExpiresAtMs: now + LEASE_TTL_MS, remainingAtLease: 0 });
    }
  }
}

// ── The override (PUT /v1/settings/limits) ───────────────────────────────────────────────────────────────────

const rate = z.int().check(z.gte(1, 'must be at least 1'), z.lte(MAX_RATE_LIMIT.requestsPerSecond, `must be at most ${MAX_RATE_LIMIT.requestsPerSecond}`));
const burst = z.int().check(z.gte(1, 'must be at least 1'), z.lte(MAX_RATE_LIMIT.burst, `must be at most ${MAX_RATE_LIMIT.burst}`));

/** `PUT /v1/settings/limits`: the org's requests a second and burst; what is left out takes its default. */
export const rateLimitSettingsBody = z.strictObject({
  requests_per_second: z.optional(rate),
  burst: z.optional(burst),
});

export function parseRateLimitSettings(body: unknown, nowIso: string): RateLimitSettings {
  const parsed = parseOrThrow(rateLimitSettingsBody, body, { notObjectMessage: 'must be a JSON object: {"requests_per_second": …, "burst": …}' });
  const requestsPerSecond = parsed.requests_per_second ?? RATE_LIMIT_DEFAULTS.requestsPerSecond;
  const burstFloor = minimumBurst(requestsPerSecond);
  if ((parsed.burst ?? RATE_LIMIT_DEFAULTS.burst) < burstFloor) {
    throw new ValidationError([{ path: 'burst', message: `must be at least ${burstFloor} (1/20 s of requests_per_second ${requestsPerSecond})` }]);
  }
  return { ...parsed, updated_at: nowIso };
}

/** The limits in force, as GET and PUT /v1/settings/limits answer them. */
export function presentRateLimitSettings(settings: RateLimitSettings | undefined): { requests_per_second: number; burst: number; updated_at?: string } {
  const limits = limitsOf(settings);
  return { requests_per_second: limits.requestsPerSecond, burst: limits.burst, ...(settings?.updated_at ? { updated_at: settings.updated_at } : {}) };
}
