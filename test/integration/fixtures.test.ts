import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHotmart, signShopify, signStripe, signTypeform } from '../../infra/local/webhook-samples.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import { startTestApi, type TestApi } from '../support/api.js';

/** The providers' published example payloads (test/fixtures/README.md), signed as each provider signs, sent for real. */
let api: TestApi;
let org: { orgId: string; key: string; secrets: Record<Provider, string> };
beforeAll(async () => {
  api = await startTestApi();
  const { orgId, key } = await api.newOrg();
  const secrets = {} as Record<Provider, string>;
  for (const provider of PROVIDERS) {
    secrets[provider] = `${provider}_fixture_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider, secret: secrets[provider], nowIso: new Date().toISOString() });
  }
  org = { orgId, key, secrets };
});
afterAll(() => api.close());

const fixture = (path: string) => readFileSync(`test/fixtures/${path}`, 'utf8');
const sign: Record<Provider, (body: string, secret: string, topic?: string) => Record<string, string>> = {
  stripe: (body, secret) => signStripe(body, secret),
  shopify: (body, secret, topic) => signShopify(body, secret, topic!, randomUUID()),
  typeform: signTypeform,
  hotmart: signHotmart,
};

async function deliver(provider: Provider, path: string, topic?: string) {
  const body = fixture(path);
  const res = await api.request('POST', `/v1/webhooks/${provider}/${org.orgId}`, { rawBody: body, headers: sign[provider](body, org.secrets[provider], topic) });
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  const stored = await api.request('GET', `/v1/events/${res.body.event_id}`, { key: org.key });
  const raw = await fetch(`${api.url}/v1/events/${res.body.event_id}/raw`, { headers: { authorization: `Bearer ${org.key}` } });
  expect(await raw.text(), `${path}: raw bytes`).toBe(body);
  return { ...res.body, stored: stored.body, text: stored.text };
}

describe("the providers' published payloads", () => {
  it('Stripe: a free checkout in JPY (zero decimals), a paid one in KWD (three), and a refund finding its buyer by payment intent', async () => {
    const free = await deliver('stripe', 'stripe/checkout.session.completed.jpy.json');
    expect(free.stored).toMatchObject({ event_type: 'purchase_completed', payload: { amount: 0, currency: 'JPY', product_id: 'prod_ikebana' } });
    const lead = (await api.request('GET', `/v1/leads/${free.lead_id}`, { key: org.key })).body;
    expect(lead.identities).toEqual(expect.arrayContaining([{ kind: 'email', value: 'haruka.sato@example.jp' }, { kind: 'phone', value: '+819012345678' }]));
    const paid = await deliver('stripe', 'stripe/checkout.session.completed.kwd.json');
    expect(paid.stored).toMatchObject({ event_type: 'purchase_completed', lead_id: 'lead_fixture_kwd', payload: { amount: 12.345, currency: 'KWD' } });
    const refund = await deliver('stripe', 'stripe/charge.refunded.json');
    expect(refund.stored).toMatchObject({ event_type: 'purchase_refunded', lead_id: 'lead_fixture_kwd', payload: { amount: 2.345, currency: 'KWD' } });
  });

  it("Shopify: an order with 18-digit ids keeps every digit, and its refund lands on the buyer", async () => {
    const order = await deliver('shopify', 'shopify/orders-paid.json', 'orders/paid');
    expect(order.stored).toMatchObject({ event_type: 'purchase_completed', object_id_ref: '828758318460506337', payload: { amount: 398, currency: 'USD', product_id: '632910392' } });
    for (const digits of ['828758318460506337', '828758318460506338', '866550311766439020', '141249953214522974', '271878346596884015']) expect(order.text).toContain(digits);
    const refund = await deliver('shopify', 'shopify/refunds-create.json', 'refunds/create');
    expect(refund.stored).toMatchObject({ event_type: 'purchase_refunded', lead_id: order.lead_id, payload: { order_id: '828758318460506337', amount: 199, currency: 'USD' } });
    expect(refund.text).toContain('890088186047892319');
  });

  it('Typeform and Hotmart: a form response and an approved purchase, identities normalized', async () => {
    const form = await deliver('typeform', 'typeform/form_response.json');
    expect(form.stored).toMatchObject({ event_type: 'form_submitted', external_event_id: 'a3a12ec67a1365927098a606107fac15', payload: { form_id: 'lT4Z3j', form_name: 'Webhooks example' } });
    expect((await api.request('GET', '/v1/leads?email=laura@example.com', { key: org.key })).body.items[0].lead_id).toBe(form.lead_id);
    expect((await api.request('GET', '/v1/leads?phone=%2B61412345678', { key: org.key })).body.items[0].lead_id).toBe(form.lead_id);
    const purchase = await deliver('hotmart', 'hotmart/purchase_approved.json');
    expect(purchase.stored).toMatchObject({ event_type: 'purchase_completed', object_id_ref: 'HP17639003800123', payload: { amount: 149.9, currency: 'BRL', installments: 3 } });
    expect((await api.request('GET', '/v1/leads?phone=%2B5521987654321', { key: org.key })).body.items[0].lead_id).toBe(purchase.lead_id);
  });
});
