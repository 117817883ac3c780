import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { v7 as uuidv7 } from 'uuid';
import * as z from 'zod/mini';
import {
  JUNK_EMAILS, JUNK_LOCAL_PARTS, MAX_IGNORED_IDENTITIES, NANP_FICTIONAL, PLACEHOLDER_DOMAINS, PLACEHOLDER_LOCAL_PARTS, PLACEHOLDER_TLDS,
  PLACEHOLDER_SUBSCRIBER, SEQUENTIAL_MIN_DIGITS,
} from '../definitions/junk-identities.js';
import { countIdentities, IDENTITY_KINDS, IDENTITY_LIMITS, MAX_IDENTITY_LIMIT } from '../definitions/identity-limits.js';
import { mapWithConcurrency } from './concurrency.js';
import { NotFoundError, NotMergedError } from './errors.js';
import { maskEmail, maskPhone } from './masking.js';
import { leadDigest } from './keys.js';
import { idString, parseOrThrow } from './schema.js';
import type { IdentityCounts, IdentitySettings, IdentityStore, LeadProfile, LeadRecord, SettingsStore } from './ports.js';
import type { IdentityClaims } from './webhooks/mapping.js';

/**
 * Lead identity: the same person across providers is one lead_id. Identities are normalized
 * (email trimmed + lower-cased, phone in E.164, provider customer ids namespaced) and claimed with
 * conditional writes: the first claim of an identity decides its lead, and a second writer that loses the
 * race adopts the winner's lead. Claims go in a fixed order (emails, phones, customer ids), so two
 * concurrent first deliveries for the same person race on the same first identity and end with one lead.
 */
export type IdentityKind = 'email' | 'phone' | 'ref';

