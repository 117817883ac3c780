import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErasureRunner } from '../../infra/local/job-runner.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { signTypeform, typeformResponse } from '../../infra/local/webhook-samples.js';
import { createErasureDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { maskId } from '../../shared/domain/masking.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { apiEvent, timeline, unique } from '../support/leads.js';
import { controlItemsOf } from '../support/control-table.js';

/**
 * Identity you can trust (contract section 8 v1.2, section 4's lead-id hints; issue #21 points 1 and 2), end to end
 * against DynamoDB Local: a hint never merges (the form respondent of the issue, then an erasure of the hinted lead),
 * and junk values never link or merge (a placeholder shared by 1,000 leads, the org's own list).
 */
let api: TestApi;
const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-identity-'));
const archive = new LocalArchive({ dir: archiveDir });
const bus = new LocalBus({ rules: [] });

beforeAll(async () => {
  api = await startTestApi();
  await archive.start();
});
afterAll(async () => {
  await archive.stop();
  await api.close();
});

const person = (name: string) => ({ email: `${name}.${unique()}@example.com`, phone: `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` });


describe('a lead id carried by a payload is a hint: it never merges (section 4, v1.2)', () => {
  it("the form respondent: Bob's link with Alice's e-mail lands on Alice, the two stay apart, and erasing Bob leaves Alice", async () => {
    const { orgId, key } = await api.newOrg();
    const secret = `typeform_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'typeform', secret, nowIso: new Date().toISOString() });
    const submit = async (who: { email: string; phone: string }, leadId?: string) => {
      const body = JSON.stringify(typeformResponse(who, leadId ? { leadId } : {}));
      const res = await api.request('POST', `/v1/webhooks/typeform/${orgId}`, { rawBody: body, headers: signTypeform(body, secret) });
      expect(res.status, res.text).toBe(200);
      return res.body.lead_id as string;
    };
    const [alice, bob] = [person('alice'), person('bob')];
    const aliceLead = await submit(alice);
    const bobLead = await submit(bob);
    expect(aliceLead).not.toBe(bobLead);

    // The form opened as …#lead_id=<Bob's lead>, Alice's e-mail (and phone) typed in.
    expect(await submit(alice, bobLead)).toBe(aliceLead);
    for (const lead of [aliceLead, bobLead]) {
      const view = await api.request('GET', `/v1/leads/${lead}`, { key });
      expect(view.body.merged_into).toBeUndefined();
      expect(view.body.merged_from).toEqual([]);
    }
    const reader = await api.keyFor(orgId, ['events:read']);
    const refused = (await timeline(api, reader, aliceLead)).filter((event) => event.event_type === 'lead.merge_refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.payload).toMatchObject({ reason: 'hint', other_lead_id: bobLead });
    expect(JSON.stringify(refused[0]!.payload)).not.toContain(alice.email); // masked like any event without pii:read
    expect((await timeline(api, key, aliceLead)).find((event) => event.event_type === 'lead.merge_refused')!.payload)
      .toEqual({ identity: { email: alice.email }, reason: 'hint', other_lead_id: bobLead });
    expect((await timeline(api, key, bobLead)).map((event) => event.event_type)).toEqual(['form_submitted']);

    // Erasing Bob erases Bob's family only.
    const erased = await api.request('DELETE', `/v1/leads/${bobLead}`, { key });
    expect(erased.status, erased.text).toBe(202);
    const runner = new ErasureRunner(createErasureDependencies(loadConfig(), { bus, archive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox: new FileInboxObjects(join(archiveDir, 'inbox')) }), { only: api.ownOrg });
    const deadline = Date.now() + 30_000;
    let answer: { body: Record<string, unknown> };
    do {
      await runner.tick();
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await api.request('GET', `/v1/erasures/${erased.body.erasure_id}`, { key });
    } while (answer.body.status !== 'completed' && Date.now() < deadline);
    expect(answer!.body).toMatchObject({ status: 'completed', leads: [maskId(bobLead)] });
    expect((await api.request('GET', `/v1/leads/${bobLead}`, { key })).status).toBe(404);
    const aliceView = await api.request('GET', `/v1/leads/${aliceLead}`, { key });
    expect(aliceView.status, aliceView.text).toBe(200);
    expect(aliceView.body.identities).toContainEqual({ kind: 'email', value: alice.email });
    expect((await timeline(api, key, aliceLead)).filter((event) => event.event_type === 'form_submitted')).toHaveLength(2);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(alice.email)}`, { key })).body.items.map((l: { lead_id: string }) => l.lead_id)).toEqual([aliceLead]);
  });

  it('is followed when no identity of the delivery belongs to another lead', async () => {
    const { orgId, key } = await api.newOrg();
    const secret = `typeform_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'typeform', secret, nowIso: new Date().toISOString() });
    const body = JSON.stringify(typeformResponse(person('carol'), { leadId: 'lead_from_form' }));
    const res = await api.request('POST', `/v1/webhooks/typeform/${orgId}`, { rawBody: body, headers: signTypeform(body, secret) });
    expect(res.body.lead_id).toBe('lead_from_form');
    expect((await timeline(api, key, 'lead_from_form')).map((event) => event.event_type)).toEqual(['form_submitted']);
  });
});

describe('hidden fields are the link owner\'s, not the respondent\'s (section 4, v1.2)', () => {
  it("a Typeform opened as …#email=<Bob's>&phone=<Bob's> with Alice's own e-mail typed in: Alice's, no merge; with nothing typed: Bob's (red team)", async () => {
    const { orgId, key } = await api.newOrg();
    const secret = `typeform_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'typeform', secret, nowIso: new Date().toISOString() });
    const [alice, bob] = [person('alice'), person('bob')];
    for (const [lead, who] of [[`lead_alice_${unique()}`, alice], [`lead_bob_${unique()}`, bob]] as const) {
      expect((await api.request('POST', '/v1/events', { key, body: apiEvent(lead, who) })).status).toBe(201);
    }
    const submit = async (typed: Partial<{ email: string; phone: string }>) => {
      const form = typeformResponse({ email: typed.email ?? '', phone: typed.phone ?? '' });
      const response = form.form_response as { hidden: Record<string, string>; answers: { type: string }[] };
      response.answers = response.answers.filter((answer) => (answer.type === 'email' ? typed.email : answer.type === 'phone_number' ? typed.phone : true));
      Object.assign(response.hidden, { email: bob.email, phone: bob.phone });
      const body = JSON.stringify(form);
      const res = await api.request('POST', `/v1/webhooks/typeform/${orgId}`, { rawBody: body, headers: signTypeform(body, secret) });
      expect(res.status, res.text).toBe(200);
      return res.body.lead_id as string;
    };
    const aliceLead = (await api.request('GET', `/v1/leads?email=${encodeURIComponent(alice.email)}`, { key })).body.items[0].lead_id;
    const bobLead = (await api.request('GET', `/v1/leads?email=${encodeURIComponent(bob.email)}`, { key })).body.items[0].lead_id;
    expect(await submit({ email: alice.email })).toBe(aliceLead);
    expect(await submit({ phone: alice.phone })).toBe(aliceLead);
    for (const lead of [aliceLead, bobLead]) {
      const view = (await api.request('GET', `/v1/leads/${lead}`, { key })).body;
      expect([view.merged_into, view.merged_from]).toEqual([undefined, []]);
    }
    // Nobody typed anything: the personalised link names its owner.
    expect(await submit({})).toBe(bobLead);
  });
});

