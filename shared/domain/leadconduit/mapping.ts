/**
 * LeadConduit's events in leadlog's terms (contract section 12), the one module for it: a LeadConduit `Event` object
 * (its published OpenAPI schema, `components.schemas.Event`; vendored for tests in test/fixtures/leadconduit/) in,
 * the event input leadlog validates and stores out. Pure: no store, no clock beyond what is passed in.
 *
 * Invariants:
 * - Credentials never reach storage: `redactCredentials` runs first, and everything stored (the raw object, the
 *   snapshot, the payload) is derived from its output.
 * - One LeadConduit id, one leadlog id: external_event_id is LeadConduit's `id` under source `leadconduit`, so the
 *   leadlog id is UUIDv5(org:leadconduit:id) whichever way (API, inbox, pull) the event came in.
 * - Nothing is invented: a field LeadConduit did not send (or sent in a shape leadlog cannot hold) is left out of the
 *   derived fields; the raw object keeps it whole.
 */
import { eventIdFor } from '../ids.js';
import { isRawNumber, parseJsonLossless } from '../json.js';
import { contentTypeOf, isSecretKey, normalizeKey } from '../masking.js';
import { idProblem } from '../schema.js';
import type { FieldError } from '../errors.js';
import type { Outcome } from '../catalogue.js';
import type { IdentityClaims } from '../webhooks/mapping.js';

export const LEADCONDUIT_SOURCE = 'leadconduit';

export const LEADCONDUIT_TYPES = ['source', 'filter', 'recipient', 'retry', 'feedback-received', 'feedback-sent'] as const;
export type LeadConduitType = (typeof LEADCONDUIT_TYPES)[number];

/**
 * Section 12's table: LeadConduit type × outcome → leadlog event type and outcome. An outcome not listed for its type
 * is not guessed at: the object is `invalid`, with the outcomes its type has.
 */
export const LEADCONDUIT_MAPPING: Record<LeadConduitType, Record<string, { eventType: string; outcome: Outcome }>> = {
  source: {
    success: { eventType: 'source.accepted', outcome: 'success' },
    failure: { eventType: 'source.rejected', outcome: 'failure' },
    error: { eventType: 'source.error', outcome: 'error' },
  },
  filter: {
    continue: { eventType: 'filter.passed', outcome: 'success' },
    stop: { eventType: 'filter.failed', outcome: 'failure' },
    error: { eventType: 'filter.error', outcome: 'error' },
  },
  recipient: {
    success: { eventType: 'recipient.delivered', outcome: 'success' },
    failure: { eventType: 'recipient.failed', outcome: 'failure' },
    error: { eventType: 'recipient.error', outcome: 'error' },
    skip: { eventType: 'recipient.skipped', outcome: 'skip' },
  },
  retry: {
    success: { eventType: 'retry.attempted', outcome: 'success' },
    failure: { eventType: 'retry.attempted', outcome: 'failure' },
    error: { eventType: 'retry.attempted', outcome: 'error' },
    skip: { eventType: 'retry.attempted', outcome: 'skip' },
  },
  'feedback-received': {
    success: { eventType: 'feedback.received', outcome: 'success' },
    failure: { eventType: 'feedback.received', outcome: 'failure' },
    error: { eventType: 'feedback.received', outcome: 'error' },
  },
  'feedback-sent': {
    success: { eventType: 'feedback.sent', outcome: 'success' },
    failure: { eventType: 'feedback.sent', outcome: 'failure' },
    error: { eventType: 'feedback.sent', outcome: 'error' },
    // LeadConduit's Feedback schema: "If it does not [pass], a 'skip' Feedback Sent Event is created."
    skip: { eventType: 'feedback.sent', outcome: 'skip' },
  },
};

/** Types whose `entity_id` is the recipient (the buyer); the others' is the source (section 12). */
const RECIPIENT_ENTITY: ReadonlySet<LeadConduitType> = new Set(['recipient', 'retry', 'feedback-received', 'feedback-sent']);

// ── Credentials (section 12: "Credentials are not evidence") ──────────────────────────────────────────────────────

export const REDACTED = '[redacted]';
/** Header names whose values are credentials, lower-cased (names are matched case-insensitively). */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !isRawNumber(value);

