import { ALERT_DETAIL_TYPE, BUS_SOURCE } from '../definitions/event-rules.js';
import { countsTowardAlerts, processAlerts, type AlertRaised } from './alerts.js';
import { archiveSink } from './archive.js';
import type { LeadEvent } from './event.js';
import { maskError, maskEvent, type MaskOptions } from './masking.js';
import type { AlertStore, Archive, BusEntry, Clock, EventBus, Log } from './ports.js';
import { chunkBy, sendAll, type Sink } from './sink.js';
import { queueLeaves, type LoggableRecord, type ProofLogStore } from './proof-log.js';

/**
 * What leaves DynamoDB for subscribers: every INSERT (never TTL or other removals), masked as reads without
 * pii:read are, without raw_payload and lead_snapshot; every event to the archive; and the windowed alerts.
 * Pure orchestration over ports: decoding stream records is the stream adapter's (shared/stream/handler.ts).
 */

/** EventBridge's limits: 256 KB per PutEvents request (entries summed), 10 entries per request. */
export const MAX_BUS_REQUEST_BYTES = 256 * 1024;
export const MAX_BUS_ENTRIES = 10;
/** Room for Source, DetailType and the request envelope inside the 256 KB. */
const MAX_DETAIL_BYTES = MAX_BUS_REQUEST_BYTES - 2 * 1024;
/** Tries per sink entry before the record is reported failed (and Lambda retries the batch from it). */
const SINK_ATTEMPTS = 3;

export function busDetail(event: LeadEvent, mask: MaskOptions = {}): Record<string, unknown> {
  const { raw_payload: _raw, lead_snapshot: _snapshot, ...rest } = maskEvent(event, mask);
  return rest;
}

/** EventBridge's entry size: Source + DetailType + Detail (+ Time, Resources), in UTF-8 bytes. */
export function entrySize(entry: BusEntry): number {
  return Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail) + (entry.Time ? 14 : 0);
}

/** The bus entry of an event; too big for EventBridge, it goes out with payload and appended dropped and `trimmed: true`, never dropped. */
export function toBusEntry(event: LeadEvent, mask: MaskOptions = {}): BusEntry {
  const detail = busDetail(event, mask);
  let text = JSON.stringify(detail);
  if (Buffer.byteLength(text) > MAX_DETAIL_BYTES) {
    const { payload: _payload, appended: _appended, ...smaller } = detail;
    text = JSON.stringify({ ...smaller, trimmed: true });
  }
  return { Source: BUS_SOURCE, DetailType: event.event_type, Detail: text, Time: new Date(event.occurred_at) };
}

/** Splits entries into PutEvents requests of at most 10 entries and 256 KB, keeping order. */
export function chunkEntries<T extends BusEntry>(entries: T[]): T[][] {
  return chunkBy(entries, MAX_BUS_ENTRIES, MAX_BUS_REQUEST_BYTES, entrySize);
}

export function busSink(bus: EventBus): Sink<BusEntry> {
  return { name: 'bus', toEntry: toBusEntry, chunk: chunkEntries, put: (entries) => bus.putEvents(entries) };
}

/** A stream record after decoding (once per batch): its sequence number, and its event when it is a new one (an INSERT). */
export interface DecodedRecord {
  sequenceNumber: string;
  event?: LeadEvent | undefined;
  /** What the item says for proof of record: its record hash, its seal (when sealed), its TTL (epoch seconds). */
  proof?: { contentHash: string; seal?: string; expiresAt: number; shard: number } | undefined;
}

/**
 * Sends the events of a batch of decoded records to every sink, retrying failed entries, and returns the
 * sequence number of the first record that some sink still refused (Lambda then retries from there:
 * at-least-once to each sink, nothing before that record is sent again).
 */
export async function publishRecords(
  destinations: Sink<unknown>[], records: DecodedRecord[], attempts = SINK_ATTEMPTS, maskOptions?: (orgId: string) => Promise<MaskOptions>,
): Promise<string | undefined> {
  const orgs = [...new Set(records.flatMap((record) => (record.event ? [record.event.org_id] : [])))];
  const masks = new Map(await Promise.all(orgs.map(async (org) => [org, maskOptions ? await maskOptions(org) : {}] as const)));
  const items = records.flatMap((record) => (record.event ? [{ key: record.sequenceNumber, event: record.event, mask: masks.get(record.event.org_id) ?? {} }] : []));
  const failedSequences = new Set<string>();
  await Promise.all(destinations.map(async (sink) => {
    for (const sequence of await sendAll(sink, items, attempts)) failedSequences.add(sequence);
  }));
  if (failedSequences.size === 0) return undefined;
  return records.find((r) => failedSequences.has(r.sequenceNumber))?.sequenceNumber;
}

