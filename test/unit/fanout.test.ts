import { describe, expect, it } from 'vitest';
import { busSink, chunkEntries, entrySize, fanOut, publishRecords, toBusEntry } from '../../shared/domain/fanout.js';
import { decodeRecord, eventOfRecord } from '../../shared/adapters/event-item.js';
import type { AlertStore, BusEntry } from '../../shared/domain/ports.js';
import type { Sink } from '../../shared/domain/sink.js';
import type { LeadEvent } from '../../shared/domain/event.js';

const event = (over: Partial<LeadEvent> = {}): LeadEvent => ({
  id: '01a2', org_id: 'org', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'objection_raised',
  payload: { type: 'price', email: 'ana@example.com' }, raw_payload: { x: 1 }, lead_snapshot: { name: 'Ana' },
  occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:00.000Z', expires_at: '2027-02-21T10:00:00.000Z', schema_version: '1', ...over,
});
const record = (eventName: string, seq: string, e: LeadEvent = event()) => ({ eventName, sequenceNumber: seq, newImage: { body: JSON.stringify(e) } });

describe('fan-out', () => {
  it('takes INSERTs only: a TTL deletion (REMOVE) or a MODIFY is not a new event', () => {
    expect(eventOfRecord(record('INSERT', '1'))?.id).toBe('01a2');
    expect(eventOfRecord(record('REMOVE', '2'))).toBeUndefined();
    expect(eventOfRecord(record('MODIFY', '3'))).toBeUndefined();
  });

  it('masks and strips raw_payload and lead_snapshot; trims an oversized event instead of dropping it', () => {
    const entry = toBusEntry(event());
    const detail = JSON.parse(entry.Detail);
    expect(detail.raw_payload).toBeUndefined();
    expect(detail.lead_snapshot).toBeUndefined();
    expect(detail.payload.email).toBe('a***@example.com');
    const huge = toBusEntry(event({ payload: { blob: 'x'.repeat(300 * 1024) } }));
    expect(JSON.parse(huge.Detail)).toMatchObject({ id: '01a2', trimmed: true });
    expect(entrySize(huge)).toBeLessThan(256 * 1024);
  });

  it('chunks PutEvents requests at 10 entries and 256 KB', () => {
    const small: BusEntry = { Source: 'leadlog', DetailType: 't', Detail: '{}' };
    expect(chunkEntries(Array.from({ length: 25 }, () => small)).map((c) => c.length)).toEqual([10, 10, 5]);
    const big: BusEntry = { Source: 'leadlog', DetailType: 't', Detail: 'x'.repeat(100 * 1024) };
    expect(chunkEntries([big, big, big]).map((c) => c.length)).toEqual([2, 1]);
  });

  it('reports the first record that still fails after retries', async () => {
    const records = [record('INSERT', '10', event({ id: 'a' })), record('REMOVE', '11'), record('INSERT', '12', event({ id: 'b' })), record('INSERT', '13', event({ id: 'c' }))].map(decodeRecord);
    const alwaysFailsB = { putEvents: async (entries: BusEntry[]) => entries.flatMap((e, i) => (JSON.parse(e.Detail).id === 'b' ? [i] : [])) };
    expect(await publishRecords([busSink(alwaysFailsB) as Sink<unknown>], records, 2)).toBe('12');
    let calls = 0;
    const failsOnce = { putEvents: async (entries: BusEntry[]) => (calls++ === 0 ? entries.map((_, i) => i) : []) };
    expect(await publishRecords([busSink(failsOnce) as Sink<unknown>], records)).toBeUndefined();
  });

  it('on an alert-store failure, retries from the first record that counts towards an alert, not from the batch start', async () => {
    const records = [
      record('REMOVE', '20'),
      record('INSERT', '21', event({ id: 'viewed', event_type: 'product_viewed' })),
      record('INSERT', '22', event({ id: 'submitted', event_type: 'source.submitted', outcome: 'success' })),
      record('INSERT', '23', event({ id: 'rejected', event_type: 'source.rejected', outcome: 'failure', reason: 'x' })),
    ].map(decodeRecord);
    const published: string[] = [];
    const bus = { putEvents: async (entries: BusEntry[]) => (entries.forEach((e) => published.push(JSON.parse(e.Detail).id)), []) };
    const failing = { apply: async () => { throw new Error('throttled (injected)'); } } as unknown as AlertStore;
    const result = await fanOut(records, { bus, alerts: failing, clock: { now: () => 0 } });
    expect(result.failedSequence).toBe('22');
    expect(published).toEqual(['viewed', 'submitted', 'rejected']);
    const healthy = await fanOut(records.slice(0, 2), { bus, alerts: failing, clock: { now: () => 0 } });
    expect(healthy.failedSequence).toBeUndefined(); // nothing counted, so the store was never asked
  });

  it("logs an alert failure with the error's e-mails and phones masked (logs never hold an unmasked value)", async () => {
    const records = [record('INSERT', '30', event({ id: 'rejected', event_type: 'source.rejected', outcome: 'failure', reason: 'x', source: 'web' }))].map(decodeRecord);
    const bus = { putEvents: async () => [] };
    const failing = { apply: async () => { throw new Error('no counter for buyer ana@example.com, +14155550100'); } } as unknown as AlertStore;
    const lines: unknown[] = [];
    const log = { info: () => undefined, warn: () => undefined, error: (...args: unknown[]) => lines.push(args) };
    await fanOut(records, { bus, alerts: failing, clock: { now: () => 0 }, log: log as never });
    expect(JSON.stringify(lines)).toContain('a***@example.com, +1415*******');
    expect(JSON.stringify(lines)).not.toMatch(/ana@|4155550100/);
  });
});
