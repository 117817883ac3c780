import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { FileBlobStore } from '../../shared/adapters/blob-stores.js';
import { dayPartitions } from '../../shared/domain/shards.js';

/**
 * Section 15: an org's by_day and by_flow keys spread over shards (shared/domain/shards.ts), read back by a merge
 * of every shard. Events written before and after a plan is raised, over two days and two flows, beside another
 * org's events: every read pages in (occurred_at, id) order, without gaps or repeats, with cursors.
 */
let api: TestApi;
let a: { orgId: string; key: string };
let b: { orgId: string; key: string };
const SHARDS = 7;
const dayStart = Math.floor((Date.now() - 3 * 86_400_000) / 86_400_000) * 86_400_000;
/** Two UTC days; 40 distinct instants so ties on occurred_at are broken by id in every shard. */
const at = (i: number) => new Date(dayStart + 86_400_000 * (i % 2) + 3_600_000 + (i % 40) * 1000).toISOString();
const expected: { id: string; occurred_at: string; flow_id: string; event_type: string }[] = [];

function eventsFrom(from: number, count: number) {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return sampleEvent({
      lead_id: `lead_sh_${i % 9}`, occurred_at: at(i), flow_id: i % 3 === 0 ? 'flow#3' : 'flow',
      event_type: i % 4 === 0 ? 'source.rejected' : 'source.submitted', outcome: i % 4 === 0 ? 'failure' : 'success',
      ...(i % 4 === 0 ? { reason: 'dup' } : {}),
    });
  });
}

async function post(org: { key: string }, from: number, count: number) {
  const events = eventsFrom(from, count);
  const res = await api.request('POST', '/v1/events/batch', { key: org.key, body: { events } });
  expect(res.body.results.every((r: { status: string }) => r.status === 'created')).toBe(true);
  return res.body.results.map((r: { id: string }, k: number) => ({ id: r.id, occurred_at: events[k]!.occurred_at as string, flow_id: events[k]!.flow_id as string, event_type: events[k]!.event_type as string }));
}

