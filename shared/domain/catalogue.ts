import * as z from 'zod/mini';
import './schema.js';

/**
 * The event catalogue: one definition per event type drives validation, the TypeScript types and the
 * generated reference (docs/event-types.md, `npm run docs:catalogue`). Payload objects are loose: unknown
 * extra keys are kept as sent; the listed keys are required (domain types) or typed when present
 * (lead-processing types).
 */
const identifier = z.union([z.string().check(z.trim(), z.minLength(1), z.maxLength(255)), z.int()], {
  error: 'must be a non-empty string (at most 255 characters) or an integer',
});
const text = z.string().check(z.trim(), z.minLength(1), z.maxLength(10_000));
const amount = z.number().check(z.gte(0));
const count = z.int().check(z.gte(0));
export const currencyCode = z.pipe(
  z.string().check(z.regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 currency code')),
  z.transform((code: string) => code.toUpperCase()),
);
const fraction = z.number().check(z.gte(0), z.lte(1));
const score = z.number().check(z.gte(-1), z.lte(1));

export const leadDomainPayloads = {
  purchase_completed: {
    product_id: identifier, product_name: text, category: text, amount, currency: currencyCode, payment_method: text,
  },
  purchase_abandoned: { product_ids: z.array(identifier).check(z.minLength(1)), cart_value: amount, stage_abandoned: text },
  product_viewed: { product_id: identifier, product_name: text, category: text },
  product_asked: { product_id: identifier, question: text, channel: text },
  interest_detected: { category: text, product_id: identifier, confidence: fraction },
  sentiment_detected: { score, label: text, context: text },
  conversation_started: { channel: text, context: text },
  conversation_ended: { channel: text, duration_seconds: amount, message_count: count, sentiment_score: score },
  campaign_delivered: { campaign_id: identifier, campaign_name: text, product_id: identifier, channel: text },
  campaign_engaged: { campaign_id: identifier, engagement_type: text },
  campaign_ignored: { campaign_id: identifier, days_since_delivery: count },
  subscription_created: { plan_id: identifier, plan_name: text, amount },
  subscription_cancelled: { plan_id: identifier, reason: text },
  form_submitted: { form_id: identifier, form_name: text, responses: z.array(z.unknown()) },
  discount_requested: { context: text, product_id: identifier },
  discount_accepted: { discount_percent: z.number().check(z.gte(0), z.lte(100)), product_id: identifier },
  agent_insight: { insight_type: text, content: text, confidence: fraction },
  objection_raised: { type: text, context: text, product_id: identifier },
} as const satisfies Record<string, z.core.$ZodLooseShape>;

/** Keys the lead-processing payloads often carry; typed when present, never required. */
const processingPayload = {
  price: z.optional(amount),
  cost: z.optional(amount),
  amount: z.optional(amount),
  currency: z.optional(currencyCode),
  http_status: z.optional(z.int().check(z.gte(100), z.lte(599))),
  integration: z.optional(text),
  rules_evaluated: z.optional(z.union([count, z.array(z.unknown())])),
};

export const leadProcessingTypes = [
  'source.submitted', 'source.accepted', 'source.rejected', 'source.error',
  'filter.passed', 'filter.failed', 'filter.error',
  'enhancement.success', 'enhancement.failure', 'enhancement.error',
  'recipient.delivered', 'recipient.failed', 'recipient.error', 'recipient.skipped',
  'feedback.received', 'feedback.processed', 'feedback.returned', 'feedback.sent',
  'flow.completed', 'retry.scheduled', 'retry.attempted',
] as const;

export type LeadDomainType = keyof typeof leadDomainPayloads;
export type LeadProcessingType = (typeof leadProcessingTypes)[number];
export const leadDomainTypes = Object.keys(leadDomainPayloads) as LeadDomainType[];

/**
 * Types only the webhook path may write: mapped provider refunds/cancellations, unmapped deliveries, and
 * `webhook.redundant`: a delivery announcing a fact already recorded from another delivery (Shopify
 * orders/create then orders/paid), kept with its raw bytes but never counted twice.
 */
export const webhookOnlyTypes = [
  'webhook.unmapped', 'webhook.redundant', 'purchase_refunded', 'purchase_cancelled', 'purchase_chargeback',
  // Written by leadlog itself when one delivery or event ties two leads, when it refuses to, and when an unmerge splits them (section 8).
  'lead.merged', 'lead.merge_refused', 'lead.unmerged',
] as const;

export const CUSTOM_TYPE = /^custom\.[a-z0-9_.]{1,80}$/;

/** v1.2 adds `skip`: LeadConduit's skipped recipient step (its rule set failed or a cap was met; contract section 12). */
export type Outcome = 'success' | 'failure' | 'error' | 'skip';

/**
 * When a lead-processing event arrives without `outcome`, the type's own verb says it:
 * source.rejected is a failure, enhancement.error an error, recipient.skipped a skip, everything else a success.
 */
export function defaultOutcomeFor(eventType: string): Outcome | undefined {
  if (!(leadProcessingTypes as readonly string[]).includes(eventType)) return undefined;
  const verb = eventType.slice(eventType.indexOf('.') + 1);
  if (verb === 'error') return 'error';
  if (verb === 'skipped') return 'skip';
  if (verb === 'rejected' || verb === 'failed' || verb === 'failure') return 'failure';
  return 'success';
}

type PayloadSchema = z.ZodMiniType<Record<string, unknown>>;

const payloadSchemas = new Map<string, PayloadSchema>([
  ...leadDomainTypes.map((type) => [type, z.looseObject(leadDomainPayloads[type]) as unknown as PayloadSchema] as const),
  ...leadProcessingTypes.map((type) => [type, z.looseObject(processingPayload) as unknown as PayloadSchema] as const),
]);
const anyObject = z.looseObject({}) as unknown as PayloadSchema;

export type TypeKind = 'domain' | 'processing' | 'custom' | 'webhook';

export function classifyType(eventType: string): TypeKind | undefined {
  if (Object.prototype.hasOwnProperty.call(leadDomainPayloads, eventType)) return 'domain';
  if ((leadProcessingTypes as readonly string[]).includes(eventType)) return 'processing';
  if ((webhookOnlyTypes as readonly string[]).includes(eventType)) return 'webhook';
  if (CUSTOM_TYPE.test(eventType)) return 'custom';
  return undefined;
}

/** The payload schema of a type; custom and webhook-only types take any object. */
export function payloadSchemaFor(eventType: string): PayloadSchema {
  return payloadSchemas.get(eventType) ?? anyObject;
}

export const allCatalogueTypes: readonly string[] = [...leadDomainTypes, ...leadProcessingTypes];
