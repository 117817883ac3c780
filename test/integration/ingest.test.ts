import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadDomainTypes, leadProcessingTypes } from '../../shared/domain/catalogue.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { domainSamples, processingSamples } from '../support/samples.js';

let api: TestApi;
let key: string;
let orgId: string;

beforeAll(async () => {
  api = await startTestApi();
  ({ key, orgId } = await api.newOrg());
});
afterAll(() => api.close());

const post = (body: unknown, headers?: Record<string, string>) => api.request('POST', '/v1/events', { key, body, ...(headers ? { headers } : {}) });

describe('POST /v1/events', () => {
  it('stores every catalogue type with its fields and answers 201 with the event', async () => {
    for (const type of leadDomainTypes) {
      const res = await post(sampleEvent({ event_type: type, payload: domainSamples[type] }));
      expect(res.status, type).toBe(201);
      expect(res.body.event).toMatchObject({ event_type: type, org_id: orgId, schema_version: '1', payload: domainSamples[type] });
      const got = await api.request('GET', `/v1/events/${res.body.event.id}`, { key });
      expect(got.status).toBe(200);
      expect(got.body.id).toBe(res.body.event.id);
    }
    for (const type of leadProcessingTypes) {
      const res = await post(sampleEvent({ event_type: type, payload: undefined, ...processingSamples[type] }));
      expect(res.status, type).toBe(201);
      expect(res.body.event.timing.duration_ms).toBe(342);
    }
  });

  it('rejects a type without its required fields with 400 problem+json naming each', async () => {
    const res = await post(sampleEvent({ event_type: 'purchase_completed', payload: { product_id: 'p1' } }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, title: expect.any(String), type: expect.stringContaining('invalid-request') });
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      ['payload.amount', 'payload.category', 'payload.currency', 'payload.payment_method', 'payload.product_name'],
    );
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('never trusts org_id or id from the body', async () => {
    const res = await post(sampleEvent({ org_id: 'org_someone_else', id: '00000000-0000-0000-0000-000000000000' }));
    expect(res.status).toBe(201);
    expect(res.body.event.org_id).toBe(orgId);
    expect(res.body.event.id).not.toBe('00000000-0000-0000-0000-000000000000');
  });

  it('absorbs a sequential repeat: 200, idempotent-replayed, the stored event', async () => {
    const body = sampleEvent({ external_event_id: `evt_seq_${Date.now()}`, source: 'stripe', source_type: 'external' });
    const first = await post(body);
    expect(first.status).toBe(201);
    const again = await post({ ...body, payload: { ...(body.payload as object) } });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.event).toEqual(first.body.event);
  });

  it('answers 409 for the same idempotency key with different content', async () => {
    const body = sampleEvent({ external_event_id: `evt_conf_${Date.now()}` });
    expect((await post(body)).status).toBe(201);
    const res = await post({ ...body, payload: { product_id: 'p2', product_name: 'Other', category: 'x' } });
    expect(res.status).toBe(409);
    expect(res.body.type).toContain('idempotency-conflict');
  });

  it('uses the Idempotency-Key header when there is no external id', async () => {
    const idem = `idem-${Date.now()}`;
    const body = sampleEvent();
    const a = await post(body, { 'idempotency-key': idem });
    const b = await post(body, { 'idempotency-key': idem });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.event.id).toBe(a.body.event.id);
    const c = await post(body);
    const d = await post(body);
    expect(c.body.event.id).not.toBe(d.body.event.id);
  });

  it('stores exactly one event for fifty concurrent identical posts', async () => {
    const lead = `lead_conc_${Date.now()}`;
    const body = sampleEvent({ lead_id: lead, external_event_id: `evt_conc_${Date.now()}` });
    const results = await Promise.all(Array.from({ length: 50 }, () => post(body)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => r.body.event.id)).size).toBe(1);
    const timeline = await api.request('GET', `/v1/leads/${lead}/events`, { key });
    expect(timeline.body.items).toHaveLength(1);
  });

  it('keeps a raw_payload over 64 KB through the blob store and returns it inline', async () => {
    const raw = { blob: 'x'.repeat(100 * 1024), nested: { email: 'ana@example.com' } };
    const res = await post(sampleEvent({ raw_payload: raw }));
    expect(res.status).toBe(201);
    const got = await api.request('GET', `/v1/events/${res.body.event.id}`, { key });
    expect(got.body.raw_payload.blob).toHaveLength(100 * 1024);
    expect(got.body.raw_payload.nested.email).toBe('ana@example.com');
  });

  it('answers 413 over 256 KB, 415 for non-JSON, 400 for malformed JSON, and stores nothing', async () => {
    const lead = `lead_bad_${Date.now()}`;
    const big = await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: lead, raw_payload: { x: 'y'.repeat(260 * 1024) } }) });
    expect(big.status).toBe(413);
    const form = await api.request('POST', '/v1/events', { key, rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const broken = await api.request('POST', '/v1/events', { key, rawBody: `{"lead_id":"${lead}",`, headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(broken.body.type).toContain('malformed-json');
    const invalidUtf8 = await api.request('POST', '/v1/events', { key, rawBody: Buffer.from([0x7b, 0xff, 0x7d]), headers: { 'content-type': 'application/json' } });
    expect(invalidUtf8.status).toBe(400);
    for (const res of [big, form, broken, invalidUtf8]) expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key })).body.items).toHaveLength(0);
  });
});

describe('POST /v1/events/batch', () => {
  it('answers per item in input order: created, duplicate, conflict, invalid', async () => {
    const ext = `evt_batch_${Date.now()}`;
    const good = sampleEvent({ external_event_id: ext });
    const res = await api.request('POST', '/v1/events/batch', {
      key,
      body: {
        events: [
          good,
          sampleEvent({ event_type: 'nope' }),
          good,
          { ...good, payload: { product_id: 'other', product_name: 'n', category: 'c' } },
          sampleEvent({ event_type: 'custom.ping', payload: { n: 1 } }),
        ],
      },
    });
    expect(res.status).toBe(200);
    const results = res.body.results;
    expect(results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r: { status: string }) => r.status)).toEqual(['created', 'invalid', 'duplicate', 'conflict', 'created']);
    expect(results[1].problem.errors[0].path).toBe('event_type');
    expect(results[2].id).toBe(results[0].id);
    expect(results[3].problem.status).toBe(409);
    const replay = await api.request('POST', '/v1/events/batch', { key, body: { events: [good] } });
    expect(replay.body.results[0].status).toBe('duplicate');
  });

  it('refuses more than 100 events and a body without events', async () => {
    const many = await api.request('POST', '/v1/events/batch', { key, body: { events: Array.from({ length: 101 }, () => sampleEvent()) } });
    expect(many.status).toBe(400);
    expect(many.body.errors[0].path).toBe('events');
    const none = await api.request('POST', '/v1/events/batch', { key, body: { items: [] } });
    expect(none.status).toBe(400);
    expect(none.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['events', 'items']);
  });
});
