import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, ArnPrincipal, Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { CHECKPOINT_ARCHIVE_PREFIX } from '../../shared/domain/checkpoint-archive.js';
import { acknowledge } from './lambda-function.js';

/** How often the integrator runs (contract section 14: a checkpoint at least every 5 minutes; the log catches up each minute). */
export const PROOF_LOG_EVERY = Duration.minutes(1);
/** How long S3 Object Lock (compliance mode) keeps each checkpoint from deletion and overwrite (contract section 14). */
export const CHECKPOINT_RETENTION_DAYS = 400;

export interface ProofOfRecordProps {
  /** The stack's server access log bucket. */
  accessLogs: IBucket;
  /** The checkpoint key's alias name, `alias/…`. */
  aliasName: string;
}

/**
 * Proof of record's AWS side (contract section 14): the checkpoint signing key, the write-once checkpoint bucket, and
 * the scheduled integrator (functions/proofLog.ts) that appends each org's sealed events to its Merkle log and signs
 * checkpoints. The key and the bucket exist before the functions (their names are in the functions' environment);
 * `integrate` and `grantPublicKeyRead` wire the functions once they do.
 *
 * Invariants:
 *  - the key is ECC_NIST_P256 / SIGN_VERIFY (ECDSA_SHA_256, what checkpointVerifies accepts) and is never deleted with
 *    the stack: every checkpoint ever published names it;
 *  - the key policy denies kms:Sign to every principal but the integrator's role, whatever IAM policies say (the root
 *    statement CDK adds delegates to IAM; this Deny is what an IAM grant cannot override). Reading the public key is
 *    allowed explicitly to the integrator and the proofs function and not denied to others: it is public by design
 *    (GET /v1/proofs/public-key has no auth);
 *  - the bucket is Object Lock, compliance mode, 400 days by default on every object version: no one, the account root
 *    included, deletes or overwrites a checkpoint within that time. SSE-S3, not the stack's KMS key: a locked object must
 *    stay readable for its whole retention whatever happens to a customer key;
 *  - the integrator writes only under checkpoints/ and reads back what it wrote (a retried run compares).
 */
export class ProofOfRecord extends Construct {
  readonly key: Key;
  readonly bucket: Bucket;
  schedule?: Schedule;

  constructor(scope: Construct, id: string, props: ProofOfRecordProps) {
    super(scope, id);
    this.key = new Key(this, 'CheckpointKey', {
      description: 'leadlog: signs proof-of-record checkpoints (ECDSA P-256, SHA-256); never delete',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      alias: props.aliasName,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Checkpoints', {
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(CHECKPOINT_RETENTION_DAYS)),
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'checkpoints/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The integrator: run every minute (no retries: the next run is the retry), the only signer, the archive's writer. */
  integrate(integrator: IFunction): void {
    const role = roleOf(integrator);
    this.key.grant(integrator, 'kms:Sign', 'kms:GetPublicKey');
    this.key.addToResourcePolicy(new PolicyStatement({
      sid: 'IntegratorSignsCheckpoints', principals: [new ArnPrincipal(role.roleArn)], actions: ['kms:Sign', 'kms:GetPublicKey'], resources: ['*'],
    }));
    this.key.addToResourcePolicy(new PolicyStatement({
      sid: 'NoOtherSigner', effect: Effect.DENY, principals: [new AnyPrincipal()], actions: ['kms:Sign'], resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
    }));
    integrator.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [this.bucket.arnForObjects(`${CHECKPOINT_ARCHIVE_PREFIX}*`)] }));
    // Without ListBucket, reading a key that is not there answers 403 instead of 404 (NoSuchKey).
    integrator.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));

    const schedulerRole = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.rate(PROOF_LOG_EVERY),
      target: new LambdaInvoke(integrator, { retryAttempts: 0, role: schedulerRole }),
      description: "Appends each org's sealed events to its Merkle log and signs its checkpoints (shared/domain/proof-log.ts)",
    });
    const stack = Stack.of(this);
    const logicalId = (construct: Construct) => stack.getLogicalId(construct.node.defaultChild as never);
    acknowledge(schedulerRole, { [`AwsSolutions-IAM5[Resource::<${logicalId(integrator)}.Arn>:*]`]: 'EventBridge Scheduler invokes the one integrator function (and its versions).' });
    acknowledge(integrator, {
      [`AwsSolutions-IAM5[Resource::<${logicalId(this.bucket)}.Arn>/${CHECKPOINT_ARCHIVE_PREFIX}*]`]: 'Checkpoint objects (checkpoints/<org>/<size>.json) only: written once, read back on a retried run.',
    });
  }

  /** A function that publishes the key (GET /v1/proofs/public-key, evidence bundles). */
  grantPublicKeyRead(reader: IFunction): void {
    this.key.grant(reader, 'kms:GetPublicKey');
    this.key.addToResourcePolicy(new PolicyStatement({
      principals: [new ArnPrincipal(roleOf(reader).roleArn)], actions: ['kms:GetPublicKey'], resources: ['*'],
    }));
  }
}

function roleOf(fn: IFunction): IRole {
  if (!fn.role) throw new Error(`${fn.node.path} has no execution role`);
  return fn.role;
}
