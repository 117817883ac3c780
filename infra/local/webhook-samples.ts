import { createHmac, randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import type { Provider } from '../../shared/domain/webhooks/signatures.js';

/**
 * Provider deliveries shaped like the real ones (webhooks.md samples), signed exactly as each provider
 * signs: used by `npm run webhook:sample`, the webhook tests and the benchmark.
 */
export interface SamplePerson {
  email: string;
  phone: string;
  name?: string;
}

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

const stripeSdk = new Stripe('sk_test_leadlog_samples');

/** Stripe's own helper builds the Stripe-Signature header (t=…,v1=…), as the reference says. */
export function signStripe(body: string, secret: string, timestampSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': 'application/json',
    'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: timestampSeconds }),
  };
}

export function signShopify(body: string, secret: string, topic: string, eventId: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
    'x-shopify-topic': topic,
    'x-shopify-shop-domain': 'leadlog-demo.myshopify.com',
    'x-shopify-api-version': '2025-01',
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-event-id': eventId,
    'x-shopify-triggered-at': new Date().toISOString(),
  };
}

export function signTypeform(body: string, secret: string): Record<string, string> {
  return { 'content-type': 'application/json', 'typeform-signature': `sha256=${createHmac('sha256', secret).update(body).digest('base64')}` };
}

export function signHotmart(_body: string, hottok: string): Record<string, string> {
  return { 'content-type': 'application/json', 'x-hotmart-hottok': hottok };
}

export function stripeCheckoutCompleted(person: SamplePerson, overrides: { eventId?: string; type?: string; clientReferenceId?: string | null; amountTotal?: number; currency?: string } = {}) {
  return {
    id: overrides.eventId ?? `evt_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    object: 'event',
    api_version: '2025-03-31.basil',
    type: overrides.type ?? 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000) - 5,
    livemode: false,
    data: {
      object: {
        id: `cs_test_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
        object: 'checkout.session',
        mode: 'payment',
        payment_status: 'paid',
        status: 'complete',
        amount_total: overrides.amountTotal ?? 4900,
        currency: overrides.currency ?? 'usd',
        customer: `cus_${person.email.replace(/\W/g, '').slice(0, 14)}`,
        client_reference_id: overrides.clientReferenceId ?? null,
        customer_details: { email: person.email, phone: person.phone, name: person.name ?? 'Ana Silva' },
        payment_method_types: ['card'],
        metadata: { product_id: 'prod_course', product_name: 'Growth Course', category: 'education' },
      },
    },
  };
}

export function shopifyOrderPaid(person: SamplePerson) {
  return {
    id: 5501234567000 + Math.floor(Math.random() * 1000),
    admin_graphql_api_id: 'gid://shopify/Order/5501234567890',
    name: '#1001',
    email: person.email,
    phone: person.phone,
    created_at: new Date(Date.now() - 10_000).toISOString(),
    financial_status: 'paid',
    currency: 'USD',
    total_price: '49.00',
    payment_gateway_names: ['shopify_payments'],
    customer: { id: 207119551, email: person.email, first_name: 'Ana', last_name: 'Silva' },
    billing_address: { phone: person.phone, country_code: 'BR' },
    line_items: [{ id: 466157049, product_id: 632910392, variant_id: 808950810, title: 'Course', price: '49.00', quantity: 1, sku: 'COURSE-1' }],
  };
}

export function typeformResponse(person: SamplePerson, overrides: { token?: string; leadId?: string } = {}) {
  return {
    event_id: '01EK4R5PFZZP6C8H14RTP4YW6C',
    event_type: 'form_response',
    form_response: {
      form_id: 'g8hcyeXS',
      token: overrides.token ?? randomUUID().replace(/-/g, ''),
      landed_at: new Date(Date.now() - 60_000).toISOString(),
      submitted_at: new Date(Date.now() - 30_000).toISOString(),
      hidden: { utm_source: 'ig', ...(overrides.leadId ? { lead_id: overrides.leadId } : {}) },
      definition: { id: 'g8hcyeXS', title: 'Lead form', fields: [{ id: 'M8JL', ref: 'email', type: 'email', title: 'Your email?' }] },
      answers: [
        { type: 'email', email: person.email, field: { id: 'M8JL', type: 'email', ref: 'email' } },
        { type: 'phone_number', phone_number: person.phone, field: { id: 'P9x', type: 'phone_number', ref: 'phone' } },
        { type: 'text', text: 'Interested in the course', field: { id: 'T1', type: 'short_text', ref: 'goal' } },
      ],
    },
  };
}

export function hotmartPurchaseApproved(person: SamplePerson, overrides: { id?: string; event?: string } = {}) {
  return {
    id: overrides.id ?? randomUUID(),
    creation_date: Date.now() - 5_000,
    event: overrides.event ?? 'PURCHASE_APPROVED',
    version: '2.0.0',
    data: {
      product: { id: 3526817, ucode: 'fb056612-bcc6-4217-9e6d-2a5d1110ac2f', name: 'Curso de Marketing' },
      buyer: { name: 'Ana Silva', email: person.email, checkout_phone: person.phone.replace(/^\+55/, '') },
      purchase: {
        transaction: `HP${Math.floor(Math.random() * 1e13)}`,
        status: 'APPROVED',
        approved_date: Date.now() - 6_000,
        order_date: Date.now() - 7_000,
        price: { value: 1500, currency_value: 'BRL' },
        offer: { code: 'test' },
        payment: { type: 'CREDIT_CARD', installments_number: 12 },
      },
      subscription: { status: 'ACTIVE', plan: { id: 123, name: 'plano de teste' }, subscriber: { code: 'I9OT62C3' } },
    },
  };
}

/** One signed, realistic delivery for a provider (a paid purchase, or a form response for Typeform). */
export function signedSample(provider: Provider, secret: string, person: SamplePerson): SignedDelivery {
  switch (provider) {
    case 'stripe': {
      const body = JSON.stringify(stripeCheckoutCompleted(person));
      return { body, headers: signStripe(body, secret) };
    }
    case 'shopify': {
      const body = JSON.stringify(shopifyOrderPaid(person));
      return { body, headers: signShopify(body, secret, 'orders/paid', randomUUID()) };
    }
    case 'typeform': {
      const body = JSON.stringify(typeformResponse(person));
      return { body, headers: signTypeform(body, secret) };
    }
    case 'hotmart': {
      const body = JSON.stringify(hotmartPurchaseApproved(person));
      return { body, headers: signHotmart(body, secret) };
    }
  }
}
