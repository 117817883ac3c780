import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signStripe, stripeCheckoutCompleted } from '../../infra/local/webhook-samples.js';
import { eventIdFor } from '../../shared/domain/ids.js';
import { leadconduitFixtures } from '../fixtures/leadconduit/validator.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const ROUTE = '/v1/integrations/leadconduit/events';
const fixtures = leadconduitFixtures();
const names = Object.keys(fixtures);
/** The lead that has the source, filter-continue, recipient, retry and feedback events. */
const MAIN_LEAD = '6932ff00a1b2c3d4e5f60718';

/** The fixtures for one org, with a fresh e-mail and phone per lead so orgs and runs never share an identity. */
function freshFixtures() {
  const suffix = randomUUID().slice(0, 8);
  const email = `joe.${suffix}@example.com`;
  const phones = new Map<string, string>();
  const copy: Record<string, Record<string, any>> = structuredClone(fixtures);
  for (const event of Object.values(copy)) {
    const lead = event.vars.lead;
    const own = lead.id === MAIN_LEAD ? email : `other.${suffix}.${String(lead.id).slice(-4)}@example.com`;
    if (!phones.has(lead.id)) phones.set(lead.id, `512${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`);
    lead.email = { ...lead.email, normal: own, raw: own };
    lead.phone_1 = { ...lead.phone_1, normal: phones.get(lead.id) };
    delete lead.phone_2;
    delete lead.phone_3;
  }
  return { events: copy, email };
}

async function post(key: string, body: unknown) {
  return api.request('POST', ROUTE, { key, body });
}

