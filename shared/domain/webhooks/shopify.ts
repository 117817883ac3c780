import { shopifyHeaderNames, type Headers } from './signatures.js';
import { UNMAPPED, factKey, objectRef, arr, claims, compact, header, isoFromString, num, obj, requireId, str, type MappedDelivery } from './mapping.js';

/**
 * Shopify webhooks (https://shopify.dev/docs/apps/build/webhooks/delivery-structure). The topic and ids
 * come in headers. Shopify has no abandonment topic: checkouts/* are kept as webhook.unmapped.
 */
/** The Shopify objects a delivery names, by topic: its own object, and the order and checkout it belongs to. */
function shopifyObjects(topic: string, body: Record<string, unknown>): (string | undefined)[] {
  const kind = topic.split('/')[0] ?? '';
  const own = { orders: 'order', refunds: 'refund', checkouts: 'checkout', subscription_contracts: 'subscription_contract' }[kind];
  return [
    own ? objectRef('shopify', own, str(body.id)) : undefined,
    objectRef('shopify', 'order', str(body.order_id)),
    objectRef('shopify', 'checkout', kind === 'checkouts' ? str(body.token) : str(body.checkout_token)),
  ];
}

/** The Shopify object each fact is about: the delivery's top-level `id` names it. */
const FACT_OBJECT: Record<string, string> = { purchase_completed: 'order', purchase_cancelled: 'order', purchase_refunded: 'refund' };

export function mapShopify(body: unknown, headers: Headers): MappedDelivery {
  const order = obj(body);
  const names = shopifyHeaderNames(headers);
  const topic = header(headers, names.topic) ?? 'unknown';
  const items = arr(order.line_items).map(obj);
  const first = items[0] ?? {};
  const customer = obj(order.customer);
  const currency = str(order.currency)?.toUpperCase();

  let eventType = UNMAPPED;
  let payload: Record<string, unknown> = { provider_event_type: topic };
  const paid = topic === 'orders/paid' || (topic === 'orders/create' && order.financial_status === 'paid');
  if (paid) {
    eventType = 'purchase_completed';
    payload = compact({
      product_id: str(first.product_id) ?? str(first.id),
      product_name: str(first.title) ?? str(first.name),
      category: str(first.product_type) ?? str(first.vendor) ?? 'uncategorized',
      amount: num(order.total_price),
      currency,
      payment_method: str(arr(order.payment_gateway_names)[0]) ?? str(order.gateway) ?? 'unknown',
      order_name: str(order.name),
      line_items: items.map((item) => compact({ product_id: str(item.product_id), variant_id: str(item.variant_id), title: str(item.title), sku: str(item.sku), price: num(item.price), quantity: num(item.quantity) })),
      provider_event_type: topic,
    });
  } else if (topic === 'refunds/create') {
    const refunded = arr(order.transactions).map(obj).reduce((sum, t) => sum + (num(t.amount) ?? 0), 0);
    eventType = 'purchase_refunded';
    payload = compact({ order_id: str(order.order_id), amount: refunded, currency: str(obj(arr(order.transactions)[0]).currency)?.toUpperCase(), provider_event_type: topic });
  } else if (topic === 'orders/cancelled') {
    eventType = 'purchase_cancelled';
    payload = compact({ order_id: str(order.id), reason: str(order.cancel_reason), amount: num(order.total_price), currency, provider_event_type: topic });
  } else if (topic === 'subscription_contracts/create' || topic === 'subscription_contracts/cancel') {
    const line = obj(arr(order.lines)[0] ?? arr(obj(order.lines).edges)[0]);
    eventType = topic.endsWith('/create') ? 'subscription_created' : 'subscription_cancelled';
    payload = compact({
      plan_id: str(line.selling_plan_id) ?? str(order.admin_graphql_api_id) ?? str(order.id),
      ...(eventType === 'subscription_created'
        ? { plan_name: str(line.selling_plan_name) ?? str(line.title) ?? 'Shopify subscription', amount: num(obj(line.current_price).amount) ?? num(line.price) }
        : { reason: str(order.status)?.toLowerCase() ?? 'cancelled' }),
      provider_event_type: topic,
    });
  }

  const customerId = str(customer.id) ?? str(order.customer_id) ?? str(order.admin_graphql_api_customer_id);
  const country = str(obj(order.billing_address).country_code) ?? str(obj(order.shipping_address).country_code);
  return {
    providerEventType: topic,
    eventType,
    externalEventId: requireId(header(headers, names.eventId) ?? header(headers, names.webhookId), names.eventId),
    occurredAt: isoFromString(header(headers, names.triggeredAt)) ?? isoFromString(order.created_at),
    objectIdRef: str(order.id),
    // One fact per order (orders/create when paid, then orders/paid) and per refund.
    ...(FACT_OBJECT[eventType] ? { factKey: factKey(eventType, FACT_OBJECT[eventType]!, str(order.id)) } : {}),
    payload,
    identity: claims({
      emails: [str(order.email), str(customer.email), str(order.contact_email)],
      phones: [str(order.phone), str(customer.phone), str(obj(order.billing_address).phone)]
        .filter(Boolean)
        .map((value) => ({ value: value!, ...(country ? { defaultCountry: country } : {}) })),
      refs: [objectRef('shopify', 'customer', customerId)],
      objects: shopifyObjects(topic, order),
    }),
  };
}
