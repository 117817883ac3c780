import { describe, expect, it } from 'vitest';
import { mapHotmart } from '../../../shared/domain/webhooks/hotmart.js';
import { minorToMajor } from '../../../shared/domain/webhooks/mapping.js';
import { mapShopify } from '../../../shared/domain/webhooks/shopify.js';
import { mapStripe } from '../../../shared/domain/webhooks/stripe.js';
import { mapTypeform } from '../../../shared/domain/webhooks/typeform.js';
import { hotmartPurchaseApproved, shopifyOrderPaid, stripeCheckoutCompleted, typeformResponse } from '../../../infra/local/webhook-samples.js';
import { normalizeClaims, normalizePhone } from '../../../shared/domain/identity.js';

const ana = { email: ' Ana@Example.COM ', phone: '+5511999999999' };

describe('Stripe', () => {
  it('maps a paid checkout to purchase_completed in major units, with identity and the explicit lead', () => {
    const event = stripeCheckoutCompleted(ana, { clientReferenceId: 'lead_123' });
    const mapped = mapStripe(event, {});
    expect(mapped).toMatchObject({
      eventType: 'purchase_completed',
      externalEventId: event.id,
      objectIdRef: event.data.object.id,
      explicitLeadId: 'lead_123',
      payload: { product_id: 'prod_course', product_name: 'Growth Course', category: 'education', amount: 49, currency: 'USD', payment_method: 'card' },
    });
    expect(mapped.occurredAt).toBe(new Date(event.created * 1000).toISOString());
    // v1.1: the customer is a ref, and the session is claimed too (so a follow-up naming only it finds the buyer).
    expect(normalizeClaims(mapped.identity)).toEqual([
      'email:ana@example.com', 'phone:+5511999999999', `ref:stripe:${event.data.object.customer}`, `ref:stripe:${event.data.object.id}`,
    ]);
  });

  it('converts minor units by the currency exponent', () => {
    expect(minorToMajor(4900, 'usd')).toBe(49);
    expect(minorToMajor(5000, 'jpy')).toBe(5000);
    expect(minorToMajor(12345, 'KWD')).toBe(12.345);
    expect(mapStripe(stripeCheckoutCompleted(ana, { amountTotal: 5000, currency: 'jpy' }), {}).payload).toMatchObject({ amount: 5000, currency: 'JPY' });
  });

  it('maps expiry, subscriptions and refunds, and leaves everything else unmapped', () => {
    expect(mapStripe(stripeCheckoutCompleted(ana, { type: 'checkout.session.expired' }), {}).payload).toMatchObject({ cart_value: 49, stage_abandoned: 'checkout', product_ids: ['prod_course'] });
    const sub = { id: 'evt_s', type: 'customer.subscription.created', created: 1, data: { object: { id: 'sub_1', customer: 'cus_1', status: 'active', items: { data: [{ price: { id: 'price_1', nickname: 'Monthly', unit_amount: 2900, currency: 'brl' } }] } } } };
    expect(mapStripe(sub, {})).toMatchObject({ eventType: 'subscription_created', payload: { plan_id: 'price_1', plan_name: 'Monthly', amount: 29, currency: 'BRL' } });
    expect(mapStripe({ ...sub, type: 'customer.subscription.deleted' }, {})).toMatchObject({ eventType: 'subscription_cancelled', payload: { plan_id: 'price_1', reason: 'cancelled' } });
    expect(mapStripe({ id: 'evt_r', type: 'charge.refunded', data: { object: { id: 'ch_1', amount_refunded: 1000, currency: 'usd' } } }, {})).toMatchObject({ eventType: 'purchase_refunded', payload: { amount: 10 } });
    expect(mapStripe({ id: 'evt_x', type: 'invoice.paid', data: { object: { id: 'in_1' } } }, {})).toMatchObject({ eventType: 'webhook.unmapped', payload: { provider_event_type: 'invoice.paid' } });
    const unpaid = stripeCheckoutCompleted(ana);
    unpaid.data.object.payment_status = 'unpaid';
    expect(mapStripe(unpaid, {}).eventType).toBe('webhook.unmapped');
  });
});

describe('Shopify', () => {
  it('maps orders/paid from the body and the headers', () => {
    const order = shopifyOrderPaid(ana);
    const mapped = mapShopify(order, { 'x-shopify-topic': 'orders/paid', 'x-shopify-event-id': 'ev-1', 'x-shopify-triggered-at': '2026-11-23T10:00:00.000Z' });
    expect(mapped).toMatchObject({
      eventType: 'purchase_completed', externalEventId: 'ev-1', occurredAt: '2026-11-23T10:00:00.000Z', objectIdRef: String(order.id),
      payload: { product_id: '632910392', product_name: 'Course', amount: 49, currency: 'USD', payment_method: 'shopify_payments' },
    });
    expect(normalizeClaims(mapped.identity)).toEqual(expect.arrayContaining(['ref:shopify:customer:207119551', `ref:shopify:order:${order.id}`]));
  });

  it('falls back to the webhook id, and keeps unpaid orders and checkouts unmapped', () => {
    expect(mapShopify(shopifyOrderPaid(ana), { 'x-shopify-topic': 'orders/paid', 'x-shopify-webhook-id': 'wh-1' }).externalEventId).toBe('wh-1');
    const pending = { ...shopifyOrderPaid(ana), financial_status: 'pending' };
    expect(mapShopify(pending, { 'x-shopify-topic': 'orders/create', 'x-shopify-event-id': 'e' }).eventType).toBe('webhook.unmapped');
    expect(mapShopify(shopifyOrderPaid(ana), { 'x-shopify-topic': 'checkouts/create', 'x-shopify-event-id': 'e' }).eventType).toBe('webhook.unmapped');
    expect(mapShopify({ id: 1, cancel_reason: 'customer' }, { 'x-shopify-topic': 'orders/cancelled', 'x-shopify-event-id': 'e' }).eventType).toBe('purchase_cancelled');
    expect(() => mapShopify(shopifyOrderPaid(ana), { 'x-shopify-topic': 'orders/paid' })).toThrow();
  });
});

