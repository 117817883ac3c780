import { ValidationError } from '../errors.js';
import { buildEvent, type LeadEvent } from '../event.js';
import { storeOnce } from '../ingest.js';
import { dayPartitions } from '../shards.js';
import type { EventStore } from '../ports.js';
import { DAY_MS, MAX_FUTURE_SKEW_MS, RETENTION_MS, utcDays } from '../time.js';
import * as z from 'zod/mini';
import { isoParam, parseOrThrow, rangeProblems } from '../schema.js';
import { normalizeClaims } from '../identity.js';
import { UNMAPPED } from './mapping.js';
import { MAPPERS, toInput } from './receive.js';
import { isProvider, PROVIDERS, type Headers, type Provider } from './signatures.js';

/**
 * POST /v1/webhooks/remap (section 4): today's mappers over the org's stored webhook.unmapped events. One that
 * now maps becomes its catalogue event, on the same lead, with the same raw bytes, under an id derived from the
 * unmapped event's id (so a second run changes nothing); the unmapped event stays as it was.
 */
export interface RemapRequest {
  from?: string;
  to?: string;
  provider?: string;
}

export interface RemapResult {
  examined: number;
  remapped: number;
}

/** The headers a mapper reads that a stored event still knows (Shopify's topic, event id and time come in headers). */
function headersOf(event: LeadEvent): Headers {
  const topic = (event.payload as { provider_event_type?: unknown }).provider_event_type;
  return {
    ...(typeof topic === 'string' ? { 'x-shopify-topic': topic } : {}),
    ...(event.external_event_id ? { 'x-shopify-event-id': event.external_event_id } : {}),
    'x-shopify-triggered-at': event.occurred_at,
  };
}

/** The body of POST /v1/webhooks/remap: a window of receipt (default: the whole retention) and a provider. */
export const remapBody = z.strictObject({
  from: z.optional(isoParam),
  to: z.optional(isoParam),
  provider: z.optional(z.enum(PROVIDERS, 'must be stripe, shopify, typeform or hotmart')),
});

function parseRequest(body: unknown, nowMs: number): { fromMs: number; toMs: number; provider?: Provider } {
  const { from, to, provider } = parseOrThrow(remapBody, body, { notObjectMessage: 'must be a JSON object' });
  const fromMs = from ?? nowMs - RETENTION_MS;
  const toMs = to ?? nowMs + MAX_FUTURE_SKEW_MS;
  // Bounded like every range (section 3): each day of it is a query, so year 9999 would be millions of them.
  const problems = rangeProblems(fromMs, toMs, nowMs, { from: 'from', to: 'to' });
  if (problems.length > 0) throw new ValidationError(problems);
  return { fromMs, toMs, ...(provider ? { provider } : {}) };
}

/** `signal`: the request's deadline; once it fires, no further page or event is examined (its reason is thrown). */
export async function remapUnmapped(store: EventStore, orgId: string, body: unknown, nowMs: number, signal?: AbortSignal): Promise<RemapResult> {
  const { fromMs, toMs, provider } = parseRequest(body, nowMs);
  const plan = await store.shardPlan(orgId, nowMs);
  const days = utcDays(Math.max(fromMs, nowMs - RETENTION_MS - DAY_MS), toMs).map((day) => dayPartitions(orgId, day, plan));
  const result: RemapResult = { examined: 0, remapped: 0 };
  let after: { partition: number; timeKey: string } | undefined;
  do {
    const page = await store.query({
      index: 'by_day', partitions: days, fromMs, toMs, order: 'asc', limit: 100, nowMs,
      filters: { eventTypes: [{ equals: UNMAPPED }], ...(provider ? { source: provider } : {}) },
      include: { leadSnapshot: false, rawPayload: false }, ...(after ? { after } : {}), ...(signal ? { signal } : {}),
    });
    for (const summary of page.items) {
      signal?.throwIfAborted();
      result.examined++;
      if (await remapOne(store, orgId, summary.id, nowMs)) result.remapped++;
    }
    after = page.next;
  } while (after);
  return result;
}

async function remapOne(store: EventStore, orgId: string, id: string, nowMs: number): Promise<boolean> {
  const [unmapped, raw] = await Promise.all([store.get(orgId, id, nowMs), store.getRaw(orgId, id, nowMs)]);
  if (!unmapped || !isProvider(unmapped.source) || unmapped.raw_payload === null || typeof unmapped.raw_payload !== 'object') return false;
  let mapped;
  try {
    mapped = MAPPERS[unmapped.source](unmapped.raw_payload, headersOf(unmapped));
  } catch {
    return false; // still not mappable (e.g. no delivery id): stays unmapped
  }
  if (mapped.eventType === UNMAPPED) return false;
  const input = toInput(unmapped.source, mapped, unmapped.raw_payload, nowMs);
  if (input.event_type === UNMAPPED) return false;
  const built = buildEvent({ ...input, occurred_at: unmapped.occurred_at }, {
    orgId, leadId: unmapped.lead_id, now: nowMs, factKey: `remap:${unmapped.id}`, identityKeys: normalizeClaims(mapped.identity), ...(raw ? { rawBody: raw } : {}),
  });
  return (await storeOnce(store, built, nowMs)).status === 'created';
}
