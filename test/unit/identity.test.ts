import { describe, expect, it } from 'vitest';
import { IdentityCache, resolveLead } from '../../shared/domain/identity.js';
import type { IdentityStore } from '../../shared/domain/ports.js';

/** An in-memory store with the same first-claim-wins semantics as the DynamoDB adapter, counting calls. */
function memoryStore() {
  const owners = new Map<string, string>();
  const profiles = new Map<string, Set<string>>();
  const calls = { find: 0, claim: 0, profile: 0 };
  const store: IdentityStore = {
    async find(orgId, keys) {
      calls.find++;
      return new Map(keys.filter((k) => owners.has(`${orgId}|${k}`)).map((k) => [k, owners.get(`${orgId}|${k}`)!]));
    },
    async claim(orgId, key, leadId) {
      calls.claim++;
      const id = `${orgId}|${key}`;
      if (!owners.has(id)) owners.set(id, leadId);
      return owners.get(id)!;
    },
    async addToProfile(orgId, leadId, keys) {
      calls.profile++;
      const set = profiles.get(`${orgId}|${leadId}`) ?? new Set();
      keys.forEach((k) => set.add(k));
      profiles.set(`${orgId}|${leadId}`, set);
    },
    async profile(orgId, leadId) {
      const set = profiles.get(`${orgId}|${leadId}`);
      return set ? { identities: [...set], createdAt: 'x' } : undefined;
    },
  };
  return { store, calls, profiles };
}

const nowIso = new Date().toISOString();
const ana = { emails: ['ana@example.com'], phones: [{ value: '+5511999999999' }], customerIds: ['stripe:cus_1'] };

describe('resolveLead', () => {
  it('creates a lead on first sight and finds it again from any one identity', async () => {
    const { store, profiles } = memoryStore();
    const first = await resolveLead(store, 'org', ana, { nowIso, createLeadId: () => 'lead_a' });
    expect(first).toBe('lead_a');
    expect(await resolveLead(store, 'org', { emails: [], phones: [{ value: '(11) 99999-9999', defaultCountry: 'BR' }], customerIds: [] }, { nowIso, createLeadId: () => 'lead_b' })).toBe('lead_a');
    expect([...profiles.get('org|lead_a')!].sort()).toEqual(['customer:stripe:cus_1', 'email:ana@example.com', 'phone:+5511999999999']);
    expect(await resolveLead(store, 'other_org', ana, { nowIso, createLeadId: () => 'lead_c' })).toBe('lead_c');
  });

  it('lets an explicit lead win without taking identities another lead already owns', async () => {
    const { store } = memoryStore();
    await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], customerIds: [] }, { nowIso, createLeadId: () => 'lead_bob' });
    const explicit = await resolveLead(store, 'org', { emails: ['bob@example.com', 'new@example.com'], phones: [], customerIds: [] }, { nowIso, explicitLeadId: 'lead_x' });
    expect(explicit).toBe('lead_x');
    expect(await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], customerIds: [] }, { nowIso })).toBe('lead_bob');
    expect(await resolveLead(store, 'org', { emails: ['new@example.com'], phones: [], customerIds: [] }, { nowIso })).toBe('lead_x');
  });

  it('with a cache, a returning customer costs no identity calls', async () => {
    const { store, calls } = memoryStore();
    const cache = new IdentityCache();
    await resolveLead(store, 'org', ana, { nowIso, cache, createLeadId: () => 'lead_a' });
    const before = { ...calls };
    expect(await resolveLead(store, 'org', ana, { nowIso, cache })).toBe('lead_a');
    expect(calls).toEqual(before);
  });

  it('returns undefined when nothing identifies the person', async () => {
    const { store } = memoryStore();
    expect(await resolveLead(store, 'org', { emails: ['nope'], phones: [], customerIds: [] }, { nowIso })).toBeUndefined();
  });
});
