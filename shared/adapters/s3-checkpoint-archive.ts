import {
  GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type GetObjectCommandOutput, type ListObjectsV2CommandOutput, type PutObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import {
  archiveConflict, archivedCheckpointOf, archivedCheckpointText, archiveKeyAfter, assertArchivable, checkpointArchiveFolderOf, checkpointArchiveKey,
  holdsSameCheckpoint, isCheckpointArchiveKey,
} from '../domain/checkpoint-archive.js';
import type { Checkpoint, CheckpointArchive } from '../domain/proofs.js';
import { createS3Client } from './aws-clients.js';

/** The S3 calls the archive makes (an S3Client from createS3Client, or a test's fake). */
export interface CheckpointObjectClient {
  send(command: PutObjectCommand): Promise<PutObjectCommandOutput>;
  send(command: GetObjectCommand): Promise<GetObjectCommandOutput>;
  send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput>;
}

/**
 * Signed checkpoints kept in an S3 bucket with Object Lock in compliance mode (infra/constructs/proofs.ts: default
 * retention 400 days, versioned): for that long no one, the account's root included, can delete or overwrite a
 * version. Layout and write-once rule: shared/domain/checkpoint-archive.ts.
 *
 * - Object Lock buckets refuse a PUT without an integrity header ("Content-MD5 OR x-amz-checksum- HTTP header is
 *   required for Put Object requests with Object Lock parameters"). The SDK's default CRC32 would satisfy it, but only
 *   while the client computes checksums (AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED turns that off for PutObject),
 *   so the archive sends its own x-amz-checksum-sha256: S3 checks it against the bytes and stores it with the object.
 * - `If-None-Match: *` (S3 conditional writes, PutObject since 2024): S3 answers 412 when the key exists, and 409 when
 *   another conditional write to it is in flight. A versioned bucket would otherwise keep a second version under the
 *   key; with the condition the first checkpoint of a size is the only one. On either answer the existing object is
 *   read: the same checkpoint is success (a retried run), another is a CheckpointArchiveConflict.
 */
export class S3CheckpointArchive implements CheckpointArchive {
  constructor(private readonly bucket: string, private readonly client: CheckpointObjectClient = createS3Client()) {
    if (!bucket) throw new TypeError('S3CheckpointArchive needs the bucket (CHECKPOINT_BUCKET_NAME)');
  }

  async put(checkpoint: Checkpoint): Promise<void> {
    assertArchivable(checkpoint);
    const key = checkpointArchiveKey(checkpoint);
    const body = Buffer.from(archivedCheckpointText(checkpoint), 'utf8');
    try {
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        IfNoneMatch: '*',
      }));
    } catch (error) {
      if (!isExistingKey(error)) throw error;
      const existing = await this.read(key);
      if (existing === undefined) throw error; // 409 and the other write did not land: the caller's retry decides
      if (!holdsSameCheckpoint(existing, checkpoint)) throw archiveConflict(key, existing);
    }
  }

  /**
   * One LIST after the key of `size` (lexical order is the tree's: 16-digit sizes), paged to its end, then one GET
   * of the last key. Normally the integrator asks from its last checkpoint's size, so one page with one key.
   */
  async latestAbove(orgId: string, size: number): Promise<Checkpoint | undefined> {
    const folder = checkpointArchiveFolderOf(orgId);
    if (!folder) return undefined;
    const after = archiveKeyAfter(folder, size);
    let last: string | undefined;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: folder, ...(after ? { StartAfter: after } : {}), ...(token ? { ContinuationToken: token } : {}),
      }));
      for (const object of page.Contents ?? []) if (object.Key && isCheckpointArchiveKey(folder, object.Key) && (last === undefined || object.Key > last)) last = object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (last === undefined) return undefined;
    const text = await this.read(last);
    const checkpoint = text === undefined ? undefined : archivedCheckpointOf(text, last);
    if (!checkpoint) throw new Error(`The checkpoint archive's ${last} is not a checkpoint leadlog wrote`);
    return checkpoint;
  }

  private async read(key: string): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return answer.Body ? await answer.Body.transformToString('utf8') : '';
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}

/** 412 PreconditionFailed (the key exists) or 409 ConditionalRequestConflict (a concurrent conditional write). */
function isExistingKey(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return status === 412 || status === 409 || e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict';
}
