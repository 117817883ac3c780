import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import type { BusEntry, EventBus } from '../../shared/domain/ports.js';
import { runReplay } from '../../shared/domain/replays.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalArchivedEvents } from '../../infra/local/local-archived-events.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { buildEvent, validateEventInput, type EventInput } from '../../shared/domain/event.js';
import { DAY_MS } from '../../shared/domain/time.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

/**
 * Replays (section 10) through the API and the replay job: a dry-run count, emitted == matched with each event as
 * first published plus replay_id, nothing into the stream (so no alert counted again and nothing archived again),
 * and a crash mid-replay resumed without any event emitted twice.
 */
let api: TestApi;
let orgId: string;
let key: string;
const from = new Date(Date.now() - 3 * 3_600_000).toISOString();
const to = new Date(Date.now() + 60_000).toISOString();

const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-replay-archive-'));
const OLD = Date.now() - 120 * DAY_MS; // older than the 90-day hot store: only the archive has these

beforeAll(async () => {
  // The runtime's stand-in for reading the archive back, as npm start sets it before its functions load.
  localStandIns.archivedEvents = new LocalArchivedEvents(archiveDir);
  api = await startTestApi();
  ({ orgId, key } = await api.newOrg());
  const events = [
    ...Array.from({ length: 25 }, (_, i) => sampleEvent({
      lead_id: `lead_${i}`, event_type: 'purchase_completed', external_event_id: `order_${i}`, occurred_at: new Date(Date.now() - 3_600_000 + i * 1000).toISOString(),
      payload: { product_id: 'p1', product_name: 'Course', category: 'education', amount: 10, currency: 'BRL', payment_method: 'pix', buyer_email: `ana${i}@example.com` },
    })),
    ...Array.from({ length: 5 }, (_, i) => sampleEvent({ lead_id: `lead_${i}`, external_event_id: `view_${i}` })),
  ];
  const stored = await api.request('POST', '/v1/events/batch', { key, body: { events } });
  expect(stored.body.results.every((r: { status: string }) => r.status === 'created')).toBe(true);
  // Twelve purchases from four months ago, in the archive only (each twice: the archive is at least once).
  const archive = new LocalArchive({ dir: archiveDir });
  await archive.start();
  const old = Array.from({ length: 12 }, (_, i) => {
    const input = validateEventInput(sampleEvent({
      lead_id: `old_${i}`, event_type: 'purchase_completed', external_event_id: `old_order_${i}`, occurred_at: new Date(OLD + i * 60_000).toISOString(),
      payload: { product_id: 'p1', product_name: 'Course', category: 'education', amount: 10, currency: 'BRL', payment_method: 'pix' },
    }), { now: OLD + DAY_MS, requireLeadId: true }) as { ok: true; value: EventInput };
    return toArchiveRow(buildEvent(input.value, { orgId, now: OLD + i * 60_000 + 1000 }).event);
  });
  await archive.putRows([...old, ...old]);
  await archive.stop();
});
afterAll(() => api.close());

function capturingBus(): { bus: LocalBus; replayed: RuleDelivery[] } {
  const bus = new LocalBus({ rules: [{ id: 'replays', description: 'replayed entries', pattern: { source: ['leadlog'], detail: { replay_id: [{ exists: true }] } } }] });
  const replayed: RuleDelivery[] = [];
  bus.onDelivery((d) => d.event.detail.org_id === orgId && replayed.push(d));
  return { bus, replayed };
}

const ports = (bus: EventBus) => ({
  events: api.deps.events, replays: api.deps.replays.store, bus, maskOptions: api.deps.maskOptions, nowMs: () => Date.now(), sleep: async () => undefined,
});

