import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoIdentityStore } from '../../shared/adapters/dynamo-identity-store.js';
import { controlItemsOf } from '../support/control-table.js';
import {
  IdentityCache, isJunkIdentity, leadFamily, liveLead, normalizeEmail, parseIdentitySettings, resolveLead, type LeadMerge, type LeadRefusal,
} from '../../shared/domain/identity.js';
import { ValidationError } from '../../shared/domain/errors.js';
import type { IdentityStore } from '../../shared/domain/ports.js';

/**
 * The real DynamoDB identity store on the run's DynamoDB Local, each test in orgs of its own (the org ids it names are
 * prefixed), counting the calls a resolution makes.
 */
function realStore() {
  const prefix = `t${randomUUID().slice(0, 8)}_`;
  const dynamo = new DynamoIdentityStore(createDocumentClient({ endpoint: inject('dynamoEndpoint') }), inject('tableNames').control!);
  const calls = { find: 0, claim: 0, link: 0, profile: 0 };
  const store = new Proxy(dynamo, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (orgId: string, ...rest: unknown[]) => {
        if (name in calls) calls[name as keyof typeof calls]++;
        return value.call(target, `${prefix}${orgId}`, ...rest);
      };
    },
  }) as IdentityStore;
  const identitiesOf = async (leadId: string, orgId = 'org') => (await store.lead(orgId, leadId)).identities.sort();
  return { store, calls, identitiesOf, orgOf: (orgId: string) => `${prefix}${orgId}` };
}

const nowIso = new Date().toISOString();
const ana = { emails: ['ana@example.com'], phones: [{ value: '+5511987612345' }], refs: ['stripe:cus_1'] };

