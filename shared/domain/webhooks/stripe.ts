import type { Headers } from './signatures.js';
import { UNMAPPED, factKey, arr, claims, compact, isoFromSeconds, minorToMajor, obj, requireId, str, type MappedDelivery } from './mapping.js';

/**
 * Stripe events (https://docs.stripe.com/api/events). Checkout Sessions carry no line items, so product
 * fields come from the session's metadata (product_id, product_name, category) when the merchant sets
 * them, else from the session itself.
 */
export function mapStripe(body: unknown, _headers: Headers): MappedDelivery {
  const event = obj(body);
  const type = str(event.type) ?? 'unknown';
  const object = obj(obj(event.data).object);
  const metadata = obj(object.metadata);
  const details = obj(object.customer_details);
  const billing = obj(object.billing_details);
  const currency = str(object.currency)?.toUpperCase();
  const customer = str(object.customer) ?? str(obj(object.customer).id);

  let eventType = UNMAPPED;
  let payload: Record<string, unknown> = { provider_event_type: type };
  const product = {
    product_id: str(metadata.product_id) ?? str(object.id),
    product_name: str(metadata.product_name) ?? 'Stripe Checkout',
    category: str(metadata.category) ?? 'uncategorized',
  };

  // A checkout is a purchase once paid, or when nothing was due (a 100 % coupon, a free trial): amount 0.
  const settled = object.payment_status === 'paid' || object.payment_status === 'no_payment_required';
  if ((type === 'checkout.session.completed' && settled) || type === 'checkout.session.async_payment_succeeded') {
    eventType = 'purchase_completed';
    payload = compact({
      ...product,
      amount: minorToMajor(object.amount_total, currency),
      currency,
      payment_method: str(arr(object.payment_method_types)[0]) ?? 'card',
      mode: str(object.mode),
      provider_event_type: type,
    });
  } else if (type === 'checkout.session.expired') {
    eventType = 'purchase_abandoned';
    payload = compact({
      product_ids: [product.product_id].filter(Boolean),
      cart_value: minorToMajor(object.amount_total, currency),
      currency,
      stage_abandoned: 'checkout',
      recovery_url: str(obj(object.after_expiration).recovery ? obj(obj(object.after_expiration).recovery).url : undefined),
      provider_event_type: type,
    });
  } else if (type === 'customer.subscription.created' || type === 'customer.subscription.deleted') {
    const price = obj(obj(arr(obj(object.items).data)[0]).price);
    const planCurrency = str(price.currency)?.toUpperCase();
    eventType = type === 'customer.subscription.created' ? 'subscription_created' : 'subscription_cancelled';
    payload = compact(
      type === 'customer.subscription.created'
        ? {
            plan_id: str(price.id) ?? str(object.id),
            plan_name: str(price.nickname) ?? str(price.product) ?? 'Stripe subscription',
            amount: minorToMajor(price.unit_amount, planCurrency),
            currency: planCurrency,
            status: str(object.status),
            provider_event_type: type,
          }
        : {
            plan_id: str(price.id) ?? str(object.id),
            reason: str(obj(object.cancellation_details).reason) ?? 'cancelled',
            canceled_at: isoFromSeconds(object.canceled_at),
            provider_event_type: type,
          },
    );
  } else if (type === 'charge.refunded') {
    eventType = 'purchase_refunded';
    payload = compact({
      amount: minorToMajor(object.amount_refunded, currency),
      currency,
      payment_intent: str(object.payment_intent),
      provider_event_type: type,
    });
  }

  // One purchase per Checkout Session (completed, then async_payment_succeeded), one refund per Stripe refund.
  const latestRefund = str(obj(arr(obj(object.refunds).data)[0]).id);
  const fact = eventType === 'purchase_completed' ? factKey(eventType, 'checkout_session', str(object.id))
    : eventType === 'purchase_refunded' ? factKey(eventType, 'refund', latestRefund)
    : undefined;
  return {
    providerEventType: type,
    eventType,
    externalEventId: requireId(str(event.id), 'id'),
    occurredAt: isoFromSeconds(event.created),
    objectIdRef: str(object.id),
    ...(fact ? { factKey: fact } : {}),
    payload,
    identity: claims({
      emails: [str(details.email), str(object.customer_email), str(object.receipt_email), str(billing.email), str(object.email)],
      phones: [str(details.phone), str(billing.phone), str(object.phone)].filter(Boolean).map((value) => ({ value: value! })),
      refs: [customer ? `stripe:${customer}` : undefined],
      // Stripe ids carry their kind (cs_, pi_, ch_, in_, sub_, re_): a refund naming only the payment intent finds the buyer.
      objects: [object.id, object.payment_intent, object.invoice, object.subscription, object.charge, object.latest_charge]
        .map((id) => str(id) ?? str(obj(id).id))
        .map((id) => (id ? `stripe:${id}` : undefined)),
    }),
    explicitLeadId: str(object.client_reference_id) ?? str(metadata.lead_id),
  };
}
