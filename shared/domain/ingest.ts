import { ConflictError, LeadlogError, ValidationError } from './errors.js';
import { buildEvent, validateEventInput, type BuiltEvent, type EventInput, type LeadEvent } from './event.js';
import { eventIdFor } from './ids.js';
import { normalizeClaims, parseIdentityKey, resolveLead, type IdentityRules, type LeadMerge, type LeadRefusal, type Unmerge } from './identity.js';
import { identityDigest } from './keys.js';
import { derivedId } from './schema.js';
import { claims } from './webhooks/mapping.js';
import type { EventStore, IdentityStore } from './ports.js';
import type { EventAdmission } from './rate-limit.js';

export const MAX_BATCH_EVENTS = 100;
/** A batch item is at most what POST /v1/events accepts as a body (contract section 3): 256 KB, JSON-encoded. */
export const MAX_BATCH_ITEM_BYTES = 256 * 1024;
/** Concurrent conditional puts per batch: BatchWriteItem takes no conditions, so a batch is bounded parallel PutItems. */
export const BATCH_PUT_CONCURRENCY = 16;

export type IngestResult =
  | { status: 'created'; event: LeadEvent }
  | { status: 'duplicate'; event: LeadEvent }
  | { status: 'conflict'; id: string; error: ConflictError }
  | { status: 'invalid'; error: ValidationError };

/** A batch item's result: an event's, or `error`, our own fault while storing it (a 503 after the SDK's retries, or unexpected). */
export type BatchItemResult = IngestResult | { status: 'error'; error: unknown };

export interface IngestContext {
  orgId: string;
  idempotencyKey?: string | undefined;
  now: number;
  /** Where an event's `identity` is linked to its lead (section 8); without it, `identity` is only stored. */
  identities?: IdentityStore | undefined;
  /** The org's identity rules (PUT /v1/settings/identity: junk values never linked, limits). Without it, the built-in list and default limits. */
  identityRules?: ((orgId: string) => Promise<IdentityRules>) | undefined;
  /**
   * The org's events bucket (its shard plan's rate, shared/domain/rate-limit.ts): every valid event is admitted before
   * anything of it is written (a RateLimitedError, 429, then stores nothing of the request). Required: no way in stores
   * events past it.
   */
  admission: EventAdmission;
}

/**
 * The external id of the `lead.merged` event of `from`'s merge into `into`: one per pair, so a lead unmerged and later
 * merged elsewhere gets its own record (red team). Before unmerges (v1.2) it came from `from` alone: `legacy`.
 */
const mergeEventKey = (from: string, into: string) => derivedId(`merge:${from}:${into}`);
const legacyMergeEventKey = (from: string) => derivedId(`merge:${from}`);

/**
 * Records a merge on the surviving lead as one `lead.merged` event (source leadlog, internal). Its id comes from the
 * two leads, so whichever writer records it, and however often, there is one.
 */
export async function recordLeadMerge(store: EventStore, orgId: string, merge: LeadMerge, nowMs: number): Promise<void> {
  const { type, value } = parseIdentityKey(merge.identity);
  const input = validateEventInput(
    {
      lead_id: merge.into, source_type: 'internal', source: 'leadlog', event_type: 'lead.merged', external_event_id: mergeEventKey(merge.from, merge.into),
      payload: { from_lead_id: merge.from, into_lead_id: merge.into, identity: { [type]: value } },
    },
    { now: nowMs, allowWebhookTypes: true },
  );
  if (!input.ok) throw new ValidationError(input.errors);
  await storeOnce(store, buildEvent(input.value, { orgId, now: nowMs }), nowMs);
}

/**
 * Records a refused link or merge on the lead the event went to as one `lead.merge_refused` event (source leadlog,
 * internal; payload {identity, reason, other_lead_id?}). Its id comes from the reason and the two leads, so one pair of
 * leads is refused once per reason however many deliveries name them (a later one with another identity is a
 * conflict, and the first record stands): no lead's timeline grows with a shared placeholder. A new identity over a
 * limit names no other lead: its id comes from the lead and that identity's digest, once per identity.
 */
export async function recordMergeRefused(store: EventStore, identities: IdentityStore | undefined, orgId: string, refusal: LeadRefusal, nowMs: number): Promise<void> {
  const { type, value } = parseIdentityKey(refusal.identity);
  const input = validateEventInput(
    {
      lead_id: refusal.lead, source_type: 'internal', source: 'leadlog', event_type: 'lead.merge_refused',
      external_event_id: derivedId(`refused:${refusal.reason}:${refusal.lead}:${refusal.otherLeadId ?? `identity:${identityDigest(refusal.identity)}`}`),
      payload: { identity: { [type]: value }, reason: refusal.reason, ...(refusal.otherLeadId !== undefined ? { other_lead_id: refusal.otherLeadId } : {}) },
    },
    { now: nowMs, allowWebhookTypes: true },
  );
  if (!input.ok) throw new ValidationError(input.errors);
  const built = buildEvent(input.value, { orgId, now: nowMs });
  // It names the other lead on this one's timeline: noted before it is stored, so erasing that lead finds it.
  if (refusal.otherLeadId !== undefined) await identities?.mention(orgId, refusal.otherLeadId, { eventId: built.event.id, lead: refusal.lead });
  await storeOnce(store, built, nowMs);
}

