import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { BlobStore } from '../domain/ports.js';

/** S3 in AWS: the bucket is encrypted with KMS and blocks public access (infra/constructs/storage.ts). */
export class S3BlobStore implements BlobStore {
  constructor(private readonly client: S3Client, private readonly bucket: string) {}

  async put(key: string, body: string | Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: typeof body === 'string' ? 'application/json' : 'application/octet-stream' }));
  }

  async get(key: string): Promise<string> {
    const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return result.Body!.transformToString('utf8');
  }

  async getBytes(key: string): Promise<Buffer> {
    const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await result.Body!.transformToByteArray());
  }

  /** Every version of the key, delete markers included: the bucket is versioned, and an erased payload must not linger. */
  async delete(key: string): Promise<void> {
    const { Versions = [], DeleteMarkers = [] } = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key }));
    const objects = [...Versions, ...DeleteMarkers].filter((v) => v.Key === key).map((v) => ({ Key: key, VersionId: v.VersionId }));
    if (objects.length > 0) await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }));
  }
}

/** Local stand-in for S3: one file per key under a root folder (.data/s3), written atomically. */
export class FileBlobStore implements BlobStore {
  private readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new Error(`blob key escapes the store: ${key}`);
    return path;
  }

  async put(key: string, body: string | Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, body);
    await rename(temp, path);
  }

  async get(key: string): Promise<string> {
    return readFile(this.pathOf(key), 'utf8');
  }

  async getBytes(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  /** Removes the file and the folders it leaves empty (S3 has no folders: none may outlive its objects here either). */
  async delete(key: string): Promise<void> {
    let path = this.pathOf(key);
    await rm(path, { force: true });
    for (path = dirname(path); path.startsWith(this.root + sep); path = dirname(path)) {
      try {
        await rmdir(path);
      } catch {
        break; // not empty (or already gone)
      }
    }
  }
}