/** The ports of the fan-out. Without an archive or an alert store, that part is skipped (tests, partial setups). */
export interface FanoutPorts {
  bus: EventBus;
  /** An org's masking options (its own PII key names); without it, the built-in masking alone. */
  maskOptions?: ((orgId: string) => Promise<MaskOptions>) | undefined;
  archive?: Archive | undefined;
  alerts?: AlertStore | undefined;
  /** Proof of record's log (section 14): each new, sealed event queued for its org's tree. */
  proofLog?: ProofLogStore | undefined;
  clock: Clock;
  log?: Log | undefined;
}

export interface FanoutResult {
  /** The first record not done: retry the batch from it. Undefined when every record is done. */
  failedSequence: string | undefined;
  raised: AlertRaised[];
}

/**
 * One batch of the events table's stream: publish to the bus and the archive, then count what was published
 * towards the windowed alerts. A record is done only when both sinks took it and its alert contribution was
 * recorded; the result names the first record that is not.
 */
export async function fanOut(records: DecodedRecord[], ports: FanoutPorts): Promise<FanoutResult> {
  const sinks = [busSink(ports.bus), ...(ports.archive ? [archiveSink(ports.archive)] : [])] as Sink<unknown>[];
  // The log first: a record is done only once its leaf is queued, so a failure here retries the whole batch
  // (queueing is idempotent per event id, and nothing was published yet).
  if (ports.proofLog) {
    const loggable = records.flatMap((r): LoggableRecord[] => (r.event && r.proof ? [{ event: r.event, proof: r.proof }] : []));
    try {
      const { refused } = await queueLeaves(ports.proofLog, loggable, ports.clock.now());
      const unsealed = [...refused, ...records.flatMap((r) => (r.event && !r.proof ? [r.event] : []))];
      if (unsealed.length > 0) {
        // Not leadlog's write (no record hash, or a seal that does not verify): it never enters the log, and
        // `npm run verify -- --org` names it as inserted behind leadlog's back. Still published, as every INSERT is.
        ports.log?.error('events without a valid seal reached the stream: not logged (written to the table by hand?)', {
          count: unsealed.length, ids: unsealed.slice(0, 10).map((e) => e.id),
        });
      }
    } catch (error) {
      ports.log?.error('queueing log leaves failed; the batch will be retried', { error: maskError(error) });
      return { failedSequence: records[0]?.sequenceNumber, raised: [] };
    }
  }
  const firstFailed = await publishRecords(sinks, records, SINK_ATTEMPTS, ports.maskOptions);
  if (firstFailed !== undefined) ports.log?.warn('bus or archive entries failed after retries', { firstFailed, records: records.length });
  if (!ports.alerts) return { failedSequence: firstFailed, raised: [] };

  // Count only what was published: a retry from firstFailed then counts the rest exactly once.
  const upTo = firstFailed === undefined ? records.length : records.findIndex((r) => r.sequenceNumber === firstFailed);
  const published = records.slice(0, upTo).flatMap((r) => (r.event ? [{ event: r.event, sequence: r.sequenceNumber }] : []));
  const publish = async (alert: AlertRaised) => {
    const entry = { Source: BUS_SOURCE, DetailType: ALERT_DETAIL_TYPE, Detail: JSON.stringify(alert), Time: new Date(ports.clock.now()) };
    if ((await ports.bus.putEvents([entry])).length > 0) throw new Error('the bus refused the alert');
  };
  try {
    const raised = await processAlerts({ store: ports.alerts, publish, nowMs: ports.clock.now() }, published);
    for (const alert of raised) ports.log?.info('alert raised', { rule: alert.rule_id, org: alert.org_id });
    return { failedSequence: firstFailed, raised };
  } catch (error) {
    // Retry from the first record that counts towards an alert: everything before it is published and counts for nothing.
    const retryFrom = published.find((r) => countsTowardAlerts(r.event))?.sequence ?? firstFailed;
    ports.log?.error('alert evaluation failed; the batch will be retried', { error: maskError(error), retryFrom });
    return { failedSequence: retryFrom, raised: [] };
  }
}