export interface LeadIdentity {
  type: IdentityKind;
  value: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A quoted local part that needs no quotes (`"ana"@…` is `ana@…`): letters, digits and the atom's punctuation. */
const NEEDLESSLY_QUOTED = /^"([a-z0-9!#$%&'*+\-/=?^_`{|}~.]+)"@/;

/**
 * An e-mail as one mailbox is written once: compatibility forms folded (NFKC: full-width `ｔｅｓｔ@ｔｅｓｔ.ｃｏｍ` is
 * `test@test.com`), trimmed, lower-cased, a domain's trailing dot dropped (`email.com.` is `email.com`), needless
 * quotes around the local part dropped. undefined when it cannot be an address.
 */
export function normalizeEmail(value: string): string | undefined {
  const email = value.normalize('NFKC').trim().toLowerCase().replace(/\.+$/, '').replace(NEEDLESSLY_QUOTED, '$1@');
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

const refKey = (ref: string) => identityKey({ type: 'ref', value: ref.slice(0, 200) });

/** The person's identity keys, in claim order: e-mails, then phones, then provider customer refs; duplicates removed. */
export function personKeys(claims: Pick<IdentityClaims, 'emails' | 'phones' | 'refs'>): string[] {
  const keys: string[] = [];
  for (const email of claims.emails) {
    const normalized = normalizeEmail(email);
    if (normalized) keys.push(identityKey({ type: 'email', value: normalized }));
  }
  for (const phone of claims.phones) {
    const normalized = normalizePhone(phone.value, phone.defaultCountry);
    if (normalized) keys.push(identityKey({ type: 'phone', value: normalized }));
  }
  for (const ref of claims.refs) keys.push(refKey(ref));
  return [...new Set(keys)];
}

/** Every key a delivery claims: the person's, then the provider objects it names (claimed, but not listed on the lead). */
export function normalizeClaims(claims: IdentityClaims): string[] {
  return [...new Set([...personKeys(claims), ...(claims.objects ?? []).map(refKey)])];
}

const junkEmails = new Set(JUNK_EMAILS);
const junkLocalParts = new Set(JUNK_LOCAL_PARTS);
const placeholderLocalParts = new Set(PLACEHOLDER_LOCAL_PARTS);
const placeholderDomains = new Set(PLACEHOLDER_DOMAINS);
const placeholderTlds = new Set(PLACEHOLDER_TLDS);

/** A normalized e-mail that many people type instead of their own (shared/definitions/junk-identities.ts). */
function isJunkEmail(email: string): boolean {
  if (junkEmails.has(email)) return true;
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at).split('+')[0]!; // a sub-address (noemail+1@…) is its mailbox's
  const domain = email.slice(at + 1);
  if (junkLocalParts.has(local)) return true;
  return placeholderLocalParts.has(local) && (placeholderDomains.has(domain) || placeholderTlds.has(domain.slice(domain.lastIndexOf('.') + 1)));
}

/**
 * Digits each one step from the one before, the same way round: 1234567, 1234567890 (0 may end a rising run, as on a
 * keyboard's top row), 9876543210. No other wrap: +81 90-1234-5678 (national 9012345678) is a real number's shape.
 */
function isSequential(digits: string): boolean {
  if (digits.length < SEQUENTIAL_MIN_DIGITS) return false;
  const d = (i: number) => digits.charCodeAt(i) - 48;
  const rising = d(1) === d(0) + 1;
  if (!rising && d(1) !== d(0) - 1) return false;
  for (let i = 1; i < digits.length; i++) {
    const expected = rising ? d(i - 1) + 1 : d(i - 1) - 1;
    const keyboardZero = rising && i === digits.length - 1 && d(i - 1) === 9 && d(i) === 0;
    if (d(i) !== expected && !keyboardZero) return false;
  }
  return true;
}

const junkPhoneMemo = new Map<string, boolean>();

/** An E.164 phone whose national number is one repeated digit or a sequence, or the NANP's fictional 555-01XX. */
function isJunkPhone(e164: string): boolean {
  const memo = junkPhoneMemo.get(e164);
  if (memo !== undefined) return memo;
  const national = parsePhoneNumberFromString(e164)?.nationalNumber ?? e164.slice(1);
  const junk = NANP_FICTIONAL.test(e164) || /^(\d)\1*$/.test(national) || isSequential(national) || PLACEHOLDER_SUBSCRIBER.test(national);
  if (junkPhoneMemo.size >= 10_000) junkPhoneMemo.clear();
  junkPhoneMemo.set(e164, junk);
  return junk;
}

/**
 * Whether an identity key names a junk value (contract section 8, v1.2): one of the built-in placeholders
 * (shared/definitions/junk-identities.ts) or one of the org's own (`ignore`, identity keys). A junk value is never
 * claimed, linked or merged on; the event keeps it. Provider refs are never junk by the built-in rules.
 */
export function isJunkIdentity(key: string, ignore?: ReadonlySet<string>): boolean {
  if (ignore?.has(key)) return true;
  if (key.startsWith('email:')) return isJunkEmail(key.slice('email:'.length));
  if (key.startsWith('phone:')) return isJunkPhone(key.slice('phone:'.length));
  return false;
}

const limit = z.int().check(z.minimum(1, 'must be at least 1'), z.maximum(MAX_IDENTITY_LIMIT, `must be at most ${MAX_IDENTITY_LIMIT}`));

/**
 * The body of PUT /v1/settings/identity (it replaces the settings: what is left out takes its default): `ignore`,
 * e-mails and phones in international format (+…), normalized as identities are; `limits`, per family and kind.
 */
export const identitySettingsBody = z.strictObject({
  ignore: z.optional(z.array(z.string().check(
    z.minLength(1, 'must not be empty'), z.maxLength(254, 'must be at most 254 characters'),
    z.refine((value) => ignoredKey(value) !== undefined, 'must be an e-mail address or a phone number in international format (+…)'),
  ))
    .check(z.maxLength(MAX_IGNORED_IDENTITIES, `must hold at most ${MAX_IGNORED_IDENTITIES} values`))),
  limits: z.optional(z.strictObject({ email: z.optional(limit), phone: z.optional(limit), ref: z.optional(limit) })),
});

/** An ignore-list value as the identity key it stands for: an e-mail lower-cased, a phone in E.164 (no country assumed). */
function ignoredKey(value: string): string | undefined {
  if (value.includes('@')) {
    const email = normalizeEmail(value);
    return email && identityKey({ type: 'email', value: email });
  }
  const phone = value.trim().startsWith('+') ? normalizePhone(value) : undefined;
  return phone && identityKey({ type: 'phone', value: phone });
}

export function parseIdentitySettings(body: unknown, nowIso: string): IdentitySettings {
  const { ignore = [], limits } = parseOrThrow(identitySettingsBody, body, { notObjectMessage: 'must be a JSON object: {"ignore": [ ... ], "limits": { ... }}' });
  // Every value is one (the schema refines each): every bad field is named in one answer, whatever else is wrong.
  const keys = ignore.map(ignoredKey);
  // The limits the org set, as it set them (a default it left out follows the default, should that change).
  return { ignore: [...new Set(keys.map((key) => parseIdentityKey(key!).value))].sort(), ...(limits ? { limits } : {}), updated_at: nowIso };
}

/** The settings as GET /v1/settings/identity shows them: every limit in force (the org's, else the default). */
export function presentIdentitySettings(settings: IdentitySettings): { ignore: string[]; limits: IdentityCounts; updated_at?: string } {
  return { ignore: settings.ignore, limits: identityLimits(settings.limits), ...(settings.updated_at ? { updated_at: settings.updated_at } : {}) };
}

/**
 * What an org's identity settings mean to a resolution: its junk values as identity keys, its limits, and its identity
 * epoch, moved on by every unmerge: a function's identity cache drops what it learned before (within the settings
 * cache's SETTINGS_CACHE_SECONDS instead of the identity cache's IDENTITY_CACHE_SECONDS).
 */
export interface IdentityRules {
  ignore: ReadonlySet<string>;
  limits: IdentityCounts;
  epoch?: string | undefined;
}

/** An org's identity rules (its own junk values, its limits), cached per function for `ttlMs` (0: asked every time). */
export function cachedIdentityRules(store: SettingsStore, ttlMs: number): (orgId: string) => Promise<IdentityRules> {
  const cache = new Map<string, { rules: IdentityRules; until: number }>();
  return async (orgId) => {
    const hit = cache.get(orgId);
    if (ttlMs > 0 && hit && hit.until > Date.now()) return hit.rules;
    const { ignore, limits, epoch } = await store.identity(orgId);
    const rules = { ignore: new Set(ignore.flatMap((value) => ignoredKey(value) ?? [])), limits: identityLimits(limits), epoch };
    if (cache.size > 5_000) cache.clear();
    cache.set(orgId, { rules, until: Date.now() + ttlMs });
    return rules;
  };
}

export function newLeadId(): string {
  return `lead_${uuidv7().replace(/-/g, '')}`;
}

/**
 * Identity → lead claims never change once made (the first claim wins for good), so a function may remember
 * them: a returning customer then costs no identity reads. The lead a claim points to may since have been merged
 * into another; entries expire (and are bounded) so merges and erasures are seen within the TTL.
 */
export class IdentityCache {
  private readonly entries = new Map<string, { leadId: string; until: number; epoch: string | undefined }>();
  constructor(private readonly ttlMs = 5 * 60_000, private readonly maxEntries = 50_000) {}

