import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signedSample } from '../../infra/local/webhook-samples.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { captureLogs } from '../support/logs.js';

/**
 * Two orgs, every route: the other org's data must look exactly like data that does not exist. Meanwhile
 * every log line the handlers write is captured (Powertools at DEBUG) and scanned for secrets and PII.
 */
let logs: ReturnType<typeof captureLogs>;

let api: TestApi;
let a: { orgId: string; key: string };
let b: { orgId: string; key: string };
const secretA = `whsec_${randomUUID()}`;
const email = `secret.person.${Date.now()}@example.com`;
const phone = '+5511987654321';
let eventId: string;

beforeAll(async () => {
  logs = captureLogs();
  api = await startTestApi();
  a = await api.newOrg();
  b = await api.newOrg();
  await setWebhookSecret(api.deps.webhookSecrets, { orgId: a.orgId, provider: 'stripe', secret: secretA, nowIso: new Date().toISOString() });
  const res = await api.request('POST', '/v1/events', {
    key: a.key,
    body: sampleEvent({ lead_id: 'lead_shared_name', flow_id: 'flow_shared', external_event_id: 'evt_shared', lead_snapshot: { email, phone, first_name: 'Secret' } }),
  });
  eventId = res.body.event.id;
  await api.request('POST', `/v1/webhooks/stripe/${a.orgId}`, signedDelivery(secretA));
});

afterAll(async () => {
  logs.restore();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  await api.close();
});

function signedDelivery(secret: string) {
  const delivery = signedSample('stripe', secret, { email, phone });
  return { rawBody: delivery.body, headers: delivery.headers };
}

describe('tenant isolation matrix', () => {
  it('reads by id, timelines, leads, lists and flows of another org look empty or missing', async () => {
    expect((await api.request('GET', `/v1/events/${eventId}`, { key: a.key })).status).toBe(200);
    expect((await api.request('GET', `/v1/events/${eventId}`, { key: b.key })).status).toBe(404);
    expect((await api.request('GET', '/v1/leads/lead_shared_name/events', { key: b.key })).body).toEqual({ items: [], next_cursor: null });
    expect((await api.request('GET', '/v1/leads/lead_shared_name', { key: b.key })).status).toBe(404);
    expect((await api.request('GET', '/v1/events', { key: b.key })).body.items).toEqual([]);
    expect((await api.request('GET', '/v1/events?type=source.*', { key: b.key })).body.items).toEqual([]);
    expect((await api.request('GET', '/v1/flows/flow_shared/events', { key: b.key })).body.items).toEqual([]);
    expect((await api.request('GET', '/v1/events?flow_id=flow_shared', { key: b.key })).body.items).toEqual([]);
  });

  it("refuses the other org's cursors, and keeps the same external id apart per org", async () => {
    await api.request('POST', '/v1/events/batch', { key: a.key, body: { events: [sampleEvent({ lead_id: 'lead_shared_name' }), sampleEvent({ lead_id: 'lead_shared_name' })] } });
    const page = await api.request('GET', '/v1/leads/lead_shared_name/events?limit=1', { key: a.key });
    expect(page.body.next_cursor).toBeTruthy();
    expect((await api.request('GET', `/v1/leads/lead_shared_name/events?limit=1&cursor=${page.body.next_cursor}`, { key: b.key })).status).toBe(400);
    const list = await api.request('GET', '/v1/events?limit=1', { key: a.key });
    expect((await api.request('GET', `/v1/events?limit=1&cursor=${list.body.next_cursor}`, { key: b.key })).status).toBe(400);
    const same = await api.request('POST', '/v1/events', { key: b.key, body: sampleEvent({ lead_id: 'lead_shared_name', external_event_id: 'evt_shared' }) });
    expect(same.status).toBe(201);
    expect(same.body.event.id).not.toBe(eventId);
    expect(same.body.event.org_id).toBe(b.orgId);
  });

  it("webhook URLs with the other org's id refuse the other org's signature", async () => {
    const forB = await api.request('POST', `/v1/webhooks/stripe/${b.orgId}`, signedDelivery(secretA));
    expect(forB.status).toBe(401);
    const unknown = await api.request('POST', `/v1/webhooks/stripe/org_does_not_exist`, signedDelivery(secretA));
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ ...forB.body, request_id: unknown.body.request_id }); // indistinguishable
  });
});

describe('logs', () => {
  it('never contain API keys, webhook secrets or unmasked PII', async () => {
    await api.request('GET', '/v1/leads/x/events', { key: `${a.key}x` }); // a rejected key is logged about, never logged
    await api.request('POST', '/v1/events', { key: a.key, body: { lead_id: email, event_type: 'nope', payload: { phone } } });
    const text = logs.lines.join('');
    expect(text.length).toBeGreaterThan(0); // the handlers did log (DEBUG), so the scan means something
    // the secret part is base64url and may itself hold '_' (llk_<id>_<secret>), so cut after the second '_' only
    const secretPart = a.key.slice(a.key.indexOf('_', 'llk_'.length) + 1);
    expect(secretPart.length).toBeGreaterThan(20);
    for (const secret of [a.key, b.key, secretPart, secretA]) expect(text).not.toContain(secret);
    expect(text).not.toContain(email);
    expect(text).not.toContain(phone);
  });
});
