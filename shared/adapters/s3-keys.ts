import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Every key under a prefix, following ListObjectsV2's pages. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/**
 * Deletes keys, 1,000 a call (DeleteObjects' limit); a key already gone is no error. DeleteObjects answers 200 even
 * when keys failed (AccessDenied, SlowDown, InternalError: listed in `Errors`, the only entries in Quiet mode): any
 * failed key throws, so a caller that must delete (erasure) runs again rather than believe it did.
 */
export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
    const failed = result?.Errors ?? [];
    if (failed.length > 0) throw new Error(`S3 DeleteObjects: ${failed.length} of ${Math.min(1000, keys.length - i)} keys not deleted (first: ${failed[0]!.Code ?? 'unknown'})`);
  }
}
