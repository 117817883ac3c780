import { ValidationError } from './errors.js';
import { normalizeKey, type MaskOptions } from './masking.js';
import type { PrivacySettings, SettingsStore } from './ports.js';

/**
 * Per-org privacy settings (section 9): `PUT /v1/settings/privacy` adds key names masked as names from then
 * on, everywhere masking applies (reads without pii:read, the bus, the archive).
 */
export const MAX_PII_KEYS = 100;

export function parsePrivacySettings(body: unknown, nowIso: string): PrivacySettings {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError([{ path: '', message: 'must be a JSON object: {"pii_keys": [ ... ]}' }]);
  const { pii_keys: keys, ...rest } = body as Record<string, unknown>;
  const errors = Object.keys(rest).map((path) => ({ path, message: 'is not a known field' }));
  if (!Array.isArray(keys)) errors.push({ path: 'pii_keys', message: 'is required and must be an array of key names' });
  else {
    if (keys.length > MAX_PII_KEYS) errors.push({ path: 'pii_keys', message: `must hold at most ${MAX_PII_KEYS} key names` });
    keys.forEach((key, i) => {
      if (typeof key !== 'string' || !/^[A-Za-z0-9_.\- ]{1,100}$/.test(key) || normalizeKey(key) === '') errors.push({ path: `pii_keys.${i}`, message: 'must be a key name of 1 to 100 letters, digits, _, -, . or spaces' });
    });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { pii_keys: [...new Set((keys as string[]).map(normalizeKey))].sort(), updated_at: nowIso };
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
