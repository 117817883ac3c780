import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { sha256Hex } from '../domain/canonical.js';
import { parseJsonLossless, parseJsonWellFormed } from '../domain/json.js';
import type { BuiltEvent, LeadEvent, RawBody } from '../domain/event.js';
import type { DecodedRecord } from '../domain/fanout.js';
import { leafRecordOf, recordOf, sealOf } from '../domain/proofs.js';
import { eventKeysFor, shardOf, timeTiebreak } from '../domain/keys.js';
import type { BlobStore, RangeQuery, StoredEvent, StoredRecord } from '../domain/ports.js';
import { utcDay } from '../domain/time.js';

/**
 * The event item codec: the one place that knows how an event sits in the events table (keys, TTL, JSON
 * attributes, the claim check for large raw payloads) and how to read it back, from a GetItem/Query item
 * or from a stream record's NEW_IMAGE. The DynamoDB event store and the stream fan-out both use it.
 */

/** raw_payload above this size goes to the blob store (claim check); items must stay under 400 KB. */
export const RAW_PAYLOAD_INLINE_LIMIT = 64 * 1024;

export interface EventItem {
  pk: string;
  id: string;
  org_id: string;
  lead_id: string;
  event_type: string;
  source: string;
  outcome?: string;
  flow_id?: string;
  occurred_at: string;
  received_at: string;
  /** Epoch seconds: the table's TTL attribute. */
  expires_at: number;
  content_hash: string;
  /**
   * Proof of record (section 14): the SHA-256 of the event's record (`recordOf`: the whole stored event and its raw
   * bytes), which its leaf commits to; and the seal (HMAC of the leaf under leadlog's key), without which the stream
   * path never gives an item a leaf. Items written before proof of record have neither.
   */
  record_hash?: string;
  seal?: string;
  /**
   * The event without raw_payload and lead_snapshot, as JSON; or `body_z`, the same zstd-compressed. Likewise
   * `snapshot`/`snapshot_z`, `raw`/`raw_z` and `raw_body`/`raw_body_z`: a value of COMPRESS_FROM_BYTES or more is
   * stored compressed when that saves a fifth (fewer write units and stored bytes; decoding is exact).
   */
  body?: string;
  body_z?: Uint8Array;
  snapshot?: string;
  snapshot_z?: Uint8Array;
  raw?: string;
  raw_z?: Uint8Array;
  /** The blob store key of a raw payload over RAW_PAYLOAD_INLINE_LIMIT. */
  raw_ref?: string;
  /**
   * A webhook's body exactly as delivered (its raw_payload is this, parsed: `raw` is then not written), or the
   * blob store key of one over the inline limit, and its content type.
   */
  raw_body?: Uint8Array;
  raw_body_z?: Uint8Array;
  raw_body_ref?: string;
  raw_content_type?: string;
  /** Digests of the identities the event named: an erasure releases their claims (no identity value sits here). */
  identity_digests?: Set<string>;
  lead_key: string;
  day_key: string;
  time_key: string;
  flow_key?: string;
}

/** Values from this size up are stored zstd-compressed when that saves at least a fifth. */
export const COMPRESS_FROM_BYTES = 256;

/** The value as stored: compressed (binary) when worth it, else as is. */
function squeeze(value: string | Uint8Array): { plain: string | Uint8Array } | { z: Uint8Array } {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length < COMPRESS_FROM_BYTES) return { plain: value };
  const z = zstdCompressSync(bytes);
  return z.length <= bytes.length * 0.8 ? { z } : { plain: value };
}

/** Sets `name` or `name_z` on the item. */
function store(item: EventItem, name: 'body' | 'snapshot' | 'raw' | 'raw_body', value: string | Uint8Array): void {
  const packed = squeeze(value);
  if ('z' in packed) (item as unknown as Record<string, unknown>)[`${name}_z`] = packed.z;
  else (item as unknown as Record<string, unknown>)[name] = packed.plain;
}

