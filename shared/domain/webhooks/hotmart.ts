import type { Headers } from './signatures.js';
import { UNMAPPED, factKey, objectRef, claims, compact, isoFromMillis, num, obj, requireId, str, type MappedDelivery } from './mapping.js';

const NEGATIVE: Record<string, string> = {
  PURCHASE_REFUNDED: 'purchase_refunded',
  PURCHASE_CHARGEBACK: 'purchase_chargeback',
  PURCHASE_CANCELED: 'purchase_cancelled',
};

/**
 * Hotmart postbacks v2 (https://developers.hotmart.com/docs/en/2.0.0/webhook/purchase-webhook/).
 * A PURCHASE_APPROVED that carries a subscription is stored once, as purchase_completed, with the plan in
 * its payload (subscription_plan_id / subscription_plan_name / subscriber_code): one delivery, one event.
 */
export function mapHotmart(body: unknown, _headers: Headers): MappedDelivery {
  const delivery = obj(body);
  const providerType = str(delivery.event) ?? 'unknown';
  const data = obj(delivery.data);
  const product = obj(data.product);
  const buyer = obj(data.buyer);
  const purchase = obj(data.purchase);
  const price = obj(purchase.price);
  const subscription = obj(data.subscription);
  const plan = obj(subscription.plan);
  const subscriber = obj(subscription.subscriber);
  const currency = str(price.currency_value)?.toUpperCase();

  let eventType = UNMAPPED;
  let payload: Record<string, unknown> = { provider_event_type: providerType };
  if (providerType === 'PURCHASE_APPROVED' && (purchase.status === undefined || purchase.status === 'APPROVED')) {
    eventType = 'purchase_completed';
    payload = compact({
      product_id: str(product.id) ?? str(product.ucode),
      product_name: str(product.name),
      category: str(product.category) ?? 'digital_product',
      amount: num(price.value),
      currency,
      payment_method: str(obj(purchase.payment).type)?.toLowerCase(),
      installments: num(obj(purchase.payment).installments_number),
      transaction: str(purchase.transaction),
      offer_code: str(obj(purchase.offer).code),
      subscription_plan_id: str(plan.id),
      subscription_plan_name: str(plan.name),
      subscriber_code: str(subscriber.code),
      provider_event_type: providerType,
    });
  } else if (providerType === 'PURCHASE_OUT_OF_SHOPPING_CART') {
    eventType = 'purchase_abandoned';
    payload = compact({
      product_ids: [str(product.id) ?? str(product.ucode)].filter(Boolean),
      // Hotmart's abandonment postback may carry no price; 0 then means "unknown", not "free".
      cart_value: num(price.value) ?? num(obj(product.price).value) ?? 0,
      currency,
      stage_abandoned: 'checkout',
      provider_event_type: providerType,
    });
  } else if (providerType === 'SUBSCRIPTION_CANCELLATION') {
    eventType = 'subscription_cancelled';
    payload = compact({
      plan_id: str(plan.id) ?? str(obj(data.plan).id) ?? str(subscription.id),
      reason: str(data.cancellation_reason) ?? 'cancelled',
      subscriber_code: str(subscriber.code) ?? str(obj(data.subscriber).code),
      provider_event_type: providerType,
    });
  } else if (NEGATIVE[providerType]) {
    eventType = NEGATIVE[providerType]!;
    payload = compact({ transaction: str(purchase.transaction), amount: num(price.value), currency, provider_event_type: providerType });
  }

  const subscriberCode = str(subscriber.code) ?? str(obj(data.subscriber).code);
  const phone = str(buyer.checkout_phone) ?? str(buyer.phone);
  const phoneCode = str(buyer.checkout_phone_code);
  return {
    providerEventType: providerType,
    eventType,
    externalEventId: requireId(str(delivery.id), 'id'),
    occurredAt: isoFromMillis(delivery.creation_date),
    objectIdRef: str(purchase.transaction),
    ...(eventType === 'purchase_completed' || NEGATIVE[providerType] ? { factKey: factKey(eventType, 'transaction', str(purchase.transaction)) } : {}),
    payload,
    identity: claims({
      emails: [str(buyer.email), str(obj(data.subscriber).email)],
      // Hotmart's buyers are mostly Brazilian: a number without a country code is read as BR.
      phones: phone ? [{ value: phoneCode && !phone.startsWith('+') ? `+${phoneCode}${phone}` : phone, defaultCountry: 'BR' }] : [],
      refs: [objectRef('hotmart', 'subscriber', subscriberCode)],
      objects: [objectRef('hotmart', 'transaction', str(purchase.transaction))],
    }),
  };
}
