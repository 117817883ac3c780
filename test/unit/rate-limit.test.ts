import { describe, expect, it } from 'vitest';
import { indexShardsFor, KEY_HEADROOM, KEY_WRITE_UNITS_PER_SECOND } from '../../shared/definitions/scale.js';
import { eventBurstFor, eventLimitsFor, eventsPerSecondFor, fullestShardEventsPerSecond, LEASE_TTL_MS, RATE_LIMIT_DEFAULTS, rateLimitLeaseSize, rateLimitStateWritesPerSecond } from '../../shared/definitions/rate-limits.js';
import { RateLimitedError } from '../../shared/domain/errors.js';
import type { BucketChange, RateLimitSettings, RateLimitStore } from '../../shared/domain/ports.js';
import { EventRateLimiter, leaseTokens, msUntilNextToken, parseRateLimitSettings, RateLimiter, retryAfterSeconds, tokensAvailable } from '../../shared/domain/rate-limit.js';
import { toProblem } from '../../shared/http/problem.js';

/** The store's conditional writes, as DynamoRateLimitStore makes them, over a Map; every write attempt counted. */
class MemoryRateLimitStore implements RateLimitStore {
  readonly tat = new Map<string, number>();
  readonly overrides = new Map<string, RateLimitSettings>();
  writes = 0;
  failing = false;

  async advance(orgId: string, change: { nowMs: number; addMs: number; atMostMs: number }): Promise<BucketChange> {
    this.attempt();
    const tat = this.tat.get(orgId);
    if (tat === undefined || tat < change.nowMs || tat > change.atMostMs) return { ok: false, tatMs: tat };
    this.tat.set(orgId, tat + change.addMs);
    return { ok: true, tatMs: tat + change.addMs };
  }

  async restart(orgId: string, change: { nowMs: number; addMs: number }): Promise<BucketChange> {
    this.attempt();
    const tat = this.tat.get(orgId);
    if (tat !== undefined && tat >= change.nowMs) return { ok: false, tatMs: tat };
    this.tat.set(orgId, change.nowMs + change.addMs);
    return { ok: true, tatMs: change.nowMs + change.addMs };
  }

  async limits(orgId: string) {
    if (this.failing) throw new Error('down');
    return this.overrides.get(orgId);
  }

  async setLimits(orgId: string, settings: RateLimitSettings) {
    this.overrides.set(orgId, settings);
  }

  private attempt() {
    if (this.failing) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    this.writes += 1;
  }
}

const fakeClock = (start = 1_700_000_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
};

async function admitMany(limiter: RateLimiter, orgId: string, n: number): Promise<{ admitted: number; refused: RateLimitedError[] }> {
  let admitted = 0;
  const refused: RateLimitedError[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await limiter.admit(orgId);
      admitted += 1;
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      refused.push(error);
    }
  }
  return { admitted, refused };
}

