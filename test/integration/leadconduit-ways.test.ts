import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadConduitInboxPorts, leadConduitPullPorts } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { LeadConduitApiClient } from '../../shared/adapters/leadconduit-api-client.js';
import { eventIdFor } from '../../shared/domain/ids.js';
import { processInboxObject } from '../../shared/domain/leadconduit/inbox.js';
import { pullLeadConduit } from '../../shared/domain/leadconduit/pull.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { generateLeadConduitEvents, leadIdOf, startLeadConduitApi, type LeadConduitStandIn } from '../support/leadconduit-api.js';

/**
 * Idempotency across the three ways in (issue #23, "Done when"): the same LeadConduit event arriving by the Event
 * Streaming inbox (files, processInboxObject as the watcher and the queue function call it), by the pull (the stand-in
 * of GET /events serving it, answering as LeadConduit's OpenAPI says) and by POST /v1/integrations/leadconduit/events
 * is stored once, under one leadlog id; the status route counts it created by the way that brought it first and
 * duplicate by every other.
 */
let api: TestApi;
let root: string;
/** One stand-in of LeadConduit's API per org (LeadConduit's API key is an account's): each serves only its own events. */
const standIns: LeadConduitStandIn[] = [];

beforeAll(async () => {
  api = await startTestApi();
  root = mkdtempSync(join(tmpdir(), 'leadlog-ways-'));
});
afterAll(async () => {
  for (const lc of standIns) await lc.close();
  await api?.close();
  expect(standIns.flatMap((lc) => lc.drift)).toEqual([]);
});

async function standIn(): Promise<LeadConduitStandIn> {
  const lc = await startLeadConduitApi();
  standIns.push(lc);
  return lc;
}

type LcEvent = Record<string, unknown> & { id: string };

/** Writes the event where LeadConduit's Event Streaming would (`leadconduit/<org>/<lead id>/<event id>.json`) and handles it. */
async function viaInbox(orgId: string, event: LcEvent, name = `${event.id}.json`) {
  const key = `leadconduit/${orgId}/${leadIdOf(event)}/${name}`;
  await mkdir(join(root, 'leadconduit', orgId, leadIdOf(event)!), { recursive: true });
  await writeFile(join(root, key), JSON.stringify(event));
  return processInboxObject(leadConduitInboxPorts(api.deps, new FileInboxObjects(root)), key, Date.now());
}

async function viaPull(orgId: string, lc: LeadConduitStandIn) {
  const ports = { ...leadConduitPullPorts(api.deps), api: new LeadConduitApiClient({ baseUrl: lc.url, apiKey: lc.apiKey, retries: 0, backoffMs: 1 }) };
  return pullLeadConduit(ports, { orgId, owner: randomUUID(), leaseMs: 60_000, pageLimit: 2 });
}

async function viaApi(key: string, events: LcEvent[]) {
  const posted = await api.request('POST', '/v1/integrations/leadconduit/events', { key, body: events });
  expect(posted.status, posted.text).toBe(200);
  return posted.body.results as { index: number; status: string; id?: string; problem?: unknown }[];
}

