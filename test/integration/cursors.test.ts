import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

/**
 * Contract section 3: cursors are signed with a secret of the deployment. On every route that takes a cursor, over
 * the real local API, a crafted, tampered, foreign-org, other-query, truncated, non-base64 or huge cursor is a 400
 * problem+json naming `cursor` (never a 5xx, never a page), and the real next_cursor still works.
 */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unb64 = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
const HOUR = 3_600_000;

interface Route {
  name: string;
  /** Makes a page with a next_cursor for this org; answers the path (with its query, without cursor) to page with. */
  setUp(key: string, orgId: string): Promise<string>;
  /** The same route with another query. */
  otherQuery(path: string): string;
  /** The query the route binds its cursors to (what the unsigned cursors' public digest covered). */
  binding: Record<string, string>;
}

const routes: Route[] = [
  {
    name: 'GET /v1/events', binding: { route: 'list', order: 'asc' }, otherQuery: (path) => `${path}&order=desc`,
    async setUp(key) {
      for (let i = 0; i < 3; i++) await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: 'lead_c', flow_id: 'flow_c' }) });
      return '/v1/events?limit=1';
    },
  },
  { name: 'GET /v1/leads/{lead_id}/events', binding: { route: 'timeline', leadId: 'lead_c', order: 'asc' }, otherQuery: (path) => `${path}&order=desc`, setUp: async () => '/v1/leads/lead_c/events?limit=1' },
  { name: 'GET /v1/flows/{flow_id}/events', binding: { route: 'flow', flowId: 'flow_c', order: 'asc' }, otherQuery: (path) => path.replace('flow_c', 'flow_d'), setUp: async () => '/v1/flows/flow_c/events?limit=1' },
  {
    name: 'GET /v1/audit', binding: { route: 'audit' }, otherQuery: (path) => `${path}&from=${new Date(Date.now() - 2 * HOUR).toISOString()}`,
    async setUp(key) {
      for (let i = 0; i < 3; i++) await api.request('GET', '/v1/leads/lead_c', { key }); // pii reads: audited
      return '/v1/audit?limit=1';
    },
  },
  {
    name: 'GET /v1/alerts', binding: { route: 'alerts' }, otherQuery: (path) => `${path}&from=${new Date(Date.now() - 5 * HOUR).toISOString()}`,
    async setUp(_key, orgId) {
      for (let i = 1; i <= 3; i++) {
        const start = new Date(Math.floor(Date.now() / HOUR) * HOUR - i * HOUR);
        await api.deps.alerts.markRaised({
          rule_id: 'rejection_rate', org_id: orgId, dimension: 'all', window_start: start.toISOString(),
          window_end: new Date(start.getTime() + HOUR).toISOString(), value: 0.5, threshold: 0.3, sample_size: 20, top_reasons: [],
        });
      }
      return '/v1/alerts?limit=1';
    },
  },
];

/** A cursor as the unsigned ones were made: a public digest of org, query, position and window. */
function unsigned(orgId: string, binding: Record<string, string>, p: number, t: string, d?: Record<string, number>): string {
  const sorted = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));
  const b = createHash('sha256').update(`leadlog-cursor-v1\u0000${orgId}\u0000${sorted(binding)}\u0000${p}\u0000${t}\u0000${sorted(d ?? {})}`).digest('hex').slice(0, 32);
  return b64({ v: 1, p, t, ...(d ? { d } : {}), b });
}

async function expectCursorRefused(path: string, key: string, what: string): Promise<void> {
  const res = await api.request('GET', path, { key });
  expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(400);
  expect(res.headers.get('content-type'), what).toBe('application/problem+json');
  expect(res.body.errors.map((e: { path: string }) => e.path), what).toEqual(['cursor']);
}

describe('signed cursors on every route that takes one', () => {
  const org = { orgId: '', key: '' };
  const other = { orgId: '', key: '' };
  beforeAll(async () => {
    Object.assign(org, await api.newOrg());
    Object.assign(other, await api.newOrg());
    await api.request('POST', '/v1/events', { key: other.key, body: sampleEvent({ lead_id: 'lead_c', flow_id: 'flow_c' }) });
  });

  for (const route of routes) {
    it(`${route.name}: the real next_cursor pages; crafted, tampered, foreign, other-query, truncated, non-base64 and huge ones are a 400 naming cursor`, async () => {
      const path = await route.setUp(org.key, org.orgId);
      const first = await api.request('GET', path, { key: org.key });
      expect(first.status, first.text).toBe(200);
      const cursor: string = first.body.next_cursor;
      expect(cursor, 'a next page').toEqual(expect.any(String));
      // A cursor as sent: percent-encoded, except the bytes of an encoded lone surrogate, which encodeURIComponent refuses.
      const withCursor = (base: string, c: string) => `${base}&cursor=${c.startsWith('%') ? c : encodeURIComponent(c)}`;

      const second = await api.request('GET', withCursor(path, cursor), { key: org.key });
      expect(second.status, second.text).toBe(200);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.items[0]).not.toEqual(first.body.items[0]);

      const body = unb64(cursor);
      // Another org's key (which has its own data on the same route): never a page, never that org's or this one's.
      await expectCursorRefused(withCursor(path, cursor), other.key, 'foreign org');
      await expectCursorRefused(withCursor(route.otherQuery(path), cursor), org.key, 'other query');
      const crafted: [string, string][] = [
        ['tampered position', b64({ ...body, t: body.t.replace(/\d{2}\.\d{3}Z/, '59.999Z') })],
        ['tampered partition', b64({ ...body, p: body.p + 1 })],
        ['tampered window', b64({ ...body, d: { from: 8.64e15 - 10 * HOUR, to: 8.64e15 } })],
        ['signature under a guessed key', b64({ ...body, s: createHmac('sha256', '').update(JSON.stringify(body)).digest('base64url') })],
        // Computed by anyone, without a secret, as the unsigned cursors were: an earlier position, and an absurd window.
        ['the unsigned recipe', unsigned(org.orgId, route.binding, body.p, body.t.replace(/^\d{4}/, '2000'))],
        ['the unsigned recipe, absurd window', unsigned(org.orgId, route.binding, body.p, body.t, { from: 8.64e15 - HOUR, to: 8.64e15 })],
        ['truncated', cursor.slice(0, -3)],
        ['not base64url', 'not a cursor!'],
        ['not JSON', Buffer.from('{"v":2,').toString('base64url')],
        ['an encoded lone surrogate', '%ED%A0%80'],
        ['malformed escape', '%E0%A4%A'],
        ['huge (as long as a request line may be: API Gateway takes 10 KB)', 'A'.repeat(8_000)],
      ];
      for (const [what, c] of crafted) await expectCursorRefused(withCursor(path, c), org.key, what);
    });
  }
});
