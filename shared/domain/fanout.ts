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

/** Splits items, in order, into groups of at most `maxCount` items and `maxBytes` (by `sizeOf`). */
export function chunkBy<T>(items: T[], maxCount: number, maxBytes: number, sizeOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length === maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Splits entries into PutEvents requests of at most 10 entries and 256 KB, keeping order. */
export function chunkEntries<T extends BusEntry>(entries: T[]): T[][] {
  return chunkBy(entries, MAX_BUS_ENTRIES, MAX_BUS_REQUEST_BYTES, entrySize);
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
  const image = record.newImage;
  if (record.eventName !== 'INSERT' || !image || typeof image.body !== 'string') return undefined;
  const event = JSON.parse(image.body) as LeadEvent;
  if (typeof image.snapshot === 'string') event.lead_snapshot = JSON.parse(image.snapshot);
  if (typeof image.raw === 'string') event.raw_payload = JSON.parse(image.raw);
  // A raw payload kept in S3 (over 64 KB) is archived as its reference, not copied into the stream path.
  else if (typeof image.raw_ref === 'string') event.raw_payload = { $ref: image.raw_ref };
  return event;
}

/** A destination of the fan-out: how to turn an event into an entry, batch entries, and send a batch. */
export interface Sink<Entry> {
  name: string;
  toEntry(event: LeadEvent): Entry;
  chunk(entries: Entry[]): Entry[][];
  /** Sends one chunk; returns the indexes (within the chunk) that failed. Throwing fails the whole chunk. */
  put(entries: Entry[]): Promise<number[]>;
}

export function busSink(bus: EventBus): Sink<BusEntry> {
  return { name: 'bus', toEntry: toBusEntry, chunk: chunkEntries, put: (entries) => bus.putEvents(entries) };
}

/**
 * Sends the events of a batch of stream records to every sink, retrying failed entries, and returns the
 * sequence number of the first record that some sink still refused (Lambda then retries from there:
 * at-least-once to each sink, nothing before that record is sent again).
 */
export async function publishRecords(destinations: Sink<unknown>[], records: StreamRecordView[], attempts = 3): Promise<string | undefined> {
  const items = records
    .map((record) => ({ record, event: eventOfRecord(record) }))
    .filter((item): item is { record: StreamRecordView; event: LeadEvent } => item.event !== undefined);
  const failedSequences = new Set<string>();
  await Promise.all(destinations.map(async (sink) => {
    for (const sequence of await sendAll(sink, items, attempts)) failedSequences.add(sequence);
  }));
  if (failedSequences.size === 0) return undefined;
  return records.find((r) => failedSequences.has(r.sequenceNumber))?.sequenceNumber;
}

async function sendAll<Entry>(sink: Sink<Entry>, items: { record: StreamRecordView; event: LeadEvent }[], attempts: number): Promise<string[]> {
  let pending = items.map((item) => ({ sequence: item.record.sequenceNumber, entry: sink.toEntry(item.event) }));
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** (attempt - 1)));
    const failed: typeof pending = [];
    let offset = 0;
    const byEntry = pending;
    for (const chunk of sink.chunk(byEntry.map((p) => p.entry))) {
      const slice = byEntry.slice(offset, offset + chunk.length);
      offset += chunk.length;
      let failedIndexes: number[];
      try {
        failedIndexes = await sink.put(chunk);
      } catch {
        failedIndexes = chunk.map((_, i) => i);
      }
      for (const i of failedIndexes) failed.push(slice[i]!);
    }
    pending = failed;
  }
  return pending.map((p) => p.sequence);
}