describe('the same LeadConduit event by the inbox, the pull and the API', () => {
  it('is stored once under one id; each way counts it created if it came first there, duplicate otherwise', async () => {
    const { orgId, key } = await api.newOrg(['events:write', 'events:read', 'pii:read']);
    const lc = await standIn();
    // Three events a few minutes old (inside the pull's overlap window), each first by another way.
    const [a, b, c] = generateLeadConduitEvents(3, { startMs: Date.now() - 5 * 60_000, stepMs: 20_000 }) as LcEvent[];
    const idOf = (event: LcEvent) => eventIdFor(orgId, 'leadconduit', event.id);

    // A by the inbox first; B by the API first.
    expect(await viaInbox(orgId, a!)).toEqual({ outcome: 'created', orgId, id: idOf(a!) });
    expect(await viaApi(key, [b!])).toMatchObject([{ status: 'created', id: idOf(b!) }]);

    // LeadConduit's API serves all three (two a page); the pull finds A and B stored, stores C.
    lc.publish([a!, b!, c!]);
    const pulled = await viaPull(orgId, lc);
    expect(pulled).toMatchObject({ status: 'done', created: 1, duplicate: 2, invalid: 0 });
    expect(await api.deps.events.get(orgId, idOf(c!), Date.now())).toBeDefined();

    // The API then gets A and C (a customer's own forwarder), the inbox B and C (Event Streaming writes every event):
    // all duplicates, each answered with the one stored id, no conflict problem (the copies are the same event).
    const again = await viaApi(key, [a!, c!]);
    expect(again).toEqual([{ index: 0, status: 'duplicate', id: idOf(a!) }, { index: 1, status: 'duplicate', id: idOf(c!) }]);
    expect(await viaInbox(orgId, b!)).toEqual({ outcome: 'duplicate', orgId, id: idOf(b!) });
    // Under another object name too (a rewrite by LeadConduit, a copy): still LeadConduit's id that decides.
    expect(await viaInbox(orgId, c!, `copy-${c!.id}.json`)).toEqual({ outcome: 'duplicate', orgId, id: idOf(c!) });

    // Stored once each: the org's list holds three LeadConduit events, one per LeadConduit id, each as first stored.
    const listed = await api.request('GET', `/v1/events?limit=1000&from=${new Date(Date.now() - 3600_000).toISOString()}`, { key });
    expect(listed.status, listed.text).toBe(200);
    const items = (listed.body.items as { id: string; source: string; external_event_id: string }[]).filter((e) => e.source === 'leadconduit');
    expect(items.map((e) => e.external_event_id).sort()).toEqual([a!.id, b!.id, c!.id].sort());
    expect(items.map((e) => e.id).sort()).toEqual([idOf(a!), idOf(b!), idOf(c!)].sort());
    for (const event of [a!, b!, c!]) {
      const raw = await api.request('GET', `/v1/events/${idOf(event)}/raw`, { key });
      expect(raw.status).toBe(200);
      expect(JSON.parse(raw.text).id).toBe(event.id);
    }

    // The status route: one created per way, the rest duplicates; nothing invalid.
    const status = await api.request('GET', '/v1/integrations/leadconduit/status', { key });
    expect(status.status).toBe(200);
    expect(status.body.api).toMatchObject({ created: 1, duplicate: 2, invalid: 0 });
    expect(status.body.inbox).toMatchObject({ created: 1, duplicate: 2, invalid: 0, last_key: `leadconduit/${orgId}/${leadIdOf(c!)}/copy-${c!.id}.json`, last_error: null });
    expect(status.body.pull).toMatchObject({ created: 1, duplicate: 2, invalid: 0, after_id: [a!.id, b!.id, c!.id].sort().at(-1) });
    const counted = ['api', 'inbox', 'pull'].reduce((sum, way) => sum + status.body[way].created, 0);
    expect(counted).toBe(items.length);
  });

  it('a pull that re-reads its overlap window after the inbox and the API stored newer events finds only duplicates', async () => {
    const { orgId, key } = await api.newOrg(['events:write', 'events:read']);
    const lc = await standIn();
    const events = generateLeadConduitEvents(4, { startMs: Date.now() - 4 * 60_000, stepMs: 10_000 }) as LcEvent[];
    lc.publish(events.slice(0, 2));
    expect(await viaPull(orgId, lc)).toMatchObject({ created: 2, duplicate: 0 });
    // Two more reach leadlog by the inbox and the API before LeadConduit's API shows them to the next pull.
    expect((await viaInbox(orgId, events[2]!)).outcome).toBe('created');
    expect(await viaApi(key, [events[3]!])).toMatchObject([{ status: 'created' }]);
    lc.publish(events.slice(2));
    expect(await viaPull(orgId, lc)).toMatchObject({ status: 'done', created: 0, duplicate: 4 });
    const status = await api.request('GET', '/v1/integrations/leadconduit/status', { key });
    expect(status.body.pull).toMatchObject({ created: 2, duplicate: 4 });
    expect(status.body.inbox).toMatchObject({ created: 1, duplicate: 0 });
    expect(status.body.api).toMatchObject({ created: 1, duplicate: 0 });
  });
});