/**
 * Records an unmerge as one `lead.unmerged` event on each of the two leads (source leadlog, internal; payload
 * {from_lead_id, into_lead_id, identity?}: the merge of from into into that was undone). Their ids come from that
 * merge, so calls racing to undo it record them once (the first stands).
 * From now on the two are different families, so each event naming the other (these two, and the `lead.merged` left
 * on the lead it was merged into) is noted on the lead it names first: erasing either side removes them.
 */
export async function recordLeadUnmerged(store: EventStore, identities: IdentityStore, orgId: string, unmerge: Unmerge, nowMs: number): Promise<void> {
  for (const key of [mergeEventKey(unmerge.lead, unmerge.from), legacyMergeEventKey(unmerge.lead)]) {
    await identities.mention(orgId, unmerge.lead, { eventId: eventIdFor(orgId, 'leadlog', key), lead: unmerge.from });
  }
  const via = unmerge.via === undefined ? undefined : parseIdentityKey(unmerge.via);
  const payload = { from_lead_id: unmerge.lead, into_lead_id: unmerge.from, ...(via ? { identity: { [via.type]: via.value } } : {}) };
  for (const [side, lead] of [['from', unmerge.lead], ['into', unmerge.from]] as const) {
    const input = validateEventInput(
      {
        lead_id: lead, source_type: 'internal', source: 'leadlog', event_type: 'lead.unmerged',
        external_event_id: derivedId(`unmerged:${side}:${unmerge.lead}:${unmerge.from}:${unmerge.mergedAt}`), payload,
      },
      { now: nowMs, allowWebhookTypes: true },
    );
    if (!input.ok) throw new ValidationError(input.errors);
    const built = buildEvent(input.value, { orgId, now: nowMs });
    await identities.mention(orgId, side === 'from' ? unmerge.from : unmerge.lead, { eventId: built.event.id, lead });
    await storeOnce(store, built, nowMs);
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function checkIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }]);
  }
  return value;
}

function conflict(id: string): ConflictError {
  return new ConflictError(
    `An event with the same idempotency key (id ${id}) was already stored with different content. ` +
      'Use a new external_event_id / Idempotency-Key for a different event.',
  );
}

/** What storing an event once came to. A conflict carries the event that stands under the id. */
export type StoreOutcome =
  | { status: 'created'; event: LeadEvent }
  | { status: 'duplicate'; event: LeadEvent }
  | { status: 'conflict'; id: string; stored: LeadEvent };

/**
 * The idempotency decision, and the only place a 409 is decided. The store answers what its conditional
 * write found; here, the same content hash under the same id is a duplicate (the stored twin is returned,
 * as a replay), a different one is a conflict. As Powertools' idempotency keeps payload validation out of
 * its persistence layer, the store never compares content itself.
 */
export async function storeOnce(store: EventStore, built: BuiltEvent, nowMs: number): Promise<StoreOutcome> {
  const result = await store.put(built, nowMs);
  if (result.status === 'created') return { status: 'created', event: built.event };
  const { stored } = result;
  if (stored.contentHash === built.contentHash) return { status: 'duplicate', event: stored.event };
  return { status: 'conflict', id: stored.event.id, stored: stored.event };
}

/** Validates, admits (one event of the org's events bucket), stamps and stores one event: created, duplicate (same content), conflict, or invalid. */
export async function ingestEvent(store: EventStore, body: unknown, context: IngestContext): Promise<IngestResult> {
  const validation = validateEventInput(body, { now: context.now, requireLeadId: true });
  if (!validation.ok) return { status: 'invalid', error: new ValidationError(validation.errors) };
  await context.admission.admit(context.orgId, 1);
  return storeValid(store, validation.value, context);
}

/** Stamps and stores an event already validated and admitted. */
async function storeValid(store: EventStore, input: EventInput, context: IngestContext): Promise<IngestResult> {
  const identity = input.identity;
  const linked = identity && context.identities
    ? claims({ emails: [identity.email], phones: identity.phone ? [{ value: identity.phone }] : [], refs: identity.refs ?? [] })
    : undefined;
  const built = buildEvent(input, {
    orgId: context.orgId, now: context.now,
    ...(context.idempotencyKey ? { idempotencyKey: context.idempotencyKey } : {}),
    ...(linked ? { identityKeys: normalizeClaims(linked) } : {}),
  });
  if (linked && context.identities) {
    await resolveLead(context.identities, context.orgId, linked, {
      explicitLeadId: built.event.lead_id, nowIso: built.event.received_at,
      ...(await context.identityRules?.(context.orgId)),
      onMerged: (merge) => recordLeadMerge(store, context.orgId, merge, context.now),
      onRefused: (refusal) => recordMergeRefused(store, context.identities, context.orgId, refusal, context.now),
    });
  }
  const outcome = await storeOnce(store, built, context.now);
  return outcome.status === 'conflict' ? { status: 'conflict', id: outcome.id, error: conflict(outcome.id) } : outcome;
}

