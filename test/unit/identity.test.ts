import { describe, expect, it } from 'vitest';
import { IdentityCache, leadFamily, liveLead, resolveLead, type LeadMerge } from '../../shared/domain/identity.js';
import type { IdentityStore } from '../../shared/domain/ports.js';

/** An in-memory store with the same first-claim-wins and merge semantics as the DynamoDB adapter, counting calls. */
function memoryStore() {
  const owners = new Map<string, string>();
  const profiles = new Map<string, Set<string>>();
  const merged = new Map<string, { into?: string; from: Set<string>; firstSeen?: string }>();
  const node = (id: string) => merged.get(id) ?? merged.set(id, { from: new Set() }).get(id)!;
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
    async addToProfile(orgId, leadId, keys, nowIso) {
      calls.profile++;
      const set = profiles.get(`${orgId}|${leadId}`) ?? new Set();
      keys.forEach((k) => set.add(k));
      profiles.set(`${orgId}|${leadId}`, set);
      node(`${orgId}|${leadId}`).firstSeen ??= nowIso;
    },
    async profile(orgId, leadId) {
      const set = profiles.get(`${orgId}|${leadId}`);
      const n = merged.get(`${orgId}|${leadId}`);
      if (!set && !n) return undefined;
      return {
        identities: [...(set ?? [])], mergedFrom: [...(n?.from ?? [])],
        ...(n?.firstSeen ? { firstSeenAt: n.firstSeen } : {}), ...(n?.into ? { mergedInto: n.into } : {}),
      };
    },
    async merge(orgId, from, into) {
      const a = node(`${orgId}|${from}`);
      const b = node(`${orgId}|${into}`);
      if (a.into || b.into) return false;
      a.into = into;
      b.from.add(from);
      return true;
    },
    owners: async () => { throw new Error('not used by resolution'); },
    release: async () => { throw new Error('not used by resolution'); },
    removeProfile: async () => { throw new Error('not used by resolution'); },
  };
  return { store, calls, profiles };
}

const nowIso = new Date().toISOString();
const ana = { emails: ['ana@example.com'], phones: [{ value: '+5511999999999' }], refs: ['stripe:cus_1'] };

describe('resolveLead', () => {
  it('creates a lead on first sight and finds it again from any one identity', async () => {
    const { store, profiles } = memoryStore();
    const first = await resolveLead(store, 'org', ana, { nowIso, createLeadId: () => 'lead_a' });
    expect(first).toBe('lead_a');
    expect(await resolveLead(store, 'org', { emails: [], phones: [{ value: '(11) 99999-9999', defaultCountry: 'BR' }], refs: [] }, { nowIso, createLeadId: () => 'lead_b' })).toBe('lead_a');
    expect([...profiles.get('org|lead_a')!].sort()).toEqual(['email:ana@example.com', 'phone:+5511999999999', 'ref:stripe:cus_1']);
    expect(await resolveLead(store, 'other_org', ana, { nowIso, createLeadId: () => 'lead_c' })).toBe('lead_c');
  });

  it('merges an explicit lead with the lead that already owns one of its identities, the one seen first surviving (v1.1)', async () => {
    const { store } = memoryStore();
    await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], refs: [] }, { nowIso: '2026-01-01T00:00:00.000Z', createLeadId: () => 'lead_bob' });
    const merges: LeadMerge[] = [];
    const explicit = await resolveLead(store, 'org', { emails: ['bob@example.com', 'new@example.com'], phones: [], refs: [] }, { nowIso, explicitLeadId: 'lead_x', onMerged: async (m) => void merges.push(m) });
    expect(explicit).toBe('lead_bob');
    expect(merges).toEqual([{ from: 'lead_x', into: 'lead_bob', identity: 'email:bob@example.com' }]);
    expect(await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], refs: [] }, { nowIso })).toBe('lead_bob');
    expect(await resolveLead(store, 'org', { emails: ['new@example.com'], phones: [], refs: [] }, { nowIso })).toBe('lead_bob');
  });

  it('joins an e-mail-only lead and a phone-only lead when a later delivery carries both; chains read as their end', async () => {
    const { store } = memoryStore();
    await resolveLead(store, 'org', { emails: ['ana@example.com'], phones: [], refs: [] }, { nowIso: '2026-01-01T00:00:00.000Z', createLeadId: () => 'lead_e' });
    await resolveLead(store, 'org', { emails: [], phones: [{ value: '+5511999999999' }], refs: [] }, { nowIso: '2026-01-02T00:00:00.000Z', createLeadId: () => 'lead_p' });
    await resolveLead(store, 'org', { emails: [], phones: [], refs: ['stripe:cus_9'] }, { nowIso: '2026-01-03T00:00:00.000Z', createLeadId: () => 'lead_r' });
    expect(await resolveLead(store, 'org', { emails: [], phones: [{ value: '+5511999999999' }], refs: ['stripe:cus_9'] }, { nowIso })).toBe('lead_p');
    expect(await resolveLead(store, 'org', { emails: ['ana@example.com'], phones: [{ value: '+5511999999999' }], refs: [] }, { nowIso })).toBe('lead_e');
    expect(await liveLead(store, 'org', 'lead_r')).toBe('lead_e'); // lead_r → lead_p → lead_e
    expect((await leadFamily(store, 'org', 'lead_r')).members.sort()).toEqual(['lead_e', 'lead_p', 'lead_r']);
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
    expect(await resolveLead(store, 'org', { emails: ['nope'], phones: [], refs: [] }, { nowIso })).toBeUndefined();
  });
});
