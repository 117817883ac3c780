/**
 * LeadConduit's Event Streaming inbox (contract section 12), defined once: the key layout LeadConduit writes to,
 * where objects that are not events are set aside, the object size cap, how ingested objects are marked so the
 * bucket's lifecycle expires them, and the one IAM policy a per-org writer gets. Plain data: CDK
 * (infra/constructs/leadconduit-inbox.ts), the domain (shared/domain/leadconduit/inbox.ts), the S3 and file adapters,
 * the local watcher and `npm run keys -- leadconduit` all read it from here.
 */

/** Every object LeadConduit writes is under this prefix: `leadconduit/<org_id>/<anything>/<event id>.json`. */
export const INBOX_PREFIX = 'leadconduit/';

/** In AWS an object that is not an event moves to `rejected/<its key>`, with `<its key>.error.json` beside it. */
export const INBOX_REJECTED_PREFIX = 'rejected/';

/** Locally (`.data/inbox/leadconduit/<org_id>/`) the set-aside and the ingested files live in these folders of the org's. */
export const LOCAL_REJECTED_DIR = '_rejected';
export const LOCAL_INGESTED_DIR = '_ingested';

/** The suffix of the file giving a set-aside object's reason. */
export const ERROR_SUFFIX = '.error.json';

/** One event is one object; LeadConduit's events are kilobytes, an object over this is set aside unread (section 12: 1 MB per event). */
export const INBOX_MAX_OBJECT_BYTES = 1024 * 1024;

/** The tag an ingested (or skipped) object gets; the bucket's lifecycle rule on it expires the object. */
export const INBOX_INGESTED_TAG = { key: 'leadlog-inbox', value: 'ingested' } as const;

/** Ingested objects are kept this long (counted by S3 from the object's creation, which is within a minute of ingestion). */
export const INBOX_INGESTED_EXPIRY_DAYS = 7;

/** Set-aside objects and their reasons are kept this long for someone to look at, then expire (they may hold PII). */
export const INBOX_REJECTED_EXPIRY_DAYS = 30;

/** An IAM user name is at most 64 characters: `leadlog-leadconduit-` leaves 44 for the org id. */
export const LEADCONDUIT_WRITER_USER_PREFIX = 'leadlog-leadconduit-';
export const MAX_WRITER_ORG_ID_LENGTH = 64 - LEADCONDUIT_WRITER_USER_PREFIX.length;

/** The prefix one org's writer may put objects under (what to paste into LeadConduit's Event Streaming dialog). */
export const orgInboxPrefix = (orgId: string): string => `${INBOX_PREFIX}${orgId}`;

export interface WriterPolicyInput {
  bucket: string;
  orgId: string;
  /** The ARN of the inbox bucket's KMS key (output `LeadConduitInboxKeyArn`); its partition and region are the bucket's. */
  kmsKeyArn: string;
}

/** `arn:<partition>:kms:<region>:<account>:key/<id>`: the parts of a KMS key ARN, or undefined. */
export function parseKmsKeyArn(arn: string): { partition: string; region: string; account: string; keyId: string } | undefined {
  const match = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/.exec(arn);
  return match ? { partition: match[1]!, region: match[2]!, account: match[3]!, keyId: match[4]! } : undefined;
}

/** S3's bucket name rules (3–63 lowercase letters, digits, dots, hyphens; starts and ends with a letter or digit). */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The inline policy of one org's LeadConduit writer: PutObject under that org's prefix and nothing else of the
 * bucket (no list, no read, no other prefix, no wildcard in the bucket name), and the two KMS actions S3 makes on
 * its behalf to encrypt what it puts (the bucket's default encryption is SSE-KMS: without them the put is refused),
 * only through S3 and only for this bucket's encryption context (S3 Bucket Keys: the bucket's ARN).
 */
export function leadConduitWriterPolicy({ bucket, orgId, kmsKeyArn }: WriterPolicyInput) {
  const key = parseKmsKeyArn(kmsKeyArn);
  if (!key) throw new Error(`not a KMS key ARN: ${kmsKeyArn}`);
  if (!BUCKET_NAME_PATTERN.test(bucket)) throw new Error(`not an S3 bucket name: ${bucket}`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(orgId)) throw new Error(`not an org id: ${orgId}`);
  const bucketArn = `arn:${key.partition}:s3:::${bucket}`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'PutEventsUnderTheOrgsPrefixOnly', Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucketArn}/${orgInboxPrefix(orgId)}/*` },
      {
        Sid: 'EncryptWithTheInboxKeyThroughS3Only',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Encrypt'],
        Resource: kmsKeyArn,
        Condition: {
          StringEquals: { 'kms:ViaService': `s3.${key.region}.amazonaws.com` },
          // With S3 Bucket Keys the encryption context is the bucket's ARN (without them, the object's: covered by the prefix).
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucketArn, `${bucketArn}/${orgInboxPrefix(orgId)}/*`] },
        },
      },
    ],
  } as const;
}
