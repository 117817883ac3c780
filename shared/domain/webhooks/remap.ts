import { ValidationError } from '../errors.js';
import { buildEvent, type LeadEvent } from '../event.js';
import { storeOnce } from '../ingest.js';
import { eventKeysFor } from '../keys.js';
import type { EventStore } from '../ports.js';
import { DAY_MS, parseIsoWithOffset, RETENTION_MS, utcDays } from '../time.js';
import { normalizeClaims } from '../identity.js';
import { UNMAPPED } from './mapping.js';
import { MAPPERS, toInput } from './receive.js';
import { isProvider, type Headers, type Provider } from './signatures.js';

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

function parseRequest(body: unknown, nowMs: number): { fromMs: number; toMs: number; provider?: Provider } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError([{ path: '', message: 'must be a JSON object' }]);
  const { from, to, provider, ...rest } = body as Record<string, unknown>;
  const errors = Object.keys(rest).map((path) => ({ path, message: 'is not a known field' }));
  const time = (value: unknown, path: string, fallback: number) => {
    if (value === undefined) return fallback;
    const ms = typeof value === 'string' ? parseIsoWithOffset(value) : undefined;
    if (ms === undefined) errors.push({ path, message: 'must be an ISO 8601 date-time with offset' });
    return ms ?? fallback;
  };
  const fromMs = time(from, 'from', nowMs - RETENTION_MS);
  const toMs = time(to, 'to', nowMs + DAY_MS);
  if (provider !== undefined && (typeof provider !== 'string' || !isProvider(provider))) errors.push({ path: 'provider', message: 'must be stripe, shopify, typeform or hotmart' });
  if (fromMs >= toMs) errors.push({ path: 'from', message: 'must be before to' });
  if (errors.length > 0) throw new ValidationError(errors);
  return { fromMs, toMs, ...(provider ? { provider: provider as Provider } : {}) };
}

export async function remapUnmapped(store: EventStore, orgId: string, body: unknown, nowMs: number): Promise<RemapResult> {
  const { fromMs, toMs, provider } = parseRequest(body, nowMs);
  const days = utcDays(Math.max(fromMs, nowMs - RETENTION_MS - DAY_MS), toMs).map((day) => eventKeysFor.day(orgId, day));
  const result: RemapResult = { examined: 0, remapped: 0 };
  let after: { partition: number; timeKey: string } | undefined;
  do {
    const page = await store.query({
      index: 'by_day', partitions: days, fromMs, toMs, order: 'asc', limit: 100, nowMs,
      filters: { eventTypes: [{ equals: UNMAPPED }], ...(provider ? { source: provider } : {}) },
      include: { leadSnapshot: false, rawPayload: false }, ...(after ? { after } : {}),
    });
    for (const summary of page.items) {
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
