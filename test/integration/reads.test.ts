import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { DAY_MS, RETENTION_MS } from '../../shared/domain/time.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
let key: string;
let orgId: string;
const lead = `lead_tl_${Date.now()}`;
const hour = Date.now() - 2 * 3_600_000;
const base = Math.floor(hour / 1000) * 1000;
/** 250 events over 100 distinct instants: ties on occurred_at are broken by id. */
const occurred = (i: number) => new Date(base + (i % 100) * 1000).toISOString();

beforeAll(async () => {
  api = await startTestApi();
  ({ key, orgId } = await api.newOrg());
  const events = Array.from({ length: 250 }, (_, i) =>
    sampleEvent({
      lead_id: lead,
      occurred_at: occurred(i),
      event_type: i % 5 === 0 ? 'source.rejected' : i % 5 === 1 ? 'source.submitted' : 'recipient.delivered',
      outcome: i % 5 === 0 ? 'failure' : 'success',
      ...(i % 5 === 0 ? { reason: 'Invalid phone' } : {}),
      payload: { n: i },
      flow_id: i % 2 === 0 ? 'flow_even' : 'flow_odd',
      lead_snapshot: { email: 'john@example.com', first_name: 'John' },
      raw_payload: { phone: '+15551234567' },
    }),
  );
  for (let i = 0; i < events.length; i += 100) {
    const res = await api.request('POST', '/v1/events/batch', { key, body: { events: events.slice(i, i + 100) } });
    expect(res.body.results.every((r: { status: string }) => r.status === 'created')).toBe(true);
  }
});
afterAll(() => api.close());

type Item = { id: string; occurred_at: string; event_type: string; outcome: string; lead_snapshot?: unknown; raw_payload?: unknown };

async function readAll(path: string, limit: number): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api.request('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key });
    expect(res.status, res.text).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

const order = (items: Item[]) => items.map((e) => `${e.occurred_at}#${e.id}`);

describe('GET /v1/leads/{lead_id}/events', () => {
  it('pages through 250 events in (occurred_at, id) order without gaps or repeats', async () => {
    const { items, pages } = await readAll(`/v1/leads/${lead}/events`, 40);
    expect(items).toHaveLength(250);
    expect(pages).toBe(7);
    const keys = order(items);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(items.map((e) => e.id)).size).toBe(250);
  });

  it('reads newest first with order=desc', async () => {
    const { items } = await readAll(`/v1/leads/${lead}/events?order=desc`, 64);
    expect(items).toHaveLength(250);
    const keys = order(items);
    expect(keys).toEqual([...keys].sort().reverse());
  });

  it('filters by type (exact and source.*), outcome, and time range', async () => {
    expect((await readAll(`/v1/leads/${lead}/events?type=source.rejected`, 1000)).items).toHaveLength(50);
    expect((await readAll(`/v1/leads/${lead}/events?type=source.*`, 30)).items).toHaveLength(100);
    expect((await readAll(`/v1/leads/${lead}/events?outcome=failure`, 1000)).items).toHaveLength(50);
    const from = new Date(base + 10_000).toISOString();
    const to = new Date(base + 20_000).toISOString();
    const ranged = (await readAll(`/v1/leads/${lead}/events?from=${from}&to=${to}`, 7)).items;
    expect(ranged.length).toBe(30); // instants 10..19, three events each (i, i+100, i+200)
    expect(ranged.every((e) => e.occurred_at >= from && e.occurred_at < to)).toBe(true);
  });

  it('leaves out lead_snapshot and raw_payload unless include= asks', async () => {
    const plain = await api.request('GET', `/v1/leads/${lead}/events?limit=3`, { key });
    expect(plain.body.items[0].lead_snapshot).toBeUndefined();
    expect(plain.body.items[0].raw_payload).toBeUndefined();
    const full = await api.request('GET', `/v1/leads/${lead}/events?limit=3&include=lead_snapshot,raw_payload`, { key });
    expect(full.body.items[0].lead_snapshot).toEqual({ email: 'john@example.com', first_name: 'John' });
    expect(full.body.items[0].raw_payload).toEqual({ phone: '+15551234567' });
  });

  it('refuses bad parameters naming each, and cursors from another query or org', async () => {
    const bad = await api.request('GET', `/v1/leads/${lead}/events?limit=0&order=up&type=bogus&include=secrets&color=red`, { key });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['color', 'include', 'limit', 'order', 'type']);
    const first = await api.request('GET', `/v1/leads/${lead}/events?limit=5`, { key });
    const cursor = first.body.next_cursor;
    const otherQuery = await api.request('GET', `/v1/leads/${lead}/events?limit=5&order=desc&cursor=${cursor}`, { key });
    expect(otherQuery.status).toBe(400);
    const other = await api.newOrg();
    const foreign = await api.request('GET', `/v1/leads/${lead}/events?limit=5&cursor=${cursor}`, { key: other.key });
    expect(foreign.status).toBe(400);
    const tampered = await api.request('GET', `/v1/leads/${lead}/events?limit=5&cursor=${cursor.slice(0, -2)}xx`, { key });
    expect(tampered.status).toBe(400);
  });
});

