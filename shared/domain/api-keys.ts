import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SCOPES, type Scope } from '../definitions/routes.js';
import { sha256Hex } from './canonical.js';
import type { ApiKeyRecord, ApiKeyStore } from './ports.js';

/**
 * API keys look like `llk_<key id>_<secret>`. Only the SHA-256 of the whole key is stored; the key id is
 * the public handle for listing and revoking. A 32-byte random secret makes a salt unnecessary.
 */
const KEY_PATTERN = /^llk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`unknown scope(s): ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
  if (scopes.length === 0) throw new Error(`at least one scope is required; known: ${SCOPES.join(', ')}`);
  return [...new Set(scopes)] as Scope[];
}

export async function createApiKey(
  store: ApiKeyStore,
  input: { orgId: string; scopes: Scope[]; label?: string; now: number },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const keyId = randomBytes(6).toString('hex');
  const key = `llk_${keyId}_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    keyId, orgId: input.orgId, scopes: input.scopes, createdAt: new Date(input.now).toISOString(),
    ...(input.label ? { label: input.label } : {}),
  };
  await store.create(record, hashApiKey(key));
  return { key, record };
}

export function keyIdOf(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/**
 * Resolves a presented key to its record, or undefined. The lookup is by hash, and the stored hash is
 * compared again in constant time, so neither the store nor this code leaks how much of a key matched.
 */
export async function authenticateApiKey(store: ApiKeyStore, presented: string): Promise<ApiKeyRecord | undefined> {
  if (!KEY_PATTERN.test(presented)) return undefined;
  const presentedHash = hashApiKey(presented);
  const found = await store.findByHash(presentedHash);
  if (!found || found.revokedAt) return undefined;
  const a = Buffer.from(found.keyHash, 'hex');
  const b = Buffer.from(presentedHash, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  return found;
}
