import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { DynamoAlertStore } from '../../shared/adapters/dynamo-alert-store.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { windowBuckets } from '../../shared/domain/alerts.js';
import { controlKeys } from '../../shared/domain/keys.js';
import { ALERT_TOTAL_SHARDS } from '../../shared/definitions/alert-rules.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
let store: DynamoAlertStore;
beforeAll(async () => {
  api = await startTestApi();
  store = new DynamoAlertStore(createDocumentClient({ endpoint: inject('dynamoEndpoint') }), inject('tableNames').control!);
});
afterAll(() => api.close());

let sequence = 10_000_000;
/** Stream records as Lambda delivers them, for events of one org (the sequence numbers keep growing). */
function streamEvent(events: Partial<LeadEvent>[], orgId: string): DynamoDBStreamEvent {
  const now = new Date().toISOString();
  return {
    Records: events.map((e) => {
      const event = { id: randomUUID(), org_id: orgId, lead_id: 'l1', source_type: 'internal', source: 'leadconduit', payload: {}, occurred_at: now, received_at: now, expires_at: now, schema_version: '1', ...e };
      return {
        eventName: 'INSERT',
        dynamodb: { SequenceNumber: String(sequence++), NewImage: marshall({ pk: `${orgId}#${event.id}`, body: JSON.stringify(event) }) as never },
      };
    }),
  } as DynamoDBStreamEvent;
}

function collect(bus: LocalBus, orgId: string): RuleDelivery[] {
  const seen: RuleDelivery[] = [];
  bus.onDelivery((d) => d.event.detail.org_id === orgId && d.event['detail-type'] === 'Alert Raised' && seen.push(d));
  return seen;
}

const submitted = (n: number, source = 'leadconduit') => Array.from({ length: n }, () => ({ event_type: 'source.submitted', outcome: 'success' as const, source }));
const rejected = (n: number, reason: string, source = 'leadconduit') => Array.from({ length: n }, () => ({ event_type: 'source.rejected', outcome: 'failure' as const, reason, source }));