const unzstd = (z: Uint8Array) => zstdDecompressSync(z);
const textOf = (plain: string | undefined, z: Uint8Array | undefined): string | undefined =>
  plain !== undefined ? plain : z !== undefined ? unzstd(z).toString('utf8') : undefined;
const bytesOf = (plain: Uint8Array | undefined, z: Uint8Array | undefined): Buffer | undefined =>
  plain !== undefined ? Buffer.from(plain) : z !== undefined ? unzstd(z) : undefined;

export type Include = RangeQuery['include'];
const EVERYTHING: Include = { leadSnapshot: true, rawPayload: true };

/**
 * The item for an event; a raw payload over the inline limit is written to the blob store first. `indexShards` is
 * the org's shard plan for writers (shared/domain/shards.ts): the day and flow index entries go to shard
 * shardOf(id, indexShards), the same for a retried write.
 */
export async function encodeEventItem(built: BuiltEvent, blobs: BlobStore, indexShards = 1): Promise<EventItem> {
  const { raw_payload: rawPayload, lead_snapshot: leadSnapshot, ...summary } = built.event;
  const e = built.event;
  const shard = shardOf(e.id, indexShards);
  const item: EventItem = {
    pk: eventKeysFor.pk(e.org_id, e.id),
    id: e.id,
    org_id: e.org_id,
    lead_id: e.lead_id,
    event_type: e.event_type,
    source: e.source,
    ...(e.outcome ? { outcome: e.outcome } : {}),
    ...(e.flow_id ? { flow_id: e.flow_id, flow_key: eventKeysFor.flow(e.org_id, e.flow_id, shard) } : {}),
    occurred_at: e.occurred_at,
    received_at: e.received_at,
    expires_at: Math.floor(Date.parse(e.expires_at) / 1000),
    content_hash: built.contentHash,
    lead_key: eventKeysFor.lead(e.org_id, e.lead_id),
    day_key: eventKeysFor.day(e.org_id, utcDay(e.occurred_at), shard),
    time_key: eventKeysFor.time(e.occurred_at, timeTiebreak(e)),
  };
  const bodyText = JSON.stringify(summary);
  const snapshotText = leadSnapshot !== undefined ? JSON.stringify(leadSnapshot) : undefined;
  store(item, 'body', bodyText);
  if (snapshotText !== undefined) store(item, 'snapshot', snapshotText);
  if (built.identityDigests?.length) item.identity_digests = new Set(built.identityDigests);
  const rawText = !built.rawBody && rawPayload !== undefined ? JSON.stringify(rawPayload) : undefined;
  if (built.rawBody) {
    const { bytes, contentType } = built.rawBody;
    item.raw_content_type = contentType.slice(0, 200);
    if (bytes.length > RAW_PAYLOAD_INLINE_LIMIT) {
      const key = `raw/${e.org_id}/${e.id}/${sha256Hex(bytes).slice(0, 16)}.body`;
      await blobs.put(key, bytes);
      item.raw_body_ref = key;
    } else {
      store(item, 'raw_body', bytes);
    }
  } else if (rawText !== undefined) {
    if (Buffer.byteLength(rawText) > RAW_PAYLOAD_INLINE_LIMIT) {
      // Keyed by content hash too: a conflicting write under the same id never overwrites the original's payload.
      const key = `raw/${e.org_id}/${e.id}/${sha256Hex(rawText).slice(0, 16)}.json`;
      await blobs.put(key, rawText);
      item.raw_ref = key;
    } else {
      store(item, 'raw', rawText);
    }
  }
  // The record is built from what a reader decodes (the stored JSON texts read back, as decodeInline reads them: no
  // second compression round trip), so `npm run verify -- --org` recomputes the same hash from the item; the raw bytes
  // are those decodeRawBody returns.
  const stored = parseJsonLossless(bodyText) as LeadEvent;
  if (snapshotText !== undefined) stored.lead_snapshot = parseJsonLossless(snapshotText) as LeadEvent['lead_snapshot'];
  const rawBytes = built.rawBody ? built.rawBody.bytes : rawText !== undefined ? Buffer.from(rawText) : undefined;
  const { contentHash } = recordOf(stored, rawBytes);
  item.record_hash = contentHash;
  const seal = sealedLeaf(e, contentHash);
  if (seal !== undefined) item.seal = seal;
  return item;
}

