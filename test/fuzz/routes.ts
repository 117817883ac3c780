import fc from 'fast-check';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { createHmac, randomUUID } from 'node:crypto';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import type { TestApi, TestResponse } from '../support/api.js';
import { sampleEvent } from '../support/api.js';

/**
 * Route fuzzing: generated bodies, headers, paths, query strings, cursors and event fields against every
 * route. The properties: every answer is a 2xx, or a 4xx problem+json; never a 5xx; the server keeps
 * answering; and nothing a 4xx rejected was stored (the org's stored events are exactly the 201s).
 */
const DERIVED = new Set(['lead.merged', 'webhook.redundant']);

/** How many properties fuzzRoutes checks (one per route, plus unrouted paths and storage): the CLI's progress total. */
export const ROUTE_PROPERTY_COUNT = 10;

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Told after each case starts (the CLI prints progress). */
  onCase?: () => void;
}

export interface FuzzReport {
  route: string;
  runs: number;
  failure?: string;
}

const weird = fc.oneof(
  fc.constant('__proto__'), fc.constant('constructor'), fc.constant('prototype'), fc.constant(''), fc.constant('   '),
  fc.constant('\u0000'), fc.constant('😀'), fc.string({ maxLength: 20 }), fc.constant('a'.repeat(300)),
);
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom(9007199254740993, -1e308, 1e308, 0, -0, 2 ** 63, Number.MAX_SAFE_INTEGER + 2),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-02-30T00:00:00Z', '1970-01-01T00:00:00Z'),
  weird,
);

/** Valid events with one to four fields replaced by something odd, plus extra odd keys. */
const mutatedEvent = fc
  .record({
    base: fc.constantFrom(
      sampleEvent(),
      sampleEvent({ event_type: 'purchase_completed', payload: { product_id: 'p', product_name: 'n', category: 'c', amount: 1, currency: 'USD', payment_method: 'card' } }),
      sampleEvent({ event_type: 'source.rejected', outcome: 'failure', reason: 'r', payload: {} }),
      sampleEvent({ event_type: 'custom.fuzz', payload: { a: 1 } }),
    ),
    changes: fc.array(fc.tuple(fc.constantFrom('lead_id', 'source_type', 'source', 'event_type', 'outcome', 'reason', 'payload', 'occurred_at', 'timing', 'external_event_id', 'lead_snapshot', 'raw_payload', 'flow_id'), anyJson), { maxLength: 4 }),
    extra: fc.array(fc.tuple(weird, anyJson), { maxLength: 2 }),
  })
  .map(({ base, changes, extra }) => {
    const event: Record<string, unknown> = JSON.parse(JSON.stringify(base));
    for (const [key, value] of changes) event[key] = value;
    for (const [key, value] of extra) Object.defineProperty(event, key, { value, enumerable: true, configurable: true, writable: true });
    return event;
  });

const deep = fc.integer({ min: 50, max: 5000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const rawBody = fc.oneof(
  mutatedEvent.map((e) => Buffer.from(JSON.stringify(e))),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), // invalid UTF-8 included
  deep.map((s) => Buffer.from(`{"lead_id":"l","payload":${s}}`)),
  fc.constant(Buffer.from('{"a":1,"a":2,"__proto__":{"polluted":true}}')),
  fc.constantFrom('{"lead_id":"l","timing":{"duration_ms":NaN}}', '{"x":Infinity}', '1e999', '{"payload":{"amount":1e400}}', '{"lead_id":"l","occurred_at":"+275760-09-13T00:00:00.000Z"}', '"just a string"', 'null', '[]').map((s) => Buffer.from(s)),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/vnd.api+json', 'APPLICATION/JSON');
const segment = fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 40 }), weird).map((s) => encodeURIComponent(s || 'x'));
const query = fc.array(
  fc.tuple(
    fc.constantFrom('type', 'outcome', 'from', 'to', 'order', 'limit', 'cursor', 'include', 'source', 'flow_id', 'lead_id', 'start', 'end', 'bogus', '__proto__'),
    fc.oneof(anyJson.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), fc.base64String({ maxLength: 120 }), fc.constantFrom('source.*', 'asc', 'desc', '0', '1001', '-1', 'lead_snapshot,raw_payload')),
  ),
  { maxLength: 5 },
).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&'));

