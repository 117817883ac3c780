import { classifyType, defaultOutcomeFor, payloadSchemaFor, type Outcome } from './catalogue.js';
import { contentHash } from './canonical.js';
import type { FieldError } from './errors.js';
import * as z from 'zod/mini';
import { idString, issuesToFieldErrors, malformedStringPaths, MALFORMED_MESSAGE } from './schema.js';
import { eventIdFor } from './ids.js';
import { identityDigest } from './keys.js';
import { ISO_DATE_TIME_RULE, MAX_FUTURE_SKEW_MS, RETENTION_MS, parseIsoWithOffset, toIso } from './time.js';

export const SCHEMA_VERSION = '1';
export const SOURCE_TYPES = ['external', 'internal', 'direct'] as const;
/** `skip` (v1.2): a LeadConduit recipient or retry step that was skipped (section 12); no reason required. */
export const OUTCOMES = ['success', 'failure', 'error', 'skip'] as const;
export const SOURCE_PATTERN = /^[a-z0-9_]{1,100}$/;

/** Fields only the server sets; a client may echo them back (say, re-posting a fetched event) and they are ignored. */
const SERVER_FIELDS = ['id', 'org_id', 'received_at', 'expires_at', 'schema_version'] as const;

const boundedString = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
/** The ids of section 3: well-formed, no control character, at most 255 characters (the one rule, shared/domain/schema.ts). */
const optionalId = z.optional(idString());
const jsonObject = z.record(z.string(), z.unknown());
const epochMs = z.int().check(z.gte(0));
const millis = z.number().check(z.gte(0));

/** What a client may send as an event (POST /v1/events, each item of a batch); the OpenAPI document shows it. */
export const eventInputSchema = z.strictObject({
  lead_id: optionalId,
  source_type: z.enum(SOURCE_TYPES),
  source: z.string().check(z.regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}')),
  event_type: z.string().check(z.minLength(1), z.maxLength(100)),
  outcome: z.optional(z.enum(OUTCOMES)),
  reason: z.optional(boundedString(2_000)),
  flow_id: optionalId,
  step_id: optionalId,
  entity_id: optionalId,
  object_id: optionalId,
  object_id_ref: optionalId,
  payload: z.optional(z.unknown()),
  raw_payload: z.optional(z.unknown()),
  lead_snapshot: z.optional(jsonObject),
  appended: z.optional(jsonObject),
  timing: z.optional(
    z.strictObject({
      start_timestamp: z.optional(epochMs),
      end_timestamp: z.optional(epochMs),
      duration_ms: z.optional(millis),
      wait_ms: z.optional(millis),
      overhead_ms: z.optional(millis),
      lag_ms: z.optional(millis),
      total_ms: z.optional(millis),
    }),
  ),
  external_event_id: optionalId,
  occurred_at: z.optional(z.string()),
  /** Identities to link to the event's lead_id (section 8): a lead already owning one of them is merged. */
  identity: z.optional(z.strictObject({
    email: z.optional(idString(254)),
    phone: z.optional(idString(40)),
    refs: z.optional(z.array(idString(200).check(z.regex(/^[a-z0-9_]{1,40}:\S+$/, 'must be <provider>:<object id>'))).check(z.maxLength(20))),
  })),
});

export type Timing = NonNullable<z.infer<typeof eventInputSchema>['timing']>;

/** What a client (or a webhook mapper) may say about an event, validated and normalized. */
export interface EventInput {
  lead_id?: string;
  source_type: (typeof SOURCE_TYPES)[number];
  source: string;
  event_type: string;
  outcome?: Outcome;
  reason?: string;
  flow_id?: string;
  step_id?: string;
  entity_id?: string;
  object_id?: string;
  object_id_ref?: string;
  payload: Record<string, unknown>;
  raw_payload?: unknown;
  lead_snapshot?: Record<string, unknown>;
  appended?: Record<string, unknown>;
  timing?: Timing;
  external_event_id?: string;
  occurred_at?: string;
  identity?: { email?: string; phone?: string; refs?: string[] };
}

