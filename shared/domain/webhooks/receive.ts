import { v5 as uuidv5 } from 'uuid';
import { NotFoundError, ValidationError, WebhookSignatureError } from '../errors.js';
import { buildEvent, validateEventInput, type EventInput, type LeadEvent } from '../event.js';
import { EVENT_ID_NAMESPACE } from '../ids.js';
import { normalizeClaims, resolveLead, type IdentityCache, type IdentityRules } from '../identity.js';
import { recordLeadMerge, recordMergeRefused, storeOnce } from '../ingest.js';
import { ORG_ID_PATTERN } from '../keys.js';
import { derivedId, idProblem, wellFormedDeep } from '../schema.js';
import { mayHoldLoneSurrogate } from '../json.js';
import type { EventAdmission } from '../rate-limit.js';
import type { EventStore, IdentityStore } from '../ports.js';
import { UNMAPPED, type MappedDelivery } from './mapping.js';
import { mapHotmart } from './hotmart.js';
import { mapShopify } from './shopify.js';
import { mapStripe } from './stripe.js';
import { mapTypeform } from './typeform.js';
import { isProvider, verifyDelivery, type Headers, type Provider } from './signatures.js';

const REDUNDANT = 'webhook.redundant';

export const MAPPERS: Record<Provider, (body: unknown, headers: Headers) => MappedDelivery> = {
  stripe: mapStripe,
  shopify: mapShopify,
  typeform: mapTypeform,
  hotmart: mapHotmart,
};

export interface WebhookDependencies {
  events: EventStore;
  identities: IdentityStore;
  secrets: (orgId: string, provider: Provider) => Promise<string[]>;
  parseJson: (raw: Buffer) => unknown;
  identityCache?: IdentityCache;
  /** The org's identity rules (PUT /v1/settings/identity: junk values never linked, limits). Without it, the built-in list and default limits. */
  identityRules?: (orgId: string) => Promise<IdentityRules>;
  /**
   * Spends one of the org's rate-limit tokens (429 when it has none): called once the signature is verified and never
   * before, so a flood of unsigned requests to an org's URL costs that org nothing.
   */
  admit?: (orgId: string) => Promise<void>;
  /** The org's events bucket (its shard plan's rate): a signed delivery is one event, admitted before anything is stored. */
  admission: EventAdmission;
}

export interface WebhookOutcome {
  status: 'stored' | 'duplicate';
  /** The fact the delivery records (for a redundant delivery, the fact recorded first). */
  event: LeadEvent;
  /** A delivery announcing a fact already recorded is kept as its own `webhook.redundant` event. */
  redundant?: LeadEvent;
}

/** Same 401 for a bad signature and for an org that does not exist: the URL reveals nothing. */
const refused = () => new WebhookSignatureError('The webhook signature could not be verified.');

/**
 * One provider delivery: verify on the raw bytes (401), parse (400), map, resolve the lead, store once.
 * A redelivery lands on the same event id (UUIDv5 of org:provider:provider event id): 200, no second event.
 */
