import { z } from 'zod';

/**
 * The event catalogue: one definition per event type drives validation, the TypeScript types and the
 * generated docs (docs/event-types.md, `npm run docs:catalogue`). Payload objects are loose: unknown
 * extra keys are kept as sent; the listed keys are required (domain types) or typed when present
 * (lead-processing types).
 */
const identifier = z.union([z.string().trim().min(1).max(255), z.number().int()]);
const text = z.string().trim().min(1).max(10_000);
const amount = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();
export const currencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 currency code')
  .transform((code) => code.toUpperCase());
const fraction = z.number().min(0).max(1);

export const leadDomainPayloads = {
  purchase_completed: {
    product_id: identifier, product_name: text, category: text, amount, currency: currencyCode, payment_method: text,
  },
  purchase_abandoned: { product_ids: z.array(identifier).min(1), cart_value: amount, stage_abandoned: text },
  product_viewed: { product_id: identifier, product_name: text, category: text },
  product_asked: { product_id: identifier, question: text, channel: text },
  interest_detected: { category: text, product_id: identifier, confidence: fraction },
  sentiment_detected: { score: z.number().min(-1).max(1), label: text, context: text },
  conversation_started: { channel: text, context: text },
  conversation_ended: {
    channel: text, duration_seconds: z.number().finite().nonnegative(), message_count: count,
    sentiment_score: z.number().min(-1).max(1),
  },
  campaign_delivered: { campaign_id: identifier, campaign_name: text, product_id: identifier, channel: text },
  campaign_engaged: { campaign_id: identifier, engagement_type: text },
  campaign_ignored: { campaign_id: identifier, days_since_delivery: count },
  subscription_created: { plan_id: identifier, plan_name: text, amount },
  subscription_cancelled: { plan_id: identifier, reason: text },
  form_submitted: { form_id: identifier, form_name: text, responses: z.array(z.unknown()) },
  discount_requested: { context: text, product_id: identifier },
  discount_accepted: { discount_percent: z.number().min(0).max(100), product_id: identifier },
  agent_insight: { insight_type: text, content: text, confidence: fraction },
  objection_raised: { type: text, context: text, product_id: identifier },
} as const satisfies Record<string, z.ZodRawShape>;

/** Keys the lead-processing payloads often carry; typed when present, never required. */
const processingPayload = {
  price: amount.optional(),
  cost: amount.optional(),
  amount: amount.optional(),
  currency: currencyCode.optional(),
  http_status: z.number().int().min(100).max(599).optional(),
  integration: text.optional(),
  rules_evaluated: z.union([count, z.array(z.unknown())]).optional(),
};

export const leadProcessingTypes = [
  'source.submitted', 'source.accepted', 'source.rejected',
  'filter.passed', 'filter.failed',
  'enhancement.success', 'enhancement.failure', 'enhancement.error',
  'recipient.delivered', 'recipient.failed', 'recipient.error',
  'feedback.received', 'feedback.processed', 'feedback.returned',
  'flow.completed', 'retry.scheduled', 'retry.attempted',
] as const;

export type LeadDomainType = keyof typeof leadDomainPayloads;
export type LeadProcessingType = (typeof leadProcessingTypes)[number];
export const leadDomainTypes = Object.keys(leadDomainPayloads) as LeadDomainType[];

/** Types only the webhook path may write: mapped provider refunds/cancellations and unmapped deliveries. */
export const webhookOnlyTypes = [
  'webhook.unmapped', 'purchase_refunded', 'purchase_cancelled', 'purchase_chargeback',
] as const;

export const CUSTOM_TYPE = /^custom\.[a-z0-9_.]{1,80}$/;

export type Outcome = 'success' | 'failure' | 'error';

/**
 * When a lead-processing event arrives without `outcome`, the type's own verb says it:
 * source.rejected is a failure, enhancement.error an error, everything else a success.
 */
export function defaultOutcomeFor(eventType: string): Outcome | undefined {
  if (!(leadProcessingTypes as readonly string[]).includes(eventType)) return undefined;
  const verb = eventType.slice(eventType.indexOf('.') + 1);
  if (verb === 'error') return 'error';
  if (verb === 'rejected' || verb === 'failed' || verb === 'failure') return 'failure';
  return 'success';
}

const payloadSchemas = new Map<string, z.ZodType<Record<string, unknown>>>([
  ...leadDomainTypes.map((type) => [type, z.looseObject(leadDomainPayloads[type])] as const),
  ...leadProcessingTypes.map((type) => [type, z.looseObject(processingPayload)] as const),
  ...webhookOnlyTypes.map((type) => [type, z.looseObject({})] as const),
]);

export type TypeKind = 'domain' | 'processing' | 'custom' | 'webhook';

export function classifyType(eventType: string): TypeKind | undefined {
  if (eventType in leadDomainPayloads) return 'domain';
  if ((leadProcessingTypes as readonly string[]).includes(eventType)) return 'processing';
  if ((webhookOnlyTypes as readonly string[]).includes(eventType)) return 'webhook';
  if (CUSTOM_TYPE.test(eventType)) return 'custom';
  return undefined;
}

/** The payload schema of a type; custom types take any object. */
export function payloadSchemaFor(eventType: string): z.ZodType<Record<string, unknown>> {
  return payloadSchemas.get(eventType) ?? z.looseObject({});
}

export const allCatalogueTypes: readonly string[] = [...leadDomainTypes, ...leadProcessingTypes];
