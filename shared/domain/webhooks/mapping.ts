import { ValidationError } from '../errors.js';
import { isRawNumber, numberText } from '../json.js';
import { parseIsoWithOffset } from '../time.js';
import type { Headers } from './signatures.js';

/**
 * What a provider delivery says, in leadlog's terms. Mappers are pure: body + headers in, this out.
 * Whatever a mapper cannot place becomes `webhook.unmapped`, so no verified delivery is ever lost.
 */
export interface IdentityClaims {
  emails: string[];
  /** Phone numbers as given, with the country to assume when one has no international prefix. */
  phones: { value: string; defaultCountry?: string }[];
  /** Provider customer ids, namespaced: `stripe:cus_…`, `shopify:customer:207119551`, `hotmart:subscriber:I9OT62C3`. */
  refs: string[];
  /**
   * Provider objects the delivery names (order, checkout session, payment intent, charge, invoice, subscription,
   * transaction, form response): claimed for the lead, so a follow-up naming only one of them finds the buyer.
   */
  objects?: string[];
}

export interface MappedDelivery {
  /** The provider's own name for what happened (Stripe `type`, Shopify topic, Hotmart `event`, …). */
  providerEventType: string;
  /** A catalogue or webhook-only type; `webhook.unmapped` when none fits. */
  eventType: string;
  externalEventId: string;
  occurredAt?: string;
  objectIdRef?: string;
  payload: Record<string, unknown>;
  identity: IdentityClaims;
  /** A lead id the sender passed on purpose (Stripe client_reference_id / metadata.lead_id, Typeform hidden lead_id). */
  explicitLeadId?: string;
  /**
   * The business fact this delivery records, for facts several deliveries may announce (a paid order, a refund):
   * `<event type>:<provider object kind>:<id>`. Undefined: each delivery is its own fact.
   */
  factKey?: string;
}

/** The fact key of a mapped type about one provider object (see MappedDelivery.factKey). */
export function factKey(eventType: string, objectKind: string, id: string | undefined): string | undefined {
  return id === undefined || eventType === UNMAPPED ? undefined : `${eventType}:${objectKind}:${id}`;
}

export const UNMAPPED = 'webhook.unmapped';

export type Json = Record<string, unknown>;

export function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** A string, or a number's digits exactly as received (ids copied into leadlog's fields are strings). */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  return numberText(value);
}

export function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (isRawNumber(value)) return num(value.rawJSON);
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An instant as ISO 8601, or undefined when it is no date JavaScript can hold (a provider may send anything). */
/**
 * Provider times are read as strictly as the API reads occurred_at (section 3): an epoch before 1970 or past 9999, or
 * a string that is not an ISO 8601 date-time with an offset (`"1"`, `"2026-02-30"`), is no time at all, and the
 * event then happened when it was received; a signed delivery is never refused for its timestamp.
 */
function isoFromEpochMs(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH_MS) return undefined;
  return new Date(ms).toISOString();
}
const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isoFromSeconds(value: unknown): string | undefined {
  const n = num(value);
  return isoFromEpochMs(n === undefined ? undefined : n * 1000);
}

export function isoFromMillis(value: unknown): string | undefined {
  return isoFromEpochMs(num(value));
}

export function isoFromString(value: unknown): string | undefined {
  const s = str(value);
  const ms = s ? parseIsoWithOffset(s.trim()) : undefined;
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Drops undefined values so validation reports a missing field as missing. */
export function compact(record: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  return out;
}

export function claims(parts: {
  emails?: (string | undefined)[]; phones?: IdentityClaims['phones']; refs?: (string | undefined)[]; objects?: (string | undefined)[];
}): IdentityClaims {
  const unique = <T>(values: (T | undefined)[]) => [...new Set(values.filter((v): v is T => v !== undefined))];
  return {
    emails: unique(parts.emails ?? []),
    phones: (parts.phones ?? []).filter((p) => p.value),
    refs: unique(parts.refs ?? []),
    objects: unique(parts.objects ?? []),
  };
}

/** `<provider>:<kind>:<id>` for an object id, or undefined when the delivery has none. */
export function objectRef(provider: string, kind: string, id: string | undefined): string | undefined {
  return id === undefined ? undefined : `${provider}:${kind}:${id}`;
}

/** A delivery without the provider's own event id cannot be deduplicated: refuse it (400) rather than guess. */
export function requireId(value: string | undefined, what: string): string {
  if (!value) throw new ValidationError([{ path: what, message: 'is required to identify the delivery' }]);
  return value.slice(0, 255);
}

export function header(headers: Headers, name: string): string | undefined {
  return str(headers[name.toLowerCase()]);
}

/**
 * Currencies whose minor unit is not a hundredth, as Stripe counts them
 * (https://docs.stripe.com/currencies#zero-decimal and #three-decimal).
 */
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

export function minorToMajor(amount: unknown, currency: string | undefined): number | undefined {
  const n = num(amount);
  if (n === undefined || !currency) return undefined;
  const code = currency.toUpperCase();
  const exponent = ZERO_DECIMAL.has(code) ? 0 : THREE_DECIMAL.has(code) ? 3 : 2;
  return Number((n / 10 ** exponent).toFixed(exponent));
}
