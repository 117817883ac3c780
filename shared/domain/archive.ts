import { archiveColumns } from '../definitions/archive.js';
import { SCHEMA_VERSION, type LeadEvent } from './event.js';
import { parseJsonLossless, stringifyWellFormed } from './json.js';
import type { Archive, ArchiveRow } from './ports.js';
import { chunkBy, type Sink } from './sink.js';
import { maskEvent, type MaskOptions } from './masking.js';
import { RETENTION_MS, toIso, utcDay } from './time.js';

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? null : String(value));
// Strict readers (DuckDB's JSONL export, Athena's json functions) refuse an escaped lone surrogate: write U+FFFD.
const json = (value: unknown) => (value === undefined ? null : stringifyWellFormed(value));

export function toArchiveRow(event: LeadEvent, mask: MaskOptions = {}): ArchiveRow {
  const e = maskEvent(event, mask);
  const payload = (e.payload ?? {}) as Record<string, unknown>;
  const values: Record<string, string | number | null> = {
    id: e.id, lead_id: e.lead_id, source_type: e.source_type, source: e.source, event_type: e.event_type,
    outcome: str(e.outcome), reason: str(e.reason), flow_id: str(e.flow_id), step_id: str(e.step_id), entity_id: str(e.entity_id),
    object_id: str(e.object_id), object_id_ref: str(e.object_id_ref), external_event_id: str(e.external_event_id),
    occurred_at: e.occurred_at, received_at: e.received_at,
    duration_ms: num(e.timing?.duration_ms), amount: num(payload.amount), currency: str(payload.currency), price: num(payload.price), cost: num(payload.cost),
    payload: json(e.payload), timing: json(e.timing), appended: json(e.appended), lead_snapshot: json(e.lead_snapshot), raw_payload: json(e.raw_payload),
  };
  const row: ArchiveRow = {};
  for (const column of archiveColumns) row[column.name] = values[column.name] ?? null;
  row.org_id = e.org_id;
  row.dt = utcDay(e.occurred_at);
  return row;
}

/** Firehose's PutRecordBatch limits: 500 records and 4 MiB per call. */
export const MAX_ARCHIVE_RECORDS = 500;
export const MAX_ARCHIVE_BATCH_BYTES = 4 * 1024 * 1024;

export function chunkRows(rows: ArchiveRow[]): ArchiveRow[][] {
  return chunkBy(rows, MAX_ARCHIVE_RECORDS, MAX_ARCHIVE_BATCH_BYTES, (row) => Buffer.byteLength(JSON.stringify(row)) + 1);
}

export function archiveSink(archive: Archive): Sink<ArchiveRow> {
  return { name: 'archive', toEntry: toArchiveRow, chunk: chunkRows, put: (rows) => archive.putRows(rows) };
}

/**
 * An archived row as the event it was (already masked): what a replay of a range older than the hot store puts on
 * the bus. JSON columns are parsed losslessly (no digit changes); the fields the archive does not keep are derived
 * (`expires_at` from `received_at`, `schema_version`).
 */
export function fromArchiveRow(row: Record<string, unknown>): LeadEvent {
  const text = (name: string) => (row[name] === null || row[name] === undefined || row[name] === '' ? undefined : String(row[name]));
  const parsed = (name: string) => {
    const value = text(name);
    return value === undefined ? undefined : parseJsonLossless(value);
  };
  const iso = (name: string) => new Date(Date.parse(/Z$|[+-]\d\d:?\d\d$/.test(text(name)!) ? text(name)! : `${text(name)!.replace(' ', 'T')}Z`)).toISOString();
  const receivedAt = iso('received_at');
  const optional: Record<string, unknown> = {
    outcome: text('outcome'), reason: text('reason'), flow_id: text('flow_id'), step_id: text('step_id'), entity_id: text('entity_id'),
    object_id: text('object_id'), object_id_ref: text('object_id_ref'), external_event_id: text('external_event_id'),
    timing: parsed('timing'), appended: parsed('appended'), lead_snapshot: parsed('lead_snapshot'), raw_payload: parsed('raw_payload'),
  };
  return {
    id: text('id')!, org_id: text('org_id')!, lead_id: text('lead_id')!, source_type: text('source_type') as LeadEvent['source_type'],
    source: text('source')!, event_type: text('event_type')!, payload: (parsed('payload') ?? {}) as Record<string, unknown>,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    occurred_at: iso('occurred_at'), received_at: receivedAt, expires_at: toIso(Date.parse(receivedAt) + RETENTION_MS), schema_version: SCHEMA_VERSION,
  } as LeadEvent;
}