describe('per-org token bucket (GCRA over a leased store)', () => {
  it('lets a full burst through, then refuses with 429 + Retry-After in whole seconds (≥ 1)', async () => {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 10, burst: 20 });
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock });
    const { admitted, refused } = await admitMany(limiter, 'org_a', 25);
    expect(admitted).toBe(20);
    expect(refused).toHaveLength(5);
    const { problem, headers } = toProblem(refused[0]);
    expect(problem).toMatchObject({ status: 429, type: 'https://leadlog.dev/problems/rate-limited' });
    expect(headers['retry-after']).toBe('1'); // the next token is 100 ms away: rounded up to a whole second
    expect(headers['ratelimit-limit']).toBe('10');
  });

  it('refills at the org\'s rate, never above its burst', async () => {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 10, burst: 20 });
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock });
    expect((await admitMany(limiter, 'org_a', 20)).admitted).toBe(20);
    clock.advance(1_000); // past the Retry-After the instance gave: 10 tokens back
    expect((await admitMany(limiter, 'org_a', 15)).admitted).toBe(10);
    clock.advance(60_000); // a long idle time: the bucket is full, not 600 tokens deep
    expect((await admitMany(limiter, 'org_a', 30)).admitted).toBe(20);
  });

  it('leases in chunks: 1,000 requests at the default limit cost 1,000 / lease writes, not 1,000', async () => {
    const store = new MemoryRateLimitStore();
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock });
    const lease = rateLimitLeaseSize(RATE_LIMIT_DEFAULTS);
    expect(lease).toBe(50);
    for (let i = 0; i < 1_000; i++) {
      await limiter.admit('org_a');
      if (i % 10 === 9) clock.advance(10); // 1,000 requests a second
    }
    // + 2: a new instance's first leases are small (1, then what it measured it spends), growing to the full lease.
    expect(store.writes).toBeLessThanOrEqual(1_000 / lease + 3);
    // The model the scale model prints: far below half of a key's write limit even at 10,000 requests a second.
    expect(rateLimitStateWritesPerSecond(10_000, RATE_LIMIT_DEFAULTS, 100)).toBeLessThan(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
    expect(rateLimitStateWritesPerSecond(1_000)).toBe(40);
  });

  it('is one limit across instances: two instances sharing the store never pass burst + rate × time together', async () => {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 100, burst: 100 });
    const clock = fakeClock();
    const instances = [new RateLimiter(store, { settingsCacheMs: 60_000, clock }), new RateLimiter(store, { settingsCacheMs: 60_000, clock })];
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      for (const limiter of instances) admitted += (await admitMany(limiter, 'org_a', 5)).admitted; // 1,000 a second offered
      clock.advance(10);
    }
    // 100 (burst) + 100/s × 10 s: never more. Less by what refusals from memory (until the whole-second
    // Retry-After) and unspent leases leave unused: an org over its limit still gets about its rate.
    expect(admitted).toBeLessThanOrEqual(1_100);
    expect(admitted).toBeGreaterThanOrEqual(900);
    // A second org is untouched by the first one's flood.
    expect((await admitMany(instances[0]!, 'org_b', 50)).admitted).toBe(50);
  });

  it('answers refusals from memory until Retry-After: a flood over the limit costs no writes', async () => {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 1, burst: 2 });
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock });
    await admitMany(limiter, 'org_a', 3);
    const writes = store.writes;
    const { admitted, refused } = await admitMany(limiter, 'org_a', 1_000);
    expect(admitted).toBe(0);
    expect(refused.every((error) => Number(error.headers['retry-after']) >= 1 && Number.isInteger(Number(error.headers['retry-after'])))).toBe(true);
    expect(store.writes).toBe(writes);
  });

  it('concurrent requests on one instance share one lease in flight', async () => {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 5, burst: 5 });
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock: fakeClock() });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => limiter.admit('org_a')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof RateLimitedError)).toBe(true);
  });

  it('fails open when its store fails: requests pass, one log line per outage', async () => {
    const store = new MemoryRateLimitStore();
    store.failing = true;
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 0, clock });
    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    for (let i = 0; i < 500; i++) {
      await limiter.admit('org_a', log);
      clock.advance(5);
    }
    expect(lines.filter((line) => line.includes('failed'))).toHaveLength(1);
    store.failing = false;
    clock.advance(LEASE_TTL_MS);
    await limiter.admit('org_a', log);
    expect(lines.at(-1)).toContain('available again');
  });

  it('computes a lease, the tokens left and the wait for the next token from tat alone', async () => {
    const limits = { requestsPerSecond: 4, burst: 8 }; // 250 ms a token, 2 s of capacity
    expect(tokensAvailable(limits, undefined, 0)).toBe(8);
    expect(tokensAvailable(limits, 2_000, 0)).toBe(0);
    expect(tokensAvailable(limits, 1_000, 0)).toBe(4);
    expect(msUntilNextToken(limits, 2_000, 0)).toBe(250);
    expect(msUntilNextToken(limits, 5_000, 0)).toBe(3_250);
    expect([0, 1, 999, 1_000, 1_001, 3_250].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 4]);
    // A partial lease when fewer tokens are left than asked for.
    const store = new MemoryRateLimitStore();
    store.tat.set('org_a', 1_750); // 1 token left at t = 0
    expect(await leaseTokens(store, 'org_a', limits, 3, 0, 1_750)).toEqual({ granted: 1, tatMs: 2_000 });
    expect(await leaseTokens(store, 'org_a', limits, 3, 0, 2_000)).toEqual({ granted: 0, tatMs: 2_000 });
    // A stale guess of tat is corrected by what the refused write reports.
    expect(await leaseTokens(store, 'org_a', limits, 2, 1_000, undefined)).toEqual({ granted: 2, tatMs: 2_500 });
  });

  it('names every bad field of an override in one 400', () => {
    let caught: unknown;
    try {
      parseRateLimitSettings({ requests_per_second: 0, burst: 'many', extra: 1 }, '2026-01-01T00:00:00.000Z');
    } catch (error) {
      caught = error;
    }
    const paths = (caught as { errors: { path: string }[] }).errors.map((e) => e.path).sort();
    expect(paths).toEqual(['burst', 'extra', 'requests_per_second']);
    expect(parseRateLimitSettings({ burst: 50 }, '2026-01-01T00:00:00.000Z')).toEqual({ burst: 50, updated_at: '2026-01-01T00:00:00.000Z' });
  });
});

