/**
 * The one way LeadConduit events are stored (contract section 12), whichever way they came in: the API route
 * (`POST /v1/integrations/leadconduit/events`), the Event Streaming inbox and the pull all call
 * `ingestLeadConduitEvents`. Each object is judged on its own and answered in input order.
 *
 * Invariants:
 * - Idempotent on LeadConduit's id: the leadlog id is UUIDv5(org:leadconduit:<LeadConduit id>), so the same event by
 *   any way, any number of times, is one stored event. The same id with different content (LeadConduit never
 *   rewrites an event, but the inbox and the pull may hand over copies that differ, say one with the tap's extra
 *   fields): storeOnce's rules decide, and the first stored stands; the answer is `duplicate` with a problem
 *   saying the content differed (never a second event, never an overwrite).
 * - Credentials are redacted before anything is derived or stored (mapping.ts: redactCredentials).
 * - The answer tells exactly what was stored: an item's own fault (a 503 after the SDK's retries) is that item's
 *   `error` and the others stand; retrying is safe (what was stored is then a duplicate).
 */
import { ConflictError, LeadlogError, ValidationError, type FieldError } from '../errors.js';
import { buildEvent, validateEventInput } from '../event.js';
import { normalizeClaims, resolveLead, type IdentityRules } from '../identity.js';
import { recordLeadMerge, recordMergeRefused, storeOnce } from '../ingest.js';
import { mapWithConcurrency } from '../concurrency.js';
import type { EventStore, IdentityStore, LeadConduitChannel, LeadConduitMarks, LeadConduitStatusStore } from '../ports.js';
import { mapLeadConduitEvent, redactCredentials } from './mapping.js';
import type { EventAdmission } from '../rate-limit.js';

/** An event as LeadConduit sends it is at most this large, JSON-encoded (section 12); a larger one is `invalid`. */
export const MAX_LEADCONDUIT_EVENT_BYTES = 1024 * 1024;
/** Items stored at once (conditional PutItems in flight); items sharing a LeadConduit id are stored one after another. */
export const LEADCONDUIT_PUT_CONCURRENCY = 16;

export interface LeadConduitPorts {
  events: EventStore;
  identities: IdentityStore;
  /** The org's identity rules (junk values, limits); without it, the built-in list and default limits. */
  identityRules?: ((orgId: string) => Promise<IdentityRules>) | undefined;
  leadconduitStatus: LeadConduitStatusStore;
  /** The org's events bucket (its shard plan's rate, shared/domain/rate-limit.ts): a call's objects are admitted before any is stored. */
  eventLimiter: EventAdmission;
}

export type LeadConduitItemStatus = 'created' | 'duplicate' | 'invalid' | 'error';

export interface LeadConduitItemResult {
  index: number;
  /** `error`: our own fault storing this item (nothing of it was stored); retry it. */
  status: LeadConduitItemStatus;
  /** leadlog's id of the event (created or duplicate). */
  id?: string;
  /** Why it is invalid (a ValidationError naming the fields), or, on a duplicate, that the stored content differs (a ConflictError). */
  problem?: LeadlogError;
  /** The fault of an `error` item (the caller logs it; its answer carries only a 503 problem). */
  fault?: unknown;
}

export interface IngestLeadConduitOptions {
  /** Told of each item's fault, and of a counter write that failed (index -1): the events stand, only the status lags. */
  onFault?: (error: unknown, index: number) => void;
}

const invalid = (index: number, errors: FieldError[]): LeadConduitItemResult => ({ index, status: 'invalid', problem: new ValidationError(errors) });

/** The one-line reason of an item that was not stored (for the inbox's `<key>.error.json` and logs). */
export function reasonOf(result: LeadConduitItemResult): string | undefined {
  if (result.problem) return result.problem.message;
  if (result.status === 'error') return 'leadlog could not store it just now (a dependency was unavailable); it will be retried';
  return undefined;
}