  /** An entry counts only under the org's identity epoch it was made in: an unmerge moves the epoch on (IdentityRules). */
  get(orgId: string, key: string, nowMs: number, epoch?: string): string | undefined {
    const hit = this.entries.get(`${orgId}\u0000${key}`);
    return hit && hit.until > nowMs && hit.epoch === epoch ? hit.leadId : undefined;
  }

  set(orgId: string, key: string, leadId: string, nowMs: number, epoch?: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(`${orgId}\u0000${key}`, { leadId, until: nowMs + this.ttlMs, epoch });
  }
}

/** A merge that happened: `from` now reads as `into`; `identity` is the key that tied them. */
export interface LeadMerge {
  from: string;
  into: string;
  identity: string;
}

/** How far merged_into chains are followed (each merge shortens nothing, so a chain is at most the number of merges). */
const MAX_CHAIN = 64;
/** How often a resolution re-reads and tries again when a concurrent one moved the state under it. */
const MAX_ATTEMPTS = 64;

const KINDS = IDENTITY_KINDS;
const NO_IDENTITIES: IdentityCounts = { email: 0, phone: 0, ref: 0 };
const kindOf = (key: string): IdentityKind => parseIdentityKey(key).type;

/** A short random pause before trying again, growing with the attempt (the losers of a race spread out). */
const pause = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** Math.min(attempt, 5))));

/** The org's limits: its own where set, the defaults elsewhere. */
export function identityLimits(settings?: Partial<IdentityCounts>): IdentityCounts {
  return { ...IDENTITY_LIMITS, ...settings };
}

/**
 * The live lead a lead now reads as, with its profile and the chain that leads there: itself, or the end of its
 * merged_into chain (a → b → c reads as c; chain [a, b, c]).
 */
export async function followMerges(
  store: IdentityStore, orgId: string, leadId: string,
): Promise<{ lead: string; profile: LeadProfile | undefined; chain: string[] }> {
  const chain = [leadId];
  let profile = await store.profile(orgId, leadId);
  for (let hop = 0; hop < MAX_CHAIN && profile?.mergedInto; hop++) {
    chain.push(profile.mergedInto);
    profile = await store.profile(orgId, profile.mergedInto);
  }
  return { lead: chain[chain.length - 1]!, profile, chain };
}