/**
 * A copy of `value` with every credential replaced by "[redacted]": in any `headers` object (a request's, a
 * response's, a transaction's, at any depth) the values of Authorization, Proxy-Authorization, Cookie, Set-Cookie and
 * X-Api-Key, whatever their case and whether a string or a list; and every `credential` object whole. Everything
 * else is kept as it is (raw numbers included). The input is never modified. Recursive: parsed bodies are at most
 * MAX_JSON_DEPTH (256) deep (shared/domain/json.ts), well within the stack.
 */
export function redactCredentials<T>(value: T): T {
  const copy = (node: unknown, key: string | undefined, parentIsHeaders: boolean): unknown => {
    if (key !== undefined && parentIsHeaders && isCredentialHeader(key)) return REDACTED;
    if (key !== undefined && key.toLowerCase() === 'credential' && isObject(node)) return REDACTED;
    if (typeof node === 'string' && key !== undefined && URL_KEYS.has(key.toLowerCase())) return redactUrl(node);
    if (Array.isArray(node)) return node.map((item) => copy(item, undefined, false));
    if (!isObject(node)) return node;
    const isHeaders = key !== undefined && key.toLowerCase() === 'headers';
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(node)) {
      // An HTTP message's body (a string beside its headers): its credential fields, by the body's content type.
      const redacted = childKey === 'body' && typeof child === 'string' && 'headers' in node ? redactBody(child, contentTypeOf(node.headers)) : copy(child, childKey, isHeaders);
      // defineProperty: a key named `__proto__` stays a plain key, as JSON.parse made it.
      Object.defineProperty(out, childKey, { value: redacted, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return copy(value, undefined, false) as T;
}

/**
 * A header whose value is a credential: section 12's five names, and every name section 9 masks as a secret
 * (`X-Auth-Token`, `Api-Key`, `X-Access-Token`, `Private-Token`, `X-Amz-Security-Token`, `X-Client-Secret`…).
 */
function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADERS.has(name.trim().toLowerCase()) || isSecretKey(name.trim());
}

/** Keys whose string values are URLs (LeadConduit's HttpRequest `uri`; `url` elsewhere). */
const URL_KEYS: ReadonlySet<string> = new Set(['uri', 'url']);
/** Query parameters that hold a credential in posting URLs besides section 9's secret names (`?key=…`, `?auth=…`). */
const URL_CREDENTIAL_PARAMS: ReadonlySet<string> = new Set(['key', 'auth', 'access_key', 'pass', 'sig', 'signature', 'x_amz_signature', 'x_amz_credential']);
/** `scheme://`, anchored: the authority follows it. */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\//;

/**
 * A form (a query, a form-encoded body) with each credential field's value replaced by "[redacted]" (its name kept);
 * every other part keeps its bytes. Undecodable names are judged as written.
 */
function redactForm(text: string): string {
  let changed = false;
  const parts = text.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) return part;
    const rawName = part.slice(0, eq);
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
    } catch { /* malformed: judged as written */ }
    if (!isSecretKey(name) && !URL_CREDENTIAL_PARAMS.has(normalizeKey(name))) return part;
    changed = true;
    return `${rawName}=${REDACTED}`;
  });
  return changed ? parts.join('&') : text;
}

/**
 * A URL with its credentials replaced: the userinfo (`https://user:pass@host`, `https://token@host`) and query
 * parameters that hold a credential (`?api_key=`, `?token=`, `?key=`). Everything else keeps its bytes. Linear.
 */
export function redactUrl(url: string): string {
  let out = url;
  const scheme = URL_SCHEME.exec(url);
  if (scheme) {
    const from = scheme[0].length;
    let end = from;
    while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
    const at = url.lastIndexOf('@', end - 1);
    if (at >= from) out = url.slice(0, from) + REDACTED + url.slice(at);
  }
  const q = out.indexOf('?');
  if (q < 0) return out;
  const hash = out.indexOf('#', q);
  const queryEnd = hash < 0 ? out.length : hash;
  return out.slice(0, q + 1) + redactForm(out.slice(q + 1, queryEnd)) + out.slice(queryEnd);
}

