import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signShopify, signStripe, signTypeform, stripeCheckoutCompleted, typeformResponse } from '../../infra/local/webhook-samples.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

async function providerOrg() {
  const { orgId, key } = await api.newOrg();
  const secrets = {} as Record<Provider, string>;
  for (const provider of PROVIDERS) {
    secrets[provider] = `${provider}_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider, secret: secrets[provider], nowIso: new Date().toISOString() });
  }
  return { orgId, key, secrets, reader: await api.keyFor(orgId, ['events:read']) };
}

const person = () => ({ email: `ana.${randomUUID().slice(0, 8)}@example.com`, phone: `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` });

async function shopifyOrg() {
  const { orgId, key } = await api.newOrg();
  const secret = `shpss_${randomUUID()}`;
  await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'shopify', secret, nowIso: new Date().toISOString() });
  return { orgId, key, secret };
}

/** A Shopify order as raw JSON text, ids written as the 18-digit integers Shopify sends (beyond 2^53). */
const orderText = (orderId: string, customerId: string) =>
  `{"id":${orderId},"admin_graphql_api_id":"gid://shopify/Order/${orderId}","name":"#1001","created_at":"2026-11-23T10:00:00-05:00",` +
  `"financial_status":"paid","currency":"USD","total_price":"49.00","payment_gateway_names":["shopify_payments"],` +
  `"customer":{"id":${customerId},"first_name":"Ana"},"line_items":[{"id":${orderId}1,"product_id":632910392,"title":"Course","price":"49.00","quantity":1}]}`;

describe('a faithful record', () => {
  it('changes no digit of an 18-digit Shopify id, and two customers differing beyond 2^53 stay two leads', async () => {
    const org = await shopifyOrg();
    const deliver = (body: string) => api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers: signShopify(body, org.secret, 'orders/paid', randomUUID()) });
    const first = await deliver(orderText('828758318460506337', '828758318460506337'));
    const second = await deliver(orderText('828758318460506338', '828758318460506338'));
    expect(first.status, first.text).toBe(200);
    expect(second.status, second.text).toBe(200);
    expect(first.body.lead_id).not.toBe(second.body.lead_id);

    const stored = await api.request('GET', `/v1/events/${first.body.event_id}`, { key: org.key });
    expect(stored.body.object_id_ref).toBe('828758318460506337');
    expect(stored.text).toContain('"id":828758318460506337');
    expect(stored.text).toContain('"customer":{"id":828758318460506337');
    expect(stored.text).not.toContain('828758318460506400');
    const timeline = await api.request('GET', `/v1/leads/${second.body.lead_id}/events?include=raw_payload`, { key: org.key });
    expect(timeline.text).toContain('"id":828758318460506338');
  });

  it('keeps the digits of numbers sent to the API, and still validates plain numbers as numbers', async () => {
    const { key } = await api.newOrg();
    const body = '{"lead_id":"lead_big","source_type":"direct","source":"web","event_type":"custom.big_numbers",' +
      '"payload":{"order":123456789012345678901234567890,"price":49.90,"tiny":1e-400}}';
    const res = await api.request('POST', '/v1/events', { key, rawBody: body, headers: { 'content-type': 'application/json' } });
    expect(res.status, res.text).toBe(201);
    expect(res.text).toContain('"order":123456789012345678901234567890');
    expect(res.text).toContain('"tiny":1e-400');
    const read = await api.request('GET', `/v1/events/${res.body.event.id}`, { key });
    expect(read.text).toContain('"order":123456789012345678901234567890');
    const amount = '{"lead_id":"l","source_type":"direct","source":"web","event_type":"purchase_completed","payload":{"product_id":"p","product_name":"n","category":"c","amount":12345678901234567890123,"currency":"USD","payment_method":"card"}}';
    const refused = await api.request('POST', '/v1/events', { key, rawBody: amount, headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toContain('payload.amount');
  });

  it('answers a validly signed body nested 4,000 levels deep with a 4xx, and stores nothing', async () => {
    const org = await shopifyOrg();
    const body = `{"id":1,"deep":${'['.repeat(4000)}${']'.repeat(4000)}}`;
    const res = await api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers: signShopify(body, org.secret, 'orders/paid', randomUUID()) });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await api.request('GET', '/v1/events', { key: org.key })).body.items).toHaveLength(0);
  });

  it("accepts Shopify's newer header names (shopify-hmac-sha256, shopify-topic, … without x-)", async () => {
    const org = await shopifyOrg();
    const body = orderText('5501234567890', '207119551');
    const eventId = randomUUID();
    const headers = {
      'content-type': 'application/json', 'shopify-hmac-sha256': createHmac('sha256', org.secret).update(body).digest('base64'),
      'shopify-topic': 'orders/paid', 'shopify-shop-domain': 'leadlog-demo.myshopify.com', 'shopify-api-version': '2025-10',
      'shopify-webhook-id': randomUUID(), 'shopify-event-id': eventId, 'shopify-triggered-at': '2026-11-23T15:00:00.000Z',
    };
    const res = await api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: 'stored', event_type: 'purchase_completed' });
    const stored = await api.request('GET', `/v1/events/${res.body.event_id}`, { key: org.key });
    expect(stored.body).toMatchObject({ external_event_id: eventId, occurred_at: '2026-11-23T15:00:00.000Z' });
    const forged = await api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers: { ...headers, 'shopify-hmac-sha256': headers['shopify-hmac-sha256'].replace(/=+$/, '') } });
    expect(forged.status).toBe(401);
  });

  it('keeps the exact bytes of each delivery: GET /v1/events/{id}/raw returns them with their content type, and the signature recomputes', async () => {
    const org = await providerOrg();
    const body = `{ "id": "evt_raw_${randomUUID().slice(0, 8)}",\n  "type": "checkout.session.completed", "object": "event", "created": ${Math.floor(Date.now() / 1000)},\n` +
      `  "data": {"object": {"id": "cs_raw", "object": "checkout.session", "payment_status": "paid", "amount_total": 4900, "currency": "usd", "customer_details": {"email": "raw@example.com"}}}}\n`;
    const headers: Record<string, string> = { ...signStripe(body, org.secrets.stripe), 'content-type': 'application/json; charset=utf-8' };
    const delivered = await api.request('POST', `/v1/webhooks/stripe/${org.orgId}`, { rawBody: body, headers });
    expect(delivered.status, delivered.text).toBe(200);
    const raw = await fetch(`${api.url}/v1/events/${delivered.body.event_id}/raw`, { headers: { authorization: `Bearer ${org.key}` } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.equals(Buffer.from(body))).toBe(true);
    const [t, v1] = headers['stripe-signature']!.split(',').map((part) => part.slice(part.indexOf('=') + 1));
    expect(createHmac('sha256', org.secrets.stripe).update(`${t}.${bytes.toString('utf8')}`).digest('hex')).toBe(v1);
    // pii:read is required as well as events:read; an event without raw bytes is a 404.
    expect((await api.request('GET', `/v1/events/${delivered.body.event_id}/raw`, { key: org.reader })).status).toBe(403);
    const plain = await api.request('POST', '/v1/events', { key: org.key, body: { lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x', payload: {} } });
    expect((await api.request('GET', `/v1/events/${plain.body.event.id}/raw`, { key: org.key })).status).toBe(404);
    const withRaw = await api.request('POST', '/v1/events', { key: org.key, body: { lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x', payload: {}, raw_payload: { a: 1 } } });
    const apiRaw = await api.request('GET', `/v1/events/${withRaw.body.event.id}/raw`, { key: org.key });
    expect(apiRaw.status).toBe(200);
    expect(apiRaw.text).toBe('{"a":1}');
  });

  it('records one purchase per Shopify order however many topics announce it, keeping every delivery', async () => {
    const org = await providerOrg();
    const body = orderText('5501234567890', '207119551');
    const send = (topic: string) => api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers: signShopify(body, org.secrets.shopify, topic, randomUUID()) });
    const created = await send('orders/create');
    const paid = await send('orders/paid');
    expect([created.status, paid.status]).toEqual([200, 200]);
    expect(paid.body).toMatchObject({ status: 'duplicate', event_id: created.body.event_id });
    const events = (await api.request('GET', '/v1/events?limit=100', { key: org.key })).body.items as { event_type: string; payload: Record<string, unknown>; lead_id: string }[];
    expect(events.filter((e) => e.event_type === 'purchase_completed')).toHaveLength(1);
    const redundant = events.filter((e) => e.event_type === 'webhook.redundant');
    expect(redundant).toHaveLength(1);
    expect(redundant[0]).toMatchObject({ lead_id: created.body.lead_id, payload: { fact_event_id: created.body.event_id, mapped_as: 'purchase_completed', provider_event_type: 'orders/paid' } });
  });

  it('records a Stripe checkout with nothing to pay as a purchase of amount 0', async () => {
    const org = await providerOrg();
    const event = stripeCheckoutCompleted(person(), { amountTotal: 0 });
    (event.data.object as Record<string, unknown>).payment_status = 'no_payment_required';
    const body = JSON.stringify(event);
    const res = await api.request('POST', `/v1/webhooks/stripe/${org.orgId}`, { rawBody: body, headers: signStripe(body, org.secrets.stripe) });
    expect(res.body.event_type).toBe('purchase_completed');
    expect((await api.request('GET', `/v1/events/${res.body.event_id}`, { key: org.key })).body.payload).toMatchObject({ amount: 0, currency: 'USD' });
  });

  it('tells a Typeform partial response from its completion with the same token', async () => {
    const org = await providerOrg();
    const token = randomUUID().replace(/-/g, '');
    const who = person();
    const partial = { ...typeformResponse(who, { token }), event_type: 'form_response_partial', event_id: '01PARTIAL' };
    const complete = typeformResponse(who, { token });
    const send = (payload: object) => {
      const body = JSON.stringify(payload);
      return api.request('POST', `/v1/webhooks/typeform/${org.orgId}`, { rawBody: body, headers: signTypeform(body, org.secrets.typeform) });
    };
    const first = await send(partial);
    const second = await send(complete);
    expect(first.body.status).toBe('stored');
    expect(second.body).toMatchObject({ status: 'stored', event_type: 'form_submitted', lead_id: first.body.lead_id });
    expect(second.body.event_id).not.toBe(first.body.event_id);
  });

  it('re-maps stored webhook.unmapped events with today\'s mappers, once (POST /v1/webhooks/remap, admin)', async () => {
    const org = await providerOrg();
    // What an older mapper stored: a free checkout (no_payment_required) left unmapped, with its raw bytes.
    const checkout = stripeCheckoutCompleted(person(), { amountTotal: 0 });
    (checkout.data.object as Record<string, unknown>).payment_status = 'no_payment_required';
    const body = JSON.stringify(checkout);
    const now = Date.now();
    const input = validateEventInput({
      lead_id: 'lead_old_mapper', source_type: 'external', source: 'stripe', event_type: 'webhook.unmapped', external_event_id: checkout.id,
      payload: { provider_event_type: 'checkout.session.completed' }, raw_payload: JSON.parse(body),
    }, { now, allowWebhookTypes: true });
    if (!input.ok) throw new Error('invalid fixture');
    await api.deps.events.put(buildEvent(input.value, { orgId: org.orgId, now, rawBody: { bytes: Buffer.from(body), contentType: 'application/json' } }), now);

    const remap = () => api.request('POST', '/v1/webhooks/remap', { key: org.key, body: { provider: 'stripe' } });
    expect((await remap()).body).toEqual({ examined: 1, remapped: 1 });
    expect((await remap()).body).toEqual({ examined: 1, remapped: 0 });
    const events = (await api.request('GET', '/v1/leads/lead_old_mapper/events?include=raw_payload', { key: org.key })).body.items;
    expect(events.map((e: { event_type: string }) => e.event_type).sort()).toEqual(['purchase_completed', 'webhook.unmapped']);
    const purchase = events.find((e: { event_type: string }) => e.event_type === 'purchase_completed');
    expect(purchase.payload).toMatchObject({ amount: 0 });
    const raw = await fetch(`${api.url}/v1/events/${purchase.id}/raw`, { headers: { authorization: `Bearer ${org.key}` } });
    expect(await raw.text()).toBe(body);
    expect((await api.request('POST', '/v1/webhooks/remap', { key: org.reader, body: {} })).status).toBe(403);
    expect((await api.request('POST', '/v1/webhooks/remap', { key: org.key, body: { provider: 'paypal', extra: 1 } })).body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'provider']);
  });

  it('keeps the digits through the stream, on the bus and in the Parquet archive read back by DuckDB', async () => {
    const org = await shopifyOrg();
    const body = orderText('828758318460506337', '828758318460506339');
    const res = await api.request('POST', `/v1/webhooks/shopify/${org.orgId}`, { rawBody: body, headers: signShopify(body, org.secret, 'orders/paid', randomUUID()) });
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-digits-'));
    const archive = new LocalArchive({ dir });
    await archive.start();
    const bus = new LocalBus({ rules: [{ id: 'all', description: 'every event', pattern: { source: ['leadlog'] } }] });
    const seen: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === org.orgId && seen.push(d));
    await new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus, archive }), batchSize: 1000 }).drain();
    await archive.stop();
    expect(JSON.stringify(seen.map((d) => d.event.detail))).toContain('"product_id":"632910392"');
    expect(JSON.stringify(seen.map((d) => d.event.detail))).toContain('"object_id_ref":"828758318460506337"');
    const { rows } = await runArchiveSql(dir, 'SELECT object_id_ref, raw_payload FROM events WHERE org_id = ?', [org.orgId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.object_id_ref).toBe('828758318460506337');
    expect(String(rows[0]!.raw_payload)).toContain('"id":828758318460506337');
    expect(String(rows[0]!.raw_payload)).toContain('"id":828758318460506339');
  });
});
