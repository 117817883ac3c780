import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityLimits, leadFamily, liveLead, mergedSubtree, resolveLead, type LeadRefusal } from '../../shared/domain/identity.js';
import { recordLeadMerge } from '../../shared/domain/ingest.js';
import type { IdentityCounts } from '../../shared/domain/ports.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { apiEvent, timeline, unique } from '../support/leads.js';
import { controlItemsOf } from '../support/control-table.js';

/**
 * Limits per lead family (contract section 8 v1.2; issue #21 points 3, 5 and 6), against DynamoDB Local: a link or merge
 * past a limit does not happen and is recorded; limits hold under concurrent deliveries (no overrun, counts exact);
 * a family of any size keeps answering, with no item growing with it.
 */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());



/** A live family's person identities by kind (its members' identity items) and the counts its live profile keeps. */
async function familyCounts(orgId: string, lead: string): Promise<{ actual: IdentityCounts; kept: IdentityCounts; members: number }> {
  const live = await liveLead(api.deps.identities, orgId, lead);
  const tree = await mergedSubtree(api.deps.identities, orgId, live);
  const actual: IdentityCounts = { email: 0, phone: 0, ref: 0 };
  for (const record of tree.values()) for (const key of record.identities) actual[key.slice(0, key.indexOf(':')) as keyof IdentityCounts] += 1;
  return { actual, kept: tree.get(live)!.profile?.counts ?? { email: 0, phone: 0, ref: 0 }, members: tree.size };
}