describe('windowed alert rules', () => {
  it('keep exact running totals under concurrent and replayed batches, read as one bounded BatchGet (contract section 5, v1.2; issue #22)', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const handler = createFanoutHandler({ bus: new LocalBus(), alerts: store });
    const batches = Array.from({ length: 30 }, () => streamEvent([...submitted(10), ...rejected(1, 'Invalid phone')], orgId));
    // Every batch at once, then a third of them again (Lambda retries), also at once.
    await Promise.all(batches.map((batch) => handler(batch)));
    await Promise.all(batches.slice(0, 10).map((batch) => handler(batch)));
    expect(await store.totals(orgId, 'rejection_rate', 'all', windowBuckets(Date.now()))).toMatchObject({ numerator: 30, denominator: 300 });
    expect(await store.reasons(orgId, 'rejection_rate', 'all', windowBuckets(Date.now()))).toEqual({ 'Invalid phone': 30 });
  });

  it('count a retried batch that Lambda read again with newer records after it exactly once (red team #22)', async () => {
    // A batch whose alert step failed is retried from its first counting record, and Lambda reads the retry afresh:
    // the same records and, up to the batch size, newer ones. The counter whose mark already held the batch's lowest
    // sequence number skipped the whole retried contribution, so the newer records never counted.
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const handler = createFanoutHandler({ bus: new LocalBus(), alerts: store });
    const original = streamEvent([...submitted(8), ...rejected(2, 'Invalid phone')], orgId);
    await handler(original);
    const newer = streamEvent([...submitted(4), ...rejected(1, 'Invalid phone')], orgId);
    await handler({ Records: [...original.Records, ...newer.Records] });
    await handler({ Records: [...original.Records, ...newer.Records] }); // and that retry retried again
    expect(await store.totals(orgId, 'rejection_rate', 'all', windowBuckets(Date.now()))).toMatchObject({ numerator: 3, denominator: 12 });
    expect(await store.reasons(orgId, 'rejection_rate', 'all', windowBuckets(Date.now()))).toEqual({ 'Invalid phone': 3 });
  });

  it('spread a bucket\'s batches over its shards\' partitions, and a cached closed bucket follows its own late writes', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
    const own = new DynamoAlertStore(client, inject('tableNames').control!);
    const other = new DynamoAlertStore(client, inject('tableNames').control!);
    const closed = Math.floor((Date.now() - 30 * 60_000) / 300_000) * 300_000; // a bucket that ended well before now
    const delta = (seq: number, n: number) => ({ orgId, rule: 'rejection_rate' as const, dimension: 'all', bucketStart: closed, contributions: [{ sequence: String(seq), numerator: n, denominator: 10 }] });
    for (let i = 0; i < 40; i++) await own.apply(delta(1_000 + i, 1));
    const partitions = new Set(Array.from({ length: 40 }, (_, i) => controlKeys.alertCounter(orgId, 'rejection_rate', 'all', closed, String(1_000 + i)).pk));
    expect(partitions.size).toBe(ALERT_TOTAL_SHARDS); // 40 batches reach every shard
    const window = windowBuckets(Date.now());
    expect(await own.totals(orgId, 'rejection_rate', 'all', window, Date.now())).toMatchObject({ numerator: 40, denominator: 400 });
    await own.apply(delta(2_000, 5)); // its own late batch: the cached copy is dropped
    expect(await own.totals(orgId, 'rejection_rate', 'all', window, Date.now())).toMatchObject({ numerator: 45, denominator: 410 });
    await other.apply(delta(3_000, 5)); // another instance's: counted in the store at once
    expect(await other.totals(orgId, 'rejection_rate', 'all', window)).toMatchObject({ numerator: 50, denominator: 420 });
    await own.apply(delta(3_000, 5)); // a replay of that batch, from any instance, adds nothing
    expect(await own.totals(orgId, 'rejection_rate', 'all', window)).toMatchObject({ numerator: 50, denominator: 420 });
  });

  it('count backfilled history but never raise about the past: a window that ended over an hour ago stays quiet (section 15; issue #22)', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const bus = new LocalBus();
    const alerts = collect(bus, orgId);
    const handler = createFanoutHandler({ bus, alerts: store });
    const past = new Date(Date.now() - 2 * 86_400_000).toISOString(); // two days ago: a year's backfill looks the same
    const at = (events: Partial<LeadEvent>[], occurredAt: string) => events.map((e) => ({ ...e, occurred_at: occurredAt }));
    await handler(streamEvent(at([...submitted(100), ...rejected(60, 'Invalid phone')], past), orgId));
    expect(alerts).toHaveLength(0);
    expect(await store.totals(orgId, 'rejection_rate', 'all', windowBuckets(Date.parse(past)))).toMatchObject({ numerator: 60, denominator: 100 });
    // The same rate today raises.
    await handler(streamEvent([...submitted(100), ...rejected(60, 'Invalid phone')], orgId));
    expect(alerts.filter((d) => d.event.detail.rule_id === 'rejection_rate')).toHaveLength(1);
  });

  it('raise the rejection-rate alert once, with top reasons, and count a replayed batch once', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const bus = new LocalBus();
    const alerts = collect(bus, orgId);
    const handler = createFanoutHandler({ bus, alerts: store });
    const batch = streamEvent([...submitted(100), ...rejected(20, 'Invalid phone'), ...rejected(5, 'Duplicate')], orgId);
    await handler(batch);
    expect(alerts).toHaveLength(0); // 25 / 100 = 0.25, under 0.3
    await handler(batch); // a replay of the same records changes nothing
    const totals = await store.totals(orgId, 'rejection_rate', 'all', windowBuckets(Date.now()));
    expect(totals).toMatchObject({ numerator: 25, denominator: 100 });
    await handler(streamEvent(rejected(10, 'Invalid phone'), orgId)); // 35 / 100
    await handler(streamEvent(rejected(10, 'Outside service area'), orgId)); // 45 / 100: same window, no second alert
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.event.detail).toMatchObject({
      rule_id: 'rejection_rate', org_id: orgId, dimension: 'all', value: 0.35, threshold: 0.3, sample_size: 100,
      top_reasons: [{ reason: 'Invalid phone', count: 30 }, { reason: 'Duplicate', count: 5 }],
    });
    expect(alerts[0]!.rule).toBe('alert-raised');
  });

  it('need their minimum samples, and honour per-org overrides', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const bus = new LocalBus();
    const alerts = collect(bus, orgId);
    const handler = createFanoutHandler({ bus, alerts: store });
    await handler(streamEvent([...submitted(10), ...rejected(9, 'x')], orgId)); // 90 % but only 10 submitted
    expect(alerts).toHaveLength(0);
    const other = `org_${randomUUID().slice(0, 8)}`;
    await store.setOverrides(other, { rejection_rate: { minSamples: 5 }, source_rejection_rate: { enabled: false } });
    const otherAlerts = collect(bus, other);
    await handler(streamEvent([...submitted(10), ...rejected(9, 'x')], other));
    expect(otherAlerts.map((a) => a.event.detail.rule_id)).toEqual(['rejection_rate']);
  });

  it('raise step duration, source rejection and buyer acceptance alerts above threshold, not below', async () => {
    const orgId = `org_${randomUUID().slice(0, 8)}`;
    const bus = new LocalBus();
    const alerts = collect(bus, orgId);
    const handler = createFanoutHandler({ bus, alerts: store });
    const slow = Array.from({ length: 12 }, () => ({ event_type: 'enhancement.success', step_id: 'phone_check', timing: { duration_ms: 2500 } }));
    const fast = Array.from({ length: 12 }, () => ({ event_type: 'enhancement.success', step_id: 'email_check', timing: { duration_ms: 300 } }));
    const badSource = [...submitted(20, 'web_form_b'), ...rejected(11, 'Missing email', 'web_form_b')];
    const goodSource = [...submitted(20, 'web_form_a'), ...rejected(2, 'Missing email', 'web_form_a')];
    const buyer = (entity: string, delivered: number, failed: number) => [
      ...Array.from({ length: delivered }, () => ({ event_type: 'recipient.delivered', entity_id: entity })),
      ...Array.from({ length: failed }, () => ({ event_type: 'recipient.failed', outcome: 'failure' as const, reason: 'Daily cap reached', entity_id: entity })),
    ];
    await handler(streamEvent([...slow, ...fast, ...badSource, ...goodSource, ...buyer('buyer_a', 12, 8), ...buyer('buyer_b', 19, 1)], orgId));
    const fired = alerts.map((a) => `${a.event.detail.rule_id}:${a.event.detail.dimension}`).sort();
    expect(fired).toEqual(['buyer_acceptance:buyer_a', 'rejection_rate:all', 'source_rejection_rate:web_form_b', 'step_duration:phone_check']);
  });

  it('end to end: 50 source.rejected against 100 source.submitted through the API and the real stream raise one alert', async () => {
    const { orgId, key } = await api.newOrg();
    const events = [
      ...Array.from({ length: 100 }, (_, i) => sampleEvent({ lead_id: `l${i}`, event_type: 'source.submitted', payload: {} })),
      ...Array.from({ length: 50 }, (_, i) => sampleEvent({ lead_id: `l${i}`, event_type: 'source.rejected', outcome: 'failure', reason: i % 2 ? 'Invalid phone' : 'Duplicate', payload: {} })),
    ];
    const bus = new LocalBus();
    const alerts = collect(bus, orgId);
    // Read past what other test files wrote first, then take this org's 150 records in one pass (a batch of up to
    // 1,000, GetRecords' maximum): the alert is then evaluated on all of them, whatever runs beside this test.
    const poller = new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus, alerts: store }), batchSize: 1000 });
    await poller.drain();
    for (let i = 0; i < events.length; i += 100) await api.request('POST', '/v1/events/batch', { key, body: { events: events.slice(i, i + 100) } });
    await poller.drain();
    expect(alerts.map((a) => a.event.detail.rule_id)).toEqual(['rejection_rate']);
    expect(alerts[0]!.event.detail).toMatchObject({ value: 0.5, sample_size: 100 });

    // The alert history: GET /v1/alerts lists what went on the bus, to this org only, paged by cursor.
    const listed = await api.request('GET', '/v1/alerts', { key });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [alerts[0]!.event.detail], next_cursor: null });
    const other = await api.newOrg();
    expect((await api.request('GET', '/v1/alerts', { key: other.key })).body).toEqual({ items: [], next_cursor: null });
    const earlier = await api.request('GET', `/v1/alerts?to=${encodeURIComponent(alerts[0]!.event.detail.window_start as string)}`, { key });
    expect(earlier.body.items).toEqual([]);
    expect((await api.request('GET', '/v1/alerts?limit=0&since=1', { key })).body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['limit', 'since']);
  });

  it('list newest first across pages (GET /v1/alerts)', async () => {
    const orgId = `org_alert_history_${Date.now()}`;
    const hour = 3_600_000;
    const base = Math.floor(Date.now() / hour) * hour;
    const raised = Array.from({ length: 5 }, (_, i) => ({
      rule_id: 'rejection_rate' as const, org_id: orgId, dimension: 'all', window_start: new Date(base - i * hour).toISOString(), window_end: new Date(base - (i - 1) * hour).toISOString(),
      value: 0.5, threshold: 0.3, sample_size: 100, top_reasons: [],
    }));
    for (const alert of raised) expect(await store.markRaised(alert)).toBe(true);
    const key = await api.keyFor(orgId, ['events:read']);
    const first = await api.request('GET', '/v1/alerts?limit=2', { key });
    const second = await api.request('GET', `/v1/alerts?limit=2&cursor=${first.body.next_cursor}`, { key });
    const third = await api.request('GET', `/v1/alerts?limit=2&cursor=${second.body.next_cursor}`, { key });
    expect([...first.body.items, ...second.body.items, ...third.body.items]).toEqual(raised);
    expect(third.body.next_cursor).toBeNull();
  });
});
