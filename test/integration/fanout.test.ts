import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import type { BusEntry, EventBus } from '../../shared/domain/ports.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

function pollerFor(bus: EventBus) {
  return new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus }) });
}

describe('stream → fan-out → bus → rules (DynamoDB Local stream)', () => {
  it('delivers matching events to the per-event rules, masked, without raw payload or snapshot', async () => {
    const { orgId, key } = await api.newOrg();
    const lead = `lead_fan_${Date.now()}`;
    const post = (body: Record<string, unknown>) => api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: lead, ...body }) });
    expect((await post({ event_type: 'objection_raised', payload: { type: 'price', context: 'too expensive', product_id: 'p1', email: 'ana@example.com' }, raw_payload: { secret: 1 }, lead_snapshot: { first_name: 'Ana' } })).status).toBe(201);
    expect((await post({ event_type: 'purchase_abandoned', payload: { product_ids: ['p1'], cart_value: 650, stage_abandoned: 'payment' } })).status).toBe(201);
    expect((await post({ event_type: 'purchase_abandoned', payload: { product_ids: ['p1'], cart_value: 120, stage_abandoned: 'payment' } })).status).toBe(201);
    expect((await post({ event_type: 'sentiment_detected', payload: { score: -0.7, label: 'negative', context: 'chat' } })).status).toBe(201);
    expect((await post({ event_type: 'sentiment_detected', payload: { score: 0.2, label: 'neutral', context: 'chat' } })).status).toBe(201);

    const bus = new LocalBus();
    const delivered: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === orgId && delivered.push(d));
    const poller = pollerFor(bus);
    await poller.drain();

    expect(delivered.map((d) => d.rule).sort()).toEqual(['large-cart-abandoned', 'negative-sentiment', 'objection-raised']);
    const objection = delivered.find((d) => d.rule === 'objection-raised')!.event;
    expect(objection).toMatchObject({ source: 'leadlog', 'detail-type': 'objection_raised' });
    expect(objection.detail.raw_payload).toBeUndefined();
    expect(objection.detail.lead_snapshot).toBeUndefined();
    expect((objection.detail.payload as { email: string }).email).toBe('a***@example.com');
  });

  it('retries failed entries and reports the first record that still fails, so nothing is skipped', async () => {
    const { orgId, key } = await api.newOrg();
    for (let i = 0; i < 3; i++) await api.request('POST', '/v1/events', { key, body: sampleEvent({ event_type: 'objection_raised', lead_id: `l${i}`, payload: { type: 't', context: 'c', product_id: 'p' } }) });
    let failuresLeft = 2;
    const seen: string[] = [];
    const flaky: EventBus = {
      async putEvents(entries: BusEntry[]) {
        const ours = entries.map((e, i) => ({ org: JSON.parse(e.Detail).org_id, i }));
        if (ours.some((o) => o.org === orgId) && failuresLeft-- > 0) return ours.filter((o) => o.org === orgId).map((o) => o.i);
        for (const e of entries) if (JSON.parse(e.Detail).org_id === orgId) seen.push(JSON.parse(e.Detail).id);
        return [];
      },
    };
    await pollerFor(flaky).drain();
    expect(new Set(seen).size).toBe(3);
  });
});
