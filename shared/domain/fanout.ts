import { BUS_SOURCE } from '../definitions/event-rules.js';
import type { LeadEvent } from './event.js';
import { maskEvent } from './masking.js';

/**
 * What leaves DynamoDB for subscribers: every INSERT (never TTL or other removals), masked as reads without
 * pii:read are, without raw_payload and lead_snapshot. Pure: the handler does the unmarshalling and I/O.
 */
export interface BusEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Time?: Date;
}

/** EventBridge's limits: 256 KB per PutEvents request (entries summed), 10 entries per request. */
export const MAX_BUS_REQUEST_BYTES = 256 * 1024;
export const MAX_BUS_ENTRIES = 10;
/** Room for Source, DetailType and the request envelope inside the 256 KB. */
const MAX_DETAIL_BYTES = MAX_BUS_REQUEST_BYTES - 2 * 1024;

export function busDetail(event: LeadEvent): Record<string, unknown> {
  const { raw_payload: _raw, lead_snapshot: _snapshot, ...rest } = maskEvent(event);
  return rest;
}

/** EventBridge's entry size: Source + DetailType + Detail (+ Time, Resources), in UTF-8 bytes. */
export function entrySize(entry: BusEntry): number {
  return Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail) + (entry.Time ? 14 : 0);
}

/** The bus entry of an event; too big for EventBridge, it goes out with payload and appended dropped and `trimmed: true`, never dropped. */
export function toBusEntry(event: LeadEvent): BusEntry {
  const detail = busDetail(event);
  let text = JSON.stringify(detail);
  if (Buffer.byteLength(text) > MAX_DETAIL_BYTES) {
    const { payload: _payload, appended: _appended, ...smaller } = detail;
    text = JSON.stringify({ ...smaller, trimmed: true });
  }
  return { Source: BUS_SOURCE, DetailType: event.event_type, Detail: text, Time: new Date(event.occurred_at) };
}

/** Splits entries into PutEvents requests of at most 10 entries and 256 KB, keeping order. */
export function chunkEntries<T extends BusEntry>(entries: T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length > 0 && (current.length === MAX_BUS_ENTRIES || bytes + size > MAX_BUS_REQUEST_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Port: where bus entries go (EventBridge in AWS, the local bus on a laptop). Returns the indexes that failed. */
export interface EventBus {
  putEvents(entries: BusEntry[]): Promise<number[]>;
}

/** A minimal view of a DynamoDB stream record, already unmarshalled. */
export interface StreamRecordView {
  eventName?: string;
  sequenceNumber: string;
  newImage?: Record<string, unknown>;
}

/** Only INSERTs of event items are new events; TTL deletions (REMOVE) and anything else are skipped. */
export function eventOfRecord(record: StreamRecordView): LeadEvent | undefined {
  if (record.eventName !== 'INSERT' || !record.newImage || typeof record.newImage.body !== 'string') return undefined;
  return JSON.parse(record.newImage.body) as LeadEvent;
}

/**
 * Sends the events of a batch of stream records, retrying failed entries, and returns the sequence number
 * of the first record that still failed (Lambda then retries from there; everything before it is done).
 */
export async function publishRecords(bus: EventBus, records: StreamRecordView[], attempts = 3): Promise<string | undefined> {
  const pending = records
    .map((record) => ({ record, event: eventOfRecord(record) }))
    .filter((item): item is { record: StreamRecordView; event: LeadEvent } => item.event !== undefined)
    .map((item) => ({ ...toBusEntry(item.event), record: item.record }));
  let failed: typeof pending = [];
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    failed = [];
    for (const chunk of chunkEntries(pending)) {
      let failedIndexes: number[];
      try {
        failedIndexes = await bus.putEvents(chunk.map(({ record: _record, ...entry }) => entry));
      } catch {
        failedIndexes = chunk.map((_, i) => i);
      }
      for (const i of failedIndexes) failed.push(chunk[i]!);
    }
    pending.splice(0, pending.length, ...failed);
    if (failed.length > 0 && attempt + 1 < attempts) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
  }
  if (failed.length === 0) return undefined;
  const order = new Map(records.map((r, i) => [r.sequenceNumber, i]));
  return failed.map((f) => f.record.sequenceNumber).sort((a, b) => order.get(a)! - order.get(b)!)[0];
}