export async function liveLead(store: IdentityStore, orgId: string, leadId: string): Promise<string> {
  return (await followMerges(store, orgId, leadId)).lead;
}

/** A merge that did not happen: `lead` stays apart from `into` (the survivor), because of a limit or an unmerge. */
export interface MergeRefusal {
  lead: string;
  into: string;
  reason: 'limit' | 'unmerged';
}

/**
 * Makes `leads` one lead: the one seen first (earliest first_seen_at, then lead id) survives and every other live
 * lead among them is merged into it, unless the union would pass a limit or the two were split by an unmerge (then
 * that one stays apart: a refusal). Race-free: each merge is one transaction that succeeds only while both leads are
 * live, the merged lead's counts are as read and the survivor's stay within the limits; the survivor order is total
 * (first_seen_at, id), so merges never form a cycle; a merge that loses a race re-reads the live leads and tries again.
 */
export async function mergeLeads(
  store: IdentityStore, orgId: string, leads: string[], identity: string,
  options: { nowIso: string; limits?: IdentityCounts; onMerged?: ((merge: LeadMerge) => Promise<void>) | undefined },
): Promise<{ survivor: string; refused: MergeRefusal[] }> {
  const limits = options.limits ?? identityLimits();
  const refusedPairs = new Map<string, MergeRefusal>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const followed = await Promise.all(leads.map((lead) => followMerges(store, orgId, lead)));
    const live = [...new Map(followed.map(({ lead, profile }) => [lead, { lead, profile, firstSeen: profile?.firstSeenAt ?? options.nowIso }])).values()];
    live.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.lead.localeCompare(b.lead));
    const [survivor, ...others] = live;
    let counts = survivor!.profile?.counts ?? NO_IDENTITIES;
    let splits = survivor!.profile?.splits ?? 0;
    let moved = false;
    const refused: MergeRefusal[] = [];
    for (const other of others) {
      const pair = `${other.lead}\u0000${survivor!.lead}`;
      const known = refusedPairs.get(pair);
      if (known) {
        refused.push(known);
        continue;
      }
      const fromCounts = other.profile?.counts ?? NO_IDENTITIES;
      const caps = Object.fromEntries(KINDS.map((kind) => [kind, limits[kind] - fromCounts[kind]])) as unknown as IdentityCounts;
      // Over a limit on what was just read: refused without a write (the transaction would refuse it too).
      const over = KINDS.some((kind) => fromCounts[kind] > 0 && counts[kind] > caps[kind]);
      const fromSplits = other.profile?.splits ?? 0;
      // Families that hold split marks: never tied again across one (the transaction holds both families' marks as read).
      const split = !over && fromSplits + splits > 0 && (await splitApart(store, orgId, other.lead, survivor!.lead));
      const outcome = over ? 'limit' : split ? 'unmerged'
        : await store.merge(orgId, { from: other.lead, into: survivor!.lead, identity, fromCounts, caps, fromSplits, intoSplits: splits, nowIso: options.nowIso });
      if (outcome === 'merged') {
        counts = { email: counts.email + fromCounts.email, phone: counts.phone + fromCounts.phone, ref: counts.ref + fromCounts.ref };
        splits += fromSplits;
        await options.onMerged?.({ from: other.lead, into: survivor!.lead, identity });
      } else if (outcome === 'retry') {
        moved = true;
      } else {
        const refusal = { lead: other.lead, into: survivor!.lead, reason: outcome };
        refusedPairs.set(pair, refusal);
        refused.push(refusal);
      }
    }
    if (!moved) return { survivor: survivor!.lead, refused };
    await pause(attempt);
  }
  throw new Error(`leads ${leads.join(', ')} did not settle on one live lead`);
}

/**
 * Whether an unmerge split any lead of one family from any lead of the other (each split marks both leads, by digest):
 * then a delivery never ties them again, whatever either family became since (a side merged into an older lead, a
 * chain unmerged link by link).
 */
async function splitApart(store: IdentityStore, orgId: string, a: string, b: string): Promise<boolean> {
  const [familyA, familyB] = await Promise.all([mergedSubtree(store, orgId, a), mergedSubtree(store, orgId, b)]);
  const inB = new Set([...familyB.keys()].map(leadDigest));
  return [...familyA.values()].some((record) => record.splits.some((digest) => inB.has(digest)));
}

/**
 * A lead's family: the live lead it reads as, and every lead merged into that one, directly or through a chain.
 * Their events together are the union timeline.
 */
