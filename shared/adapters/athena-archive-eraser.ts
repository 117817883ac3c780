import type { AthenaClient } from '@aws-sdk/client-athena';
import { runAthena } from './athena-queries.js';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ARCHIVE_PREFIX, RAW_TABLE, archiveColumns, erasedRowsPredicate, partitionColumns, sqlLiteral } from '../definitions/archive.js';
import type { ArchiveEraser } from '../domain/ports.js';
import { deleteKeys, listKeys } from './s3-keys.js';

/** Paths per UNLOAD: keeps the statement far below Athena's 256 KB query limit (an archive path is ~120 bytes). */
export const FILES_PER_REWRITE = 500;

/**
 * The archive's erasure in AWS, at any scale, with the services made for it: Athena finds the Parquet files that
 * hold the leads' rows (`"$path"`, reading only the org_id partition and the lead_id column), one UNLOAD per 500
 * files writes them again without those rows into a staging prefix (partitioned as the archive is), and S3 swaps
 * the rewritten files in (CopyObject) and the originals out (DeleteObjects, 1,000 keys a call).
 *
 * Crash safety: before a swap, a marker object lists the originals it replaces; a run finds unfinished markers
 * first and completes their swaps (copy and delete are idempotent), so an UNLOAD never reads a half-swapped set.
 * Only the files listed are replaced: Firehose may meanwhile add new files to the same partitions (never holding
 * the erased leads: the settle phase waited out its buffer), and those are left alone.
 *
 * Cost per erasure (us-east-1, 2026 prices): the find scans the org's lead_id column (~1–2 % of its bytes), the
 * UNLOADs scan the affected files whole, $5 per TB scanned, 10 MB minimum per query; plus one Copy/Delete request per
 * affected file. An org with 1 TB archived and a lead spread over 200 daily files of 20 MB: ~20 GB + 4 GB scanned
 * ≈ $0.12 and 400 S3 requests ≈ $0.002.
 */
export class AthenaArchiveEraser implements ArchiveEraser {
  constructor(
    private readonly athena: AthenaClient,
    private readonly s3: S3Client,
    private readonly options: { bucket: string; database: string; workGroup: string; pollMs?: number },
  ) {}

  async eraseLeads(orgId: string, leadIds: readonly string[], erasureId: string, eventIds: readonly string[] = []): Promise<{ rows: number; files: number }> {
    const staging = `_erasure/${erasureId}/`;
    const removed = { rows: 0, files: 0 };
    const add = (more: { rows: number; files: number }) => {
      removed.rows += more.rows;
      removed.files += more.files;
    };
    for (const marker of (await this.keys(staging)).filter((key) => key.endsWith('/_SWAP'))) add(await this.swap(marker, erasureId));
    if (leadIds.length === 0 && eventIds.length === 0) return removed;
    const where = erasedRowsPredicate(orgId, leadIds, eventIds);
    const found = (await this.query(`SELECT "$path" AS file, count(*) AS row_count FROM "${RAW_TABLE}" WHERE ${where.org} AND ${where.leads} GROUP BY 1`))
      .map(([file, rows]) => ({ key: keyOf(file!, this.options.bucket), rows: Number(rows) }));
    const columns = [...archiveColumns, ...partitionColumns].map((c) => c.name).join(', ');
    for (let i = 0; i < found.length; i += FILES_PER_REWRITE) {
      const chunk = found.slice(i, i + FILES_PER_REWRITE);
      const prefix = `${staging}${createHash('sha256').update(chunk.map((f) => f.key).join('\n')).digest('hex').slice(0, 16)}/`;
      await this.deleteKeys(await this.keys(prefix)); // a half-written UNLOAD a crash left behind
      const paths = chunk.map((f) => sqlLiteral(`s3://${this.options.bucket}/${f.key}`)).join(', ');
      await this.query(
        `UNLOAD (SELECT ${columns} FROM "${RAW_TABLE}" WHERE ${where.org} AND "$path" IN (${paths}) AND NOT (${where.leads})) ` +
          `TO ${sqlLiteral(`s3://${this.options.bucket}/${prefix}data/`)} WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['org_id', 'dt'])`,
      );
      const marker = `${prefix}_SWAP`;
      await this.s3.send(new PutObjectCommand({
        Bucket: this.options.bucket, Key: marker, ContentType: 'application/json',
        Body: JSON.stringify({ originals: chunk.map((f) => f.key), rows: chunk.reduce((sum, f) => sum + f.rows, 0) }),
      }));
      add(await this.swap(marker, erasureId));
    }
    return removed;
  }

  /** Copies the rewritten files into the archive, deletes the originals, then the staging files and the marker. */
  private async swap(marker: string, erasureId: string): Promise<{ rows: number; files: number }> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: marker }));
    const plan = JSON.parse(await Body!.transformToString('utf8')) as { originals: string[]; rows: number };
    const prefix = marker.slice(0, -'_SWAP'.length);
    const staged = (await this.keys(`${prefix}data/`));
    for (const key of staged) {
      const partition = key.slice(`${prefix}data/`.length); // org_id=…/dt=…/<file>
      const target = `${ARCHIVE_PREFIX}/${partition.replace(/[^/]+$/, (name) => `erasure-${erasureId}-${name}`)}`;
      await this.s3.send(new CopyObjectCommand({ Bucket: this.options.bucket, Key: target, CopySource: `${this.options.bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}` }));
    }
    await this.deleteKeys(plan.originals);
    await this.deleteKeys(staged);
    await this.deleteKeys([marker]);
    return { rows: plan.rows, files: plan.originals.length };
  }

  private keys(prefix: string): Promise<string[]> {
    return listKeys(this.s3, this.options.bucket, prefix);
  }

  private deleteKeys(keys: string[]): Promise<void> {
    return deleteKeys(this.s3, this.options.bucket, keys);
  }

  /** Runs a statement in the workgroup and waits for it; the rows of a SELECT (header row dropped). */
  private async query(sql: string): Promise<(string | undefined)[][]> {
    return (await runAthena(this.athena, this.options, sql)).rows;
  }
}

/** `s3://bucket/key` → key. */
function keyOf(path: string, bucket: string): string {
  const prefix = `s3://${bucket}/`;
  if (!path.startsWith(prefix)) throw new Error(`an archive file outside the archive bucket: ${path}`);
  return path.slice(prefix.length);
}