describe('replays', () => {
  it('counts in a dry run, then emits exactly the matched events, as first published plus replay_id, and nothing into the stream', async () => {
    const dry = await api.request('POST', '/v1/replays', { key, body: { from, to, type: 'purchase_completed', dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ matched: 25 });

    // The stream, read to its end before: the replay must add nothing of this org to it (other tests write beside).
    let ours = 0;
    const stream = new StreamPoller({
      endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, batchSize: 1000,
      handler: async (event) => void (ours += event.Records.filter((r) => JSON.stringify(r.dynamodb?.Keys ?? {}).includes(orgId)).length),
    });
    await stream.drain();
    expect(ours).toBeGreaterThanOrEqual(30); // the check sees this org's records: its 30 inserts
    ours = 0;

    const started = await api.request('POST', '/v1/replays', { key, body: { from, to, type: 'purchase_completed' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', matched: 25, emitted: 0, skipped: 0 });
    const { bus, replayed } = capturingBus();
    const outcome = await runReplay(ports(bus), orgId, started.body.id);
    expect('done' in outcome && outcome.done).toMatchObject({ status: 'completed', matched: 25, emitted: 25, skipped: 0 });
    expect((await api.request('GET', `/v1/replays/${started.body.id}`, { key })).body).toMatchObject({ status: 'completed', emitted: 25 });

    expect(replayed).toHaveLength(25);
    expect(new Set(replayed.map((d) => d.event.detail.id)).size).toBe(25);
    const first = replayed[0]!.event;
    expect(first['detail-type']).toBe('purchase_completed');
    expect(first.detail.replay_id).toBe(started.body.id);
    // As first published: the masked event, without raw payload or snapshot.
    expect((first.detail.payload as Record<string, unknown>).buyer_email).toMatch(/^a\*\*\*@example\.com$/);
    expect(first.detail).not.toHaveProperty('raw_payload');
    expect(first.detail).not.toHaveProperty('lead_snapshot');
    // Nothing went into the table's stream: windowed alerts and the archive (both fed by it) see nothing new.
    await stream.drain();
    expect(ours).toBe(0);
  });

  it('resumes after a crash mid-replay with no event emitted twice: the interrupted chunk is counted as skipped', async () => {
    const started = await api.request('POST', '/v1/replays', { key, body: { from, to } });
    expect(started.body.matched).toBe(30);
    const { bus, replayed } = capturingBus();
    let calls = 0;
    // The worst moment: EventBridge took the second chunk, then the process died before the job recorded it.
    const dying: EventBus = {
      putEvents: async (entries: BusEntry[]) => {
        const failed = await bus.putEvents(entries);
        if (++calls === 2) throw new Error('the process died here');
        return failed;
      },
    };
    await expect(runReplay(ports(dying), orgId, started.body.id)).rejects.toThrow('died');
    const outcome = await runReplay(ports(bus), orgId, started.body.id);
    expect('done' in outcome && outcome.done).toMatchObject({ status: 'completed', matched: 30, emitted: 20, skipped: 10 });
    const ids = replayed.filter((d) => d.event.detail.replay_id === started.body.id).map((d) => d.event.detail.id);
    expect(ids).toHaveLength(30); // the skipped chunk did reach the bus, once
    expect(new Set(ids).size).toBe(30);
  });

  it('reads a range older than the hot store from the archive (each event once), then the rest from DynamoDB', async () => {
    const range = { from: new Date(OLD - DAY_MS).toISOString(), to, type: 'purchase_completed' };
    expect((await api.request('POST', '/v1/replays', { key, body: { ...range, dry_run: true } })).body).toEqual({ matched: 12 + 25 });
    const started = await api.request('POST', '/v1/replays', { key, body: range });
    const { bus, replayed } = capturingBus();
    const outcome = await runReplay({ ...ports(bus), archive: localStandIns.archivedEvents }, orgId, started.body.id);
    expect('done' in outcome && outcome.done).toMatchObject({ status: 'completed', matched: 37, emitted: 37, skipped: 0 });
    const mine = replayed.filter((d) => d.event.detail.replay_id === started.body.id);
    expect(mine.map((d) => d.event.detail.lead_id as string).slice(0, 12)).toEqual(Array.from({ length: 12 }, (_, i) => `old_${i}`));
    expect(new Set(mine.map((d) => d.event.detail.id)).size).toBe(37);
    // As first published: the archived event's detail, masked, with its JSON columns back as JSON.
    expect(mine[0]!.event.detail).toMatchObject({ event_type: 'purchase_completed', source: 'web', payload: { amount: 10, currency: 'BRL' } });
    expect(mine[0]!.event.time).toBe(new Date(OLD).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('is for admin keys, and refuses a bad request naming every bad field', async () => {
    const reader = await api.keyFor(orgId, ['events:read']);
    expect((await api.request('POST', '/v1/replays', { key: reader, body: { from, to, dry_run: true } })).status).toBe(403);
    const bad = await api.request('POST', '/v1/replays', { key, body: { from: 'soon', type: 'nope', extra: true } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'from', 'to', 'type']);
  });
});