describe('limits per lead family (section 8, v1.2)', () => {
  it('links at most 5 e-mails to a family by default: the 6th stays in its event, unlinked, and a limit refusal is recorded once', async () => {
    const { orgId, key } = await api.newOrg();
    const lead = `lead_many_${unique()}`;
    const emails = Array.from({ length: 7 }, (_, i) => `addr${i}.${unique()}@example.com`);
    for (const email of emails) expect((await api.request('POST', '/v1/events', { key, body: apiEvent(lead, { email }) })).status).toBe(201);
    // The 7th again: its refusal is not recorded twice.
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent(lead, { email: emails[6] }, { external_event_id: 'again' }) })).status).toBe(201);
    const view = await api.request('GET', `/v1/leads/${lead}`, { key });
    expect(view.body.identities.map((i: { value: string }) => i.value).sort()).toEqual(emails.slice(0, 5).sort());
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(emails[5]!)}`, { key })).body.items).toEqual([]);
    const events = await timeline(api, key, lead);
    expect(events.filter((e) => e.event_type === 'custom.seen')).toHaveLength(8);
    expect(events.filter((e) => e.event_type === 'lead.merge_refused').map((e) => e.payload)).toEqual([
      { identity: { email: emails[5] }, reason: 'limit' }, { identity: { email: emails[6] }, reason: 'limit' },
    ]);
    expect(JSON.stringify(events)).toContain(emails[6]); // the value stays in the event
    expect((await familyCounts(orgId, lead)).kept).toEqual({ email: 5, phone: 0, ref: 0 });
  });

  it("an org's own limits (PUT /v1/settings/identity): a merge whose union would pass one does not happen; the API event keeps its lead", async () => {
    const { orgId, key } = await api.newOrg();
    const bad = await api.request('PUT', '/v1/settings/identity', { key, body: { limits: { email: 0, phone: 1.5, ref: 5000, fax: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['limits.email', 'limits.fax', 'limits.phone', 'limits.ref']);
    const put = await api.request('PUT', '/v1/settings/identity', { key, body: { limits: { ref: 2 } } });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ ignore: [], limits: { email: 5, phone: 5, ref: 2 } });
    expect((await api.request('GET', '/v1/settings/identity', { key })).body).toEqual(put.body);

    const [a, b] = [`lead_a_${unique()}`, `lead_b_${unique()}`];
    const refs = [`stripe:cus_${unique()}`, `stripe:cus_${unique()}`, `stripe:cus_${unique()}`];
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent(a, { refs: [refs[0], refs[1]] }) })).status).toBe(201);
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent(b, { refs: [refs[2]] }) })).status).toBe(201);
    // An event on a naming b's ref: a's family would hold 3 refs.
    const tie = await api.request('POST', '/v1/events', { key, body: apiEvent(a, { refs: [refs[2]] }, { external_event_id: 'tie' }) });
    expect(tie.status, tie.text).toBe(201);
    expect(tie.body.event.lead_id).toBe(a);
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBeUndefined();
    expect((await api.request('GET', `/v1/leads/${a}`, { key })).body.merged_from).toEqual([]);
    const refused = (await timeline(api, key, a)).filter((e) => e.event_type === 'lead.merge_refused');
    expect(refused.map((e) => e.payload)).toEqual([{ identity: { ref: refs[2] }, reason: 'limit', other_lead_id: b }]);
    expect((await familyCounts(orgId, a)).kept).toEqual({ email: 0, phone: 0, ref: 2 });
    // Raised: the same tie merges.
    expect((await api.request('PUT', '/v1/settings/identity', { key, body: { limits: { ref: 3 } } })).status).toBe(200);
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent(a, { refs: [refs[2]] }, { external_event_id: 'tie2' }) })).status).toBe(201);
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBe(a);
    expect(await familyCounts(orgId, a)).toEqual({ actual: { email: 0, phone: 0, ref: 3 }, kept: { email: 0, phone: 0, ref: 3 }, members: 2 });
  });

  it('a refused merge sends a delivery to the lead its strongest identity names: a provider ref before an e-mail before a phone', async () => {
    const { orgId } = await api.newOrg();
    const store = api.deps.identities;
    const nowIso = new Date().toISOString();
    const limits = identityLimits({ email: 1 });
    const byEmail = await resolveLead(store, orgId, { emails: [`e1.${unique()}@example.com`], phones: [], refs: [] }, { nowIso, limits, createLeadId: () => `lead_e_${unique()}` });
    const ref = `shopify:customer:${unique()}`;
    const email2 = `e2.${unique()}@example.com`;
    const byRef = await resolveLead(store, orgId, { emails: [email2], phones: [], refs: [ref] }, { nowIso, limits, createLeadId: () => `lead_r_${unique()}` });
    const refusals: LeadRefusal[] = [];
    const emailOfFirst = (await store.lead(orgId, byEmail!)).identities[0]!.slice('email:'.length);
    const lead = await resolveLead(store, orgId, { emails: [emailOfFirst], phones: [], refs: [ref] }, { nowIso, limits, onRefused: async (r) => { refusals.push(r); } });
    expect(lead).toBe(byRef);
    expect(refusals).toEqual([{ lead: byRef, identity: `email:${emailOfFirst}`, reason: 'limit', otherLeadId: byEmail }]);
    expect(await liveLead(store, orgId, byEmail!)).toBe(byEmail);
  });

  it('holds under concurrent deliveries: 40 events adding e-mails to one lead at once link exactly the limit', async () => {
    const { orgId, key } = await api.newOrg();
    await api.request('PUT', '/v1/settings/identity', { key, body: { limits: { email: 3 } } });
    const lead = `lead_busy_${unique()}`;
    const posted = await Promise.all(Array.from({ length: 40 }, (_, i) => api.request('POST', '/v1/events', { key, body: apiEvent(lead, { email: `c${i}.${unique()}@example.com` }) })));
    expect(posted.map((p) => p.status)).toEqual(posted.map(() => 201));
    expect(await familyCounts(orgId, lead)).toEqual({ actual: { email: 3, phone: 0, ref: 0 }, kept: { email: 3, phone: 0, ref: 0 }, members: 1 });
    expect((await timeline(api, key, lead)).filter((e) => e.event_type === 'lead.merge_refused')).toHaveLength(37);
  }, 60_000);

  it('races of partial identities under tight limits, 200 rounds: no family ever passes a limit and its counts stay exact', async () => {
    const { orgId } = await api.newOrg();
    const store = api.deps.identities;
    const limits = identityLimits({ email: 2, phone: 1 });
    // Each person types three e-mails and two phones across seven deliveries sent at once: the limits must bind.
    const subsets = [['e0'], ['e1', 'p0'], ['e2'], ['e0', 'p1'], ['e1', 'e2', 'r'], ['p0', 'p1', 'r'], ['e0', 'e1', 'e2', 'p0', 'p1', 'r']];
    let overruns = 0;
    let inexact = 0;
    let refusedLinks = 0;
    const ROUNDS = 200;
    for (let batch = 0; batch < ROUNDS; batch += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const round = batch + i;
        const tag = unique();
        const value = (name: string) => (name.startsWith('e') ? `${name}.${tag}@example.com` : name.startsWith('p') ? `+1415557${String(round).padStart(3, '0')}${name.slice(1)}` : `stripe:cus_${tag}`);
        const nowIso = new Date().toISOString();
        const leads = await Promise.all(subsets.map((subset, s) => resolveLead(store, orgId, {
          emails: subset.filter((n) => n.startsWith('e')).map(value), phones: subset.filter((n) => n.startsWith('p')).map((n) => ({ value: value(n) })),
          refs: subset.includes('r') ? [value('r')] : [],
        }, {
          nowIso, limits, createLeadId: () => `lead_tight_${round}_${s}_${unique()}`,
          onMerged: (merge) => recordLeadMerge(api.deps.events, orgId, merge, Date.now()), onRefused: async () => { refusedLinks++; },
        })));
        for (const live of new Set(await Promise.all(leads.map((lead) => liveLead(store, orgId, lead!))))) {
          const { actual, kept } = await familyCounts(orgId, live);
          if (actual.email > limits.email || actual.phone > limits.phone || actual.ref > limits.ref) overruns++;
          if (JSON.stringify(actual) !== JSON.stringify(kept)) inexact++;
        }
      }));
    }
    console.log(`tight-limit race: ${ROUNDS} rounds, ${overruns} limit overruns, ${inexact} inexact counts, ${refusedLinks} refusals`);
    expect(overruns).toBe(0);
    expect(inexact).toBe(0);
    expect(refusedLinks).toBeGreaterThan(ROUNDS); // the limits did bind
  }, 240_000);
});

describe('a family of any size keeps working (section 8, v1.2; issue #21 point 5)', () => {
  it('1,000 merges and 2,000 provider objects in one family: reads, writes and erasure answer 2xx, and no item grows with it', async () => {
    const { orgId, key } = await api.newOrg();
    const store = api.deps.identities;
    const limits = identityLimits({ ref: 1_000 });
    const root = `lead_root_${unique()}`;
    const nowIso = new Date(Date.now() - 60_000).toISOString();
    await resolveLead(store, orgId, { emails: [], phones: [], refs: [], objects: [`stripe:cs_root_${unique()}`] }, { nowIso, limits, explicitLeadId: root });
    // 1,000 leads, each with a customer ref of its own, each then tied to the root by an event naming both.
    const MEMBERS = 1_000;
    for (let start = 0; start < MEMBERS; start += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const i = start + j;
        const ref = `stripe:cus_m${i}_${unique()}`;
        await resolveLead(store, orgId, { emails: [], phones: [], refs: [ref] }, { nowIso: new Date().toISOString(), limits, explicitLeadId: `lead_m${i}` });
        await resolveLead(store, orgId, { emails: [], phones: [], refs: [ref] }, { nowIso: new Date().toISOString(), limits, explicitLeadId: root });
      }));
    }
    // 2,000 provider objects claimed by the family (as a returning buyer's orders are).
    for (let start = 0; start < 2_000; start += 200) {
      await resolveLead(store, orgId, { emails: [], phones: [], refs: [], objects: Array.from({ length: 200 }, (_, i) => `stripe:pi_${start + i}_${unique()}`) }, {
        nowIso: new Date().toISOString(), limits, explicitLeadId: root,
      });
    }
    const family = await leadFamily(store, orgId, 'lead_m7');
    expect(family.live).toBe(root);
    expect(family.members).toHaveLength(MEMBERS + 1);
    const view = await api.request('GET', `/v1/leads/${root}`, { key });
    expect(view.status, view.text).toBe(200);
    expect(view.body.merged_from).toHaveLength(MEMBERS);
    expect(view.body.identities).toHaveLength(MEMBERS);
    expect((await api.request('GET', `/v1/leads/lead_m999/events?limit=10`, { key })).status).toBe(200);
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent('lead_m3', { email: `late.${unique()}@example.com` }) })).status).toBe(201);
    const biggest = Math.max(...(await controlItemsOf(orgId)).map((item) => JSON.stringify(item).length));
    expect(biggest).toBeLessThan(2_000);
    const erase = await api.request('DELETE', `/v1/leads/${root}`, { key });
    expect(erase.status, erase.text).toBe(202);
  }, 300_000);
});