describe('junk values never link or merge (section 8, v1.2)', () => {
  it('a placeholder e-mail and phone shared by 1,000 leads: 1,000 leads, no merge, no claim, no item grows', async () => {
    const { orgId, key } = await api.newOrg();
    const tag = unique();
    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => apiEvent(`junk_${tag}_${batch * 100 + i}`, { email: 'Test@Test.com', phone: '+1 415 555 0142' }));
      const res = await api.request('POST', '/v1/events/batch', { key, body: { events } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.results.every((result: { status: string }) => result.status === 'created')).toBe(true);
    }
    const found = await api.deps.identities.find(orgId, ['email:test@test.com', 'phone:+14155550142']);
    expect(found.size).toBe(0);
    expect((await api.request('GET', '/v1/leads?email=test%40test.com', { key })).body.items).toEqual([]);
    for (const i of [0, 1, 500, 999]) {
      const view = await api.request('GET', `/v1/leads/junk_${tag}_${i}`, { key });
      expect(view.body).toMatchObject({ lead_id: `junk_${tag}_${i}`, merged_from: [], identities: [] });
      expect(view.body.merged_into).toBeUndefined();
      expect((await timeline(api, key, `junk_${tag}_${i}`)).map((event) => event.event_type)).toEqual(['custom.seen']);
    }
    // The control table holds nothing that grew with the 1,000 (no profile, no identity item; the API key's items only).
    const items = await controlItemsOf(orgId);
    expect(items.length).toBeLessThan(10);
    for (const item of items) expect(JSON.stringify(item).length).toBeLessThan(2_000);
    // The values stay in the events.
    expect(JSON.stringify(await timeline(api, key, `junk_${tag}_7`))).toContain('Test@Test.com');
  }, 120_000);

  it("the org's own list (PUT/GET /v1/settings/identity, scope admin): listed values stop linking, and a claim made before is refused", async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read', 'events:write']);
    const shared = `front.desk.${unique()}@acme.com`;
    // Before the value is listed: two leads naming it are merged (v1.1).
    expect((await api.request('POST', '/v1/events', { key, body: apiEvent('before_a', { email: shared }) })).status).toBe(201);
    expect((await api.request('GET', '/v1/settings/identity', { key })).body).toEqual({ ignore: [], limits: { email: 5, phone: 5, ref: 50 } });
    expect((await api.request('PUT', '/v1/settings/identity', { key: reader, body: { ignore: [shared] } })).status).toBe(403);
    const bad = await api.request('PUT', '/v1/settings/identity', { key, body: { ignore: ['not a value', '11 91234-5678'] } });
    expect(bad.status).toBe(400);
    const put = await api.request('PUT', '/v1/settings/identity', { key, body: { ignore: [shared.toUpperCase(), '+55 11 91234-5678'] } });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ ignore: ['+5511912345678', shared] });
    expect((await api.request('GET', '/v1/settings/identity', { key })).body).toEqual(put.body);

    for (const lead of ['after_b', 'after_c']) {
      expect((await api.request('POST', '/v1/events', { key, body: apiEvent(lead, { email: shared, phone: '+5511912345678' }) })).status).toBe(201);
      const view = await api.request('GET', `/v1/leads/${lead}`, { key });
      expect(view.body.merged_into).toBeUndefined();
      expect(view.body.merged_from).toEqual([]);
      const refused = (await timeline(api, key, lead)).filter((event) => event.event_type === 'lead.merge_refused');
      expect(refused.map((event) => event.payload)).toEqual([{ identity: { email: shared }, reason: 'junk', other_lead_id: 'before_a' }]);
    }
    expect((await api.deps.identities.find(orgId, ['phone:+5511912345678'])).size).toBe(0);
    // Another org's identities are its own business: the same value still links there.
    const other = await api.newOrg();
    for (const lead of ['x', 'y']) await api.request('POST', '/v1/events', { key: other.key, body: apiEvent(lead, { email: shared }) });
    expect((await api.request('GET', '/v1/leads/y', { key: other.key })).body.merged_into ?? (await api.request('GET', '/v1/leads/x', { key: other.key })).body.merged_into).toBeDefined();
  });
});