describe('an org at its limit over many instances (issue #22 red team)', () => {
  /** `instances` limiters share one store; `rate` requests a second arrive round-robin for `seconds`. */
  async function atItsRate(limits: { requests_per_second: number; burst: number }, rate: number, instances: number, seconds: number) {
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', limits);
    const clock = fakeClock();
    const limiters = Array.from({ length: instances }, () => new RateLimiter(store, { settingsCacheMs: 60_000, clock }));
    let admitted = 0;
    const perMs = rate / 1000;
    let owed = 0;
    for (let ms = 0, i = 0; ms < seconds * 1000; ms++) {
      for (owed += perMs; owed >= 1; owed -= 1, i++) admitted += (await admitMany(limiters[i % instances]!, 'org_a', 1)).admitted;
      clock.advance(1);
    }
    return { admitted, offered: rate * seconds, writesPerSecond: store.writes / seconds };
  }

  it('serves an org sending its own limit spread over 250 instances (Lambda\'s reserved concurrency), writing its bucket under half a key\'s limit', async () => {
    // Each instance leased 1/20 s of the ORG's rate (500 tokens) and dropped what it had not spent after a second:
    // 250 instances held 125,000 tokens of a 20,000 bucket, so leases came back empty and 83 % were refused.
    const { admitted, offered, writesPerSecond } = await atItsRate({ requests_per_second: 10_000, burst: 20_000 }, 10_000, 250, 10);
    expect(admitted / offered).toBeGreaterThanOrEqual(0.97);
    expect(writesPerSecond).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
    expect(writesPerSecond).toBeLessThanOrEqual(rateLimitStateWritesPerSecond(10_000, { requestsPerSecond: 10_000, burst: 20_000 }, 250));
  });

  it('keeps the default limit\'s bucket item cool when 100 instances share an org at 1,000 requests a second', async () => {
    // Before: partial leases of one token each, about 1,800 writes a second on one key (over its 1,000 write units).
    const { admitted, offered, writesPerSecond } = await atItsRate({ requests_per_second: 1_000, burst: 2_000 }, 1_000, 100, 10);
    expect(admitted / offered).toBeGreaterThanOrEqual(0.97);
    expect(writesPerSecond).toBeLessThanOrEqual(rateLimitStateWritesPerSecond(1_000, RATE_LIMIT_DEFAULTS, 100));
    expect(rateLimitStateWritesPerSecond(1_000, RATE_LIMIT_DEFAULTS, 100)).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
  });

  it('still never passes burst + rate × time when many instances flood an org', async () => {
    const { admitted } = await atItsRate({ requests_per_second: 100, burst: 100 }, 2_000, 50, 10);
    expect(admitted).toBeLessThanOrEqual(1_100);
    expect(admitted).toBeGreaterThanOrEqual(800);
  });
});

describe('an override that makes every request a write (issue #22 red team)', () => {
  it('refuses a burst smaller than one lease (1/20 s of the rate), and a stored one never leases token by token', async () => {
    let caught: unknown;
    try {
      parseRateLimitSettings({ requests_per_second: 10_000, burst: 1 }, '2026-01-01T00:00:00.000Z');
    } catch (error) {
      caught = error;
    }
    expect((caught as { errors: { path: string; message: string }[] }).errors).toEqual([{ path: 'burst', message: expect.stringContaining('at least 500') }]);
    expect(() => parseRateLimitSettings({ burst: 49 }, '2026-01-01T00:00:00.000Z')).toThrow(); // the default rate's lease is 50
    // Stored before the rule (or written around the route): 10,000 requests a second each cost a bucket write before.
    const store = new MemoryRateLimitStore();
    await store.setLimits('org_a', { requests_per_second: 10_000, burst: 1 });
    const clock = fakeClock();
    const limiter = new RateLimiter(store, { settingsCacheMs: 60_000, clock });
    for (let ms = 0; ms < 1_000; ms++) {
      await admitMany(limiter, 'org_a', 10);
      clock.advance(1);
    }
    expect(store.writes).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
  });
});