async function ingestOne(ports: LeadConduitPorts, orgId: string, object: unknown, index: number, nowMs: number): Promise<LeadConduitItemResult> {
  const encoded = JSON.stringify(object) ?? '';
  const bytes = Buffer.byteLength(encoded, 'utf8');
  if (bytes > MAX_LEADCONDUIT_EVENT_BYTES) {
    return invalid(index, [{ path: '', message: `is ${bytes} bytes encoded; a LeadConduit event is at most ${MAX_LEADCONDUIT_EVENT_BYTES} bytes` }]);
  }
  const mapped = mapLeadConduitEvent(redactCredentials(object), orgId);
  if (!mapped.ok) return invalid(index, mapped.errors);
  const validation = validateEventInput(mapped.value.input, { now: nowMs, requireLeadId: true });
  if (!validation.ok) return invalid(index, validation.errors);
  const identityKeys = normalizeClaims(mapped.value.identity);
  const built = buildEvent(validation.value, { orgId, now: nowMs, ...(identityKeys.length > 0 ? { identityKeys } : {}) });
  if (identityKeys.length > 0) {
    // vars.lead.id is LeadConduit's own lead id, not a hint (section 12): the event keeps it, its identities link to it.
    await resolveLead(ports.identities, orgId, mapped.value.identity, {
      explicitLeadId: built.event.lead_id, nowIso: built.event.received_at,
      ...(await ports.identityRules?.(orgId)),
      onMerged: (merge) => recordLeadMerge(ports.events, orgId, merge, nowMs),
      onRefused: (refusal) => recordMergeRefused(ports.events, ports.identities, orgId, refusal, nowMs),
    });
  }
  const outcome = await storeOnce(ports.events, built, nowMs);
  if (outcome.status === 'conflict') {
    return {
      index, status: 'duplicate', id: outcome.id,
      problem: new ConflictError(`LeadConduit event ${mapped.value.leadconduitId} was stored earlier (id ${outcome.id}) with different content; the first copy stands.`),
    };
  }
  return { index, status: outcome.status, id: outcome.event.id };
}

function asFault(error: unknown, index: number, onFault?: (error: unknown, index: number) => void): LeadConduitItemResult {
  // A client's mistake found deeper down (a 4xx) is the item's `invalid`; anything else is ours.
  if (error instanceof ValidationError) return { index, status: 'invalid', problem: error };
  if (error instanceof LeadlogError && error.status < 500) return invalid(index, [{ path: '', message: error.message }]);
  onFault?.(error, index);
  return { index, status: 'error', fault: error };
}

/**
 * Stores LeadConduit event objects for an org, as they came in `via` one of the three ways, and adds the results
 * to that way's counters (GET /v1/integrations/leadconduit/status). Results in input order, one per object.
 */
export async function ingestLeadConduitEvents(
  ports: LeadConduitPorts, orgId: string, objects: unknown[], via: LeadConduitChannel, nowMs: number, options: IngestLeadConduitOptions = {},
): Promise<LeadConduitItemResult[]> {
  // The call's objects are admitted together before any is stored (all of them: judging each first would map and
  // validate twice). Over the org's event rate the API route answers 429 and stores nothing; the inbox and the pull
  // (no HTTP request: nobody to answer) wait for the bucket, then give up for now with the same error, which they
  // retry later (the inbox's message comes back, the pull reads the page again): never a dropped or set-aside event.
  if (via === 'api') await ports.eventLimiter.admit(orgId, objects.length);
  else await ports.eventLimiter.admitWaiting(orgId, objects.length);
  // Objects naming the same LeadConduit id are stored in input order, one after another: the first is created, the
  // rest are its duplicates. Groups run side by side.
  const groups = new Map<string, number[]>();
  objects.forEach((object, index) => {
    const id = object !== null && typeof object === 'object' ? (object as { id?: unknown }).id : undefined;
    const key = typeof id === 'string' ? `id:${id}` : `#${index}`;
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const results: LeadConduitItemResult[] = new Array(objects.length);
  await mapWithConcurrency([...groups.values()], LEADCONDUIT_PUT_CONCURRENCY, async (indexes) => {
    for (const index of indexes) {
      results[index] = await ingestOne(ports, orgId, objects[index], index, nowMs).catch((error: unknown) => asFault(error, index, options.onFault));
    }
  });
  const delta = { created: 0, duplicate: 0, invalid: 0 };
  for (const result of results) if (result.status !== 'error') delta[result.status]++;
  try {
    await ports.leadconduitStatus.count(orgId, via, delta);
  } catch (error) {
    // The events are stored and the answer says so; a counter that could not be added lags, it never fails the items.
    options.onFault?.(error, -1);
  }
  return results;
}

/**
 * Records a way in's position and last failure for the status route: the inbox its `last_key` and `last_error`, the
 * pull its `after_id`, `last_run_at` and `last_error` (null clears a previous error).
 */
export function recordLeadConduitMarks(ports: Pick<LeadConduitPorts, 'leadconduitStatus'>, orgId: string, via: LeadConduitChannel, marks: LeadConduitMarks): Promise<void> {
  return ports.leadconduitStatus.mark(orgId, via, marks);
}
