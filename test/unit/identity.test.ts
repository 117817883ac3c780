import { describe, expect, it } from 'vitest';
import {
  IdentityCache, isJunkIdentity, leadFamily, liveLead, parseIdentitySettings, resolveLead, type LeadMerge, type LeadRefusal,
} from '../../shared/domain/identity.js';
import { ValidationError } from '../../shared/domain/errors.js';
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

describe('junk values (section 8, v1.2)', () => {
  it('knows the built-in placeholders: listed addresses, no-address local parts anywhere, placeholder local parts at placeholder domains', () => {
    for (const email of ['test@test.com', 'no@email.com', 'none@none.com', 'asdf@asdf.com', 'a@a.com', 'email@email.com', 'noemail@gmail.com',
      'noemail+7@acme.com', 'n/a@hotmail.com', 'null@yahoo.com', 'test@example.com', 'a@example.org', 'email@site.test', 'no@mail.com']) {
      expect(isJunkIdentity(`email:${email}`), email).toBe(true);
    }
    // Addresses one real person may own stay identities: distinct people at reserved domains, short mailboxes at real ones.
    for (const email of ['ana@example.com', 'a@acme.com', 'no@acme.com', 'testa@gmail.com', 'info@acme.com', 'ana@email.com']) {
      expect(isJunkIdentity(`email:${email}`), email).toBe(false);
    }
  });

  it('knows junk phones: one repeated digit, sequences up or down, the NANP fictional 555-0100…0199 of any area code', () => {
    for (const phone of ['+11111111111', '+5511111111111', '+550000000000', '+11234567890', '+5501234567890', '+19876543210', '+14155550100', '+12125550199', '+16285550142']) {
      expect(isJunkIdentity(`phone:${phone}`), phone).toBe(true);
    }
    for (const phone of ['+14155550200', '+14155552671', '+5511987654321', '+12125550099', '+4915112345678', '+819012345678', '+5511901234567']) {
      expect(isJunkIdentity(`phone:${phone}`), phone).toBe(false);
    }
    expect(isJunkIdentity('ref:stripe:cus_1')).toBe(false);
  });

  it("adds the org's own list, normalized as identities are (PUT /v1/settings/identity)", () => {
    const settings = parseIdentitySettings({ ignore: [' Lead@Acme.com ', '+55 11 91234-5678', 'lead@acme.com'] }, nowIso);
    expect(settings).toEqual({ ignore: ['+5511912345678', 'lead@acme.com'], updated_at: nowIso });
    expect(isJunkIdentity('email:lead@acme.com', new Set(['email:lead@acme.com']))).toBe(true);
    expect(() => parseIdentitySettings({ ignore: ['not an address', '11 91234-5678'] }, nowIso)).toThrow(ValidationError);
    expect(() => parseIdentitySettings({ ignore: 'x' }, nowIso)).toThrow(ValidationError);
  });

  it('never claims a junk value: a thousand leads naming it stay a thousand leads, and none of them lists it', async () => {
    const { store, calls, profiles } = memoryStore();
    const merges: LeadMerge[] = [];
    for (let i = 0; i < 1000; i++) {
      const lead = await resolveLead(store, 'org', { emails: ['TEST@test.com'], phones: [{ value: '+1 111 111 1111' }], refs: [] }, {
        explicitLeadId: `lead_${i}`, nowIso, onMerged: async (merge) => { merges.push(merge); },
      });
      expect(lead).toBe(`lead_${i}`);
    }
    expect(merges).toEqual([]);
    expect(calls.claim).toBe(0);
    expect(await store.find('org', ['email:test@test.com', 'phone:+11111111111'])).toEqual(new Map());
    expect([...profiles.values()].every((identities) => identities.size === 0)).toBe(true);
  });

  it('links the other identities of the delivery, and records a refusal when the junk value was claimed by another lead before', async () => {
    const { store } = memoryStore();
    await store.claim('org', 'email:lead@acme.com', 'lead_old', nowIso); // claimed before the org listed it
    const refusals: LeadRefusal[] = [];
    const lead = await resolveLead(store, 'org', { emails: ['lead@acme.com', 'ana@site.com'], phones: [], refs: [] }, {
      nowIso, ignore: new Set(['email:lead@acme.com']), createLeadId: () => 'lead_ana', onRefused: async (refusal) => { refusals.push(refusal); },
    });
    expect(lead).toBe('lead_ana');
    expect((await store.find('org', ['email:ana@site.com'])).get('email:ana@site.com')).toBe('lead_ana');
    expect(refusals).toEqual([{ lead: 'lead_ana', identity: 'email:lead@acme.com', reason: 'junk', otherLeadId: 'lead_old' }]);
  });

  it('gives a delivery of junk values only the fallback lead', async () => {
    const { store } = memoryStore();
    expect(await resolveLead(store, 'org', { emails: ['test@test.com'], phones: [], refs: [] }, { nowIso, fallbackLeadId: 'lead_own' })).toBe('lead_own');
  });
});