describe("an org's events a second follow its shard plan (issue #22: no org saturates its own keys)", () => {
  const plans = new Map<string, number>();
  const limiterOver = (store: MemoryRateLimitStore, clock: ReturnType<typeof fakeClock>, options: { sleep?: (ms: number) => Promise<void>; maxWaitMs?: number } = {}) =>
    new EventRateLimiter(store, { clock, shardPlan: async (orgId) => ({ write: plans.get(orgId) ?? 1, read: plans.get(orgId) ?? 1 }), ...options });

  it('eventsPerSecondFor is indexShardsFor\'s inverse: the largest rate whose fullest shard stays within half a key\'s write limit', () => {
    for (const shards of [1, 2, 3, 5, 8, 16, 24, 64, 200, 256]) {
      const rate = eventsPerSecondFor(shards);
      expect(indexShardsFor(rate), `${shards} shards`).toBeLessThanOrEqual(shards);
      expect(fullestShardEventsPerSecond(rate, shards)).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
      // The largest: one more event a second needs more shards (or is over half a key even at the most shards).
      expect(fullestShardEventsPerSecond(rate + 1, shards)).toBeGreaterThan(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
      if (shards > 1) expect(rate).toBeGreaterThan(eventsPerSecondFor(shards - 1));
    }
    // Unsharded, every event is on the one day key: half of its 1,000 write units.
    expect(eventsPerSecondFor(1)).toBe(500);
    // The plan the keys CLI sizes for 10,000 events/s takes them.
    expect(eventsPerSecondFor(indexShardsFor(10_000))).toBeGreaterThanOrEqual(10_000);
  });

  it('its burst (one second of the rate) keeps the busiest second within a key\'s whole write limit', () => {
    for (const shards of [1, 2, 8, 24, 256]) {
      const { requestsPerSecond: rate, burst } = eventLimitsFor(shards);
      expect(burst).toBe(rate);
      expect(fullestShardEventsPerSecond(rate + burst, shards)).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND);
      expect(burst).toBeGreaterThanOrEqual(100); // a whole batch (POST /v1/events/batch) always fits
    }
  });

  it('admits n events at once, all or nothing: past the burst a batch is refused (429 naming the shard plan) and takes no tokens', async () => {
    const store = new MemoryRateLimitStore();
    const clock = fakeClock();
    const limiter = limiterOver(store, clock);
    for (let i = 0; i < 5; i++) await limiter.admit('org_a', 100); // 500: the unsharded burst
    const refused = await limiter.admit('org_a', 100).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    const { problem, headers } = toProblem(refused as RateLimitedError);
    expect(problem).toMatchObject({ status: 429, type: expect.stringContaining('rate-limited') });
    expect(headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(problem.detail).toContain('500 events a second');
    expect(problem.detail).toContain('npm run keys -- shards');
    // Another org is unaffected.
    await limiter.admit('org_b', 100);
    // A second later the bucket took 500 back: 5 batches again, not 6.
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) await limiter.admit('org_a', 100);
    await expect(limiter.admit('org_a', 100)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('follows the plan as writers use it: raised to 8 shards, the same org is admitted 8 shards\' rate', async () => {
    const store = new MemoryRateLimitStore();
    const clock = fakeClock();
    const limiter = limiterOver(store, clock);
    plans.set('org_raised', 8);
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      try {
        await limiter.admit('org_raised', 100);
        admitted += 100;
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
      }
    }
    expect(admitted).toBe(Math.floor(eventBurstFor(8) / 100) * 100);
    expect(admitted).toBeGreaterThan(eventBurstFor(1));
  });

  it('admitWaiting backs off for the Retry-After and then admits (the inbox, the pull); it gives up only past its wait', async () => {
    const store = new MemoryRateLimitStore();
    const clock = fakeClock();
    const slept: number[] = [];
    const limiter = limiterOver(store, clock, { sleep: async (ms) => { slept.push(ms); clock.advance(ms); }, maxWaitMs: 5_000 });
    for (let i = 0; i < 5; i++) await limiter.admitWaiting('org_w', 100);
    await limiter.admitWaiting('org_w', 100);
    expect(slept.length).toBeGreaterThan(0);
    expect(slept.every((ms) => ms >= 1_000)).toBe(true);
    const impatient = limiterOver(store, clock, { sleep: async (ms) => clock.advance(ms), maxWaitMs: 0 });
    for (let i = 0; i < 5; i++) await impatient.admit('org_x', 100).catch(() => undefined);
    await expect(impatient.admitWaiting('org_x', 100)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('fails open with n above a lease when its store fails (never a refusal or a loop for the limiter\'s own fault)', async () => {
    const store = new MemoryRateLimitStore();
    store.failing = true;
    const limiter = limiterOver(store, fakeClock());
    for (let i = 0; i < 20; i++) await limiter.admit('org_a', 100);
  });

  it('writes its bucket item a few times a second at its whole rate, batches or single events', async () => {
    const store = new MemoryRateLimitStore();
    const clock = fakeClock();
    plans.set('org_busy', indexShardsFor(10_000));
    const limiter = limiterOver(store, clock);
    const rate = eventsPerSecondFor(indexShardsFor(10_000));
    // 10 s at the plan's rate in batches of 100 from one instance.
    for (let t = 0; t < 10_000; t += 10) {
      clock.advance(10);
      await limiter.admit('org_busy', Math.floor(rate / 100));
    }
    expect(store.writes / 10).toBeLessThan(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM / 10);
  });
});