/** Provider-shaped bodies with odd contents: the mappers, identity resolution and hashing must take all of it. */
const oddValue = fc.oneof(anyJson, fc.constant('§DEEP§'), fc.array(fc.integer(), { minLength: 1000, maxLength: 3000 }), fc.constantFrom('\u202e\u0000\ud800', '😀'.repeat(50), 'a@b', '+999 999'));
const bigNumberText = fc.constantFrom('828758318460506337', '123456789012345678901234567890', '1e400', '-0.0000000000000000000001', '9007199254740993');
const providerBody = fc.record({
  provider: fc.constantFrom<Provider>('stripe', 'shopify', 'typeform', 'hotmart'), odd: fc.dictionary(weird, oddValue, { maxKeys: 4 }), big: bigNumberText,
  email: fc.oneof(weird, fc.emailAddress()), phone: fc.oneof(weird, fc.constant('+5511999999999')), nested: deep,
})
  .map(({ provider, odd, big, email, phone, nested }) => {
    const id = `${Math.random()}`.slice(2);
    const shapes: Record<Provider, unknown> = {
      stripe: { id: `evt_${id}`, type: 'checkout.session.completed', created: 1763900000, data: { object: { id: `cs_${id}`, payment_status: 'paid', amount_total: '§BIG§', currency: 'usd', customer_details: { email, phone }, ...odd } } },
      shopify: { id: '§BIG§', financial_status: 'paid', email, phone, customer: { id: '§BIG§' }, line_items: [{ product_id: '§BIG§', ...odd }], total_price: '1.00' },
      typeform: { event_type: 'form_response', form_response: { token: id, answers: [{ type: 'email', email }, { type: 'phone_number', phone_number: phone }, odd], hidden: odd } },
      hotmart: { id, event: 'PURCHASE_APPROVED', creation_date: '§BIG§', data: { buyer: { email, checkout_phone: phone }, purchase: { transaction: `HP${id}`, price: { value: '§BIG§', currency_value: 'BRL' } }, ...odd } },
    };
    // Numbers and nesting no JavaScript value can carry are written into the text itself.
    return { provider, body: Buffer.from(JSON.stringify(shapes[provider]).replaceAll('"§BIG§"', big).replaceAll('"§DEEP§"', nested)) };
  });
const signedBody = fc.oneof(providerBody, fc.record({ provider: fc.constantFrom<Provider>('stripe', 'shopify', 'typeform', 'hotmart'), body: rawBody }));

/** Signs the bytes exactly as the provider would (Stripe over the body read as UTF-8, as its library reads it). */
function signFor(provider: Provider, body: Buffer, secret: string): Record<string, string> {
  const hmac = (data: Buffer | string) => createHmac('sha256', secret).update(data).digest();
  const t = Math.floor(Date.now() / 1000);
  switch (provider) {
    case 'stripe':
      return { 'stripe-signature': `t=${t},v1=${hmac(`${t}.${new TextDecoder().decode(body)}`).toString('hex')}` };
    case 'shopify':
      return {
        'x-shopify-hmac-sha256': hmac(body).toString('base64'), 'x-shopify-topic': 'orders/paid', 'x-shopify-shop-domain': 'fuzz.myshopify.com',
        'x-shopify-api-version': '2025-10', 'x-shopify-webhook-id': randomUUID(), 'x-shopify-event-id': randomUUID(),
      };
    case 'typeform':
      return { 'typeform-signature': `sha256=${hmac(body).toString('base64')}` };
    case 'hotmart':
      return { 'x-hotmart-hottok': secret };
  }
}

export function problemOrSuccess(res: TestResponse): string | undefined {
  if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status >= 400) {
    if (!(res.headers.get('content-type') ?? '').includes('application/problem+json')) return `4xx without problem+json: ${res.text.slice(0, 200)}`;
    if (!res.body || res.body.status !== res.status || typeof res.body.title !== 'string' || typeof res.body.type !== 'string') return `bad problem body: ${res.text.slice(0, 200)}`;
  } else if (res.status < 200) return `answered ${res.status}`;
  if (!res.headers.get('x-request-id')) return 'no x-request-id';
  return undefined;
}

