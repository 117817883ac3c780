import { archiveColumns } from '../definitions/archive.js';
import type { LeadEvent } from './event.js';
import type { Archive, ArchiveRow } from './ports.js';
import { chunkBy, type Sink } from './sink.js';
import { maskEvent, type MaskOptions } from './masking.js';
import { utcDay } from './time.js';

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? null : String(value));
const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

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
