import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyDelivery } from '../../../shared/domain/webhooks/signatures.js';
import { signHotmart, signShopify, signStripe, signTypeform } from '../../../infra/local/webhook-samples.js';

const body = Buffer.from('{"id":"evt_1","type":"checkout.session.completed"}');
const now = Date.now();

describe('Stripe-Signature', () => {
  it('passes with the right secret, and with any one of several v1 signatures and secrets', () => {
    const headers = signStripe(body.toString(), 'whsec_a');
    expect(verifyDelivery('stripe', body, headers, ['whsec_a'], now)).toEqual({ ok: true });
    expect(verifyDelivery('stripe', body, headers, ['whsec_new', 'whsec_a'], now)).toEqual({ ok: true });
    const t = Math.floor(now / 1000);
    const other = createHmac('sha256', 'whsec_b').update(`${t}.${body}`).digest('hex');
    const mine = createHmac('sha256', 'whsec_a').update(`${t}.${body}`).digest('hex');
    expect(verifyDelivery('stripe', body, { 'stripe-signature': `t=${t},v1=${other},v1=${mine}` }, ['whsec_a'], now).ok).toBe(true);
  });

  it('refuses a wrong secret, a tampered body, a stale timestamp and a missing or malformed header', () => {
    const headers = signStripe(body.toString(), 'whsec_a');
    expect(verifyDelivery('stripe', body, headers, ['whsec_b'], now).ok).toBe(false);
    expect(verifyDelivery('stripe', Buffer.from(body.toString().replace('evt_1', 'evt_2')), headers, ['whsec_a'], now).ok).toBe(false);
    const stale = signStripe(body.toString(), 'whsec_a', Math.floor(now / 1000) - 301);
    expect(verifyDelivery('stripe', body, stale, ['whsec_a'], now)).toMatchObject({ ok: false, reason: expect.stringContaining('tolerance') });
    const future = signStripe(body.toString(), 'whsec_a', Math.floor(now / 1000) + 60);
    expect(verifyDelivery('stripe', body, future, ['whsec_a'], now).ok).toBe(true);
    expect(verifyDelivery('stripe', body, {}, ['whsec_a'], now).ok).toBe(false);
    expect(verifyDelivery('stripe', body, { 'stripe-signature': 'garbage' }, ['whsec_a'], now).ok).toBe(false);
    expect(verifyDelivery('stripe', body, headers, [], now).ok).toBe(false);
  });
});

describe('Shopify, Typeform and Hotmart', () => {
  it('verify their own schemes and refuse the wrong secret', () => {
    const shopify = signShopify(body.toString(), 'shp', 'orders/paid', 'e1');
    expect(verifyDelivery('shopify', body, shopify, ['old', 'shp'], now).ok).toBe(true);
    expect(verifyDelivery('shopify', body, shopify, ['other'], now).ok).toBe(false);
    const typeform = signTypeform(body.toString(), 'tf');
    expect(verifyDelivery('typeform', body, typeform, ['tf'], now).ok).toBe(true);
    expect(verifyDelivery('typeform', body, { 'typeform-signature': typeform['typeform-signature']!.slice(7) }, ['tf'], now).ok).toBe(false);
    expect(verifyDelivery('typeform', Buffer.concat([body, Buffer.from(' ')]), typeform, ['tf'], now).ok).toBe(false);
    expect(verifyDelivery('hotmart', body, signHotmart('', 'tok'), ['tok'], now).ok).toBe(true);
    expect(verifyDelivery('hotmart', body, signHotmart('', 'tok2'), ['tok'], now).ok).toBe(false);
    expect(verifyDelivery('hotmart', body, {}, ['tok'], now).ok).toBe(false);
  });
});
