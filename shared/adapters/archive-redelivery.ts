import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ARCHIVE_ERROR_PREFIX, archiveStreamOf } from '../definitions/archive.js';
import { deleteKeys, listKeys } from './s3-keys.js';

export { ARCHIVE_ERROR_PREFIX };

/**
 * The records of one Firehose error object: JSON lines, each carrying the original record base64-encoded in
 * `rawData` (processing, dynamic partitioning and format conversion failures alike). Lines without it are skipped.
 */
export function recordsOfErrorObject(text: string): Buffer[] {
  const records: Buffer[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as { rawData?: unknown };
      if (typeof parsed.rawData === 'string') records.push(Buffer.from(parsed.rawData, 'base64'));
    } catch {
      // not a Firehose error line
    }
  }
  return records;
}

/**
 * A record made well-formed for a second try (`--repair`): every string of the JSON row with each lone UTF-16
 * surrogate replaced by U+FFFD, the one thing that makes a row unencodable that the row itself can lose without
 * losing meaning. A record that is not a JSON object is returned as it was.
 */
export function repairRecord(record: Buffer): Buffer {
  let row: unknown;
  try {
    row = JSON.parse(record.toString('utf8'));
  } catch {
    return record;
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return record;
  const repaired = Object.fromEntries(Object.entries(row).map(([key, value]) => [key.toWellFormed(), typeof value === 'string' ? value.toWellFormed() : value]));
  return Buffer.from(JSON.stringify(repaired), 'utf8');
}

/** Batches within PutRecordBatch's limits: 500 records and 4 MiB a call. */
export function batchesOf(records: Buffer[], maxRecords = 500, maxBytes = 4 * 1024 * 1024): Buffer[][] {
  const batches: Buffer[][] = [];
  let current: Buffer[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length > 0 && (current.length === maxRecords || bytes + record.length > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The delivery stream a record goes back to: its org's home stream (archiveStreamOf, from the first row's org_id and
 * id), where the org's partitions are already counted. Every stream writes the same layout into the same bucket, so
 * any stream would archive the row in the same place; the home stream only keeps other streams' partitions bounded.
 * A record whose first row cannot be read goes to stream 0 (it fails there again, with its reason, as before).
 */
export function streamOfRecord(record: Buffer, streams: number): number {
  const text = record.toString('utf8');
  const newline = text.indexOf('\n');
  try {
    const row = JSON.parse(newline === -1 ? text : text.slice(0, newline)) as { org_id?: unknown; id?: unknown };
    return typeof row.org_id === 'string' ? archiveStreamOf(row.org_id, String(row.id ?? ''), streams) : 0;
  } catch {
    return 0;
  }
}

/**
 * Re-feeds the archive's error objects into the delivery streams (one error prefix for all of them), object by
 * object: every record of an object is accepted by Firehose (failed ones retried with backoff) before the object is
 * deleted, so a crash re-feeds at most one object twice, which the `events` view absorbs (the archive is at least
 * once). `streams` are the stack's streams in its order (the ArchiveDeliveryStreamNames output).
 */
export async function redeliverErrors(
  clients: { s3: S3Client; firehose: FirehoseClient },
  options: { bucket: string; streams: readonly string[]; dryRun?: boolean; repair?: boolean; onProgress?: (done: { objects: number; records: number }) => void },
): Promise<{ objects: number; records: number }> {
  const done = { objects: 0, records: 0 };
  for (const key of await listKeys(clients.s3, options.bucket, ARCHIVE_ERROR_PREFIX)) {
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
    const found = recordsOfErrorObject(await object.Body!.transformToString('utf8'));
    const records = options.repair ? found.map(repairRecord) : found;
    if (!options.dryRun) {
      const byStream = new Map<number, Buffer[]>();
      for (const record of records) {
        const stream = streamOfRecord(record, options.streams.length);
        byStream.set(stream, [...(byStream.get(stream) ?? []), record]);
      }
      for (const [stream, streamRecords] of byStream) {
        for (const batch of batchesOf(streamRecords)) await putAll(clients.firehose, options.streams[stream]!, batch);
      }
      await deleteKeys(clients.s3, options.bucket, [key]);
    }
    done.objects++;
    done.records += records.length;
    options.onProgress?.(done);
  }
  return done;
}

async function putAll(firehose: FirehoseClient, stream: string, batch: Buffer[]): Promise<void> {
  let pending = batch;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= 8) throw new Error(`Firehose kept refusing ${pending.length} records; run the command again later`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** attempt)));
    const result = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: pending.map((Data) => ({ Data })) }));
    pending = (result.RequestResponses ?? []).flatMap((response, i) => (response.ErrorCode ? [pending[i]!] : []));
  }
}
