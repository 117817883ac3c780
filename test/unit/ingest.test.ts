import { describe, expect, it } from 'vitest';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { ingestBatch, ingestEvent, storeOnce } from '../../shared/domain/ingest.js';
import { RateLimitedError, ServiceUnavailableError } from '../../shared/domain/errors.js';
import { unlimitedEvents, type EventAdmission } from '../../shared/domain/rate-limit.js';
import { batchResultOf } from '../../shared/http/problem.js';
import type { EventStore, StoredEvent, WriteResult } from '../../shared/domain/ports.js';
import { UNSHARDED } from '../../shared/domain/shards.js';

const now = Date.parse('2026-11-23T14:30:00.000Z');
const input = (amount: number) => ({
  lead_id: 'lead_1', source_type: 'external', source: 'stripe', event_type: 'purchase_completed', external_event_id: 'evt_1',
  payload: { product_id: 'p', product_name: 'Course', category: 'education', amount, currency: 'USD', payment_method: 'card' },
});
const built = (amount: number) => {
  const validation = validateEventInput(input(amount), { now });
  if (!validation.ok) throw new Error('invalid');
  return buildEvent(validation.value, { orgId: 'org_a', now });
};

/** A store that answers what a conditional write would find: nothing the first time, the first item after. */
function memoryStore(items = new Map<string, StoredEvent>()): EventStore {
  return {
    async put(b): Promise<WriteResult> {
      const stored = items.get(b.event.id);
      if (stored) return { status: 'exists', stored };
      items.set(b.event.id, { event: b.event, contentHash: b.contentHash });
      return { status: 'created' };
    },
    get: async () => undefined,
    getRaw: async () => undefined,
    query: async () => ({ items: [], positions: [] }),
    shardPlan: async () => UNSHARDED,
    erasable: async () => ({ items: [] }),
    remove: async () => undefined,
    records: async () => [],
    scanRecords: async function* () {},
  };
}

describe('storing an event once', () => {
  it('is created, then a duplicate (the stored twin), then a conflict when the content differs', async () => {
    const store = memoryStore();
    const first = await storeOnce(store, built(10), now);
    expect(first.status).toBe('created');
    const again = await storeOnce(store, built(10), now + 1000);
    expect(again).toMatchObject({ status: 'duplicate', event: { id: first.status === 'created' ? first.event.id : '' } });
    const other = await storeOnce(store, built(99), now);
    expect(other).toMatchObject({ status: 'conflict', id: built(10).event.id, stored: { payload: { amount: 10 } } });
  });

  it('turns a conflict into a 409 error for the API', async () => {
    const store = memoryStore();
    await ingestEvent(store, input(10), { orgId: 'org_a', now, admission: unlimitedEvents });
    const result = await ingestEvent(store, input(11), { orgId: 'org_a', now, admission: unlimitedEvents });
    expect(result.status).toBe('conflict');
    expect(result.status === 'conflict' ? result.error.status : 0).toBe(409);
  });
});

/**
 * Fault injection only: the memory store, except that storing the item whose external id is `failing` throws what the
 * client middleware makes of DynamoDB throttling after the SDK's retries (or, with `bug`, an unexpected error).
 */
function faultyStore(items: Map<string, StoredEvent>, failing: string, fault: 'throttled' | 'bug' = 'throttled'): EventStore {
  const store = memoryStore(items);
  return {
    ...store,
    async put(b, nowMs) {
      if (b.event.external_event_id !== failing) return store.put(b, nowMs);
      if (fault === 'bug') throw new TypeError('Cannot read properties of undefined (injected)');
      throw new ServiceUnavailableError('Temporarily unable to store the data; retry with the same idempotency key.', { retryAfterSeconds: 1 });
    },
  };
}

