import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import {
  hotmartPurchaseApproved, shopifyOrderPaid, signedSample, signHotmart, signShopify, signStripe, signTypeform, stripeCheckoutCompleted, typeformResponse,
} from '../../infra/local/webhook-samples.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

interface Org {
  orgId: string;
  key: string;
  secrets: Record<Provider, string>;
}

async function newOrg(): Promise<Org> {
  const { orgId, key } = await api.newOrg();
  const secrets = {} as Record<Provider, string>;
  for (const provider of PROVIDERS) {
    secrets[provider] = `${provider}_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider, secret: secrets[provider], nowIso: new Date().toISOString() });
  }
  return { orgId, key, secrets };
}

const person = () => ({ email: `ana.${randomUUID().slice(0, 8)}@example.com`, phone: `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` });

function deliver(provider: string, orgId: string, delivery: { body: string | Buffer; headers: Record<string, string> }) {
  return api.request('POST', `/v1/webhooks/${provider}/${orgId}`, { rawBody: delivery.body, headers: delivery.headers });
}

async function orgEvents(org: Org): Promise<{ id: string; event_type: string; lead_id: string }[]> {
  const res = await api.request('GET', '/v1/events?limit=1000', { key: org.key });
  expect(res.status).toBe(200);
  return res.body.items;
}

describe.each(PROVIDERS)('%s webhooks', (provider) => {
  it('stores a signed delivery as the mapped type with raw payload, ids and source, and absorbs the redelivery', async () => {
    const org = await newOrg();
    const delivery = signedSample(provider, org.secrets[provider], person());
    const first = await deliver(provider, org.orgId, delivery);
    expect(first.status, first.text).toBe(200);
    expect(first.body.status).toBe('stored');
    const expectedType = provider === 'typeform' ? 'form_submitted' : 'purchase_completed';
    expect(first.body.event_type).toBe(expectedType);

    const stored = await api.request('GET', `/v1/events/${first.body.event_id}`, { key: org.key });
    expect(stored.body).toMatchObject({ source_type: 'external', source: provider, event_type: expectedType, lead_id: first.body.lead_id });
    expect(stored.body.raw_payload).toEqual(JSON.parse(delivery.body));
    expect(stored.body.external_event_id).toBeTruthy();
    expect(stored.body.object_id_ref).toBeTruthy();

    const again = await deliver(provider, org.orgId, delivery);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'duplicate', event_id: first.body.event_id });
    expect(await orgEvents(org)).toHaveLength(1);
  });

  it('refuses a wrong secret, a tampered body, a missing header and an unknown org with 401, storing nothing', async () => {
    const org = await newOrg();
    const p = person();
    const forged = signedSample(provider, 'not-the-secret', p);
    const good = signedSample(provider, org.secrets[provider], p);
    const tampered = { ...good, body: good.body.replace('example.com', 'example.org') };
    const bare = { body: good.body, headers: { 'content-type': 'application/json' } };
    for (const [name, delivery, orgId] of [['forged', forged, org.orgId], ['tampered', tampered, org.orgId], ['no header', bare, org.orgId], ['unknown org', good, 'org_nobody']] as const) {
      const res = await deliver(provider, orgId, delivery);
      expect(res.status, `${name}: ${res.text}`).toBe(provider === 'hotmart' && name === 'tampered' ? 200 : 401);
      if (res.status === 401) expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // Hotmart signs nothing (a static token): a changed body with the right token is accepted by design.
    expect(await orgEvents(org)).toHaveLength(provider === 'hotmart' ? 1 : 0);
  });

  it('accepts the previous secret during a rotation', async () => {
    const org = await newOrg();
    await setWebhookSecret(api.deps.webhookSecrets, { orgId: org.orgId, provider, secret: `${provider}_rotated_secret`, nowIso: new Date().toISOString() });
    expect((await deliver(provider, org.orgId, signedSample(provider, org.secrets[provider], person()))).status).toBe(200);
    expect((await deliver(provider, org.orgId, signedSample(provider, `${provider}_rotated_secret`, person()))).status).toBe(200);
    await setWebhookSecret(api.deps.webhookSecrets, { orgId: org.orgId, provider, secret: `${provider}_third_secret_x`, keepPrevious: false, nowIso: new Date().toISOString() });
    expect((await deliver(provider, org.orgId, signedSample(provider, org.secrets[provider], person()))).status).toBe(401);
  });

  it('answers 400 for malformed JSON behind a valid signature, storing nothing', async () => {
    const org = await newOrg();
    const body = '{"id": "evt_1", "type": ';
    const secret = org.secrets[provider];
    const headers =
      provider === 'stripe' ? signStripe(body, secret)
        : provider === 'shopify' ? signShopify(body, secret, 'orders/paid', 'ev-1')
          : provider === 'typeform' ? signTypeform(body, secret)
            : signHotmart(body, secret);
    const res = await deliver(provider, org.orgId, { body, headers });
    expect(res.status).toBe(400);
    expect(await orgEvents(org)).toHaveLength(0);
  });
});

describe('webhook edge cases', () => {
  it('refuses a Stripe delivery signed more than 300 s ago', async () => {
    const org = await newOrg();
    const body = JSON.stringify(stripeCheckoutCompleted(person()));
    const res = await deliver('stripe', org.orgId, { body, headers: signStripe(body, org.secrets.stripe, Math.floor(Date.now() / 1000) - 400) });
    expect(res.status).toBe(401);
  });

  it('keeps unmapped deliveries as webhook.unmapped with the raw payload', async () => {
    const org = await newOrg();
    const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'invoice.finalized', created: Math.floor(Date.now() / 1000), data: { object: { id: 'in_1', customer: 'cus_x' } } });
    const res = await deliver('stripe', org.orgId, { body, headers: signStripe(body, org.secrets.stripe) });
    expect(res.body.event_type).toBe('webhook.unmapped');
    const stored = await api.request('GET', `/v1/events/${res.body.event_id}`, { key: org.key });
    expect(stored.body.payload).toEqual({ provider_event_type: 'invoice.finalized' });
    expect(stored.body.raw_payload.type).toBe('invoice.finalized');
    const shopify = JSON.stringify(shopifyOrderPaid(person()));
    const checkout = await deliver('shopify', org.orgId, { body: shopify, headers: signShopify(shopify, org.secrets.shopify, 'checkouts/create', randomUUID()) });
    expect(checkout.body.event_type).toBe('webhook.unmapped');
  });

  it('404s an unknown provider', async () => {
    const res = await api.request('POST', '/v1/webhooks/paypal/org_x', { rawBody: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(404);
  });
});

describe('lead identity resolution', () => {
  it('puts the same person on one lead across all four providers, and lists the identities', async () => {
    const org = await newOrg();
    const p = person();
    const leads = new Set<string>();
    for (const provider of PROVIDERS) {
      const res = await deliver(provider, org.orgId, signedSample(provider, org.secrets[provider], provider === 'hotmart' ? { ...p, phone: p.phone.replace('+55', '') } : p));
      expect(res.status).toBe(200);
      leads.add(res.body.lead_id);
    }
    expect(leads.size).toBe(1);
    const [leadId] = [...leads];
    const timeline = await api.request('GET', `/v1/leads/${leadId}/events`, { key: org.key });
    expect(timeline.body.items.map((e: { source: string }) => e.source).sort()).toEqual([...PROVIDERS].sort());

    const lead = await api.request('GET', `/v1/leads/${leadId}`, { key: org.key });
    expect(lead.body.identities).toEqual(expect.arrayContaining([{ kind: 'email', value: p.email }, { kind: 'phone', value: p.phone }]));
    const reader = await api.keyFor(org.orgId, ['events:read']);
    const masked = await api.request('GET', `/v1/leads/${leadId}`, { key: reader });
    expect(masked.body.identities).toEqual(expect.arrayContaining([{ kind: 'email', value: `a***@example.com` }]));
    expect((await api.request('GET', `/v1/leads/${leadId}`, { key: (await api.newOrg()).key })).status).toBe(404);
  });

  it('ends concurrent first deliveries for one person with one lead id', async () => {
    const org = await newOrg();
    const p = person();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const provider = i % 2 === 0 ? 'stripe' : 'typeform';
        return deliver(provider, org.orgId, signedSample(provider, org.secrets[provider], p));
      }),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.lead_id)).size).toBe(1);
  });

  it('lets an explicit lead id win (Stripe client_reference_id, Typeform hidden lead_id)', async () => {
    const org = await newOrg();
    const body = JSON.stringify(stripeCheckoutCompleted(person(), { clientReferenceId: 'lead_from_checkout' }));
    const res = await deliver('stripe', org.orgId, { body, headers: signStripe(body, org.secrets.stripe) });
    expect(res.body.lead_id).toBe('lead_from_checkout');
    const form = JSON.stringify(typeformResponse(person(), { leadId: 'lead_from_form' }));
    const tf = await deliver('typeform', org.orgId, { body: form, headers: signTypeform(form, org.secrets.typeform) });
    expect(tf.body.lead_id).toBe('lead_from_form');
    const hot = JSON.stringify(hotmartPurchaseApproved(person()));
    expect((await deliver('hotmart', org.orgId, { body: hot, headers: signHotmart(hot, org.secrets.hotmart) })).body.lead_id).toMatch(/^lead_/);
  });
});