describe('Typeform', () => {
  it('maps a form response to form_submitted keyed by the response token', () => {
    const delivery = typeformResponse(ana, { leadId: 'lead_tf' });
    const mapped = mapTypeform(delivery, {});
    expect(mapped).toMatchObject({
      eventType: 'form_submitted', externalEventId: delivery.form_response.token, explicitLeadId: 'lead_tf',
      payload: { form_id: 'g8hcyeXS', form_name: 'Lead form' },
    });
    expect(mapped.payload.responses).toEqual([
      { field: 'email', type: 'email', value: ' Ana@Example.COM ' },
      { field: 'phone', type: 'phone_number', value: '+5511999999999' },
      { field: 'goal', type: 'text', value: 'Interested in the course' },
    ]);
    expect(mapTypeform({ ...delivery, event_type: 'form_response_partial' }, {}).eventType).toBe('webhook.unmapped');
  });
});

describe('Hotmart', () => {
  it('maps an approved purchase (with its subscription in the payload) and reads Brazilian phones', () => {
    const delivery = hotmartPurchaseApproved({ email: 'ana@example.com', phone: '11999999999' });
    const mapped = mapHotmart(delivery, {});
    expect(mapped).toMatchObject({
      eventType: 'purchase_completed', externalEventId: delivery.id, objectIdRef: delivery.data.purchase.transaction,
      payload: { product_id: '3526817', product_name: 'Curso de Marketing', amount: 1500, currency: 'BRL', payment_method: 'credit_card', subscription_plan_id: '123' },
    });
    expect(normalizeClaims(mapped.identity)).toEqual([
      'email:ana@example.com', 'phone:+5511999999999', 'ref:hotmart:subscriber:I9OT62C3', `ref:hotmart:transaction:${delivery.data.purchase.transaction}`,
    ]);
  });

  it('maps abandonment, cancellation and refunds', () => {
    const base = hotmartPurchaseApproved(ana);
    expect(mapHotmart({ ...base, event: 'PURCHASE_OUT_OF_SHOPPING_CART' }, {})).toMatchObject({ eventType: 'purchase_abandoned', payload: { product_ids: ['3526817'], cart_value: 1500 } });
    expect(mapHotmart({ ...base, event: 'SUBSCRIPTION_CANCELLATION' }, {})).toMatchObject({ eventType: 'subscription_cancelled', payload: { plan_id: '123' } });
    expect(mapHotmart({ ...base, event: 'PURCHASE_REFUNDED' }, {}).eventType).toBe('purchase_refunded');
    expect(mapHotmart({ ...base, event: 'PURCHASE_CHARGEBACK' }, {}).eventType).toBe('purchase_chargeback');
    expect(mapHotmart({ ...base, event: 'CLUB_FIRST_ACCESS' }, {}).eventType).toBe('webhook.unmapped');
  });
});

describe('identity normalization', () => {
  it('lower-cases e-mails and writes phones in E.164', () => {
    expect(normalizePhone('(11) 99999-9999', 'BR')).toBe('+5511999999999');
    expect(normalizePhone('+1 415 555 2671')).toBe('+14155552671');
    expect(normalizePhone('12')).toBeUndefined();
    expect(normalizeClaims({ emails: ['A@B.CO', 'a@b.co', 'not-an-email'], phones: [], refs: [] })).toEqual(['email:a@b.co']);
  });
});

describe('provider times, read as strictly as occurred_at (red-team: "1" became 2001, 2026-02-30 became March, created -1 was a 400)', () => {
  it('an epoch before 1970 or past 9999, and a string that is no ISO date-time with an offset, are no time at all', async () => {
    const { toInput } = await import('../../../shared/domain/webhooks/receive.js');
    const now = Date.parse('2026-11-23T14:30:00.000Z');
    for (const created of [-1, 1e15, Number.MAX_SAFE_INTEGER]) {
      const event = { ...stripeCheckoutCompleted(ana), created };
      const mapped = mapStripe(event, {});
      expect(mapped.occurredAt, String(created)).toBeUndefined();
      // Stored as received: a signed delivery is never refused (Stripe would retry it for days).
      const input = toInput('stripe', mapped, event, now);
      expect(input.event_type).toBe('purchase_completed');
      expect(input.occurred_at).toBeUndefined(); // buildEvent then stamps the time it was received
    }
    for (const submittedAt of ['1', '-1', '0', '2026-02-30T10:00:00Z', '2026-11-23', 'yesterday']) {
      const response = typeformResponse(ana);
      const body = { ...response, form_response: { ...response.form_response, submitted_at: submittedAt, landed_at: undefined } };
      expect(mapTypeform(body, {}).occurredAt, submittedAt).toBeUndefined();
    }
    const good = typeformResponse(ana);
    expect(mapTypeform(good, {}).occurredAt).toBe(new Date(good.form_response.submitted_at).toISOString());
  });
});
