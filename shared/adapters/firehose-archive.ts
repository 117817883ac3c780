import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { Archive, ArchiveRow } from '../domain/ports.js';

/** Firehose's limit for one record; packs stay well under it. */
const MAX_PACK_BYTES = 900 * 1024;

/**
 * Rows packed into Firehose records: consecutive rows of the same org and day share one record (JSON objects
 * back to back, split again by the stream's RecordDeAggregation processor before partitioning). Firehose
 * bills ingestion in 5 KB steps per record, so a 1–2 KB row alone would be billed as 5 KB.
 */
export function packRows(rows: ArchiveRow[]): { data: string; rows: number[] }[] {
  const packs: { data: string; rows: number[]; key: string; bytes: number }[] = [];
  rows.forEach((row, index) => {
    const line = `${JSON.stringify(row)}\n`;
    const bytes = Buffer.byteLength(line);
    const key = `${row.org_id}\u0000${row.dt}`;
    const last = packs.at(-1);
    if (last && last.key === key && last.bytes + bytes <= MAX_PACK_BYTES) {
      last.data += line;
      last.bytes += bytes;
      last.rows.push(index);
    } else {
      packs.push({ data: line, rows: [index], key, bytes });
    }
  });
  return packs.map(({ data, rows: indexes }) => ({ data, rows: indexes }));
}

/** Firehose → S3 Parquet, partitioned by org_id and dt. A failed record fails every row packed in it. */
export class FirehoseArchive implements Archive {
  constructor(private readonly client: FirehoseClient, private readonly streamName: string) {}

  async putRows(rows: ArchiveRow[]): Promise<number[]> {
    const packs = packRows(rows);
    const result = await this.client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: this.streamName, Records: packs.map((pack) => ({ Data: Buffer.from(pack.data) })) }),
    );
    if (!result.FailedPutCount) return [];
    return (result.RequestResponses ?? []).flatMap((response, i) => (response.ErrorCode ? packs[i]!.rows : []));
  }
}