export async function leadFamily(store: IdentityStore, orgId: string, leadId: string): Promise<{ live: string; members: string[] }> {
  const live = await liveLead(store, orgId, leadId);
  return { live, members: [...(await mergedSubtree(store, orgId, live)).keys()] };
}

/**
 * The most leads a family read follows (a union timeline, a lead page, an erasure). The limits bound the members that
 * bring person identities; leads tied only by provider objects are not counted, so the bound is generous.
 */
export const MAX_FAMILY = 10_000;
/** How many lead records a family read asks for at once. */
const FAMILY_READ_CONCURRENCY = 16;

/**
 * A lead and every lead merged into it, directly or through a chain, each with its record (profile, own identities,
 * merges into it), read level by level, each level's records at once.
 */
export async function mergedSubtree(store: IdentityStore, orgId: string, leadId: string): Promise<Map<string, LeadRecord>> {
  const tree = new Map<string, LeadRecord>();
  let level = [leadId];
  while (level.length > 0 && tree.size < MAX_FAMILY) {
    const batch = level.filter((lead) => !tree.has(lead)).slice(0, MAX_FAMILY - tree.size);
    const records = await mapWithConcurrency(batch, FAMILY_READ_CONCURRENCY, (lead) => store.lead(orgId, lead));
    batch.forEach((lead, i) => tree.set(lead, records[i]!));
    level = records.flatMap((record) => record.mergedFrom.map((merge) => merge.lead));
  }
  return tree;
}

/** The one lead every person identity is cached on, if there are person identities and they agree. */
function personLead(cached: (string | undefined)[], keys: string[], person: Set<string>): string | undefined {
  const leads = new Set(keys.flatMap((key, i) => (person.has(key) ? [cached[i]] : [])));
  const [only] = leads;
  return leads.size === 1 && only !== undefined ? only : undefined;
}

/**
 * A link or merge that did not happen (contract section 8, v1.2), recorded as `lead.merge_refused` on `lead`: the event
 * went to `lead`, and `identity` would have tied it to `otherLeadId` (or, for a limit on a new identity, would have
 * been linked to `lead`). `hint`: a lead id the payload carried, while an identity of the delivery belongs to another
 * lead; `junk`: a junk value already claimed by another lead (before it was junk: a claim made earlier, or a value an
 * org adds to its list later); `limit`: the family would pass a per-family limit; `unmerged`: the two leads were split
 * by an unmerge and a delivery does not tie them again.
 */
export interface LeadRefusal {
  lead: string;
  identity: string;
  reason: 'hint' | 'junk' | 'limit' | 'unmerged';
  otherLeadId?: string | undefined;
}

export interface ResolveOptions {
  /** A lead id the sender names on purpose (an API event's lead_id): tied to the identities, merging if need be. */
  explicitLeadId?: string | undefined;
  /**
   * A lead id the payload carries (Stripe client_reference_id or metadata.lead_id, Typeform hidden lead_id), set by
   * whoever opened the link or form (section 4): the event goes to it only when no identity of the delivery belongs to
   * another lead, and it never causes a merge. Ignored when `explicitLeadId` is given.
   */
  hintLeadId?: string | undefined;
  /** The org's own junk values (identity keys): never claimed, like the built-in ones. */
  ignore?: ReadonlySet<string> | undefined;
  /** The org's per-family limits (identityLimits: the defaults where it set none). */
  limits?: IdentityCounts | undefined;
  /** The org's identity epoch (IdentityRules): cache entries from another epoch are not used. */
  epoch?: string | undefined;
  /** The lead when nothing else names one (no identity but junk, no explicit or hinted lead). */
  fallbackLeadId?: string | undefined;
  nowIso: string;
  createLeadId?: () => string;
  cache?: IdentityCache | undefined;
  /** Told of each merge this resolution made (to record `lead.merged`). */
  onMerged?: (merge: LeadMerge) => Promise<void>;
  /** Told of each link or merge refused (to record `lead.merge_refused`). */
  onRefused?: (refusal: LeadRefusal) => Promise<void>;
  /**
   * For a returning person naming new provider objects: the object claims are handed over as work to run beside
   * the caller's own write (which must await it) instead of before it. The lead returned is then the cached one.
   */
  alongside?: (work: Promise<void>) => void;
}

/** Provider refs first (customer, then objects), then e-mails, then phones: which identity names a lead most surely. */
const STRENGTH: Record<string, number> = { ref: 0, email: 1, phone: 2 };
function strongest(keys: string[]): string | undefined {
  return [...keys].sort((a, b) => (STRENGTH[kindOf(a)] ?? 3) - (STRENGTH[kindOf(b)] ?? 3))[0];
}