/** The seal of an event's leaf; undefined without a seal key, or for a leaf that cannot be encoded (never sealed). */
function sealedLeaf(event: LeadEvent, contentHash: string): string | undefined {
  try {
    return sealOf(leafRecordOf(event, contentHash));
  } catch {
    return undefined;
  }
}

type InlineAttributes = Pick<EventItem, 'body' | 'body_z' | 'snapshot' | 'snapshot_z' | 'raw' | 'raw_z' | 'raw_body' | 'raw_body_z'>;

/** The JSON attributes back into an event; a claim-checked raw payload is left to the caller. */
function decodeInline(item: InlineAttributes, include: Include): LeadEvent {
  const event = parseJsonLossless(textOf(item.body, item.body_z)!) as LeadEvent;
  const snapshot = include.leadSnapshot ? textOf(item.snapshot, item.snapshot_z) : undefined;
  if (snapshot !== undefined) event.lead_snapshot = parseJsonLossless(snapshot) as LeadEvent['lead_snapshot'];
  if (include.rawPayload) {
    const raw = textOf(item.raw, item.raw_z) ?? bytesOf(item.raw_body, item.raw_body_z)?.toString('utf8');
    if (raw !== undefined) event.raw_payload = parseJsonWellFormed(raw);
  }
  return event;
}

/** An item read from the table as the event, with what `include` asks for (a claim check is fetched). */
export async function decodeEventItem(item: EventItem, include: Include, blobs: BlobStore): Promise<LeadEvent> {
  const event = decodeInline(item, include);
  if (!include.rawPayload || event.raw_payload !== undefined) return event;
  if (item.raw_ref !== undefined) event.raw_payload = parseJsonWellFormed(await blobs.get(item.raw_ref));
  else if (item.raw_body_ref !== undefined) event.raw_payload = parseJsonWellFormed((await blobs.getBytes(item.raw_body_ref)).toString('utf8'));
  return event;
}

/** The bytes an event arrived with: a webhook's body as delivered, else its raw_payload as JSON; undefined when it has none. */
export async function decodeRawBody(item: EventItem, blobs: BlobStore): Promise<RawBody | undefined> {
  const contentType = item.raw_content_type ?? 'application/json';
  const body = bytesOf(item.raw_body, item.raw_body_z);
  if (body !== undefined) return { bytes: body, contentType };
  if (item.raw_body_ref !== undefined) return { bytes: await blobs.getBytes(item.raw_body_ref), contentType };
  const raw = textOf(item.raw, item.raw_z);
  if (raw !== undefined) return { bytes: Buffer.from(raw), contentType };
  if (item.raw_ref !== undefined) return { bytes: Buffer.from(await blobs.get(item.raw_ref)), contentType };
  return undefined;
}

/**
 * An item as proof of record sees it (`StoredRecord`): the stored event, its raw bytes, the record recomputed from
 * them (`recordOf`) beside the record hash and seal the item holds. A mismatch is an item edited after it was written.
 */