describe('POST /v1/integrations/leadconduit/events', () => {
  it('every fixture posted singly: created, then a replay of each is a duplicate with the same id', async () => {
    const { key } = await api.newOrg();
    const { events } = freshFixtures();
    for (const name of names) {
      const first = await post(key, events[name]);
      expect(first.status, name).toBe(200);
      expect(first.body.results, name).toEqual([{ index: 0, status: 'created', id: expect.any(String) }]);
      const again = await post(key, events[name]);
      expect(again.body.results, name).toEqual([{ index: 0, status: 'duplicate', id: first.body.results[0].id }]);
    }
  });

  it('every fixture as one array: the lead\'s timeline in LeadConduit\'s order, types and outcomes as section 12 maps them', async () => {
    const { key } = await api.newOrg();
    const { events } = freshFixtures();
    const res = await post(key, names.map((name) => events[name]));
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(names.map(() => 'created'));
    expect(res.body.results.map((r: { index: number }) => r.index)).toEqual(names.map((_, i) => i));

    const timeline = await api.request('GET', `/v1/leads/${MAIN_LEAD}/events?limit=100`, { key });
    expect(timeline.status).toBe(200);
    const seen = timeline.body.items.map((e: { event_type: string; outcome: string }) => `${e.event_type}/${e.outcome}`);
    // source (T0) → filter and first recipient (both T0+40: LeadConduit's id order) → the rest by start_timestamp.
    expect(seen).toEqual([
      'source.accepted/success', 'filter.passed/success', 'recipient.delivered/success', 'recipient.failed/failure', 'recipient.error/error',
      'recipient.skipped/skip', 'retry.attempted/success', 'feedback.received/success', 'feedback.sent/success',
    ]);
    const byType = Object.fromEntries(timeline.body.items.map((e: Record<string, unknown>) => [e.event_type, e]));
    expect(byType['recipient.delivered']).toMatchObject({ source: 'leadconduit', source_type: 'external', entity_id: '63cc6f0e55254d7d1c4c3037', flow_id: '5fd4371e940df5a34a3888b2' });
    expect(byType['feedback.received'].payload.related_event_id).toBe(byType['recipient.delivered'].id);
    for (const [stop, lead] of [['filter.failed/failure', '6932ff3ca1b2c3d4e5f60719'], ['filter.error/error', '6932ff78a1b2c3d4e5f6071a']]) {
      const other = await api.request('GET', `/v1/leads/${lead}/events`, { key });
      expect(other.body.items.map((e: { event_type: string; outcome: string }) => `${e.event_type}/${e.outcome}`)).toContain(stop);
    }
  });

  it('credentials redacted in what is stored (GET /v1/events/{id}/raw); PII masked for a key without pii:read', async () => {
    const { orgId, key } = await api.newOrg();
    const { events, email } = freshFixtures();
    const res = await post(key, [events['recipient-success'], events['feedback-sent']]);
    const [recipient, feedback] = res.body.results.map((r: { id: string }) => r.id);
    const raw = await api.request('GET', `/v1/events/${recipient}/raw`, { key });
    expect(raw.status).toBe(200);
    expect(raw.body.transactions[0].request.headers).toMatchObject({ Cookie: '[redacted]', 'proxy-authorization': '[redacted]' });
    expect(raw.body.credential).toBe('[redacted]');
    for (const secret of ['tok_live_9a8b7c6d5e4f', 'buyer_sid', 'cHJveHk6cHJveHk=', 'partner-key-55']) expect(raw.text).not.toContain(secret);
    // Nothing else is changed: the body as LeadConduit sent it, with the person's data (this key has pii:read).
    expect(raw.body.transactions[0].request.body).toContain('phone_1=5127891111');
    const readOnly = await api.keyFor(orgId, ['events:read']);
    for (const id of [recipient, feedback]) {
      const masked = await api.request('GET', `/v1/events/${id}`, { key: readOnly });
      expect(masked.status).toBe(200);
      for (const leak of [email, email.replace('@', '%40'), '5127891111', '123 Main', '123+Main', '123-45-6789', '1984-03-07']) expect(masked.text, leak).not.toContain(leak);
      expect(masked.body.lead_snapshot.phone_1.normal).toMatch(/^512\*+$/);
    }
  });

  it('credentials in a posting\'s URL, its other headers and its bodies are not stored (red team #23): the raw read and every read lack them', async () => {
    const { orgId, key } = await api.newOrg();
    const event = freshFixtures().events['recipient-success']!;
    const tx = event.transactions[0];
    tx.request.uri = 'https://buyer:s3cr3t_live_1@10.1.2.3/post?api_key=AK_live_2&key=K_live_3&phone_1=5127891111';
    tx.request.headers = { ...tx.request.headers, 'Content-Type': 'application/json', 'X-Auth-Token': 'XAT_live_4' };
    tx.request.body = '{"phone_1":"5127891111","password":"PW_live_5"}';
    tx.response.headers = { 'content-type': 'application/x-www-form-urlencoded' };
    tx.response.body = 'status=ok&session_token=ST_live_6';
    const res = await post(key, event);
    expect(res.body.results[0].status).toBe('created');
    const id = res.body.results[0].id;
    const readOnly = await api.keyFor(orgId, ['events:read']);
    const reads = [
      await api.request('GET', `/v1/events/${id}/raw`, { key }),
      await api.request('GET', `/v1/events/${id}`, { key }),
      await api.request('GET', `/v1/events/${id}`, { key: readOnly }),
    ];
    for (const read of reads) {
      expect(read.status).toBe(200);
      for (const secret of ['s3cr3t_live_1', 'AK_live_2', 'K_live_3', 'XAT_live_4', 'PW_live_5', 'ST_live_6']) expect(read.text, secret).not.toContain(secret);
    }
    expect(reads[0]!.body.transactions[0].request.uri).toBe('https://[redacted]@10.1.2.3/post?api_key=[redacted]&key=[redacted]&phone_1=5127891111');
  });

  it('identities: a LeadConduit lead and a Stripe purchase of the same e-mail share one timeline', async () => {
    const { orgId, key } = await api.newOrg();
    const { events, email } = freshFixtures();
    const secret = `stripe_secret_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    expect((await post(key, events['recipient-success'])).body.results[0].status).toBe('created');
    const body = JSON.stringify(stripeCheckoutCompleted({ email: email.toUpperCase(), phone: '+5511987654321' }));
    const delivered = await api.request('POST', `/v1/webhooks/stripe/${orgId}`, { rawBody: body, headers: signStripe(body, secret) });
    expect(delivered.status).toBe(200);
    const timeline = await api.request('GET', `/v1/leads/${MAIN_LEAD}/events`, { key });
    expect(timeline.body.items.map((e: { source: string; event_type: string }) => `${e.source}:${e.event_type}`).sort())
      .toEqual(['leadconduit:recipient.delivered', 'stripe:purchase_completed']);
    const lookup = await api.request('GET', `/v1/leads?email=${encodeURIComponent(email)}`, { key });
    expect(lookup.body.items.map((l: { lead_id: string }) => l.lead_id)).toEqual([MAIN_LEAD]);
  });

  it('a 1.5 MB event and a non-event are invalid, naming why, while the others are created; nothing of them is stored', async () => {
    const { key } = await api.newOrg();
    const { events } = freshFixtures();
    const huge = structuredClone(events['filter-error']!);
    huge.vars.lead.comments = { normal: 'z'.repeat(1_500_000), raw: '', valid: true };
    const notAnEvent = { hello: 'world', vars: { lead: {} } };
    const res = await post(key, [events['source-success'], huge, notAnEvent, events['filter-continue']]);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'invalid', 'invalid', 'created']);
    expect(res.body.results[1].problem.detail).toMatch(/at most 1048576 bytes/);
    const paths = res.body.results[2].problem.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['id', 'type', 'vars.lead.id']));
    const stored = await api.request('GET', '/v1/events?source=leadconduit&from=2025-12-01T00:00:00Z&to=2025-12-31T00:00:00Z', { key });
    expect(stored.body.items.map((e: { event_type: string }) => e.event_type).sort()).toEqual(['filter.passed', 'source.accepted']);
  });

  it('an event near 1 MB is stored whole (claim-checked) and reads back whole', async () => {
    const { key } = await api.newOrg();
    const { events } = freshFixtures();
    const big = structuredClone(events['filter-continue']!);
    big.vars.lead.comments = { normal: 'long note '.repeat(90_000), raw: '', valid: true };
    const res = await post(key, big);
    expect(res.body.results[0].status).toBe('created');
    const read = await api.request('GET', `/v1/events/${res.body.results[0].id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body.raw_payload.vars.lead.comments.normal.length).toBe(900_000);
    expect(read.body.payload.leadconduit.omitted).toEqual(['lead_snapshot']);
    expect(read.body).not.toHaveProperty('lead_snapshot');
  });

  it('the same LeadConduit id with other content: the first copy stands, answered duplicate with a problem', async () => {
    const { key } = await api.newOrg();
    const { events } = freshFixtures();
    const first = await post(key, events['recipient-failure']);
    const changed = { ...events['recipient-failure'], reason: 'Another reason' };
    const again = await post(key, changed);
    expect(again.body.results[0]).toMatchObject({ status: 'duplicate', id: first.body.results[0].id, problem: { status: 409 } });
    const read = await api.request('GET', `/v1/events/${first.body.results[0].id}`, { key });
    expect(read.body.reason).toBe('Duplicate lead');
  });

  it('a body that is neither an event nor an array of events is a 400; more than 100 too; odd content types refused', async () => {
    const { key } = await api.newOrg();
    for (const body of ['a string', 42, null, [], Array.from({ length: 101 }, () => ({}))]) {
      const res = await post(key, body);
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const form = await api.request('POST', ROUTE, { key, rawBody: 'id=1&type=source', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const lone = await api.request('POST', ROUTE, { key, rawBody: `{"id":"693301800a0b0c0d0e0f00ff","type":"source","outcome":"success","vars":{"lead":{"id":"x","note":"\\ud800"}}}`, headers: { 'content-type': 'application/json' } });
    expect([200, 400]).toContain(lone.status);
    if (lone.status === 200) expect(lone.body.results[0].status).toBe('invalid');
  });

  it('scopes: events:write to post, events:read for the status; another org never sees the events', async () => {
    const { key } = await api.newOrg();
    const other = await api.newOrg();
    const readOnly = await api.keyFor((await api.newOrg()).orgId, ['events:read']);
    const { events } = freshFixtures();
    expect((await post(readOnly, events['source-success'])).status).toBe(403);
    const res = await post(key, events['source-success']);
    const id = res.body.results[0].id;
    expect((await api.request('GET', `/v1/events/${id}`, { key: other.key })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/${MAIN_LEAD}/events`, { key: other.key })).body.items).toEqual([]);
    // The same LeadConduit event in another org is that org's own event (its own id).
    const theirs = await post(other.key, events['source-success']);
    expect(theirs.body.results[0]).toMatchObject({ status: 'created', id: eventIdFor(other.orgId, 'leadconduit', events['source-success']!.id) });
    expect(theirs.body.results[0].id).not.toBe(id);
  });
});

describe('GET /v1/integrations/leadconduit/status', () => {
  it('counts what the API stored, cumulative; inbox and pull start empty', async () => {
    const { orgId, key } = await api.newOrg();
    const empty = await api.request('GET', '/v1/integrations/leadconduit/status', { key });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      api: { created: 0, duplicate: 0, invalid: 0 },
      inbox: { created: 0, duplicate: 0, invalid: 0, last_key: null, last_error: null },
      pull: { created: 0, duplicate: 0, invalid: 0, after_id: null, last_run_at: null, last_error: null },
    });
    const { events } = freshFixtures();
    await post(key, [events['source-success'], events['filter-continue'], { nope: true }]);
    await post(key, [events['source-success']]);
    await api.deps.leadconduitStatus.mark(orgId, 'pull', { after_id: '693301800a0b0c0d0e0f0010', last_run_at: '2026-12-06T08:00:00.000Z', last_error: 'LeadConduit refused the key for ana@example.com' });
    const status = await api.request('GET', '/v1/integrations/leadconduit/status', { key: await api.keyFor(orgId, ['events:read']) });
    expect(status.body.api).toEqual({ created: 2, duplicate: 1, invalid: 1 });
    expect(status.body.pull).toMatchObject({ after_id: '693301800a0b0c0d0e0f0010', last_run_at: '2026-12-06T08:00:00.000Z', last_error: 'LeadConduit refused the key for a***@example.com' });
    await api.deps.leadconduitStatus.mark(orgId, 'pull', { last_error: null });
    expect((await api.request('GET', '/v1/integrations/leadconduit/status', { key })).body.pull.last_error).toBeNull();
    expect((await api.request('GET', '/v1/integrations/leadconduit/status', { key: (await api.newOrg()).key })).body.api).toEqual({ created: 0, duplicate: 0, invalid: 0 });
  });
});
