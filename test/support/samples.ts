import { leadDomainTypes, leadProcessingTypes } from '../../shared/domain/catalogue.js';

/** A realistic payload for every Lead Domain type, holding exactly the required fields. */
export const domainSamples: Record<(typeof leadDomainTypes)[number], Record<string, unknown>> = {
  purchase_completed: { product_id: 'prod_1', product_name: 'Course', category: 'education', amount: 49.9, currency: 'USD', payment_method: 'card' },
  purchase_abandoned: { product_ids: ['prod_1', 'prod_2'], cart_value: 620, stage_abandoned: 'payment' },
  product_viewed: { product_id: 'prod_1', product_name: 'Course', category: 'education' },
  product_asked: { product_id: 'prod_1', question: 'Does it include a certificate?', channel: 'whatsapp' },
  interest_detected: { category: 'education', product_id: 'prod_1', confidence: 0.82 },
  sentiment_detected: { score: -0.6, label: 'negative', context: 'price complaint' },
  conversation_started: { channel: 'whatsapp', context: 'inbound question' },
  conversation_ended: { channel: 'whatsapp', duration_seconds: 300, message_count: 12, sentiment_score: 0.4 },
  campaign_delivered: { campaign_id: 'cmp_1', campaign_name: 'Black Friday', product_id: 'prod_1', channel: 'email' },
  campaign_engaged: { campaign_id: 'cmp_1', engagement_type: 'click' },
  campaign_ignored: { campaign_id: 'cmp_1', days_since_delivery: 7 },
  subscription_created: { plan_id: 'plan_1', plan_name: 'Monthly', amount: 29 },
  subscription_cancelled: { plan_id: 'plan_1', reason: 'too expensive' },
  form_submitted: { form_id: 'form_1', form_name: 'Lead form', responses: [{ field: 'email', value: 'ana@example.com' }] },
  discount_requested: { context: 'asked for a coupon', product_id: 'prod_1' },
  discount_accepted: { discount_percent: 15, product_id: 'prod_1' },
  agent_insight: { insight_type: 'buying_signal', content: 'Asked about installments twice', confidence: 0.7 },
  objection_raised: { type: 'price', context: 'too expensive for now', product_id: 'prod_1' },
};

export const processingSamples: Record<(typeof leadProcessingTypes)[number], Record<string, unknown>> = Object.fromEntries(
  leadProcessingTypes.map((type) => [
    type,
    {
      outcome: /rejected|failed|failure/.test(type) ? 'failure' : type.endsWith('.error') ? 'error' : 'success',
      ...(/rejected|failed|failure|error/.test(type) ? { reason: 'Invalid phone format' } : {}),
      flow_id: 'flow_1',
      step_id: 'step_1',
      entity_id: 'buyer_a',
      timing: { duration_ms: 342, start_timestamp: 1763900000000, end_timestamp: 1763900000342 },
      payload: { integration: 'custom_json', http_status: 200, price: 45 },
      lead_snapshot: { email: 'john@example.com', 'email.valid': true, state: 'CA' },
    },
  ]),
) as never;