describe('GET /v1/events and GET /v1/flows/{flow_id}/events', () => {
  it('lists the org events in a time range by type prefix, source and outcome', async () => {
    const from = new Date(base - 60_000).toISOString();
    const to = new Date(base + 200_000).toISOString();
    expect((await readAll(`/v1/events?from=${from}&to=${to}`, 100)).items).toHaveLength(250);
    expect((await readAll(`/v1/events?from=${from}&to=${to}&type=source.*`, 33)).items).toHaveLength(100);
    expect((await readAll(`/v1/events?from=${from}&to=${to}&outcome=failure&source=web`, 1000)).items).toHaveLength(50);
    expect((await readAll(`/v1/events?from=${from}&to=${to}&flow_id=flow_even`, 1000)).items).toHaveLength(125);
  });

  it('lists without a range (the last 31 days), keeping the range of the first page on later pages', async () => {
    const { items, pages } = await readAll('/v1/events', 60);
    expect(items).toHaveLength(250);
    expect(pages).toBe(5);
  });

  it('refuses a range over 31 days', async () => {
    const res = await api.request('GET', `/v1/events?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`, { key });
    expect(res.status).toBe(400);
  });

  it("reads a flow's events, optionally one lead's and one type", async () => {
    expect((await readAll(`/v1/flows/flow_odd/events`, 50)).items).toHaveLength(125);
    const one = (await readAll(`/v1/flows/flow_odd/events?lead_id=${lead}&type=source.submitted`, 1000)).items;
    expect(one).toHaveLength(25); // i % 10 === 1
    expect((await readAll(`/v1/flows/flow_odd/events?lead_id=someone_else`, 1000)).items).toHaveLength(0);
  });
});

describe('auth, scopes, tenancy and masking', () => {
  it('answers 401 without or with a bad key, 403 without the scope', async () => {
    const none = await api.request('GET', `/v1/leads/${lead}/events`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key: 'llk_000000000000_' + 'a'.repeat(43) })).status).toBe(401);
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key: 'garbage' })).status).toBe(401);
    const readOnly = await api.keyFor(orgId, ['events:read']);
    expect((await api.request('POST', '/v1/events', { key: readOnly, body: sampleEvent() })).status).toBe(403);
    const writeOnly = await api.keyFor(orgId, ['events:write']);
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key: writeOnly })).status).toBe(403);
    expect((await api.request('GET', '/v1/health')).status).toBe(200);
  });

  it("shows another org nothing: its event ids are 404 and its leads are empty", async () => {
    const mine = await api.request('GET', `/v1/leads/${lead}/events?limit=1`, { key });
    const id = mine.body.items[0].id;
    const other = await api.newOrg();
    const byId = await api.request('GET', `/v1/events/${id}`, { key: other.key });
    expect(byId.status).toBe(404);
    expect((await api.request('GET', `/v1/events/${id}`, { key })).status).toBe(200);
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key: other.key })).body.items).toHaveLength(0);
    expect((await api.request('GET', `/v1/flows/flow_odd/events`, { key: other.key })).body.items).toHaveLength(0);
    expect((await api.request('GET', `/v1/events/not-a-uuid`, { key })).status).toBe(404);
  });

  it('masks PII for keys without pii:read', async () => {
    const reader = await api.keyFor(orgId, ['events:read']);
    const res = await api.request('GET', `/v1/leads/${lead}/events?limit=1&include=lead_snapshot,raw_payload`, { key: reader });
    expect(res.body.items[0].lead_snapshot).toEqual({ email: 'j***@example.com', first_name: 'J***' });
    expect(res.body.items[0].raw_payload).toEqual({ phone: '+1555*******' });
    const one = await api.request('GET', `/v1/events/${res.body.items[0].id}`, { key: reader });
    expect(one.body.lead_snapshot.email).toBe('j***@example.com');
  });

  it('hides expired events even before the TTL sweep deletes them', async () => {
    const expiredLead = `lead_exp_${Date.now()}`;
    const receivedLongAgo = Date.now() - RETENTION_MS - DAY_MS;
    const input = validateEventInput(sampleEvent({ lead_id: expiredLead, occurred_at: new Date(receivedLongAgo).toISOString() }), { now: receivedLongAgo });
    if (!input.ok) throw new Error('invalid sample');
    const built = buildEvent(input.value, { orgId, now: receivedLongAgo });
    expect((await api.deps.events.put(built, receivedLongAgo)).status).toBe('created');
    expect((await api.request('GET', `/v1/events/${built.event.id}`, { key })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/${expiredLead}/events`, { key })).body.items).toHaveLength(0);
  });

  it('revoked keys stop working', async () => {
    const temp = await api.keyFor(orgId, ['events:read']);
    expect((await api.request('GET', `/v1/leads/${lead}/events?limit=1`, { key: temp })).status).toBe(200);
    const keyId = temp.split('_')[1]!;
    expect(await api.deps.apiKeys.revoke(orgId, keyId, new Date().toISOString())).toBe(true);
    expect((await api.request('GET', `/v1/leads/${lead}/events?limit=1`, { key: temp })).status).toBe(401);
  });
});
