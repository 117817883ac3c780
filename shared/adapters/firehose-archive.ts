import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { Archive, ArchiveRow } from '../domain/archive.js';

/** Firehose → S3 Parquet. One JSON line per row; Firehose converts to Parquet and partitions by org_id/dt. */
export class FirehoseArchive implements Archive {
  constructor(private readonly client: FirehoseClient, private readonly streamName: string) {}

  async putRows(rows: ArchiveRow[]): Promise<number[]> {
    const result = await this.client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: this.streamName, Records: rows.map((row) => ({ Data: Buffer.from(`${JSON.stringify(row)}\n`) })) }),
    );
    if (!result.FailedPutCount) return [];
    return (result.RequestResponses ?? []).flatMap((response, i) => (response.ErrorCode ? [i] : []));
  }
}
