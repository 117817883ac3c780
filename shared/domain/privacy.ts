import * as z from 'zod/mini';
import { parseOrThrow } from './schema.js';
import { normalizeKey, type MaskOptions } from './masking.js';
import type { PrivacySettings, SettingsStore } from './ports.js';

/**
 * Per-org privacy settings (section 9): `PUT /v1/settings/privacy` adds key names masked as names from then
 * on, everywhere masking applies (reads without pii:read, the bus, the archive).
 */
export const MAX_PII_KEYS = 100;

const PII_KEY_MESSAGE = 'must be a key name of 1 to 100 letters, digits, _, -, . or spaces';
const PII_KEY = /^[A-Za-z0-9_.\- ]{1,100}$/;

/** The body of PUT /v1/settings/privacy. */
export const privacySettingsBody = z.strictObject({
  pii_keys: z.array(
    // The refinement only speaks where the pattern passed (a key of separators only), so each bad key is one error.
    z.string().check(z.regex(PII_KEY, PII_KEY_MESSAGE), z.refine((key) => !PII_KEY.test(key) || normalizeKey(key) !== '', PII_KEY_MESSAGE)),
  ).check(z.maxLength(MAX_PII_KEYS, `must hold at most ${MAX_PII_KEYS} key names`)),
});

export function parsePrivacySettings(body: unknown, nowIso: string): PrivacySettings {
  const { pii_keys: keys } = parseOrThrow(privacySettingsBody, body, { notObjectMessage: 'must be a JSON object: {"pii_keys": [ ... ]}' });
  return { pii_keys: [...new Set(keys.map(normalizeKey))].sort(), updated_at: nowIso };
}

/** The masking options of an org, cached per function for `ttlMs` (0: asked every time). */
export function cachedMaskOptions(store: SettingsStore, ttlMs: number): (orgId: string) => Promise<MaskOptions> {
  const cache = new Map<string, { options: MaskOptions; until: number }>();
  return async (orgId) => {
    const hit = cache.get(orgId);
    if (ttlMs > 0 && hit && hit.until > Date.now()) return hit.options;
    const { pii_keys: keys } = await store.privacy(orgId);
    const options: MaskOptions = keys.length > 0 ? { extraNameKeys: new Set(keys) } : {};
    if (cache.size > 5_000) cache.clear();
    cache.set(orgId, { options, until: Date.now() + ttlMs });
    return options;
  };
}