/**
 * An HTTP body with its credential fields replaced: a form-encoded body field by field, a JSON body key by key (any
 * depth, as redactCredentials treats objects; re-serialized only when something was replaced), others as they are.
 */
function redactBody(body: string, contentType: string | undefined): string {
  if (contentType === 'application/x-www-form-urlencoded') return redactForm(body);
  const first = body.trimStart()[0];
  if (first !== '{' && first !== '[') return body;
  let parsed: unknown;
  try {
    parsed = parseJsonLossless(body);
  } catch {
    return body; // not JSON after all (or deeper than leadlog parses): kept as sent
  }
  const secretsOut = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(secretsOut);
    if (!isObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(node)) {
      const value = isSecretKey(childKey) && !isObject(child) && !Array.isArray(child) ? REDACTED : secretsOut(child);
      Object.defineProperty(out, childKey, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const redacted = redactCredentials(secretsOut(parsed));
  const text = JSON.stringify(redacted);
  return text === JSON.stringify(parsed) ? body : text;
}

// ── The mapping ───────────────────────────────────────────────────────────────────────────────────────────────────

/** LeadConduit's ids: 24 hex digits (its OpenAPI `ID`, a BSON ObjectId: its first 8 digits are the creation second). */
export const LEADCONDUIT_ID = /^[0-9a-fA-F]{24}$/;
/** leadlog's `reason` holds at most this much (event.ts); a longer LeadConduit reason is cut there and kept whole in the raw object. */
const MAX_REASON_LENGTH = 2_000;
/** Names copied into the payload (flow, source, recipient) and module ids are labels: at most this long. */
const MAX_LABEL_LENGTH = 1_000;
/**
 * lead_snapshot and appended are copies of parts of the raw object; one larger than this is left out (and named in
 * payload.leadconduit.omitted) so the event item stays within DynamoDB's 400 KB: the raw object, claim-checked, keeps it.
 */
export const MAX_DERIVED_OBJECT_BYTES = 128 * 1024;
/** What a failure or error gets as `reason` when LeadConduit sent none (leadlog requires one for those outcomes). */
export const NO_REASON = 'LeadConduit gave no reason';

export interface MappedLeadConduitEvent {
  /** LeadConduit's id (external_event_id). */
  leadconduitId: string;
  /** The event as a client would post it (validated and stamped by the ingest). */
  input: Record<string, unknown>;
  /** The lead's e-mail and phones (section 8 links them to lead_id). */
  identity: IdentityClaims;
}

export type LeadConduitMapping = { ok: true; value: MappedLeadConduitEvent } | { ok: false; errors: FieldError[] };

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const nonNegative = (value: unknown): number | undefined => {
  const n = finite(value);
  return n !== undefined && n >= 0 ? n : undefined;
};
const epochMs = (value: unknown): number | undefined => {
  const n = nonNegative(value);
  return n !== undefined && Number.isInteger(n) && n <= 253_402_300_799_999 ? n : undefined;
};
/** A usable id (section 3's rule: well-formed, no control character, at most 255 characters), else undefined. */
const idOf = (value: unknown): string | undefined => {
  const s = str(value);
  return s !== undefined && idProblem(s) === undefined ? s : undefined;
};
/**
 * A LeadConduit event id in one spelling: a 24-hex ObjectId is case-insensitive (`ABC…` and `abc…` name one event),
 * so it is kept lower-case — the idempotency key, and the recipient id a feedback's related_event_id derives from.
 */
const eventIdOf = (value: unknown): string | undefined => {
  const id = idOf(value);
  return id !== undefined && LEADCONDUIT_ID.test(id) ? id.toLowerCase() : id;
};
const label = (value: unknown): string | undefined => {
  const s = str(value)?.trim();
  return s ? s.slice(0, MAX_LABEL_LENGTH) : undefined;
};

/**
 * A LeadConduit typed value's text (`{normal, raw, valid, …}`: `normal` first, then `raw`), or a plain string as is.
 * Typed values are how LeadConduit sends lead fields; some integrations send plain strings.
 */
export function typedText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (!isObject(value)) return undefined;
  return str(value.normal)?.trim() || str(value.raw)?.trim() || undefined;
}

/** The ISO 3166 country a typed phone says it is from (`country_code`), else US (LeadConduit's home market). */
function phoneCountry(value: unknown): string {
  const code = isObject(value) ? str(value.country_code) : undefined;
  return code !== undefined && /^[A-Za-z]{2}$/.test(code) ? code.toUpperCase() : 'US';
}

/** The e-mail and phone_1…phone_3 of a LeadConduit lead (typed values' `normal`, phones with their country). */
export function leadIdentity(lead: Record<string, unknown>): IdentityClaims {
  const email = typedText(lead.email);
  const phones = (['phone_1', 'phone_2', 'phone_3'] as const).flatMap((field) => {
    const text = typedText(lead[field]);
    return text === undefined ? [] : [{ value: text, defaultCountry: phoneCountry(lead[field]) }];
  });
  return { emails: email === undefined ? [] : [email], phones, refs: [], objects: [] };
}

/** An object copied into a derived field, or undefined when it is too large to sit beside the raw object. */
function bounded(value: Record<string, unknown>, field: string, omitted: string[]): Record<string, unknown> | undefined {
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') <= MAX_DERIVED_OBJECT_BYTES) return value;
  omitted.push(field);
  return undefined;
}

/** What is wrong with an object that should be a LeadConduit event, or [] when it is one leadlog can map. */
function notAnEvent(object: unknown): FieldError[] {
  if (!isObject(object)) return [{ path: '', message: 'is not a LeadConduit event: must be a JSON object' }];
  const errors: FieldError[] = [];
  if (object.id === undefined || object.id === null) errors.push({ path: 'id', message: 'is required: a LeadConduit event has an id (24 hex digits)' });
  else if (idOf(object.id) === undefined) errors.push({ path: 'id', message: 'must be a LeadConduit event id: a string of at most 255 characters without control characters (LeadConduit\'s are 24 hex digits)' });
  if (object.type === undefined || object.type === null) errors.push({ path: 'type', message: `is required: one of ${LEADCONDUIT_TYPES.join(', ')}` });
  else if (!(LEADCONDUIT_TYPES as readonly unknown[]).includes(object.type)) {
    errors.push({ path: 'type', message: `must be one of ${LEADCONDUIT_TYPES.join(', ')} (got ${JSON.stringify(String(object.type).slice(0, 40))})` });
  } else {
    const outcomes = LEADCONDUIT_MAPPING[object.type as LeadConduitType];
    if (typeof object.outcome !== 'string' || !Object.hasOwn(outcomes, object.outcome)) {
      errors.push({ path: 'outcome', message: `must be one of ${Object.keys(outcomes).join(', ')} for a ${String(object.type)} event` });
    }
  }
  const vars = object.vars;
  const lead = isObject(vars) ? vars.lead : undefined;
  if (!isObject(vars)) errors.push({ path: 'vars', message: 'is required: a LeadConduit event carries its lead in vars.lead' });
  else if (!isObject(lead)) errors.push({ path: 'vars.lead', message: 'is required: the lead (vars.lead) with its id' });
  else if (lead.id === undefined || lead.id === null) errors.push({ path: 'vars.lead.id', message: 'is required: LeadConduit\'s lead id' });
  else if (idOf(lead.id) === undefined) errors.push({ path: 'vars.lead.id', message: 'must be a string of at most 255 characters without control characters' });
  return errors;
}

/**
 * One LeadConduit event (already redacted: redactCredentials) as a leadlog event input, per section 12. `orgId`
 * names the org, for `related_event_id` (leadlog's id of the recipient event a feedback event answers, derivable from
 * LeadConduit's id, so it is set even when the feedback arrives first).
 */
export function mapLeadConduitEvent(object: unknown, orgId: string): LeadConduitMapping {
  const errors = notAnEvent(object);
  if (errors.length > 0) return { ok: false, errors };
  const event = object as Record<string, unknown>;
  const type = event.type as LeadConduitType;
  const lcOutcome = event.outcome as string;
  const { eventType, outcome } = LEADCONDUIT_MAPPING[type][lcOutcome]!;
  const vars = event.vars as Record<string, unknown>;
  const lead = vars.lead as Record<string, unknown>;
  const flow = isObject(vars.flow) ? vars.flow : {};
  const source = isObject(vars.source) ? vars.source : {};
  const recipient = isObject(vars.recipient) ? vars.recipient : {};
  const feedback = isObject(vars.feedback) ? vars.feedback : {};
  const leadconduitId = eventIdOf(event.id)!;
  const omitted: string[] = [];

  const given = str(event.reason)?.trim();
  const reason = given ? given.slice(0, MAX_REASON_LENGTH) : outcome === 'failure' || outcome === 'error' ? NO_REASON : undefined;

  const timing = Object.fromEntries(Object.entries({
    start_timestamp: epochMs(event.start_timestamp), end_timestamp: epochMs(event.end_timestamp), duration_ms: nonNegative(event.ms),
    wait_ms: nonNegative(event.wait_ms), overhead_ms: nonNegative(event.overhead_ms), lag_ms: nonNegative(event.lag_ms), total_ms: nonNegative(event.total_ms),
  }).filter(([, v]) => v !== undefined));
  const startedAt = epochMs(event.start_timestamp) ?? epochMs(event.end_timestamp);

  // A recipient step's appended data sits under its own `key` on the event (LeadConduit's recipient-event `key`).
  const stepKey = str(event.key);
  const ownAppended = (type === 'recipient' || type === 'retry') && stepKey !== undefined && isObject(event[stepKey]) ? { [stepKey]: event[stepKey] } : undefined;
  const appended = isObject(event.appended) ? event.appended : ownAppended;

  const transactions = Array.isArray(event.transactions) ? event.transactions : [];
  const lastResponse = transactions.length > 0 && isObject(transactions.at(-1)) ? (transactions.at(-1) as Record<string, unknown>).response : undefined;
  const httpStatus = RECIPIENT_ENTITY.has(type) && isObject(lastResponse) ? finite(lastResponse.status) : undefined;
  const recipientEventId = eventIdOf(event.recipient_event_id);
  const isFeedback = type === 'feedback-received' || type === 'feedback-sent';

  const payload: Record<string, unknown> = {
    leadconduit: { type, outcome: lcOutcome },
    module_id: label(event.module_id),
    price: type === 'recipient' ? nonNegative(vars.price) : undefined,
    cost: nonNegative(event.cost),
    purchase_price: finite(event.purchase_price),
    sale_price: finite(event.sale_price),
    revenue: finite(event.revenue),
    http_status: httpStatus !== undefined && Number.isInteger(httpStatus) && httpStatus >= 100 && httpStatus <= 599 ? httpStatus : undefined,
    flow_name: label(flow.name),
    source_name: label(source.name),
    recipient_name: RECIPIENT_ENTITY.has(type) ? label(recipient.name) : undefined,
    ...(isFeedback ? {
      type: label(feedback.type),
      reason: label(feedback.reason),
      recipient_event_id: recipientEventId,
      related_event_id: recipientEventId === undefined ? undefined : eventIdFor(orgId, LEADCONDUIT_SOURCE, recipientEventId),
    } : {}),
  };
  const snapshot = bounded(lead, 'lead_snapshot', omitted);
  const appendedKept = appended === undefined ? undefined : bounded(appended, 'appended', omitted);
  if (omitted.length > 0) (payload.leadconduit as Record<string, unknown>).omitted = omitted;

  const input: Record<string, unknown> = {
    lead_id: lead.id,
    source_type: 'external',
    source: LEADCONDUIT_SOURCE,
    event_type: eventType,
    outcome,
    reason,
    flow_id: idOf(flow.id),
    step_id: idOf(event.step_id),
    entity_id: idOf(RECIPIENT_ENTITY.has(type) ? recipient.id : source.id),
    external_event_id: leadconduitId,
    occurred_at: startedAt === undefined ? undefined : new Date(startedAt).toISOString(),
    timing: Object.keys(timing).length > 0 ? timing : undefined,
    lead_snapshot: snapshot,
    appended: appendedKept,
    payload: Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined)),
    raw_payload: event,
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  return { ok: true, value: { leadconduitId, input, identity: leadIdentity(lead) } };
}
