import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBurstFor, eventsPerSecondFor, RATE_LIMIT_DEFAULTS } from '../../shared/definitions/rate-limits.js';
import { SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import { RateLimitedError } from '../../shared/domain/errors.js';
import { defaultDependencies } from '../../shared/adapters/container.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signedSample } from '../../infra/local/webhook-samples.js';
import { sampleEvent, startTestApi, type TestApi, type TestResponse } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

/** An org with a low limit, set in the store (not through the admin route, whose own request would spend tokens). */
async function limitedOrg(limits: { requests_per_second: number; burst: number }) {
  const org = await api.newOrg();
  await api.deps.rateLimits.setLimits(org.orgId, limits);
  return org;
}

const postEvent = (key: string) => api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: `lead_${randomUUID().slice(0, 8)}` }) });

/** A 429 as the contract promises it: problem+json of type rate-limited, Retry-After in whole seconds ≥ 1. */
function expectRateLimited(res: TestResponse) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.type).toBe('https://leadlog.dev/problems/rate-limited');
  const retryAfter = res.headers.get('retry-after') ?? '';
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
  expect(res.headers.get('x-request-id')).toBeTruthy();
}

describe('per-org rate limits (issue #22 point 3)', () => {
  it('refuses one org over its limit with 429 + Retry-After while another org at the same time gets none', async () => {
    const slow = await limitedOrg({ requests_per_second: 1, burst: 3 });
    const other = await api.newOrg();
    const started = Date.now();
    const [slowAnswers, otherAnswers] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => postEvent(slow.key))),
      Promise.all(Array.from({ length: 20 }, () => postEvent(other.key))),
    ]);
    const elapsedSeconds = Math.ceil((Date.now() - started) / 1000);
    const passed = slowAnswers.filter((res) => res.status === 201);
    const refused = slowAnswers.filter((res) => res.status === 429);
    expect(passed.length + refused.length).toBe(20);
    expect(passed.length).toBeGreaterThanOrEqual(1);
    expect(passed.length).toBeLessThanOrEqual(3 + elapsedSeconds); // burst + what refilled meanwhile
    expect(refused.length).toBeGreaterThanOrEqual(20 - 3 - elapsedSeconds);
    for (const res of refused) expectRateLimited(res);
    expect(otherAnswers.map((res) => res.status)).toEqual(Array(20).fill(201));
    // A 2xx tells the limit too.
    expect(otherAnswers[0]!.headers.get('ratelimit-limit')).toBe(String(RATE_LIMIT_DEFAULTS.requestsPerSecond));
    expect(Number(otherAnswers[0]!.headers.get('ratelimit-remaining'))).toBeGreaterThan(0);
  });

  it('counts a batch of 100 events as one request', async () => {
    const org = await limitedOrg({ requests_per_second: 1, burst: 3 });
    const batch = await api.request('POST', '/v1/events/batch', {
      key: org.key, body: { events: Array.from({ length: 100 }, (_, i) => sampleEvent({ lead_id: `lead_b${i}` })) },
    });
    // Counted per event, the batch alone would be 100 tokens, over the burst of 3: refused.
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.results.filter((r: { status: string }) => r.status === 'created')).toHaveLength(100);
    const after = await Promise.all(Array.from({ length: 2 }, () => postEvent(org.key)));
    expect(after.map((res) => res.status)).toEqual([201, 201]);
  });

  it('never spends an org\'s tokens on webhook deliveries whose signature does not verify; signed ones count', async () => {
    const org = await limitedOrg({ requests_per_second: 1, burst: 3 });
    const secret = `stripe_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId: org.orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    const person = () => ({ email: `ana.${randomUUID().slice(0, 8)}@example.com`, phone: `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` });
    const deliver = (delivery: { body: string | Buffer; headers: Record<string, string> }) =>
      api.request('POST', `/v1/webhooks/stripe/${org.orgId}`, { rawBody: delivery.body, headers: delivery.headers });

    const forged = await Promise.all(Array.from({ length: 30 }, () => deliver(signedSample('stripe', 'not-the-secret-0123456789', person()))));
    expect(forged.map((res) => res.status)).toEqual(Array(30).fill(401));
    // The bucket is untouched: its whole burst is still there for signed deliveries.
    const signed = [];
    for (let i = 0; i < 3; i++) signed.push(await deliver(signedSample('stripe', secret, person())));
    expect(signed.map((res) => res.status)).toEqual([200, 200, 200]);
    // And signed deliveries are limited like any request of the org.
    const flood = await Promise.all(Array.from({ length: 10 }, () => deliver(signedSample('stripe', secret, person()))));
    const refused = flood.filter((res) => res.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const res of refused) expectRateLimited(res);
  });

  /**
   * Spends the org's events bucket through the ingest function's own limiter (the instance the requests meet) until it
   * refuses (a function's process-wide container, as its handler uses it): the local stack stores a few hundred events a second, too slow to outrun a 500/s bucket over HTTP alone,
   * and a refused instance refuses from memory until its Retry-After (≥ 1 s), so the next request meets it for sure.
   */
  async function spendEventBurst(orgId: string, fn: 'ingest' | 'webhooks' = 'ingest'): Promise<number> {
    let spent = 0;
    for (;;) {
      try {
        await defaultDependencies(fn).eventLimiter.admit(orgId, 100);
        spent += 100;
      } catch (error) {
        if (error instanceof RateLimitedError) return spent;
        throw error;
      }
    }
  }
  const batchOf = (key: string, tag: string) => api.request('POST', '/v1/events/batch', {
    key, body: { events: Array.from({ length: 100 }, (_, i) => sampleEvent({ lead_id: `lead_${tag}_${i}_${randomUUID().slice(0, 6)}` })) },
  });
  /** The org's stored events, counted page by page (GET /v1/events: its default range holds the sample's hour). */
  const storedCount = async (key: string) => {
    let count = 0;
    for (let path: string | undefined = '/v1/events?limit=1000'; path;) {
      const page: TestResponse = await api.request('GET', path, { key });
      expect(page.status, page.text).toBe(200);
      count += page.body.items.length;
      path = page.body.next_cursor ? `/v1/events?limit=1000&cursor=${encodeURIComponent(page.body.next_cursor)}` : undefined;
    }
    return count;
  };

  it("caps an org's events by its shard plan: an unsharded org's batch past its event burst gets 429 + Retry-After and stores nothing, another org is unaffected, a raised plan admits more", async () => {
    const org = await api.newOrg();
    const other = await api.newOrg();
    // Unsharded, the org's events bucket holds one second of 500 events (one day key's half limit, shared/definitions/rate-limits.ts).
    expect(await spendEventBurst(org.orgId)).toBeGreaterThanOrEqual(eventBurstFor(1));
    const [refused, others] = await Promise.all([batchOf(org.key, 'a'), Promise.all(Array.from({ length: 3 }, (_, i) => batchOf(other.key, `o${i}`)))]);
    expectRateLimited(refused);
    expect(refused.body.detail).toContain(`${eventsPerSecondFor(1)} events a second`);
    expect(refused.body.detail).toContain('npm run keys -- shards');
    expect(await storedCount(org.key)).toBe(0); // the answer tells exactly what was stored: nothing of a refused batch
    expect(others.map((res) => res.status)).toEqual([200, 200, 200]);

    // Raised to 8 shards (writers already on them), the same org is admitted 8 shards' rate once its Retry-After passed.
    // Raised in the ingest and query functions' own plan stores (the functions' containers in this process, as their
    // handlers use them): their caches read the 1-shard plan, and another instance's cache takes up to
    // SHARD_PLAN_CACHE_MS to see a raise, which is why writers wait SHARD_PLAN_WRITE_DELAY_MS (set in the past here).
    for (const fn of ['query', 'ingest'] as const) await defaultDependencies(fn).shardPlans.raise(org.orgId, 8, Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
    await new Promise((resolve) => setTimeout(resolve, Number(refused.headers.get('retry-after')) * 1000 + 100));
    const raised = await Promise.all(Array.from({ length: 10 }, (_, i) => batchOf(org.key, `r${i}`)));
    expect(raised.map((res) => `${res.status} ${res.status === 200 ? '' : res.text}`)).toEqual(Array(10).fill('200 '));
    expect(await storedCount(org.key)).toBe(1_000); // twice the unsharded burst, at once
  });

  it('caps single events and signed webhook deliveries by the same events bucket', async () => {
    const org = await api.newOrg();
    const secret = `stripe_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId: org.orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    await spendEventBurst(org.orgId, 'ingest');
    const single = await postEvent(org.key);
    expectRateLimited(single);
    expect(single.body.detail).toContain('npm run keys -- shards');
    // The webhooks function is another instance: it refuses from its own memory once it met the empty bucket.
    await spendEventBurst(org.orgId, 'webhooks');
    const delivery = signedSample('stripe', secret, { email: `ev.${randomUUID().slice(0, 8)}@example.com`, phone: '+5511912345678' });
    const webhook = await api.request('POST', `/v1/webhooks/stripe/${org.orgId}`, { rawBody: delivery.body, headers: delivery.headers });
    expectRateLimited(webhook);
    expect(webhook.body.detail).toContain('npm run keys -- shards');
    expect(await storedCount(org.key)).toBe(0);
  });

  it('PUT/GET /v1/settings/limits: admin only, every bad field named in one 400, audited, and in force at once', async () => {
    const org = await api.newOrg();
    const reader = await api.keyFor(org.orgId, ['events:read', 'events:write']);
    expect((await api.request('GET', '/v1/settings/limits', { key: reader })).status).toBe(403);
    expect((await api.request('PUT', '/v1/settings/limits', { key: reader, body: { requests_per_second: 5 } })).status).toBe(403);

    const defaults = await api.request('GET', '/v1/settings/limits', { key: org.key });
    expect(defaults.status).toBe(200);
    expect(defaults.body).toEqual({ requests_per_second: RATE_LIMIT_DEFAULTS.requestsPerSecond, burst: RATE_LIMIT_DEFAULTS.burst });

    const bad = await api.request('PUT', '/v1/settings/limits', { key: org.key, body: { requests_per_second: 0, burst: 'lots', per_minute: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['burst', 'per_minute', 'requests_per_second']);
    const tooHigh = await api.request('PUT', '/v1/settings/limits', { key: org.key, body: { requests_per_second: 1.5, burst: 1_000_000 } });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['burst', 'requests_per_second']);

    const set = await api.request('PUT', '/v1/settings/limits', { key: org.key, body: { requests_per_second: 1, burst: 2 } });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ requests_per_second: 1, burst: 2 });
    expect((await api.request('GET', '/v1/settings/limits', { key: org.key })).body).toMatchObject({ requests_per_second: 1, burst: 2 });

    const audit = await api.request('GET', '/v1/audit', { key: org.key });
    expect(audit.body.items.some((e: { action: string; resource: string }) => e.action === 'settings.update' && e.resource === '/v1/settings/limits')).toBe(true);

    // The ingest function had not served this org yet: its first lease reads the new limit.
    const answers = await Promise.all(Array.from({ length: 10 }, () => postEvent(org.key)));
    expect(answers.filter((res) => res.status === 429).length).toBeGreaterThanOrEqual(6);
    // Health and the API description are never limited.
    expect((await api.request('GET', '/v1/health')).status).toBe(200);
  });
});
