import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EXPORT_EXTENSIONS, EXPORT_URL_SECONDS, type ExportJob, type ExportLinks } from '../domain/exports.js';
import { toIso } from '../domain/time.js';

/** Where an export's file is, in the export bucket and in the local folder that stands in for it. */
export function exportKey(job: Pick<ExportJob, 'orgId' | 'id' | 'format'>): string {
  return `exports/${job.orgId}/${job.id}.${EXPORT_EXTENSIONS[job.format]}`;
}

/** In AWS: a presigned GET of the file in the KMS-encrypted export bucket, valid EXPORT_URL_SECONDS. */
export class S3PresignedLinks implements ExportLinks {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  async urlFor(job: ExportJob, nowMs: number): Promise<{ url: string; expiresAt: string }> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: exportKey(job) }), { expiresIn: EXPORT_URL_SECONDS });
    return { url, expiresAt: toIso(nowMs + EXPORT_URL_SECONDS * 1000) };
  }
}

/** The local stand-in's path for files (`npm start` serves them as S3 would a presigned URL). */
export const LOCAL_FILES_PREFIX = '/_files/';

function signature(secret: string, key: string, expires: number): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
}

/** Locally: a URL of the local file server, signed with the data folder's secret and valid as long as a presigned one. */
export class SignedFileLinks implements ExportLinks {
  constructor(private readonly secret: string) {}

  async urlFor(job: ExportJob, nowMs: number, origin: string): Promise<{ url: string; expiresAt: string }> {
    const expires = Math.floor(nowMs / 1000) + EXPORT_URL_SECONDS;
    const key = exportKey(job);
    return { url: `${origin}${LOCAL_FILES_PREFIX}${key}?expires=${expires}&signature=${signature(this.secret, key, expires)}`, expiresAt: toIso(expires * 1000) };
  }
}

/** Whether a local file URL's signature is the secret's and it has not expired. */
export function verifyFileLink(secret: string, key: string, expires: string | null, given: string | null, nowMs: number): boolean {
  if (!expires || !given || !/^\d{1,12}$/.test(expires) || Number(expires) * 1000 < nowMs) return false;
  const expected = Buffer.from(signature(secret, key, Number(expires)));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