describe('resolveLead', () => {
  it('creates a lead on first sight and finds it again from any one identity', async () => {
    const { store, identitiesOf } = realStore();
    const first = await resolveLead(store, 'org', ana, { nowIso, createLeadId: () => 'lead_a' });
    expect(first).toBe('lead_a');
    expect(await resolveLead(store, 'org', { emails: [], phones: [{ value: '(11) 98761-2345', defaultCountry: 'BR' }], refs: [] }, { nowIso, createLeadId: () => 'lead_b' })).toBe('lead_a');
    expect(await identitiesOf('lead_a')).toEqual(['email:ana@example.com', 'phone:+5511987612345', 'ref:stripe:cus_1']);
    expect(await resolveLead(store, 'other_org', ana, { nowIso, createLeadId: () => 'lead_c' })).toBe('lead_c');
  });

  it('merges an explicit lead with the lead that already owns one of its identities, the one seen first surviving (v1.1)', async () => {
    const { store } = realStore();
    await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], refs: [] }, { nowIso: '2026-01-01T00:00:00.000Z', createLeadId: () => 'lead_bob' });
    const merges: LeadMerge[] = [];
    const explicit = await resolveLead(store, 'org', { emails: ['bob@example.com', 'new@example.com'], phones: [], refs: [] }, { nowIso, explicitLeadId: 'lead_x', onMerged: async (m) => void merges.push(m) });
    expect(explicit).toBe('lead_bob');
    expect(merges).toEqual([{ from: 'lead_x', into: 'lead_bob', identity: 'email:bob@example.com' }]);
    expect(await resolveLead(store, 'org', { emails: ['bob@example.com'], phones: [], refs: [] }, { nowIso })).toBe('lead_bob');
    expect(await resolveLead(store, 'org', { emails: ['new@example.com'], phones: [], refs: [] }, { nowIso })).toBe('lead_bob');
  });

  it('joins an e-mail-only lead and a phone-only lead when a later delivery carries both; chains read as their end', async () => {
    const { store } = realStore();
    await resolveLead(store, 'org', { emails: ['ana@example.com'], phones: [], refs: [] }, { nowIso: '2026-01-01T00:00:00.000Z', createLeadId: () => 'lead_e' });
    await resolveLead(store, 'org', { emails: [], phones: [{ value: '+5511987612345' }], refs: [] }, { nowIso: '2026-01-02T00:00:00.000Z', createLeadId: () => 'lead_p' });
    await resolveLead(store, 'org', { emails: [], phones: [], refs: ['stripe:cus_9'] }, { nowIso: '2026-01-03T00:00:00.000Z', createLeadId: () => 'lead_r' });
    expect(await resolveLead(store, 'org', { emails: [], phones: [{ value: '+5511987612345' }], refs: ['stripe:cus_9'] }, { nowIso })).toBe('lead_p');
    expect(await resolveLead(store, 'org', { emails: ['ana@example.com'], phones: [{ value: '+5511987612345' }], refs: [] }, { nowIso })).toBe('lead_e');
    expect(await liveLead(store, 'org', 'lead_r')).toBe('lead_e'); // lead_r → lead_p → lead_e
    expect((await leadFamily(store, 'org', 'lead_r')).members.sort()).toEqual(['lead_e', 'lead_p', 'lead_r']);
  });

  it('with a cache, a returning customer costs no identity calls', async () => {
    const { store, calls } = realStore();
    const cache = new IdentityCache();
    await resolveLead(store, 'org', ana, { nowIso, cache, createLeadId: () => 'lead_a' });
    const before = { ...calls };
    expect(await resolveLead(store, 'org', ana, { nowIso, cache })).toBe('lead_a');
    expect(calls).toEqual(before);
  });

  it('returns undefined when nothing identifies the person', async () => {
    const { store } = realStore();
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

  it('knows placeholders typed into a mask after the area code, and e-mails written another way (red team)', () => {
    // After a 2- or 3-digit area code: one digit 9+ times (a mobile mask filled in).
    for (const phone of ['+5511999999999', '+5511000000000', '+5521000000000']) {
      expect(isJunkIdentity(`phone:${phone}`), phone).toBe(true);
    }
    // Real shapes stay: a vanity line of seven, ordinary mobiles.
    // Real lines' shapes stay (red team, second pass): eight repeated digits after an area code, a vanity line of seven.
    for (const phone of ['+14157777777', '+16177777777', '+12122222222', '+442077777777', '+442030000000', '+552122222222', '+551130000000',
      '+919888888888', '+493088888888', '+5511912345678', '+5521987654321', '+5511987654321', '+12127365000']) {
      expect(isJunkIdentity(`phone:${phone}`), phone).toBe(false);
    }
    // One mailbox, written another way, is the same identity (and so the same junk).
    for (const [typed, normal] of [['no@email.com.', 'no@email.com'], ['ｔｅｓｔ＠ｔｅｓｔ．ｃｏｍ', 'test@test.com'], ['"test"@gmail.com', 'test@gmail.com'], [' Ana@Example.COM ', 'ana@example.com']]) {
      expect(normalizeEmail(typed!), typed).toBe(normal);
    }
    expect(isJunkIdentity(`email:${normalizeEmail('"test"@gmail.com')}`)).toBe(true);
    expect(normalizeEmail('"a b"@example.com')).toBeUndefined(); // a quoted local part with a space is no address we link
  });

  it("adds the org's own list, normalized as identities are (PUT /v1/settings/identity)", () => {
    const settings = parseIdentitySettings({ ignore: [' Lead@Acme.com ', '+55 11 91234-5678', 'lead@acme.com'] }, nowIso);
    expect(settings).toEqual({ ignore: ['+5511912345678', 'lead@acme.com'], updated_at: nowIso });
    expect(isJunkIdentity('email:lead@acme.com', new Set(['email:lead@acme.com']))).toBe(true);
    expect(() => parseIdentitySettings({ ignore: ['not an address', '11 91234-5678'] }, nowIso)).toThrow(ValidationError);
    expect(() => parseIdentitySettings({ ignore: 'x' }, nowIso)).toThrow(ValidationError);
    // Every bad field in one answer, whatever else is wrong (red team): values, limits and unknown keys together.
    const paths = (() => {
      try {
        parseIdentitySettings({ ignore: ['ok@acme.com', 'not-a-value', 7], limits: { email: 0, fax: 1 }, extra: true }, nowIso);
      } catch (error) {
        return (error as ValidationError).errors!.map((e) => e.path).sort();
      }
      return [];
    })();
    expect(paths).toEqual(['extra', 'ignore[1]', 'ignore[2]', 'limits.email', 'limits.fax']);
  });

  it('never claims a junk value: a thousand leads naming it stay a thousand leads, and none of them lists it', async () => {
    const { store, calls, orgOf } = realStore();
    const merges: LeadMerge[] = [];
    for (let i = 0; i < 1000; i++) {
      const lead = await resolveLead(store, 'org', { emails: ['TEST@test.com'], phones: [{ value: '+1 111 111 1111' }], refs: [] }, {
        explicitLeadId: `lead_${i}`, nowIso, onMerged: async (merge) => { merges.push(merge); },
      });
      expect(lead).toBe(`lead_${i}`);
    }
    expect(merges).toEqual([]);
    expect(calls.claim + calls.link).toBe(0);
    expect(await store.find('org', ['email:test@test.com', 'phone:+11111111111'])).toEqual(new Map());
    expect((await controlItemsOf(orgOf('org'))).filter((item) => String(item.pk).startsWith('LEAD#'))).toEqual([]);
  });

  it('links the other identities of the delivery, and records a refusal when the junk value was claimed by another lead before', async () => {
    const { store } = realStore();
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
    const { store } = realStore();
    expect(await resolveLead(store, 'org', { emails: ['test@test.com'], phones: [], refs: [] }, { nowIso, fallbackLeadId: 'lead_own' })).toBe('lead_own');
  });
});

describe('lead-id hints (section 4, v1.2)', () => {
  it('follows a hint when no identity of the delivery belongs to another lead', async () => {
    const { store } = realStore();
    const refusals: LeadRefusal[] = [];
    const lead = await resolveLead(store, 'org', ana, { nowIso, hintLeadId: 'lead_bob', onRefused: async (r) => { refusals.push(r); } });
    expect(lead).toBe('lead_bob');
    expect((await store.find('org', ['email:ana@example.com'])).get('email:ana@example.com')).toBe('lead_bob');
    // Again, now that the identities are the hinted lead's own: followed, nothing refused.
    expect(await resolveLead(store, 'org', ana, { nowIso, hintLeadId: 'lead_bob', onRefused: async (r) => { refusals.push(r); } })).toBe('lead_bob');
    expect(refusals).toEqual([]);
  });

  it("never merges: an identity already another lead's sends the event there, records the refusal, and the hinted lead stays apart", async () => {
    const { store } = realStore();
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
    const { store } = realStore();
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, createLeadId: () => 'lead_alice' });
    const merges: LeadMerge[] = [];
    await resolveLead(store, 'org', { emails: ['alice@site.com'], phones: [], refs: [] }, { nowIso, explicitLeadId: 'lead_api', onMerged: async (m) => { merges.push(m); } });
    expect(merges.length).toBe(1);
  });
});