export async function receiveWebhook(
  deps: WebhookDependencies,
  request: { provider: string; orgId: string; raw: Buffer; headers: Headers; now: number },
  onRefused?: (reason: string) => void,
): Promise<WebhookOutcome> {
  const { provider, orgId, raw, headers, now } = request;
  if (!isProvider(provider)) throw new NotFoundError(`No webhook endpoint for provider '${provider.slice(0, 50)}'.`);
  const secrets = ORG_ID_PATTERN.test(orgId) ? await deps.secrets(orgId, provider) : [];
  const verification = verifyDelivery(provider, raw, headers, secrets, now);
  if (!verification.ok) {
    onRefused?.(verification.reason);
    throw refused();
  }
  await deps.admit?.(orgId);
  await deps.admission.admit(orgId, 1);
  const parsed = deps.parseJson(raw);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError([{ path: '', message: 'must be a JSON object' }]);
  }
  // The raw bytes stay as delivered; everything derived from them is well-formed and its ids obey the id rule
  // (section 3), so a signed delivery is never refused for an odd character or a long id, and never a 5xx.
  // (A copy only when the bytes escape a surrogate: the other deliveries are well-formed as parsed.)
  const body = (mayHoldLoneSurrogate(raw.toString('latin1')) ? wellFormedDeep(parsed) : parsed) as object;
  const delivered = MAPPERS[provider](body, headers);
  const mapped: MappedDelivery = {
    ...delivered, externalEventId: derivedId(delivered.externalEventId),
    ...(delivered.objectIdRef !== undefined ? { objectIdRef: derivedId(delivered.objectIdRef) } : {}),
  };
  // A lead id the payload carries is a hint (section 4): one that breaks the API's lead_id rules is ignored, not failed
  // on; a valid one is followed only while no identity of the delivery belongs to another lead, and never merges.
  if (mapped.explicitLeadId !== undefined && idProblem(mapped.explicitLeadId.trim()) !== undefined) delete mapped.explicitLeadId;
  const nowIso = new Date(now).toISOString();
  const pendingClaims: Promise<void>[] = [];
  // Nothing identifies the person (a bare refund, say, or only junk values): the provider object is the lead, stably.
  const ownLead = `lead_${uuidv5(`${orgId}:${provider}:${mapped.objectIdRef ?? mapped.externalEventId}`, EVENT_ID_NAMESPACE).replace(/-/g, '')}`;
  const hasIdentity = normalizeClaims(mapped.identity).length > 0;
  const leadId =
    (await resolveLead(deps.identities, orgId, mapped.identity, {
      nowIso, cache: deps.identityCache, hintLeadId: mapped.explicitLeadId?.trim(), fallbackLeadId: ownLead,
      ...(hasIdentity ? await deps.identityRules?.(orgId) : {}),
      onMerged: (merge) => recordLeadMerge(deps.events, orgId, merge, now), onRefused: (refusal) => recordMergeRefused(deps.events, deps.identities, orgId, refusal, now),
      alongside: (work) => pendingClaims.push(work),
    })) ?? ownLead;

  const rawBody = { bytes: raw, contentType: headers['content-type'] ?? 'application/json' };
  const input = toInput(provider, mapped, body, now);
  const identityKeys = normalizeClaims(mapped.identity);
  const built = buildEvent(input, { orgId, leadId, now, rawBody, identityKeys, ...(mapped.factKey ? { factKey: mapped.factKey } : {}) });
  // A returning buyer's new provider objects are claimed while the event is written; both finish before the 200.
  const [outcome] = await Promise.all([storeOnce(deps.events, built, now), ...pendingClaims]);
  if (outcome.status === 'created') return { status: 'stored', event: outcome.event };
  if (outcome.status === 'duplicate') return { status: 'duplicate', event: outcome.event };
  // The fact is already recorded. From another delivery (Shopify's orders/create, then orders/paid): keep this one,
  // raw bytes and all, as webhook.redundant on the same lead, never as a second fact. From this very delivery id
  // with other content (a provider reusing its id): the first stands. Either way the provider gets a 200.
  if (outcome.stored.external_event_id === mapped.externalEventId) return { status: 'duplicate', event: outcome.stored };
  const redundant = validateEventInput(
    { ...input, event_type: REDUNDANT, payload: { fact_event_id: outcome.stored.id, mapped_as: mapped.eventType, provider_event_type: mapped.providerEventType } },
    { now, allowWebhookTypes: true, requireLeadId: false },
  );
  if (!redundant.ok) throw new ValidationError(redundant.errors);
  const kept = await storeOnce(deps.events, buildEvent(redundant.value, { orgId, leadId: outcome.stored.lead_id, now, rawBody, identityKeys }), now);
  return { status: 'duplicate', event: outcome.stored, ...(kept.status === 'conflict' ? {} : { redundant: kept.event }) };
}

/**
 * The mapped delivery as an event. A mapped type whose payload the catalogue refuses (a provider omitted
 * a field) is kept as webhook.unmapped with the reasons, never dropped.
 */
export function toInput(provider: Provider, mapped: MappedDelivery, body: object, now: number): EventInput {
  const candidate = {
    source_type: 'external',
    source: provider,
    event_type: mapped.eventType,
    payload: mapped.payload,
    raw_payload: body,
    external_event_id: mapped.externalEventId,
    ...(mapped.objectIdRef ? { object_id_ref: mapped.objectIdRef } : {}),
    ...(mapped.occurredAt && Date.parse(mapped.occurredAt) <= now + 5 * 60_000 ? { occurred_at: mapped.occurredAt } : {}),
  };
  const options = { now, allowWebhookTypes: true, requireLeadId: false };
  const first = validateEventInput(candidate, options);
  if (first.ok) return first.value;
  const fallback = validateEventInput(
    { ...candidate, event_type: UNMAPPED, payload: { provider_event_type: mapped.providerEventType, mapped_as: mapped.eventType, mapping_errors: first.errors } },
    options,
  );
  if (fallback.ok) return fallback.value;
  throw new ValidationError(fallback.errors);
}