export async function storedRecordOf(item: EventItem, blobs: BlobStore, options: { tolerant?: boolean } = {}): Promise<StoredRecord> {
  let event: LeadEvent;
  let raw: RawBody | undefined;
  try {
    event = decodeInline(item, { leadSnapshot: true, rawPayload: false });
    raw = await decodeRawBody(item, blobs);
  } catch (error) {
    // Reads (proofs, bundles) fail on any error (a 503 for a blob store that did not answer, never a silent record);
    // the audit (`tolerant`) reads every item of an org and must name a broken one instead of stopping at it.
    if (!options.tolerant) throw error;
    // An item leadlog cannot have written (no body, broken JSON, a claim check to nothing): its attributes, and a record
    // that hashes to nothing any leaf holds, so the audit names it (inserted, or edited when its id has a leaf).
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    event = { id: text(item.id) || item.pk.slice(item.pk.indexOf('#') + 1), org_id: text(item.org_id), lead_id: text(item.lead_id), received_at: text(item.received_at) } as LeadEvent;
    return { event, raw: undefined, record: '', contentHash: 'undecodable', expiresAt: Number(item.expires_at), ...(item.seal !== undefined ? { seal: item.seal } : {}) };
  }
  const { record, contentHash } = recordOf(event, raw?.bytes);
  return {
    event, raw: raw?.bytes, record, contentHash, expiresAt: Number(item.expires_at),
    ...(item.record_hash !== undefined ? { storedHash: item.record_hash } : {}), ...(item.seal !== undefined ? { seal: item.seal } : {}),
  };
}

/** The item already under an event's id, as the domain compares it (shared/domain/ingest.ts). */
export async function decodeStoredEvent(item: EventItem, blobs: BlobStore): Promise<StoredEvent> {
  return { event: await decodeEventItem(item, EVERYTHING, blobs), contentHash: item.content_hash };
}

/** A stream record, already unmarshalled: its kind, sequence number and NEW_IMAGE. */
export interface StreamRecordView {
  eventName?: string;
  sequenceNumber: string;
  newImage?: Record<string, unknown>;
}

/**
 * The new event in a stream record: only INSERTs of event items are new events; TTL deletions (REMOVE) and
 * anything else are not. A raw payload kept in the blob store (over 64 KB) stays its reference, `{$ref}`:
 * the stream path never copies it.
 */
export function eventOfRecord(record: StreamRecordView): LeadEvent | undefined {
  const image = record.newImage;
  if (record.eventName !== 'INSERT' || !image || (typeof image.body !== 'string' && !(image.body_z instanceof Uint8Array))) return undefined;
  const event = decodeInline(image as InlineAttributes, EVERYTHING);
  const ref = image.raw_ref ?? image.raw_body_ref;
  if (event.raw_payload === undefined && typeof ref === 'string') event.raw_payload = { $ref: ref };
  return event;
}

const finiteOrZero = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** The index shard an item's day key names (`<org>~<k>#…`; shard 0 has no `~`). */
function shardOfKey(dayKey: unknown): number {
  const match = typeof dayKey === 'string' ? /^[^#~]*~(\d{1,5})#/.exec(dayKey) : null;
  return match ? Number(match[1]) : 0;
}

export function decodeRecord(view: StreamRecordView): DecodedRecord {
  const event = eventOfRecord(view);
  const image = view.newImage;
  const proof = event && typeof image?.record_hash === 'string'
    // Any value an item put by hand may hold is read into a well-formed proof (a TTL that is not a number reads 0):
    // such an item fails its seal later and is refused alone, never failing the batch it rides in.
    ? { contentHash: image.record_hash, ...(typeof image.seal === 'string' ? { seal: image.seal } : {}), expiresAt: finiteOrZero(image.expires_at), shard: shardOfKey(image.day_key) }
    : undefined;
  return { sequenceNumber: view.sequenceNumber, event, ...(proof ? { proof } : {}) };
}

/** The records of a Lambda stream batch, decoded once. */
export function decodeStreamRecords(records: DynamoDBRecord[]): DecodedRecord[] {
  return records.map((record) => decodeRecord({
    ...(record.eventName ? { eventName: record.eventName } : {}),
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    ...(record.dynamodb?.NewImage ? { newImage: unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) } : {}),
  }));
}