/**
 * Whatever goes wrong while storing one item is that item's result, never the batch's, so the answer reports exactly
 * what the batch stored (contract section 3): a client's mistake found deeper down (a 4xx) is `invalid`; our own fault
 * (a 503 such as DynamoDB throttling after the SDK's retries, or anything unexpected) is `error`, and the other items'
 * results stand. Retrying the batch is then safe for items with an external id or an Idempotency-Key: what was stored
 * is a duplicate. `onFault` hears each fault (the handler logs it; the answer carries only its problem).
 */
function asItemResult(error: unknown, onFault?: (error: unknown) => void): BatchItemResult {
  if (error instanceof ValidationError) return { status: 'invalid', error };
  if (error instanceof LeadlogError && error.status < 500) return { status: 'invalid', error: new ValidationError([{ path: '', message: error.message }]) };
  onFault?.(error);
  return { status: 'error', error };
}

/**
 * A batch: every item is judged on its own, in input order. Items that share an id (the same idempotency
 * key twice in one batch) are chained so the first is the one created and the rest are duplicates or
 * conflicts of it; all others run in parallel, at most BATCH_PUT_CONCURRENCY at a time. Every item is validated
 * first, and the valid ones are admitted together (n events of the org's events bucket) before any is written: over
 * the org's event rate, the whole batch is a 429 and nothing of it is stored.
 */
export async function ingestBatch(
  store: EventStore, body: unknown, context: IngestContext, onFault?: (error: unknown, index: number) => void,
): Promise<BatchItemResult[]> {
  const events = (body as { events?: unknown } | null)?.events;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError([{ path: '', message: 'must be a JSON object: {"events": [ ... ]}' }]);
  }
  const extra = Object.keys(body).filter((k) => k !== 'events');
  const errors = extra.map((k) => ({ path: k, message: 'is not a known field' }));
  if (!Array.isArray(events)) errors.push({ path: 'events', message: 'is required and must be an array of events' });
  else if (events.length === 0) errors.push({ path: 'events', message: 'must hold at least one event' });
  else if (events.length > MAX_BATCH_EVENTS) errors.push({ path: 'events', message: `must hold at most ${MAX_BATCH_EVENTS} events (got ${events.length})` });
  if (errors.length > 0) throw new ValidationError(errors);

  const items = events as unknown[];
  const results: BatchItemResult[] = new Array(items.length);
  // Judged before anything is written: an oversized item is its own `invalid` result, whatever its neighbours.
  const pending: number[] = [];
  items.forEach((item, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
    if (bytes > MAX_BATCH_ITEM_BYTES) {
      results[index] = { status: 'invalid', error: new ValidationError([{ path: '', message: `is ${bytes} bytes encoded; an event is at most ${MAX_BATCH_ITEM_BYTES} bytes` }]) };
    } else {
      pending.push(index);
    }
  });
  // Validated before anything is written or admitted: an invalid item costs no event of the org's rate.
  const valid = new Map<number, EventInput>();
  for (const index of pending.splice(0)) {
    try {
      const validation = validateEventInput(items[index], { now: context.now, requireLeadId: true });
      if (validation.ok) {
        valid.set(index, validation.value);
        pending.push(index);
      } else {
        results[index] = { status: 'invalid', error: new ValidationError(validation.errors) };
      }
    } catch (error) {
      results[index] = asItemResult(error, onFault && ((e) => onFault(e, index)));
    }
  }
  await context.admission.admit(context.orgId, pending.length);
  const chains = new Map<string, Promise<unknown>>();
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const index = pending[next++]!;
      const item = items[index];
      const external = (item as { external_event_id?: unknown } | null)?.external_event_id;
      const perItemKey = context.idempotencyKey && external === undefined ? `${context.idempotencyKey}#${index}` : undefined;
      const chainKey = typeof external === 'string' ? `${(item as { source?: unknown }).source}:${external}` : undefined;
      const run = () => storeValid(store, valid.get(index)!, { ...context, idempotencyKey: perItemKey }).catch((error: unknown) => asItemResult(error, onFault && ((e) => onFault(e, index))));
      if (chainKey === undefined) {
        results[index] = await run();
      } else {
        const previous = chains.get(chainKey) ?? Promise.resolve();
        const current = previous.then(run);
        chains.set(chainKey, current.catch(() => undefined));
        results[index] = await current;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_PUT_CONCURRENCY, pending.length) }, worker));
  return results;
}