/** The stored, immutable event (contract section 1). */
export interface LeadEvent extends Omit<EventInput, 'occurred_at' | 'lead_id'> {
  id: string;
  org_id: string;
  lead_id: string;
  occurred_at: string;
  received_at: string;
  expires_at: string;
  schema_version: typeof SCHEMA_VERSION;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export interface ValidateOptions {
  now: number;
  /** Webhook mappers may write webhook.unmapped and the refund types; API clients may not. */
  allowWebhookTypes?: boolean;
  /** lead_id is required from API clients; webhooks resolve it from the payload's identity. */
  requireLeadId?: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Validates one event body and lists every bad field (path + message). The result is normalized:
 * occurred_at in UTC ms, currency codes upper-cased; unknown payload keys are kept untouched.
 */
export function validateEventInput(body: unknown, options: ValidateOptions): Validation<EventInput> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }] };
  const candidate: Record<string, unknown> = { ...body };
  for (const field of SERVER_FIELDS) delete candidate[field];

  // Every string and key, however deep (payload, raw_payload, snapshots), is well-formed Unicode.
  const errors: FieldError[] = malformedStringPaths(candidate).map((path) => ({ path, message: MALFORMED_MESSAGE }));
  const envelope = eventInputSchema.safeParse(candidate);
  if (!envelope.success) errors.push(...issuesToFieldErrors(envelope.error.issues, candidate));

  if (options.requireLeadId !== false && (candidate.lead_id === undefined || candidate.lead_id === null)) {
    if (!errors.some((e) => e.path === 'lead_id')) errors.push({ path: 'lead_id', message: 'is required' });
  }

  const eventType = typeof candidate.event_type === 'string' ? candidate.event_type : undefined;
  const kind = eventType === undefined ? undefined : classifyType(eventType);
  if (eventType !== undefined && (kind === undefined || (kind === 'webhook' && !options.allowWebhookTypes))) {
    errors.push({
      path: 'event_type',
      message: `unknown event type '${eventType.slice(0, 100)}': use a catalogue type or custom.<name> ([a-z0-9_.]{1,80})`,
    });
  }

  let payload: Record<string, unknown> = {};
  const rawPayloadField = candidate.payload;
  if (rawPayloadField !== undefined && !isPlainObject(rawPayloadField)) {
    errors.push({ path: 'payload', message: 'must be a JSON object' });
  } else if (eventType !== undefined && kind !== undefined) {
    const given = rawPayloadField ?? {};
    const parsed = payloadSchemaFor(eventType).safeParse(given);
    if (parsed.success) {
      // Keep the client's object (every unknown key, even odd ones) and overlay the normalized known keys.
      payload = { ...given };
      for (const [key, value] of Object.entries(parsed.data)) if (key in given) payload[key] = value;
    } else {
      errors.push(...issuesToFieldErrors(parsed.error.issues, given, { prefix: ['payload'] }));
    }
  }

  let occurredAt: string | undefined;
  if (typeof candidate.occurred_at === 'string') {
    const ms = parseIsoWithOffset(candidate.occurred_at);
    if (ms === undefined) {
      errors.push({ path: 'occurred_at', message: ISO_DATE_TIME_RULE });
    } else if (ms > options.now + MAX_FUTURE_SKEW_MS) {
      errors.push({ path: 'occurred_at', message: 'must not be more than 5 minutes in the future' });
    } else {
      occurredAt = toIso(ms);
    }
  }

  const outcome = candidate.outcome;
  if ((outcome === 'failure' || outcome === 'error') && (typeof candidate.reason !== 'string' || candidate.reason.trim() === '')) {
    if (!errors.some((e) => e.path === 'reason')) errors.push({ path: 'reason', message: `is required when outcome is '${outcome}'` });
  }

  if (errors.length > 0 || !envelope.success) return { ok: false, errors: dedupe(errors) };
  const value: EventInput = { ...(envelope.data as Omit<EventInput, 'payload'>), payload };
  if (occurredAt !== undefined) value.occurred_at = occurredAt;
  else delete value.occurred_at;
  return { ok: true, value: stripUndefined(value) };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function stripUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

/** The exact bytes a webhook delivery arrived with, and their content type (GET /v1/events/{id}/raw). */
export interface RawBody {
  bytes: Buffer;
  contentType: string;
}

export interface BuildOptions {
  orgId: string;
  /** Resolved lead id; overrides the input's (webhooks). */
  leadId?: string;
  /** Idempotency-Key header, used when the input has no external_event_id. */
  idempotencyKey?: string;
  /**
   * One fact per provider object: when given, the id is derived from it instead of the delivery's id, so every
   * delivery announcing the same fact (an order paid, a refund) lands on the same event.
   */
  factKey?: string;
  rawBody?: RawBody;
  /** The identity keys this delivery or event named (normalized): kept as digests so an erasure finds their claims. */
  identityKeys?: string[];
  now: number;
}

export interface BuiltEvent {
  event: LeadEvent;
  /** Canonical hash of the client-supplied fields: "same content" for idempotent replays. */
  contentHash: string;
  /** True when the id is name-based, i.e. a retry can collide with an earlier write. */
  idempotent: boolean;
  rawBody?: RawBody;
  /** Digests of the identities the event named (keys.identityDigest); no identity value is stored beside the event. */
  identityDigests?: string[];
}

/** Stamps the server fields on a validated input. Pure: the clock comes in as `now`. */
export function buildEvent(input: EventInput, options: BuildOptions): BuiltEvent {
  const key = options.factKey ?? input.external_event_id ?? options.idempotencyKey;
  const leadId = options.leadId ?? input.lead_id;
  if (leadId === undefined) throw new TypeError('buildEvent needs a lead id');
  const receivedAt = toIso(options.now);
  const outcome = input.outcome ?? defaultOutcomeFor(input.event_type);
  const event: LeadEvent = {
    id: eventIdFor(options.orgId, input.source, key),
    org_id: options.orgId,
    ...input,
    lead_id: leadId,
    ...(outcome === undefined ? {} : { outcome }),
    occurred_at: input.occurred_at ?? receivedAt,
    received_at: receivedAt,
    expires_at: toIso(options.now + RETENTION_MS),
    schema_version: SCHEMA_VERSION,
  };
  return {
    event, contentHash: contentHash({ ...input, lead_id: leadId }), idempotent: key !== undefined,
    ...(options.rawBody ? { rawBody: options.rawBody } : {}),
    ...(options.identityKeys?.length ? { identityDigests: [...new Set(options.identityKeys.map(identityDigest))] } : {}),
  };
}
