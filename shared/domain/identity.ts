import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { v7 as uuidv7 } from 'uuid';
import { maskEmail, maskPhone } from './masking.js';
import type { IdentityStore } from './ports.js';
import type { IdentityClaims } from './webhooks/mapping.js';

/**
 * Lead identity: the same person across providers is one lead_id. Identities are normalized
 * (email trimmed + lower-cased, phone in E.164, provider customer ids namespaced) and claimed with
 * conditional writes: the first claim of an identity decides its lead, and a second writer that loses the
 * race adopts the winner's lead. Claims go in a fixed order (emails, phones, customer ids), so two
 * concurrent first deliveries for the same person race on the same first identity and end with one lead.
 */
export type IdentityKind = 'email' | 'phone' | 'customer';

export interface LeadIdentity {
  type: IdentityKind;
  value: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(value: string): string | undefined {
  const email = value.trim().toLowerCase();
  return EMAIL.test(email) && email.length <= 254 ? email : undefined;
}

const phoneMemo = new Map<string, string | undefined>();

/** E.164, or undefined when the number cannot be a phone number (country assumed only when none is given). */
export function normalizePhone(value: string, defaultCountry?: string): string | undefined {
  // Parsing is the costliest step of a returning customer's delivery: remember recent answers (pure function).
  const memoKey = `${defaultCountry ?? ''}|${value}`;
  if (phoneMemo.has(memoKey)) return phoneMemo.get(memoKey);
  if (phoneMemo.size >= 10_000) phoneMemo.clear();
  const result = parsePhone(value, defaultCountry);
  phoneMemo.set(memoKey, result);
  return result;
}

function parsePhone(value: string, defaultCountry?: string): string | undefined {
  const country = defaultCountry && /^[A-Z]{2}$/.test(defaultCountry.toUpperCase()) ? (defaultCountry.toUpperCase() as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(value.trim(), country ? { defaultCountry: country } : undefined);
  return parsed && parsed.isPossible() ? parsed.number : undefined;
}

export function identityKey(identity: LeadIdentity): string {
  return `${identity.type}:${identity.value}`;
}

export function parseIdentityKey(key: string): LeadIdentity {
  const at = key.indexOf(':');
  return { type: key.slice(0, at) as IdentityKind, value: key.slice(at + 1) };
}

/** The claim order: emails, then phones, then customer ids; duplicates removed. */
export function normalizeClaims(claims: IdentityClaims): string[] {
  const keys: string[] = [];
  for (const email of claims.emails) {
    const normalized = normalizeEmail(email);
    if (normalized) keys.push(identityKey({ type: 'email', value: normalized }));
  }
  for (const phone of claims.phones) {
    const normalized = normalizePhone(phone.value, phone.defaultCountry);
    if (normalized) keys.push(identityKey({ type: 'phone', value: normalized }));
  }
  for (const id of claims.customerIds) keys.push(identityKey({ type: 'customer', value: id.slice(0, 200) }));
  return [...new Set(keys)];
}

export function newLeadId(): string {
  return `lead_${uuidv7().replace(/-/g, '')}`;
}

/**
 * Identity → lead mappings never change once claimed (the first claim wins for good), so a function may
 * remember them: a returning customer then costs no identity reads at all. Bounded, and entries expire so
 * an erasure (which deletes identity items) is seen within the TTL.
 */
export class IdentityCache {
  private readonly entries = new Map<string, { leadId: string; until: number }>();
  constructor(private readonly ttlMs = 5 * 60_000, private readonly maxEntries = 50_000) {}

  get(orgId: string, key: string, nowMs: number): string | undefined {
    const hit = this.entries.get(`${orgId}\u0000${key}`);
    return hit && hit.until > nowMs ? hit.leadId : undefined;
  }

  set(orgId: string, key: string, leadId: string, nowMs: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(`${orgId}\u0000${key}`, { leadId, until: nowMs + this.ttlMs });
  }
}

/**
 * The lead for a set of identities: an explicit lead id wins (and claims the identities still free);
 * else the lead of the first identity already known; else a new lead, created by claiming the first
 * identity (a lost race adopts the winner's lead). Returns undefined when there is nothing to go on.
 */
export async function resolveLead(
  store: IdentityStore,
  orgId: string,
  claims: IdentityClaims,
  options: { explicitLeadId?: string | undefined; nowIso: string; createLeadId?: () => string; cache?: IdentityCache | undefined },
): Promise<string | undefined> {
  const keys = normalizeClaims(claims);
  if (keys.length === 0) return options.explicitLeadId;
  const nowMs = Date.parse(options.nowIso);
  const cached = options.cache ? keys.map((key) => options.cache!.get(orgId, key, nowMs)) : [];
  // Every identity already seen by this function, all on one lead (and the sender names no other): done.
  if (cached.length === keys.length && cached.every((lead) => lead !== undefined && lead === cached[0]) && (options.explicitLeadId ?? cached[0]) === cached[0]) {
    return cached[0];
  }
  const known = await store.find(orgId, keys);
  let leadId = options.explicitLeadId ?? keys.map((key) => known.get(key)).find((lead) => lead !== undefined);
  if (leadId === undefined) leadId = await store.claim(orgId, keys[0]!, (options.createLeadId ?? newLeadId)(), options.nowIso);
  const owner = leadId;
  const owned = await Promise.all(
    keys.map(async (key) => (known.has(key) ? known.get(key) : await store.claim(orgId, key, owner, options.nowIso)) === owner),
  );
  const mine = keys.filter((_, i) => owned[i]);
  if (mine.length > 0) await store.addToProfile(orgId, owner, mine, options.nowIso);
  for (const key of mine) options.cache?.set(orgId, key, owner, nowMs);
  for (const [key, lead] of known) options.cache?.set(orgId, key, lead, nowMs);
  return owner;
}

/** A lead's identities as the API shows them: masked unless the caller may see PII. */
export function presentIdentities(keys: string[], canSeePii: boolean): LeadIdentity[] {
  return keys
    .map(parseIdentityKey)
    .sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value))
    .map((identity) => {
      if (canSeePii) return identity;
      if (identity.type === 'email') return { ...identity, value: maskEmail(identity.value) };
      if (identity.type === 'phone') return { ...identity, value: maskPhone(identity.value) };
      return identity;
    });
}
