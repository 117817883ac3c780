import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  INBOX_INGESTED_EXPIRY_DAYS, INBOX_INGESTED_TAG, INBOX_PREFIX, INBOX_REJECTED_EXPIRY_DAYS, INBOX_REJECTED_PREFIX,
} from '../../shared/definitions/leadconduit-inbox.js';
import { acknowledge } from './lambda-function.js';

/** A message is received this many times (the function failed it each time) before it moves to the dead-letter queue. */
export const INBOX_MAX_RECEIVES = 5;
/** Messages per invocation: one object each, read and ingested side by side (shared/domain/leadconduit/inbox.ts). */
export const INBOX_BATCH_SIZE = 10;

export interface LeadConduitInboxProps {
  /** The inbox function's timeout: the queue's visibility timeout is six times it (Lambda's advice for SQS event sources). */
  fnTimeout: Duration;
  /** The stack's server access log bucket. */
  accessLogs: IBucket;
}

/**
 * LeadConduit's Event Streaming inbox (contract section 12): LeadConduit writes one JSON object per event under
 * `leadconduit/<org_id>/…` (each org's IAM writer may put there only: `npm run keys -- leadconduit`); S3 notifies a
 * queue of every object created under that prefix; the function ingests each and reports the messages it could not
 * finish, which come back until they move to the dead-letter queue (alarmed by the stack's monitoring).
 *
 * Its own KMS keys, not the data key: LeadConduit's writers must be allowed to encrypt with the bucket's key, and a
 * grant to an outside party should reach the inbox only. Not versioned: objects are transient (ingested ones expire
 * after 7 days, set-aside ones after 30), an object is only ever deleted after its copy under `rejected/` is written,
 * and every deletion is logged by the access logs; versions would keep every deleted event (PII) beyond its expiry.
 */
export class LeadConduitInbox extends Construct {
  readonly key: Key;
  readonly bucket: Bucket;
  readonly queue: Queue;
  readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: LeadConduitInboxProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', { description: "leadlog: LeadConduit's Event Streaming inbox bucket (LeadConduit's writers encrypt with it)", enableKeyRotation: true });
    // The queues' own key: S3 may use it to send notifications from this bucket (a key policy naming the bucket, which
    // on the bucket's own key would make key and bucket depend on each other), and LeadConduit's writers never get it.
    const queueKey = new Key(this, 'QueueKey', { description: "leadlog: LeadConduit's Event Streaming inbox queues", enableKeyRotation: true });
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket key period, not per object: fewer KMS calls, and the encryption context every writer
      // uses is the bucket's ARN (the writer policy's condition, shared/definitions/leadconduit-inbox.ts).
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'leadconduit-inbox/',
      lifecycleRules: [
        // The function tags each object it ingested (or skipped); S3 counts the days from the object's creation.
        { id: 'IngestedExpire', tagFilters: { [INBOX_INGESTED_TAG.key]: INBOX_INGESTED_TAG.value }, expiration: Duration.days(INBOX_INGESTED_EXPIRY_DAYS) },
        { id: 'RejectedExpire', prefix: INBOX_REJECTED_PREFIX, expiration: Duration.days(INBOX_REJECTED_EXPIRY_DAYS) },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS, encryptionMasterKey: queueKey, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.deadLetters, { 'AwsSolutions-SQS3': "This queue is itself the dead-letter queue of the inbox's queue." });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: queueKey,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.fnTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: INBOX_MAX_RECEIVES },
    });
    // Only objects LeadConduit writes: the function's own copies under rejected/ never notify it again.
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.queue), { prefix: INBOX_PREFIX });
    // CDK's one bucket-notifications handler per stack (a custom resource that calls PutBucketNotificationConfiguration).
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        acknowledge(child, { 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': "CDK's bucket-notifications custom resource: AWS's minimal logging policy for its own log group." });
      }
    }
  }

  /** The function that ingests each object (functions/leadconduitInbox.ts): the queue as its event source, and its rights. */
  consumeWith(fn: IFunction): void {
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: INBOX_BATCH_SIZE, reportBatchItemFailures: true }));
    // Least privilege on the bucket: read and delete what LeadConduit wrote, tag it, write set-aside copies only under rejected/.
    const written = `${INBOX_PREFIX}*`;
    this.bucket.grantRead(fn, written);
    this.bucket.grantDelete(fn, written);
    this.bucket.grantPut(fn, `${INBOX_REJECTED_PREFIX}*`);
    // No grant method exists for tagging: exactly that action, on what LeadConduit wrote.
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObjectTagging'], resources: [this.bucket.arnForObjects(written)] }));
  }

  /**
   * The erasure step (section 9): it lists an org's objects (`leadconduit/<org>/…`, `rejected/leadconduit/<org>/…`) and
   * deletes the erased family's. Listing under those two prefixes and deleting there only: it never reads an object,
   * so it needs neither GetObject nor the inbox's KMS key.
   */
  grantErase(fn: IFunction): void {
    const areas = [`${INBOX_PREFIX}*`, `${INBOX_REJECTED_PREFIX}${INBOX_PREFIX}*`];
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': areas } } }));
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:DeleteObject'], resources: areas.map((area) => this.bucket.arnForObjects(area)) }));
  }
}
