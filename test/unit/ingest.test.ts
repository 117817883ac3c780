import { describe, expect, it } from 'vitest';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { ingestEvent, storeOnce } from '../../shared/domain/ingest.js';
import type { EventStore, StoredEvent, WriteResult } from '../../shared/domain/ports.js';

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
function memoryStore(): EventStore {
  const items = new Map<string, StoredEvent>();
  return {
    async put(b): Promise<WriteResult> {
      const stored = items.get(b.event.id);
      if (stored) return { status: 'exists', stored };
      items.set(b.event.id, { event: b.event, contentHash: b.contentHash });
      return { status: 'created' };
    },
    get: async () => undefined,
    getRaw: async () => undefined,
    query: async () => ({ items: [] }),
    erasable: async () => ({ items: [] }),
    remove: async () => undefined,
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
    await ingestEvent(store, input(10), { orgId: 'org_a', now });
    const result = await ingestEvent(store, input(11), { orgId: 'org_a', now });
    expect(result.status).toBe('conflict');
    expect(result.status === 'conflict' ? result.error.status : 0).toBe(409);
  });
});