beforeAll(async () => {
  api = await startTestApi();
  a = await api.newOrg();
  b = await api.newOrg();
  // Before the org has a plan: written to shard 0, the key every plan reads. Written through the store of this
  // process, so the handlers (each with its own plan cache, as each Lambda function has) first see the raised plan.
  for (const input of eventsFrom(0, 60)) {
    const validation = validateEventInput(input, { now: Date.now() });
    if (!validation.ok) throw new Error('invalid sample');
    const built = buildEvent(validation.value, { orgId: a.orgId, now: Date.now() });
    expect((await api.deps.events.put(built, Date.now())).status).toBe('created');
    expected.push({ id: built.event.id, occurred_at: built.event.occurred_at, flow_id: built.event.flow_id!, event_type: built.event.event_type });
  }
  // Raised as if two cache lifetimes ago, so writers use it at once (the store caches the new plan itself).
  await api.deps.shardPlans.raise(a.orgId, SHARDS, Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
  for (let i = 60; i < 300; i += 100) expected.push(...await post(a, i, 100));
  await post(b, 0, 50); // another org on the same days and flow names
});
afterAll(() => api.close());

type Item = { id: string; occurred_at: string; org_id: string; event_type: string; flow_id: string };
async function readAll(path: string, limit: number, from: string | null = null): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = from;
  do {
    const res = await api.request('GET', `${path}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key: a.key });
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return items;
}
const keyOf = (e: { occurred_at: string; id: string }) => `${e.occurred_at}#${e.id}`;
const sorted = (items: { occurred_at: string; id: string }[], order: 'asc' | 'desc' = 'asc') => {
  const keys = items.map(keyOf).sort();
  return order === 'asc' ? keys : keys.reverse();
};
const range = `from=${new Date(dayStart).toISOString()}&to=${new Date(dayStart + 2 * 86_400_000).toISOString()}`;

describe('sharded by_day and by_flow keys', () => {
  it('spread the org\'s index entries over its shards (and only its own)', async () => {
    const client = createDocumentClient({ endpoint: api.deps.config.dynamoEndpoint });
    const scanned = await client.send(new ScanCommand({ TableName: api.deps.config.eventsTableName, ProjectionExpression: 'day_key, flow_key, org_id' }));
    const mine = (scanned.Items ?? []).filter((item) => item.org_id === a.orgId);
    const dayShards = new Set(mine.map((item) => String(item.day_key).split('#')[0]!));
    expect(dayShards.size).toBeGreaterThanOrEqual(SHARDS - 1); // 240 events over 7 shards
    expect([...dayShards].every((k) => k === a.orgId || new RegExp(`^${a.orgId}~[1-6]$`).test(k!))).toBe(true);
    const theirs = (scanned.Items ?? []).filter((item) => item.org_id === b.orgId);
    expect(new Set(theirs.map((item) => String(item.day_key).split('#')[0]))).toEqual(new Set([b.orgId]));
  });

  it('GET /v1/events pages every shard in (occurred_at, id) order, both directions, without gaps or repeats', async () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const limit of [7, 100]) {
        const items = await readAll(`/v1/events?${range}&order=${order}`, limit);
        expect(items.every((e) => e.org_id === a.orgId)).toBe(true);
        expect(items.map(keyOf)).toEqual(sorted(expected, order));
      }
    }
  });

  it('filters and flows read every shard too (a flow id holding "#")', async () => {
    const rejected = await readAll(`/v1/events?${range}&type=source.rejected`, 9);
    expect(rejected.map(keyOf)).toEqual(sorted(expected.filter((e) => e.event_type === 'source.rejected')));
    const flow = await readAll(`/v1/flows/${encodeURIComponent('flow#3')}/events?order=asc`, 11);
    expect(flow.map(keyOf)).toEqual(sorted(expected.filter((e) => e.flow_id === 'flow#3')));
    const listed = await readAll(`/v1/events?${range}&flow_id=flow`, 13);
    expect(listed.map(keyOf)).toEqual(sorted(expected.filter((e) => e.flow_id === 'flow')));
  });

  it('a replay dry run counts every shard', async () => {
    const res = await api.request('POST', '/v1/replays', { key: a.key, body: { from: new Date(dayStart).toISOString(), to: new Date(dayStart + 2 * 86_400_000).toISOString(), dry_run: true } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.matched).toBe(expected.length);
  });

  it('a cursor taken before the plan grew keeps working after (readers merge the new shards at once)', async () => {
    const first = await api.request('GET', `/v1/events?${range}&limit=50`, { key: a.key });
    expect(first.status, first.text).toBe(200);
    expect(first.body.next_cursor).toBeTruthy();
    await api.deps.shardPlans.raise(a.orgId, SHARDS + 5, Date.now());
    const rest = await readAll(`/v1/events?${range}`, 50, first.body.next_cursor);
    expect([...first.body.items, ...rest].map(keyOf)).toEqual(sorted(expected));
  });

  it('a filter that matches nothing reads each shard in a few growing pages, not one small page per 10 items (red team #22)', async () => {
    // A shard read at the merge's first page size (10 items for limit=1 or over many shards) was re-read at that
    // size until it yielded a match: a selective filter over a day of n entries cost n / 10 round trips per shard.
    const c = await api.newOrg();
    await api.deps.shardPlans.raise(c.orgId, 2, Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
    for (let i = 0; i < 6; i++) {
      const events = Array.from({ length: 100 }, (_, k) => sampleEvent({ lead_id: `lead_sel_${k}`, occurred_at: at(2 * (i * 100 + k)) }));
      const res = await api.request('POST', '/v1/events/batch', { key: c.key, body: { events } });
      expect(res.status, res.text).toBe(200);
    }
    const client = createDocumentClient({ endpoint: api.deps.config.dynamoEndpoint });
    let queries = 0;
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') queries += 1;
      return next(args);
    }, { step: 'initialize', name: 'countQueries' });
    const store = new DynamoEventStore(client, api.deps.config.eventsTableName, new FileBlobStore(api.deps.config.blobDir!), api.deps.shardPlans);
    const plan = await store.shardPlan(c.orgId, Date.now());
    expect(plan.read).toBe(2);
    const day = new Date(dayStart).toISOString().slice(0, 10);
    for (const order of ['asc', 'desc'] as const) {
      queries = 0;
      const page = await store.query({
        index: 'by_day', partitions: [dayPartitions(c.orgId, day, plan)], order, limit: 1,
        filters: { eventTypes: [{ equals: 'purchase_completed' }] }, include: { leadSnapshot: false, rawPayload: false }, nowMs: Date.now(),
      });
      expect(page.items).toEqual([]);
      // ~300 entries a shard: pages of 10, 20, 40, 80, 160, 320 at most (was 30 pages a shard).
      expect(queries).toBeLessThanOrEqual(2 * 6);
    }
  });
});
