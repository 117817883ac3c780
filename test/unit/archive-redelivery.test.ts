import { describe, expect, it } from 'vitest';
import { batchesOf, recordsOfErrorObject } from '../../shared/adapters/archive-redelivery.js';

// Error objects as Firehose documents them: JSON lines whose `rawData` is the original record, base64-encoded.
const row = (id: string) => `{"id":"${id}","org_id":"org_a","dt":"2026-11-23"}\n{"id":"${id}-2","org_id":"org_a","dt":"2026-11-23"}`;
const line = (fields: Record<string, unknown>) => JSON.stringify(fields);

describe('re-feeding the archive error prefix', () => {
  it('reads the original records of partitioning and conversion failures, skipping lines without rawData', () => {
    const text = [
      line({ attemptsMade: 1, arrivalTimestamp: 1764000000000, errorCode: 'DynamicPartitioning.PartitionCountExceeded', errorMessage: 'active partition limit', attemptEndingTimestamp: 1764000001000, rawData: Buffer.from(row('e1')).toString('base64') }),
      line({ attemptsMade: 0, arrivalTimestamp: 1764000000000, lastErrorCode: 'DataFormatConversion.MalformedData', lastErrorMessage: 'bad timestamp', rawData: Buffer.from(row('e2')).toString('base64'), dataCatalogTable: { databaseName: 'db', tableName: 'events_raw' } }),
      line({ note: 'no raw data here' }),
      'not json at all',
      '',
    ].join('\n');
    const records = recordsOfErrorObject(text);
    expect(records.map((r) => r.toString('utf8'))).toEqual([row('e1'), row('e2')]);
  });

  it('batches within PutRecordBatch limits (500 records, 4 MiB)', () => {
    const small = Array.from({ length: 1201 }, (_, i) => Buffer.from(`r${i}`));
    expect(batchesOf(small).map((b) => b.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024));
    expect(batchesOf(big).map((b) => b.length)).toEqual([4, 1]);
    expect(batchesOf([])).toEqual([]);
  });
});
