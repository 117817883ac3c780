import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { constants } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ERROR_SUFFIX, INBOX_INGESTED_TAG, INBOX_PREFIX, INBOX_REJECTED_PREFIX, LOCAL_INGESTED_DIR, LOCAL_REJECTED_DIR,
} from '../definitions/leadconduit-inbox.js';
import type { InboxObject, InboxObjects } from '../domain/ports.js';

/** What `<key>.error.json` holds beside a set-aside object. */
export const errorRecord = (key: string, reason: string, nowMs: number) =>
  `${JSON.stringify({ key, reason, rejected_at: new Date(nowMs).toISOString() }, null, 2)}\n`;

const isNoSuchKey = (error: unknown) => {
  const name = (error as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
};

/**
 * The S3 inbox bucket (infra/constructs/leadconduit-inbox.ts): KMS-encrypted by default, so nothing here names a key.
 * Set-aside objects go to `rejected/<key>`, which the bucket's notification (prefix `leadconduit/`) never sees.
 */
export class S3InboxObjects implements InboxObjects {
  readonly atomic = true; // an S3 object exists only once its upload completed
  constructor(private readonly client: S3Client, private readonly bucket: string, private readonly now: () => number = Date.now) {}

  async get(key: string, maxBytes: number): Promise<InboxObject | undefined> {
    let result;
    try {
      result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
    const modifiedMs = result.LastModified?.getTime() ?? this.now();
    const size = result.ContentLength ?? 0;
    if (size > maxBytes) {
      (result.Body as Readable | undefined)?.destroy?.(); // never read: the connection is let go
      return { tooLarge: true, size, modifiedMs };
    }
    const body = (await result.Body?.transformToByteArray()) ?? new Uint8Array();
    return body.byteLength > maxBytes ? { tooLarge: true, size: body.byteLength, modifiedMs } : { body, modifiedMs };
  }

  async moveAside(key: string, reason: string): Promise<void> {
    const aside = `${INBOX_REJECTED_PREFIX}${key}`;
    try {
      // CopySource is `<bucket>/<key>` URL-encoded (each segment; the slashes stay). No tags carried over.
      await this.client.send(new CopyObjectCommand({
        Bucket: this.bucket, Key: aside, CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, TaggingDirective: 'REPLACE',
      }));
    } catch (error) {
      if (isNoSuchKey(error)) return; // moved by an earlier delivery of the same notification
      throw error;
    }
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${aside}${ERROR_SUFFIX}`, Body: errorRecord(key, reason, this.now()), ContentType: 'application/json' }));
    // Only now: the copy and its reason are both written.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async markIngested(key: string): Promise<void> {
    try {
      await this.client.send(new PutObjectTaggingCommand({
        Bucket: this.bucket, Key: key, Tagging: { TagSet: [{ Key: INBOX_INGESTED_TAG.key, Value: INBOX_INGESTED_TAG.value }] },
      }));
    } catch (error) {
      if (!isNoSuchKey(error)) throw error;
    }
  }
}

/**
 * The local inbox (`.data/inbox/`, same keys as the bucket): a set-aside file moves to `<org folder>/_rejected/<rest of
 * its key>` with `.error.json` beside it, an ingested one to `<org folder>/_ingested/<rest of its key>` (the watcher
 * deletes those after 7 days, as the bucket's lifecycle does). Moves are renames: nothing is copied, nothing half-written.
 * A file may still be being written when it is read (`atomic: false`): the domain waits for one that does not parse yet.
 */
export class FileInboxObjects implements InboxObjects {
  readonly atomic = false;
  private readonly root: string;
  constructor(root: string, private readonly now: () => number = Date.now) {
    this.root = resolve(root);
  }

  /** The file of a key, never outside the root. */
  pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep) || key.split('/').some((segment) => segment === '..' || segment === '.')) throw new Error(`inbox key escapes the inbox: ${key}`);
    return path;
  }

  /** `leadconduit/<org>/<rest>` → the org folder and the rest; a file right under leadconduit/ has that folder as its own. */
  private split(key: string): { folder: string; rest: string } {
    const inner = key.startsWith(INBOX_PREFIX) ? key.slice(INBOX_PREFIX.length) : key;
    const slash = inner.indexOf('/');
    return slash < 0 ? { folder: INBOX_PREFIX.slice(0, -1), rest: inner } : { folder: `${INBOX_PREFIX}${inner.slice(0, slash)}`, rest: inner.slice(slash + 1) };
  }

  /** Where a key goes when set aside (`_rejected`) or ingested (`_ingested`). */
  placeOf(key: string, dir: typeof LOCAL_REJECTED_DIR | typeof LOCAL_INGESTED_DIR): string {
    const { folder, rest } = this.split(key);
    return this.pathOf(`${folder}/${dir}/${rest}`);
  }

  async get(key: string, maxBytes: number): Promise<InboxObject | undefined> {
    let handle;
    try {
      // O_NOFOLLOW: a symbolic link dropped into the inbox is never followed out of it.
      handle = await open(this.pathOf(key), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`not a regular file: ${key}`);
      const modifiedMs = stat.mtimeMs;
      if (stat.size > maxBytes) return { tooLarge: true, size: stat.size, modifiedMs };
      // Reads at most maxBytes + 1: a file that grew since stat is still judged by what it holds.
      const buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(stat.size, 0) + 64 * 1024));
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > maxBytes) return { tooLarge: true, size: length, modifiedMs };
      return { body: buffer.subarray(0, length), modifiedMs };
    } finally {
      await handle.close();
    }
  }

  async moveAside(key: string, reason: string): Promise<void> {
    const from = this.pathOf(key);
    const to = this.placeOf(key, LOCAL_REJECTED_DIR);
    await mkdir(dirname(to), { recursive: true });
    // The reason first: a crash between the two leaves the file in the inbox, taken again, never a file without its reason.
    await writeFile(`${to}${ERROR_SUFFIX}`, errorRecord(key, reason, this.now()));
    await this.move(from, to);
  }

  async markIngested(key: string): Promise<void> {
    const to = this.placeOf(key, LOCAL_INGESTED_DIR);
    await mkdir(dirname(to), { recursive: true });
    await this.move(this.pathOf(key), to);
  }

  private async move(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // gone: moved by an earlier pass
    }
  }
}