describe('lead-id hints (section 4, v1.2)', () => {
  it('follows a hint when no identity of the delivery belongs to another lead', async () => {
    const { store } = memoryStore();
    const refusals: LeadRefusal[] = [];
    const lead = await resolveLead(store, 'org', ana, { nowIso, hintLeadId: 'lead_bob', onRefused: async (r) => { refusals.push(r); } });
    expect(lead).toBe('lead_bob');
    expect((await store.find('org', ['email:ana@example.com'])).get('email:ana@example.com')).toBe('lead_bob');
    // Again, now that the identities are the hinted lead's own: followed, nothing refused.
    expect(await resolveLead(store, 'org', ana, { nowIso, hintLeadId: 'lead_bob', onRefused: async (r) => { refusals.push(r); } })).toBe('lead_bob');
    expect(refusals).toEqual([]);
  });

  it("never merges: an identity already another lead's sends the event there, records the refusal, and the hinted lead stays apart", async () => {
    const { store } = memoryStore();
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, createLeadId: () => 'lead_alice' });
    await resolveLead(store, 'org', { emails: ['bob@site.com'], phones: [], refs: [] }, { nowIso, createLeadId: () => 'lead_bob' });
    const merges: LeadMerge[] = [];
    const refusals: LeadRefusal[] = [];
    const options = { nowIso, hintLeadId: 'lead_bob', onMerged: async (m: LeadMerge) => { merges.push(m); }, onRefused: async (r: LeadRefusal) => { refusals.push(r); } };
    // Alice's e-mail, a new phone and a new provider object: the provider object is the strongest identity, but new; the e-mail decides.
    const lead = await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [{ value: '+5511987654321' }], refs: [], objects: ['typeform:tok_1'] }, options);
    expect(lead).toBe('lead_alice');
    expect(merges).toEqual([]);
    expect(refusals).toEqual([{ lead: 'lead_alice', identity: 'email:alice@site.com', reason: 'hint', otherLeadId: 'lead_bob' }]);
    expect(await liveLead(store, 'org', 'lead_bob')).toBe('lead_bob');
    expect((await leadFamily(store, 'org', 'lead_alice')).members).toEqual(['lead_alice']);
    // The delivery's new identities went to Alice, not to the hinted lead.
    expect((await store.find('org', ['phone:+5511987654321'])).get('phone:+5511987654321')).toBe('lead_alice');
    // The same through the cache's fast path: all identities cached on Alice, the hint names Bob.
    const cache = new IdentityCache();
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, cache });
    expect(await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { ...options, cache })).toBe('lead_alice');
    expect(merges).toEqual([]);
    expect(refusals.length).toBe(2);
  });

  it('an explicit lead id (an API event) still ties, as in v1.1', async () => {
    const { store } = memoryStore();
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, createLeadId: () => 'lead_alice' });
    const merges: LeadMerge[] = [];
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, explicitLeadId: 'lead_api', onMerged: async (m) => { merges.push(m); } });
    expect(merges.length).toBe(1);
  });
});
