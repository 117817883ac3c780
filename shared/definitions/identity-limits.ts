/**
 * Per-family limits of person identities (contract section 8, v1.2): the most e-mails, phones and provider customer
 * refs one lead family may hold. A link or merge that would pass one does not happen (`lead.merge_refused`,
 * reason "limit"). Provider objects (orders, checkout sessions, charges, …) are not counted: every purchase names
 * new ones. Each org may set its own (`PUT /v1/settings/identity` {"limits": {...}}), within MAX_IDENTITY_LIMIT.
 * Read by `resolveLead`/`mergeLeads` in shared/domain/identity.ts; docs/identity.md explains them.
 */
export const IDENTITY_LIMITS = { email: 5, phone: 5, ref: 50 } as const;

/** The highest limit an org may set for a kind: a family's identities are listed on its lead page and in reads. */
export const MAX_IDENTITY_LIMIT = 1_000;

export type IdentityKindCounts = Record<keyof typeof IDENTITY_LIMITS, number>;
/** The kinds the limits count, as identity keys name them (`email:…`, `phone:…`, `ref:…`). */
export const IDENTITY_KINDS = Object.keys(IDENTITY_LIMITS) as (keyof typeof IDENTITY_LIMITS)[];

/** How many of each kind these identity keys hold. */
export function countIdentities(keys: readonly string[]): IdentityKindCounts {
  const counts: IdentityKindCounts = { email: 0, phone: 0, ref: 0 };
  for (const key of keys) counts[key.slice(0, key.indexOf(':')) as keyof IdentityKindCounts] += 1;
  return counts;
}
