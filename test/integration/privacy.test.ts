import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { createFanoutDependencies } from '../../shared/adapters/container.js';
import { loadConfig } from '../../shared/config.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

const MISSING_EVENT_ID = '00000000-0000-4000-8000-000000000000';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe('privacy settings (section 9)', () => {
  it("masks an org's own key names as names from then on: in reads without pii:read and on the bus", async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const body = sampleEvent({ lead_id: `lead_priv_${Date.now()}`, event_type: 'custom.profile', payload: { nickName: 'Aninha', apelido: 'Nina', note: 'mail ana@example.com' } });
    const posted = await api.request('POST', '/v1/events', { key, body });
    const read = () => api.request('GET', `/v1/events/${posted.body.event.id}`, { key: reader });
    expect((await read()).body.payload).toEqual({ nickName: 'Aninha', apelido: 'Nina', note: 'mail a***@example.com' });

    const put = await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['nickname', 'nick-name', 'Apelido'] } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.pii_keys).toEqual(['apelido', 'nick_name', 'nickname']);
    expect((await api.request('GET', '/v1/settings/privacy', { key })).body.pii_keys).toEqual(['apelido', 'nick_name', 'nickname']);
    expect((await read()).body.payload).toEqual({ nickName: 'A***', apelido: 'N***', note: 'mail a***@example.com' });

    const bus = new LocalBus({ rules: [{ id: 'all', description: 'every event', pattern: { source: ['leadlog'] } }] });
    const seen: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === orgId && seen.push(d));
    const deps = createFanoutDependencies(loadConfig(), { bus });
    await new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus, maskOptions: deps.maskOptions }), batchSize: 1000 }).drain();
    expect(seen.map((d) => d.event.detail.payload)).toContainEqual({ nickName: 'A***', apelido: 'N***', note: 'mail a***@example.com' });
  });

  it('refuses what is not a key-name list, and keys without the admin scope', async () => {
    const { orgId, key } = await api.newOrg();
    const bad = await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['ok', '', 42, 'a/b'], other: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['other', 'pii_keys[1]', 'pii_keys[2]', 'pii_keys[3]']);
    const writer = await api.keyFor(orgId, ['events:write', 'events:read', 'pii:read']);
    expect((await api.request('GET', '/v1/settings/privacy', { key: writer })).status).toBe(403);
  });
});

describe('the audit trail (section 9)', () => {
  it('records every answer that carried unmasked PII, settings changes and remaps; none for masked reads; newest first, paged', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const piiReader = await api.keyFor(orgId, ['events:read', 'pii:read']);
    const posted = await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: 'lead_audit', payload: { product_id: 'p', product_name: 'n', category: 'c', email: 'ana@example.com' } }) });
    const id = posted.body.event.id;
    expect((await api.request('GET', `/v1/events/${id}`, { key: reader })).status).toBe(200); // masked: not audited
    expect((await api.request('GET', `/v1/events/${id}`, { key: piiReader })).status).toBe(200);
    expect((await api.request('GET', '/v1/leads/lead_audit/events', { key: piiReader })).status).toBe(200);
    expect((await api.request('GET', `/v1/events/${MISSING_EVENT_ID}`, { key: piiReader })).status).toBe(404); // no answer, no record
    expect((await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['apelido'] } })).status).toBe(200);
    expect((await api.request('POST', '/v1/webhooks/remap', { key, body: {} })).status).toBe(200);

    const audit = await api.request('GET', '/v1/audit?limit=2', { key });
    expect(audit.status, audit.text).toBe(200);
    const all = [...audit.body.items];
    let cursor = audit.body.next_cursor;
    while (cursor) {
      const page = await api.request('GET', `/v1/audit?limit=2&cursor=${cursor}`, { key });
      all.push(...page.body.items);
      cursor = page.body.next_cursor;
    }
    expect(all.map((e: { action: string }) => e.action)).toEqual(['webhooks.remap', 'settings.update', 'pii.read', 'pii.read']);
    expect(all.map((e: { resource: string }) => e.resource)).toEqual(['/v1/webhooks/remap', '/v1/settings/privacy', '/v1/leads/lead_audit/events', `/v1/events/${id}`]);
    for (const entry of all) expect(Object.keys(entry).sort()).toEqual(['action', 'at', 'key_id', 'request_id', 'resource']);
    expect(JSON.stringify(all)).not.toContain('ana@example.com');
    expect((await api.request('GET', '/v1/audit', { key: piiReader })).status).toBe(403);
    expect((await api.request('GET', '/v1/audit?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', { key })).status).toBe(400); // over 400 days
  });
});