/**
 * The live lead for a set of identities. Junk values (isJunkIdentity: built-in or the org's `ignore`) are left out:
 * never claimed, never a tie. Every other key is claimed (first claim wins): by the explicit lead when one is named,
 * else by the hinted lead when no key belongs to another lead, else by the lead of the first key already claimed, else
 * by a new lead. When the keys (and the explicit lead) turn out to belong to more than one lead, this delivery ties
 * them: they are merged (mergeLeads); a hinted lead is never among them. Person identities past the family's limits
 * are not linked. Returns undefined when there is nothing to go on.
 */
export async function resolveLead(store: IdentityStore, orgId: string, claims: IdentityClaims, options: ResolveOptions): Promise<string | undefined> {
  const all = normalizeClaims(claims);
  const junk = all.filter((key) => isJunkIdentity(key, options.ignore));
  const keys = junk.length === 0 ? all : all.filter((key) => !junk.includes(key));
  const lead = await resolveKeys(store, orgId, claims, keys, options);
  if (lead !== undefined && junk.length > 0 && options.onRefused) {
    // A junk value claimed before it was junk would have tied this event to its lead: that is recorded, once per pair.
    for (const [key, owner] of await store.find(orgId, junk)) {
      const other: string = owner === lead ? lead : await liveLead(store, orgId, owner);
      if (other !== lead) await options.onRefused({ lead, identity: key, reason: 'junk', otherLeadId: other });
    }
  }
  return lead;
}

async function resolveKeys(
  store: IdentityStore, orgId: string, claims: IdentityClaims, keys: string[], options: ResolveOptions,
): Promise<string | undefined> {
  const hint = options.explicitLeadId === undefined ? options.hintLeadId : undefined;
  if (keys.length === 0) return options.explicitLeadId ?? hint ?? options.fallbackLeadId;
  const named = options.explicitLeadId ?? hint;
  const nowMs = Date.parse(options.nowIso);
  const cached = options.cache ? keys.map((key) => options.cache!.get(orgId, key, nowMs, options.epoch)) : [];
  // Every identity already seen by this function, all on one lead (and the sender names no other): done.
  if (cached.length === keys.length && cached.every((lead) => lead !== undefined && lead === cached[0]) && (named ?? cached[0]) === cached[0]) {
    return cached[0];
  }
  // A returning person (every person identity cached, on one lead) naming new provider objects: claim just those.
  // When each claim comes back to that lead, nothing else can have changed; any other answer takes the full path.
  const person = new Set(personKeys(claims));
  const known = options.cache ? personLead(cached, keys, person) : undefined;
  if (known !== undefined && (named ?? known) === known) {
    const fresh = keys.filter((key, i) => !person.has(key) && cached[i] !== known);
    const claimFresh = async () => {
      const owners = await Promise.all(fresh.map((key) => store.claim(orgId, key, known, options.nowIso)));
      const mine = owners.every((owner) => owner === known);
      if (mine) for (const key of fresh) options.cache!.set(orgId, key, known, nowMs, options.epoch);
      return mine;
    };
    if (options.alongside) {
      // The caller's own write runs meanwhile; a claim owned elsewhere then ties the leads after it, as usual.
      options.alongside((async () => {
        if (!(await claimFresh())) await resolveLead(store, orgId, claims, { ...options, cache: undefined, alongside: undefined });
      })());
      return known;
    }
    if (await claimFresh()) return known;
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const lead = await resolveOnce(store, orgId, keys, person, hint, options);
    if (lead !== undefined) return lead;
    await pause(attempt);
  }
  throw new Error(`the identities of one delivery did not settle on a lead after ${MAX_ATTEMPTS} attempts`);
}

/**
 * One try at resolving: read who owns what, decide the claimant, claim everything new for it in one transaction
 * (all or nothing, within the family's limits), then tie the leads the identities name. undefined: the transaction
 * found the state moved (a key claimed meanwhile, a merge, a count that grew) and nothing was written; try again.
 */
