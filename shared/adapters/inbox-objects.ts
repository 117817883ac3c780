import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectTaggingCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { constants, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ERROR_SUFFIX, INBOX_INGESTED_TAG, INBOX_PREFIX, INBOX_REJECTED_PREFIX, LOCAL_INGESTED_DIR, LOCAL_REJECTED_DIR,
} from '../definitions/leadconduit-inbox.js';
import type { InboxObject, InboxObjects } from '../domain/ports.js';
import { inboxKeyOrder } from '../domain/leadconduit/inbox.js';
import { deleteKeys } from './s3-keys.js';

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

  /**
   * The org's two areas in S3's key order: `leadconduit/<org>/` (waiting and ingested objects) then
   * `rejected/leadconduit/<org>/` (set-aside copies and reasons). A position inside an area continues it (StartAfter);
   * an area the position has passed is done. Listing needs s3:ListBucket only: nothing is read or decrypted.
   */
  async listOrg(orgId: string, after: string | undefined, limit: number): Promise<{ keys: string[]; next?: string }> {
    const keys: string[] = [];
    for (const area of orgAreas(orgId)) {
      if (after !== undefined && !after.startsWith(area) && inboxKeyOrder(after, area) > 0) continue;
      let token: string | undefined;
      let startAfter = after?.startsWith(area) ? after : undefined;
      do {
        if (keys.length >= limit) return { keys, next: keys.at(-1)! };
        const page = await this.client.send(new ListObjectsV2Command({
          Bucket: this.bucket, Prefix: area, MaxKeys: limit - keys.length,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }));
        keys.push(...(page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : [])));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        startAfter = undefined;
      } while (token);
    }
    return { keys };
  }

  /** DeleteObjects, 1,000 keys a call; a key that failed (AccessDenied, a throttle) fails the call (deleteKeys). */
  async remove(keys: readonly string[]): Promise<void> {
    await deleteKeys(this.client, this.bucket, [...keys]);
  }
}

/** Where an org's objects are in the bucket, in key order (`leadconduit/` sorts before `rejected/`). */
const orgAreas = (orgId: string) => [`${INBOX_PREFIX}${orgId}/`, `${INBOX_REJECTED_PREFIX}${INBOX_PREFIX}${orgId}/`];

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

  /**
   * Every file under the org's folder (waiting, `_ingested/`, `_rejected/`, hidden ones too), as keys
   * (`leadconduit/<org>/…`) in S3's key order. The folder is walked whole for each page: a local inbox holds days, not
   * millions. Links are listed as files never followed.
   */
  async listOrg(orgId: string, after: string | undefined, limit: number): Promise<{ keys: string[]; next?: string }> {
    const folder = this.pathOf(`${INBOX_PREFIX}${orgId}`);
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else found.push(`${INBOX_PREFIX}${orgId}/${relative(folder, path).split(sep).join('/')}`);
      }
    };
    await walk(folder);
    const keys = found.filter((key) => after === undefined || inboxKeyOrder(key, after) > 0).sort(inboxKeyOrder);
    return keys.length > limit ? { keys: keys.slice(0, limit), next: keys[limit - 1]! } : { keys };
  }

  /** Deletes the files, then the folders that leaves empty up to the org's folder (a folder is named by a lead id). */
  async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      const [, org] = key.split('/');
      const folder = this.pathOf(`${INBOX_PREFIX}${org}`);
      for (let dir = dirname(path); dir.startsWith(folder + sep); dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or gone): the folders above hold something too
        }
      }
    }
  }

  private async move(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // gone: moved by an earlier pass
    }
  }
}