describe('a batch meeting a server fault on one item', () => {
  const batch = { events: Array.from({ length: 5 }, (_, i) => ({ ...input(10 + i), external_event_id: `evt_${i}` })) };

  it("answers that item's fault as its own result (503 problem) while every other item's result stands, and reports exactly what was stored", async () => {
    const items = new Map<string, StoredEvent>();
    const results = await ingestBatch(faultyStore(items, 'evt_2'), batch, { orgId: 'org_a', now, admission: unlimitedEvents });
    expect(results.map((r) => r.status)).toEqual(['created', 'created', 'error', 'created', 'created']);
    const answered = results.map(batchResultOf);
    expect(answered[2]).toEqual({ index: 2, status: 'error', problem: expect.objectContaining({ status: 503, type: expect.stringContaining('service-unavailable') }) });
    // Reported = stored: every `created` id is in the store, and nothing else is.
    const createdIds = answered.filter((r) => r.status === 'created').map((r) => r.id);
    expect([...items.keys()].sort()).toEqual(createdIds.sort());
    // Retrying the whole batch is safe: the stored items are duplicates, the failed one is created.
    const retried = await ingestBatch(memoryStore(items), batch, { orgId: 'org_a', now: now + 1_000, admission: unlimitedEvents });
    expect(retried.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'created', 'duplicate', 'duplicate']);
    expect(items.size).toBe(5);
  });

  it('an unexpected error on one item is that item\'s 500 problem (never its message), not the batch\'s', async () => {
    const items = new Map<string, StoredEvent>();
    const results = await ingestBatch(faultyStore(items, 'evt_2', 'bug'), batch, { orgId: 'org_a', now, admission: unlimitedEvents });
    expect(results.map((r) => r.status)).toEqual(['created', 'created', 'error', 'created', 'created']);
    const problem = batchResultOf(results[2]!, 2).problem!;
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('injected');
    expect(items.size).toBe(4);
  });
});

describe("admitting a request's events to the org's events bucket before storing any (issue #22)", () => {
  /** An org's bucket holding `tokens`: admissions as they were asked, all or nothing, refused with 429 when short. */
  function bucket(tokens: number): EventAdmission & { asked: number[] } {
    const asked: number[] = [];
    const admit = async (_orgId: string, n: number) => {
      asked.push(n);
      if (n > tokens) throw new RateLimitedError(2, { requestsPerSecond: 500, burst: 500 }, () => 'over the event rate');
      tokens -= n;
    };
    return { asked, admit, admitWaiting: admit };
  }

  it('a batch is admitted once, for the items that passed validation only', async () => {
    const items = new Map<string, StoredEvent>();
    const admission = bucket(100);
    const events = Array.from({ length: 6 }, (_, i) => ({ ...input(10 + i), external_event_id: `evt_${i}` }));
    events[1] = { ...events[1]!, lead_id: '' } as never;
    const results = await ingestBatch(memoryStore(items), { events }, { orgId: 'org_a', now, admission });
    expect(results.map((r) => r.status)).toEqual(['created', 'invalid', 'created', 'created', 'created', 'created']);
    expect(admission.asked).toEqual([5]);
  });

  it('over the bucket, the whole batch is refused (429 + Retry-After) and nothing of it is stored', async () => {
    const items = new Map<string, StoredEvent>();
    const batch = { events: Array.from({ length: 5 }, (_, i) => ({ ...input(10 + i), external_event_id: `evt_${i}` })) };
    const refused = ingestBatch(memoryStore(items), batch, { orgId: 'org_a', now, admission: bucket(4) });
    await expect(refused).rejects.toBeInstanceOf(RateLimitedError);
    await expect(refused).rejects.toMatchObject({ status: 429, headers: { 'retry-after': '2' } });
    expect(items.size).toBe(0);
  });

  it('a single event is admitted after validation: an invalid one costs nothing, a refused one is not stored', async () => {
    const items = new Map<string, StoredEvent>();
    const admission = bucket(1);
    expect((await ingestEvent(memoryStore(items), { ...input(10), lead_id: '' }, { orgId: 'org_a', now, admission })).status).toBe('invalid');
    expect(admission.asked).toEqual([]);
    expect((await ingestEvent(memoryStore(items), input(10), { orgId: 'org_a', now, admission })).status).toBe('created');
    await expect(ingestEvent(memoryStore(items), { ...input(11), external_event_id: 'evt_2' }, { orgId: 'org_a', now, admission })).rejects.toBeInstanceOf(RateLimitedError);
    expect(items.size).toBe(1);
  });
});
