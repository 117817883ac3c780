import * as z from 'zod/mini';
import { EVENT_ADMISSION_MAX_WAIT_MS, MAX_RATE_LIMIT, LEASE_SECONDS, LEASE_TTL_MS, RATE_LIMIT_DEFAULTS, eventLimitsFor, instanceLeaseSize, rateLimitLeaseSize } from '../definitions/rate-limits.js';
import { RateLimitedError, ValidationError } from './errors.js';
import type { Clock, Log, RateLimitSettings, RateLimitStore } from './ports.js';
import { parseOrThrow } from './schema.js';
import type { ShardPlan } from './shards.js';

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

/** Milliseconds from `nowMs` until the bucket (at `tat`) holds `tokens` whole tokens again (0: it holds them now). */
export function msUntilNextToken(limits: Limits, tatMs: number | undefined, nowMs: number, tokens = 1): number {
  if (tatMs === undefined) return 0;
  const { intervalMs, capacityMs } = bucketShape(limits);
  return Math.max(0, tatMs - capacityMs + tokens * intervalMs - nowMs);
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
 * instance's previous lease return in the same write. Granted 0: the bucket holds fewer than `minimum` (at most
 * the burst: what one admission spends at once, a batch's events) or the race was lost MAX_LEASE_ATTEMPTS times;
 * `tatMs` tells when tokens come back. Never a partial lease below `minimum`: an admission of n is all or nothing.
 */
export async function leaseTokens(
  store: RateLimitStore, orgId: string, limits: Limits, want: number, nowMs: number, knownTatMs?: number, giveBack = 0, minimum = 1,
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
    if (room < Math.max(1, minimum)) return { granted: 0, tatMs: seen };
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
  /** The org's limits (default: its override, RateLimitStore.limits, over RATE_LIMIT_DEFAULTS). */
  limits?: (orgId: string, nowMs: number) => Promise<Limits>;
  /** The 429's detail (default: the request limit's, which advises batches). */
  refusalDetail?: (limits: Limits, retryAfterSeconds: number) => string;
}

export class RateLimiter {
  private readonly held = new Map<string, Held>();
  private storeFailing = false;

  constructor(private readonly store: RateLimitStore, private readonly options: RateLimiterOptions) {}

  /**
   * Lets `n` tokens of the org through at once (a request: 1; a batch's events: n), or throws RateLimitedError (429 +
   * Retry-After) and takes none. Never throws anything else: a failing store lets them through. An `n` above the
   * burst costs the whole burst (it could never be admitted otherwise).
   */
  async admit(orgId: string, log?: Log, n = 1): Promise<Admission> {
    for (;;) {
      const now = this.options.clock.now();
      const held = this.heldFor(orgId);
      if (held.refusedUntilMs > now) throw this.refusal((held.refusedUntilMs - now) / 1000, held.limits);
      const cost = costOf(n, held.limits);
      if (held.tokens >= cost && held.leaseExpiresAtMs > now) {
        held.tokens -= cost;
        return { limits: held.limits, remaining: Math.max(0, held.remainingAtLease + held.tokens) };
      }
      // One lease in flight per org on this instance: the others wait for it, then look again. Every lease ends
      // with at least its cost in hand, or with refusedUntilMs set (or failing open with its cost): the loop ends.
      held.leasing ??= this.lease(orgId, held, cost, log).finally(() => {
        held.leasing = undefined;
      });
      await held.leasing;
    }
  }

  private refusal(retryAfterSeconds: number, limits: Limits): RateLimitedError {
    const detail = this.options.refusalDetail;
    return new RateLimitedError(retryAfterSeconds, limits, detail && ((seconds) => detail(limits, seconds)));
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

  private async lease(orgId: string, held: Held, asked: number, log?: Log): Promise<void> {
    let cost = asked;
    try {
      let now = this.options.clock.now();
      if (now - held.limitsReadAtMs > this.options.settingsCacheMs) {
        held.limits = this.options.limits ? await this.options.limits(orgId, now) : limitsOf(await this.store.limits(orgId));
        held.limitsReadAtMs = now;
        now = this.options.clock.now();
        cost = costOf(asked, held.limits);
      }
      // This instance's own rate, from what it spent of its last lease (over at least LEASE_SECONDS, so a quick
      // second request does not read as a huge rate): the next lease is about a lease lifetime of it.
      const unspent = Math.min(held.tokens, held.leased);
      const spent = held.leased - unspent;
      const ownRate = spent / (Math.max(now - held.leasedAtMs, LEASE_SECONDS * 1000) / 1000);
      // At least this admission's cost (a batch's events may exceed a lease of the instance's own rate).
      const want = Math.max(instanceLeaseSize(held.limits, ownRate), cost);
      const { granted, tatMs } = await leaseTokens(this.store, orgId, held.limits, want, now, held.tatMs, unspent, cost);
      held.tatMs = tatMs;
      if (this.storeFailing) {
        this.storeFailing = false;
        log?.info('rate limiter store available again', { org_id: orgId });
      }
      if (granted > 0) {
        Object.assign(held, { tokens: granted, leased: granted, leasedAtMs: now, leaseExpiresAtMs: now + LEASE_TTL_MS, remainingAtLease: tokensAvailable(held.limits, tatMs, now) });
      } else {
        // Empty (or a lost race, which reads as "try again in a moment"): refuse from memory until a token is back.
        // Until the bucket holds what this admission needs besides the unspent tokens it would give back.
        const waitMs = tatMs === undefined ? 1000 : Math.max(msUntilNextToken(held.limits, tatMs, now, Math.max(1, cost - unspent)), 1);
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
      Object.assign(held, { tokens: Math.max(rateLimitLeaseSize(held.limits), cost), leased: 0, leasedAtMs: now, leaseExpiresAtMs: now + LEASE_TTL_MS, remainingAtLease: 0 });
    }
  }
}

/** Tokens an admission of `n` takes: at least 1, at most the burst (more could never be admitted). */
const costOf = (n: number, limits: Limits): number => Math.min(Math.max(1, Math.ceil(n)), limits.burst);

// ── Events a second, by the org's shard plan (issue #22: no org saturates its own keys) ─────────────────────

/**
 * Admission of an org's events before they are stored, on every way in (POST /v1/events: 1; POST /v1/events/batch:
 * the items that passed validation; a signed webhook delivery: 1; LeadConduit's route, inbox and pull: the objects
 * of the call). The request bucket counts a batch of 100 once, so without this an org could write 100,000 events a
 * second onto its one day key and have DynamoDB throttle the index partition, which fails the base-table writes of
 * every org whose day key shares it (contract sections 3 and 15).
 */
export interface EventAdmission {
  /** Admits `n` events of the org now, or throws RateLimitedError (429 + Retry-After) and admits none. */
  admit(orgId: string, n: number): Promise<void>;
  /**
   * Admits `n` events, waiting while the org's bucket refills (at most EVENT_ADMISSION_MAX_WAIT_MS in all, then
   * RateLimitedError): for the ways in that are no HTTP request (the inbox, the pull), which must back off and
   * retry, never drop or set aside an event.
   */
  admitWaiting(orgId: string, n: number): Promise<void>;
}

export interface EventRateLimiterOptions {
  clock: Clock;
  /** The org's shard plan now (the events store's `shardPlan`, or a ShardPlanStore's `of`), cached by its store. */
  shardPlan: (orgId: string, nowMs: number) => Promise<ShardPlan>;
  log?: Log;
  /** Waits of admitWaiting (tests pass a fake clock's). */
  sleep?: (ms: number) => Promise<void>;
  maxWaitMs?: number;
}

/**
 * The events bucket: the same GCRA and leases as the request bucket (RateLimiter), over its own item
 * (controlKeys.rateLimitEventsBucket, beside the org's request bucket), at the rate of the org's shard plan as its
 * WRITERS use it (plan.write: eventLimitsFor). Raising the plan (`npm run keys -- shards`) raises the rate once
 * writers spread over the new shards. Fails open like the request bucket.
 */
export class EventRateLimiter implements EventAdmission {
  private readonly limiter: RateLimiter;

  constructor(store: RateLimitStore, private readonly options: EventRateLimiterOptions) {
    this.limiter = new RateLimiter(store, {
      clock: options.clock,
      // The plan's store caches it (SHARD_PLAN_CACHE_MS): read at every lease, so a raise applies within that.
      settingsCacheMs: 0,
      limits: async (orgId, nowMs) => eventLimitsFor((await options.shardPlan(orgId, nowMs)).write),
      refusalDetail: (limits, seconds) => `This org may store ${limits.requestsPerSecond} events a second (bursts of ${limits.burst}); retry after ${seconds} s. `
        + "An org's event rate follows its index shard plan, so that none of its keys takes more than half of DynamoDB's write limit: "
        + 'raise the plan for the rate it needs (npm run keys -- shards --org <org> --events-per-second <n>).',
    });
  }

  async admit(orgId: string, n: number): Promise<void> {
    if (n <= 0) return;
    await this.limiter.admit(orgId, this.options.log, n);
  }

  async admitWaiting(orgId: string, n: number): Promise<void> {
    const { clock } = this.options;
    const deadline = clock.now() + (this.options.maxWaitMs ?? EVENT_ADMISSION_MAX_WAIT_MS);
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (;;) {
      try {
        return await this.admit(orgId, n);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        const waitMs = error.retryAfterSeconds * 1000;
        if (clock.now() + waitMs > deadline) throw error;
        await sleep(waitMs);
      }
    }
  }
}

/** Admits everything: for tools that write to a scratch table outside any org's traffic (benchmarks), never for a way in. */
export const unlimitedEvents: EventAdmission = { admit: async () => undefined, admitWaiting: async () => undefined };

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