async function resolveOnce(
  store: IdentityStore, orgId: string, keys: string[], person: Set<string>, hint: string | undefined, options: ResolveOptions,
): Promise<string | undefined> {
  const nowMs = Date.parse(options.nowIso);
  const limits = options.limits ?? identityLimits();
  const found = await store.find(orgId, keys);
  const followed = new Map<string, Promise<Awaited<ReturnType<typeof followMerges>>>>();
  const follow = (lead: string) => {
    if (!followed.has(lead)) followed.set(lead, followMerges(store, orgId, lead));
    return followed.get(lead)!;
  };
  const hintLive = hint === undefined ? undefined : (await follow(hint)).lead;
  const foundLive = new Map(await Promise.all([...new Set(found.values())].map(async (owner) => [owner, (await follow(owner)).lead] as const)));
  // The hint is taken only when every identity already claimed reads as the hinted lead (or none is claimed).
  const hintTaken = hint !== undefined && [...foundLive.values()].every((live) => live === hintLive);
  const firstOwner = keys.map((key) => found.get(key)).find((lead) => lead !== undefined);
  const claimant = options.explicitLeadId ?? (hintTaken ? hint : undefined) ?? firstOwner ?? (options.createLeadId ?? newLeadId)();
  const created = options.explicitLeadId === undefined && !hintTaken && firstOwner === undefined;
  const { chain, profile } = created ? { chain: [claimant], profile: undefined } : await follow(claimant);
  const claimantLive = chain[chain.length - 1]!;

  // New person identities count against the claimant's family: in claim order, up to what its limits leave.
  const counts = profile?.counts ?? NO_IDENTITIES;
  const room = { email: limits.email - counts.email, phone: limits.phone - counts.phone, ref: limits.ref - counts.ref };
  const linked: string[] = [];
  const objects: string[] = [];
  const overLimit: string[] = [];
  for (const key of keys.filter((k) => !found.has(k))) {
    if (!person.has(key)) objects.push(key);
    else if (room[kindOf(key)]-- > 0) linked.push(key);
    else overLimit.push(key);
  }
  // A lead named on purpose (explicit or hinted) gets a profile (first seen) if it has none: chain[0] has one when merged.
  const unprofiled = (options.explicitLeadId !== undefined || hintTaken) && chain.length === 1 && !profile;
  const objectOwners = new Map<string, string>();
  if (linked.length > 0 || created || unprofiled) {
    const added = countIdentities(linked);
    const caps = Object.fromEntries(KINDS.filter((kind) => added[kind] > 0).map((kind) => [kind, limits[kind] - added[kind]]));
    if (!(await store.link(orgId, { chain, keys: linked, objects, caps, nowIso: options.nowIso }))) return undefined;
  } else if (objects.length > 0) {
    // Only provider objects are new (a returning buyer's order): they count against no limit, so each is claimed on its
    // own, at once; one that another lead claimed first ties that lead, as any identity does.
    const owners = await Promise.all(objects.map((key) => store.claim(orgId, key, claimant, options.nowIso)));
    objects.forEach((key, i) => objectOwners.set(key, owners[i]!));
  }

  const ownerOf = (key: string) => found.get(key) ?? objectOwners.get(key) ?? (linked.includes(key) || objects.includes(key) ? claimant : undefined);
  const ownersLive = new Map([...foundLive, [claimant, claimantLive]]);
  for (const owner of new Set(objectOwners.values())) if (!ownersLive.has(owner)) ownersLive.set(owner, (await follow(owner)).lead);
  const liveOf = (owner: string) => ownersLive.get(owner)!;
  const owned = keys.filter((key) => ownerOf(key) !== undefined);
  const leads = [...new Set([claimantLive, ...owned.map((key) => liveOf(ownerOf(key)!))])];
  const tie = owned.find((key) => liveOf(ownerOf(key)!) !== claimantLive) ?? keys[0]!;
  const merged = leads.length > 1
    ? await mergeLeads(store, orgId, leads, tie, { nowIso: options.nowIso, limits, onMerged: options.onMerged })
    : { survivor: claimantLive, refused: [] };
  // A merge refused: the event goes to the lead its strongest identity names (an API event keeps its own lead).
  const live = merged.refused.length === 0 ? merged.survivor
    : await liveLead(store, orgId, options.explicitLeadId ?? ownerOf(strongest(owned) ?? tie) ?? claimant);
  if (merged.refused.length > 0) {
    // Each refusal names the other lead and the strongest identity of the delivery that belongs to it now.
    const ownerLive = new Map(await Promise.all([...new Set(owned.map((key) => ownerOf(key)!))].map(async (owner) => [owner, await liveLead(store, orgId, owner)] as const)));
    for (const refusal of merged.refused) {
      const [a, b] = await Promise.all([liveLead(store, orgId, refusal.lead), liveLead(store, orgId, refusal.into)]);
      const other = a === live ? b : a;
      const identity = strongest(owned.filter((key) => ownerLive.get(ownerOf(key)!) === other)) ?? tie;
      await options.onRefused?.({ lead: live, identity, reason: refusal.reason, otherLeadId: other });
    }
  }
  for (const key of overLimit) await options.onRefused?.({ lead: live, identity: key, reason: 'limit' });
  if (hint !== undefined && live !== hintLive) {
    // The hinted lead was not followed: recorded on the lead the event went to, naming the strongest identity that
    // already belonged to another lead (not one this delivery claimed just now).
    const decided = strongest(keys.filter((key) => found.has(key) && foundLive.get(found.get(key)!) !== hintLive)) ?? keys[0]!;
    await options.onRefused?.({ lead: live, identity: decided, reason: 'hint', otherLeadId: hint });
  }
  // Remembered only when every identity of the delivery is on this lead (a refusal leaves some elsewhere, or nowhere).
  if (merged.refused.length === 0 && overLimit.length === 0) for (const key of keys) options.cache?.set(orgId, key, live, nowMs, options.epoch);
  return live;
}

