import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

/** Contract section 3, "Input that cannot hurt", over the real local API: the request boundary. */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

/** A JSON body whose text carries `\ud800` escapes: JSON.stringify would write them the same way. */
const withLoneSurrogate = (body: Record<string, unknown>) => JSON.stringify(body).replaceAll('LONE', '\\ud800');

describe('strings and ids at the boundary', () => {
  it('a lone surrogate in external_event_id, lead_id, reason or a payload key is a 400 naming each field, never a 500', async () => {
    const { key } = await api.newOrg();
    const rawBody = withLoneSurrogate(sampleEvent({ external_event_id: 'evLONE', lead_id: 'leadLONE', outcome: 'failure', reason: 'LONE', payload: { product_id: 'p1', product_name: 'C', category: 'c', 'kLONE': 1 } }));
    const res = await api.request('POST', '/v1/events', { key, rawBody, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['external_event_id', 'lead_id', 'payload.k\ufffd', 'reason']);
  });

  it('ids over 255 characters or with control characters are a 400 naming the field', async () => {
    const { key } = await api.newOrg();
    const res = await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: 'l'.repeat(3_000), flow_id: 'a\u0000b', step_id: 's'.repeat(256) }) });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['flow_id', 'lead_id', 'step_id']);
  });
});

describe('path parameters, decoded once on every route', () => {
  for (const leadId of ['José Silva', 'a/b#c%d?e', 'lead 😀 emoji', '100%25 literal']) {
    it(`the lead '${leadId}' is read, listed and erased by its percent-encoded id`, async () => {
      const { key } = await api.newOrg();
      expect((await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: leadId }) })).status).toBe(201);
      const path = `/v1/leads/${encodeURIComponent(leadId)}`;
      const lead = await api.request('GET', path, { key });
      expect(lead.status).toBe(200);
      const timeline = await api.request('GET', `${path}/events`, { key });
      expect(timeline.status).toBe(200);
      expect(timeline.body.items.map((e: { lead_id: string }) => e.lead_id)).toEqual([leadId]);
      const erased = await api.request('DELETE', path, { key });
      expect(erased.status, erased.text).toBe(202);
    });
  }

  it('/v1/leads/Jos%C3%A9%20Silva is the lead José Silva', async () => {
    const { key } = await api.newOrg();
    await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: 'José Silva' }) });
    const res = await api.request('GET', '/v1/leads/Jos%C3%A9%20Silva/events', { key });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
  });

  it('malformed encoding, an encoded lone surrogate, ids over 1,024 bytes or the id rule: 400 on every route, never a 500', async () => {
    const { key } = await api.newOrg();
    const long = encodeURIComponent('é'.repeat(600));
    for (const segment of ['%E0%A4%A', '%ED%A0%80', '%FF', long, 'l'.repeat(3_000), '%00x']) {
      for (const [method, path] of [['GET', `/v1/leads/${segment}`], ['GET', `/v1/leads/${segment}/events`], ['DELETE', `/v1/leads/${segment}`], ['GET', `/v1/flows/${segment}/events`]] as const) {
        const res = await api.request(method, path, { key });
        expect(res.status, `${method} ${path.slice(0, 60)}`).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(res.body.errors[0].path).toMatch(/^(lead_id|flow_id)$/);
      }
      const event = await api.request('GET', `/v1/events/${segment}`, { key });
      expect(event.status, `GET /v1/events/${segment.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
      expect(event.status).toBeLessThan(500);
    }
  });

  it('the local file route answers a malformed key with a 4xx, not a 500', async () => {
    for (const path of ['/_files/%E0%A4%A', '/_files/%ED%A0%80?expires=1&signature=x']) {
      const res = await fetch(api.url + path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
  });
});

describe('a batch tells exactly what it stored', () => {
  it('an invalid or oversized item is its own `invalid` result, never a 5xx, and nothing unreported is stored', async () => {
    const { key } = await api.newOrg();
    const big = 'x'.repeat(300 * 1024);
    const events = [
      sampleEvent({ lead_id: 'batch_lead', external_event_id: 'ev_1' }),
      sampleEvent({ lead_id: 'batch_lead', external_event_id: 'ev_LONE' }),
      sampleEvent({ lead_id: 'batch_lead', external_event_id: 'ev_big', payload: { product_id: 'p', product_name: 'n', category: 'c', note: big } }),
      sampleEvent({ lead_id: 'batch_lead', external_event_id: 'ev_4', step_id: 's'.repeat(3_000) }),
      sampleEvent({ lead_id: 'batch_lead', external_event_id: 'ev_5' }),
    ];
    const res = await api.request('POST', '/v1/events/batch', { key, rawBody: withLoneSurrogate({ events }), headers: { 'content-type': 'application/json' } });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'invalid', 'invalid', 'invalid', 'created']);
    expect(res.body.results[2].problem.errors[0].message).toMatch(/at most 262144 bytes/);
    const stored = await api.request('GET', '/v1/leads/batch_lead/events', { key });
    expect(stored.body.items.map((e: { external_event_id: string }) => e.external_event_id).sort()).toEqual(['ev_1', 'ev_5']);
  });
});

describe('every time range is bounded', () => {
  const soon = () => new Date(Date.now() + 60_000).toISOString();
  it('a replay dry run to year 9999 is a 400 naming `to`, at once', async () => {
    const { key } = await api.newOrg();
    const started = Date.now();
    const res = await api.request('POST', '/v1/replays', { key, body: { from: '2026-01-01T00:00:00Z', to: '9999-12-31T00:00:00Z', dry_run: true } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('to');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a re-map to year 9999 or from 1990 is a 400 naming the field (it queried every day up to 9999, stalling other tenants)', async () => {
    const { key } = await api.newOrg();
    const future = await api.request('POST', '/v1/webhooks/remap', { key, body: { from: '2026-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z' } });
    expect(future.status).toBe(400);
    expect(future.body.errors.map((e: { path: string }) => e.path)).toContain('to');
    const long = await api.request('POST', '/v1/webhooks/remap', { key, body: { from: '1990-01-01T00:00:00Z' } });
    expect(long.status).toBe(400);
    expect(long.body.errors.map((e: { path: string }) => e.path)).toEqual(['from']);
    expect((await api.request('POST', '/v1/webhooks/remap', { key, body: {} })).status).toBe(200);
  });

  it('replays and exports refuse a range longer than the maximum, naming `from`, and accept a `to` within 5 minutes', async () => {
    const { key } = await api.newOrg();
    const replay = await api.request('POST', '/v1/replays', { key, body: { from: '1990-01-01T00:00:00Z', to: soon(), dry_run: true } });
    expect(replay.status).toBe(400);
    expect(replay.body.errors.map((e: { path: string }) => e.path)).toEqual(['from']);
    const exported = await api.request('POST', '/v1/exports', { key, body: { format: 'csv', filter: { from: '1990-01-01T00:00:00Z', to: '9999-01-01T00:00:00Z' } } });
    expect(exported.status).toBe(400);
    expect(exported.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['filter.from', 'filter.to']);
    const fine = await api.request('POST', '/v1/replays', { key, body: { from: new Date(Date.now() - 86_400_000).toISOString(), to: soon(), dry_run: true } });
    expect(fine.status).toBe(200);
  });
});

describe('signed provider deliveries with odd strings and ids', () => {
  it('a Stripe delivery with lone surrogates, control characters and a 3,000-character lead hint is stored (2xx), never refused or a 5xx', async () => {
    const { setWebhookSecret } = await import('../../shared/domain/webhooks/secrets.js');
    const { signStripe } = await import('../../infra/local/webhook-samples.js');
    const { orgId, key } = await api.newOrg();
    const secret = `whsec_${'k'.repeat(24)}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    const session = {
      id: 'cs_LONE\u0001', object: 'checkout.session', amount_total: 1000, currency: 'usd', payment_status: 'paid', status: 'complete',
      client_reference_id: 'h'.repeat(3_000), metadata: { lead_id: 'lead\u0000x' },
      customer_details: { email: 'odd.buyer@example.com', name: 'Odd LONE Buyer' }, created: Math.floor(Date.now() / 1000),
    };
    const text = JSON.stringify({ id: `evt_LONE_${'e'.repeat(300)}`, object: 'event', type: 'checkout.session.completed', created: Math.floor(Date.now() / 1000), data: { object: session } }).replaceAll('LONE', '\\ud800');
    const res = await api.request('POST', `/v1webhooks/stripe/${orgId}`.replace('/v1webhooks', '/v1/webhooks'), { rawBody: text, headers: { 'content-type': 'application/json', ...signStripe(text, secret) } });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    const stored = await api.request('GET', `/v1/events/${res.body.event_id}`, { key });
    expect(stored.status).toBe(200);
    expect(stored.body.lead_id).not.toBe('h'.repeat(3_000));
    expect(stored.body.external_event_id.length).toBeLessThanOrEqual(255);
    // raw_payload is derived too (parsed from the kept bytes): well-formed, so strict JSON readers and the archive's
    // JSON columns take it; only /raw answers the bytes as delivered.
    expect(stored.text).not.toMatch(/\\ud[89a-f]/i);
    expect(stored.body.raw_payload.data.object.customer_details.name).toBe('Odd \ufffd Buyer');
    const raw = await api.request('GET', `/v1/events/${res.body.event_id}/raw`, { key });
    expect(raw.text).toBe(text);
    // The same delivery again is the same event (the derived id is stable).
    const again = await api.request('POST', `/v1/webhooks/stripe/${orgId}`, { rawBody: text, headers: { 'content-type': 'application/json', ...signStripe(text, secret) } });
    expect(again.body.event_id).toBe(res.body.event_id);
  });
});
