import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { WebhookSecretStore } from '../ports.js';
import type { Provider } from './signatures.js';

export const MAX_SECRETS_PER_PROVIDER = 2;
/** A webhook secret is at least this many characters, not counting surrounding blanks (contract section 4, v1.2). */
export const MIN_SECRET_LENGTH = 16;

/** Why `secret` cannot be a webhook secret (undefined: it can): empty, blank or shorter than MIN_SECRET_LENGTH. */
export function webhookSecretProblem(secret: string): string | undefined {
  if (secret.trim() === '') return 'must not be empty or blank';
  if (secret.trim().length < MIN_SECRET_LENGTH) return `must be at least ${MIN_SECRET_LENGTH} characters`;
  return undefined;
}

/** A new secret in the provider's own style (Stripe's whsec_ prefix; Hotmart's hottok is any token). */
export function generateSecret(provider: Provider): string {
  const body = randomBytes(24).toString('base64url');
  return provider === 'stripe' ? `whsec_${body}` : body;
}

/**
 * Sets the current secret. With keepPrevious (the default) the old current secret stays valid beside it,
 * which is how a rotation works without dropping deliveries; `clearPrevious` ends the overlap.
 */
export async function setWebhookSecret(
  store: WebhookSecretStore,
  input: { orgId: string; provider: Provider; secret: string; keepPrevious?: boolean; nowIso: string },
): Promise<string[]> {
  const problem = webhookSecretProblem(input.secret);
  if (problem) throw new ValidationError([{ path: 'secret', message: problem }]);
  const existing = await store.get(input.orgId, input.provider);
  const secrets = input.keepPrevious === false ? [input.secret] : [input.secret, ...existing.filter((s) => s !== input.secret)].slice(0, MAX_SECRETS_PER_PROVIDER);
  await store.put(input.orgId, input.provider, secrets, input.nowIso);
  return secrets;
}

export async function clearPreviousSecret(store: WebhookSecretStore, orgId: string, provider: Provider, nowIso: string): Promise<boolean> {
  const existing = await store.get(orgId, provider);
  if (existing.length < 2) return false;
  await store.put(orgId, provider, existing.slice(0, 1), nowIso);
  return true;
}

/** Caches each org's secrets in the function's memory for `ttlMs` (0: ask every time). */
export function cachedSecrets(store: WebhookSecretStore, ttlMs: number): (orgId: string, provider: Provider) => Promise<string[]> {
  const cache = new Map<string, { secrets: string[]; until: number }>();
  return async (orgId, provider) => {
    if (ttlMs <= 0) return store.get(orgId, provider);
    const key = `${orgId}\u0000${provider}`;
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.secrets;
    const secrets = await store.get(orgId, provider);
    if (cache.size > 5_000) cache.clear();
    cache.set(key, { secrets, until: Date.now() + ttlMs });
    return secrets;
  };
}