/** The body of POST /v1/leads/{lead_id}/unmerge: the lead merged into it to split off. */
export const unmergeBody = z.strictObject({ lead_id: idString() });

export function parseUnmergeBody(body: unknown): string {
  return parseOrThrow(unmergeBody, body, { notObjectMessage: 'must be a JSON object: {"lead_id": "<a lead merged into this one>"}' }).lead_id;
}

/**
 * An unmerge: `lead` split from `from` (the lead it had been merged into directly). `mergedAt` names the merge undone
 * (stable across repeated calls, so what is recorded for it has one id); `via` is the identity that had tied them.
 */
export interface Unmerge {
  changed: boolean;
  lead: string;
  from: string;
  mergedAt: string;
  via?: string;
}

/**
 * Splits `leadId` from the family it was merged into (contract section 8, v1.2): `pathLeadId` must be the lead it was
 * merged into or one that lead reads as. `leadId` is live again with the identities it and the leads merged into it
 * claimed; their events follow (stored events keep their lead_id, so nothing is rewritten). `record` is told before the
 * split is written (to record lead.unmerged, which a repeated call then finds already there): never a split without its
 * record. Race-free (one transaction, only while the merge and its chain stand) and idempotent: asked again, it answers
 * changed: false.
 */
export async function unmergeLead(
  store: IdentityStore, orgId: string, pathLeadId: string, leadId: string, nowIso: string, record?: (unmerge: Unmerge) => Promise<void>,
): Promise<Unmerge> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const [target, path] = await Promise.all([store.profile(orgId, leadId), store.profile(orgId, pathLeadId)]);
    if (!path) throw new NotFoundError(`No lead '${pathLeadId}'.`);
    if (!target) throw new NotFoundError(`No lead '${leadId}' (body lead_id).`);
    if (!target.mergedInto) {
      const split = target.unmerged;
      // Split before: from a lead of the path lead's family (known by digest only), it is done.
      const from = split && (await leadFamily(store, orgId, pathLeadId)).members.find((member) => leadDigest(member) === split.fromDigest);
      if (from) return { changed: false, lead: leadId, from, mergedAt: split!.at };
      throw new NotMergedError(`Lead '${leadId}' is not merged into lead '${pathLeadId}'.`);
    }
    const { chain } = await followMerges(store, orgId, target.mergedInto);
    if (!chain.includes(pathLeadId)) throw new NotMergedError(`Lead '${leadId}' is not merged into lead '${pathLeadId}' (it reads as '${chain[chain.length - 1]}').`);
    const unmerge: Unmerge = { changed: true, lead: leadId, from: chain[0]!, mergedAt: target.mergedAt ?? nowIso, ...(target.mergedVia ? { via: target.mergedVia } : {}) };
    await record?.(unmerge);
    if (await store.unmerge(orgId, { lead: leadId, chain, counts: target.counts, splits: target.splits, nowIso })) return unmerge;
    await pause(attempt);
  }
  throw new Error(`the unmerge of ${leadId} did not settle`);
}

/** A lead's identities as the API shows them: masked unless the caller may see PII. */
export function presentIdentities(keys: string[], canSeePii: boolean): { kind: IdentityKind; value: string }[] {
  return keys
    .map(parseIdentityKey)
    .sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value))
    .map(({ type: kind, value }) => {
      if (canSeePii) return { kind, value };
      if (kind === 'email') return { kind, value: maskEmail(value) };
      if (kind === 'phone') return { kind, value: maskPhone(value) };
      return { kind, value };
    });
}
