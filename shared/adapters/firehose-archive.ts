import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { archiveStreamOf } from '../definitions/archive.js';
import type { Archive, ArchiveRow } from '../domain/ports.js';

/** Firehose's limit for one record; packs stay well under it. */
const MAX_PACK_BYTES = 900 * 1024;

/**
 * Rows packed into Firehose records: consecutive rows of the same org and day share one record (JSON objects
 * back to back, split again by the stream's RecordDeAggregation processor before partitioning). Firehose
 * bills ingestion in 5 KB steps per record, so a 1–2 KB row alone would be billed as 5 KB. Rows given here all go
 * to one delivery stream (FirehoseArchive groups them by stream first).
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

/** How many streams an org's rows spread over (1 unless the org outgrows half a stream's throughput). */
export type OrgStreams = (orgId: string) => number | Promise<number>;

/**
 * The rows of one call grouped by the delivery stream that archives each (`archiveStreamOf`): stream index → the
 * rows' indexes, in their order. Every row is in exactly one group.
 */
export async function routeRows(rows: ArchiveRow[], streams: number, orgStreams: OrgStreams = () => 1): Promise<Map<number, number[]>> {
  const spreads = new Map<string, number>();
  for (const org of new Set(rows.map((row) => String(row.org_id)))) spreads.set(org, await orgStreams(org));
  const groups = new Map<number, number[]>();
  rows.forEach((row, index) => {
    const org = String(row.org_id);
    const stream = archiveStreamOf(org, String(row.id), streams, spreads.get(org));
    const group = groups.get(stream);
    if (group) group.push(index);
    else groups.set(stream, [index]);
  });
  return groups;
}

/**
 * Firehose → S3 Parquet, partitioned by org_id and dt, over K delivery streams that write the same layout into one
 * bucket (docs/decisions.md, "Archive partitions at 10,000 orgs"): each org's rows go to its streams only, so a stream's
 * active partitions stay bounded by the orgs placed on it. A failed record fails every row packed in it; a stream that
 * refuses a whole call fails its rows only, never another stream's.
 */
export class FirehoseArchive implements Archive {
  constructor(
    private readonly client: FirehoseClient,
    private readonly streamNames: readonly string[],
    private readonly orgStreams: OrgStreams = () => 1,
  ) {
    if (streamNames.length === 0 || streamNames.some((name) => name.trim() === '')) throw new Error('FirehoseArchive needs its delivery streams, in the stack\'s order');
  }

  async putRows(rows: ArchiveRow[]): Promise<number[]> {
    const groups = await routeRows(rows, this.streamNames.length, this.orgStreams);
    const failed = await Promise.all([...groups].map(async ([stream, indexes]) => {
      const packs = packRows(indexes.map((i) => rows[i]!));
      try {
        const result = await this.client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: this.streamNames[stream], Records: packs.map((pack) => ({ Data: Buffer.from(pack.data) })) }),
        );
        if (!result.FailedPutCount) return [];
        return (result.RequestResponses ?? []).flatMap((response, i) => (response.ErrorCode ? packs[i]!.rows.map((r) => indexes[r]!) : []));
      } catch {
        return indexes; // this stream refused the call (throttled, unavailable): its rows are retried, the others are done
      }
    }));
    return failed.flat().sort((a, b) => a - b);
  }
}