export async function fuzzRoutes(api: TestApi, options: FuzzOptions, key: string, orgId: string): Promise<FuzzReport[]> {
  const created = new Set<string>();
  const reports: FuzzReport[] = [];
  const check = async (route: string, arbitrary: fc.Arbitrary<() => Promise<TestResponse>>) => {
    let runs = 0;
    let lastProblem = '';
    try {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (send) => {
          runs++;
          options.onCase?.();
          const res = await send();
          const problem = problemOrSuccess(res);
          if (problem) {
            lastProblem = problem;
            throw new Error(problem);
          }
          if (res.status === 201 && res.body?.event?.id) created.add(res.body.event.id);
          if (res.body?.results) for (const r of res.body.results) if (r.status === 'created') created.add(r.id);
        }),
        { numRuns: options.runs, seed: options.seed, endOnFailure: true },
      );
      reports.push({ route, runs });
    } catch (error) {
      reports.push({ route, runs, failure: `${lastProblem.slice(0, 500)} | ${(error as Error).message.slice(0, 1500)}` });
    }
  };
  const post = (path: string) => fc.tuple(rawBody, contentType, fc.option(fc.string({ maxLength: 300 }))).map(([body, type, idem]) => () =>
    api.request('POST', path, { key, rawBody: body, headers: { ...(type ? { 'content-type': type } : {}), ...(idem !== null ? { 'idempotency-key': idem.replace(/[\r\n]/g, '') } : {}) } }));
  const get = (path: (s: string) => string) => fc.tuple(segment, query).map(([s, q]) => () => api.request('GET', `${path(s)}${q ? `?${q}` : ''}`, { key }));

  await check('POST /v1/events', post('/v1/events'));
  await check('POST /v1/events/batch', fc.oneof(
    post('/v1/events/batch'),
    fc.array(mutatedEvent, { maxLength: 12 }).map((events) => () => api.request('POST', '/v1/events/batch', { key, body: { events } })),
  ));
  await check('GET /v1/events/{id}', get((s) => `/v1/events/${s}`));
  await check('GET /v1/leads/{lead_id}/events', get((s) => `/v1/leads/${s}/events`));
  await check('GET /v1/leads/{lead_id}', get((s) => `/v1/leads/${s}`));
  await check('GET /v1/events', get(() => '/v1/events'));
  await check('GET /v1/flows/{flow_id}/events', get((s) => `/v1/flows/${s}/events`));
  await check('POST /v1/webhooks/{provider}/{org_id}', fc.tuple(fc.constantFrom('stripe', 'shopify', 'typeform', 'hotmart', 'other'), segment, rawBody, fc.dictionary(fc.constantFrom('stripe-signature', 'x-shopify-hmac-sha256', 'typeform-signature', 'x-hotmart-hottok', 'x-shopify-topic'), fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, '')))).map(([provider, org, body, headers]) => () =>
    api.request('POST', `/v1/webhooks/${provider}/${org}`, { rawBody: body, headers: { 'content-type': 'application/json', ...headers } })));
  // Signed with the org's real secrets, so every body gets past the signature to parsing, mapping, identity and hashing.
  const secrets = {} as Record<Provider, string>;
  for (const provider of PROVIDERS) {
    secrets[provider] = `fuzz_${provider}_${randomUUID()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider, secret: secrets[provider], nowIso: new Date().toISOString() });
  }
  await check('POST /v1/webhooks/{provider}/{org_id} (signed)', signedBody.map(({ provider, body }) => async () => {
    const res = await api.request('POST', `/v1/webhooks/${provider}/${orgId}`, { rawBody: body, headers: { 'content-type': 'application/json', ...signFor(provider, body, secrets[provider]) } });
    if (res.status === 200 && res.body?.status === 'stored') created.add(res.body.event_id);
    return res;
  }));
  await check('unrouted paths', fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), fc.array(segment, { maxLength: 4 })).map(([method, parts]) => () => api.request(method, `/${parts.join('/')}`, { key })));

  // Nothing rejected was stored: the org holds exactly the events answered 201 / "created".
  const client = createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT! });
  const stored = new Set<string>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: process.env.EVENTS_TABLE_NAME!, FilterExpression: 'org_id = :org', ExpressionAttributeValues: { ':org': orgId }, ProjectionExpression: 'id, event_type', ExclusiveStartKey: start }));
    // lead.merged and webhook.redundant are leadlog's own records of what an acknowledged delivery did.
    for (const item of page.Items ?? []) if (!DERIVED.has(item.event_type as string)) stored.add(item.id as string);
    start = page.LastEvaluatedKey;
  } while (start);
  const extra = [...stored].filter((id) => !created.has(id));
  const missing = [...created].filter((id) => !stored.has(id));
  if (extra.length > 0 || missing.length > 0) reports.push({ route: 'storage', runs: 1, failure: `stored but not acknowledged: ${extra.length}; acknowledged but not stored: ${missing.length}` });
  client.destroy();
  return reports;
}
