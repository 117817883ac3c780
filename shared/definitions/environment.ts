/**
 * The environment contract, defined once: every variable a function reads, its type, and which functions
 * read it. CDK sets them from this (infra/stack.ts through `functionEnvironment`), shared/config.ts parses
 * them from this, and the local runtime fills them from this (infra/local/settings.ts). Plain data.
 */
import type { HandlerName } from './routes.js';

/** The Lambda functions: one per handler module of the route table, the authorizer, the stream fan-out and the erasure job. */
export type FunctionName = HandlerName | 'authorizer' | 'fanout' | 'erasure' | 'exporter' | 'exportSchedules' | 'replayer' | 'leadconduitPull' | 'leadconduitInbox' | 'proofLog';

/** Where a region is needed and none is given: offline synth, DynamoDB Local, the local bus's envelope. */
export const DEFAULT_REGION = 'us-east-1';

export type EnvType = 'string' | 'url' | 'seconds' | 'secret' | 'names';

export interface EnvVariable {
  type: EnvType;
  /** The Config field it becomes (shared/config.ts). */
  field: string;
  description: string;
  /** 'aws': CDK sets it; 'local': only the local runtime sets it (AWS uses the other half of a pair). */
  setBy: 'aws' | 'local' | 'lambda-runtime';
  /** Used when the variable is absent. */
  default?: string;
  /** May be absent (the value is then undefined): the local half of a pair, or a pair's AWS half locally. */
  optional?: true;
}

export const environmentVariables = {
  EVENTS_TABLE_NAME: { type: 'string', field: 'eventsTableName', setBy: 'aws', description: 'The events table (one item per event).' },
  CONTROL_TABLE_NAME: { type: 'string', field: 'controlTableName', setBy: 'aws', description: 'The control table (keys, identities, secrets, alert counters).' },
  RAW_PAYLOAD_BUCKET: { type: 'string', field: 'rawPayloadBucket', setBy: 'aws', optional: true, description: 'S3 bucket for raw payloads over the inline limit (claim check).' },
  EVENT_BUS_NAME: { type: 'string', field: 'eventBusName', setBy: 'aws', description: 'The leadlog EventBridge bus the fan-out publishes to.' },
  ARCHIVE_STREAM_NAMES: {
    type: 'names', field: 'archiveStreamNames', setBy: 'aws',
    description: "The Firehose streams that archive events to S3 as Parquet, comma-separated in the stack's order (an org's stream is archiveStreamOf's index into it).",
  },
  WEBHOOK_SECRET_CACHE_SECONDS: {
    type: 'seconds', field: 'webhookSecretCacheSeconds', setBy: 'local', default: '60',
    description: "How long a function keeps an org's webhook secrets in memory (AWS 60 s; locally 0 so rotations apply at once).",
  },
  SETTINGS_CACHE_SECONDS: {
    type: 'seconds', field: 'settingsCacheSeconds', setBy: 'local', default: '60',
    description: "How long a function keeps an org's privacy and identity settings in memory (AWS 60 s; locally 0: changes apply at once).",
  },
  IDENTITY_CACHE_SECONDS: {
    type: 'seconds', field: 'identityCacheSeconds', setBy: 'local', default: '300',
    description: 'How long the webhooks function remembers which lead an identity belongs to (AWS 300 s; locally 2 s).',
  },
  ERASURE_SETTLE_SECONDS: {
    type: 'seconds', field: 'erasureSettleSeconds', setBy: 'local', default: '1500',
    description: "An erasure's settle phase: the identity cache's TTL (300 s) + Firehose's buffer (900 s) + 300 s for stream retries (locally 3 s).",
  },
  ERASURE_STATE_MACHINE_ARN: { type: 'string', field: 'erasureStateMachineArn', setBy: 'aws', optional: true, description: 'The Step Functions workflow that runs erasures (locally: the runtime runs them).' },
  ARCHIVE_BUCKET: { type: 'string', field: 'archiveBucket', setBy: 'aws', optional: true, description: 'The Parquet archive bucket (an erasure rewrites its files).' },
  ARCHIVE_DATABASE: { type: 'string', field: 'archiveDatabase', setBy: 'aws', optional: true, description: "The archive's Glue database (table `events`)." },
  ATHENA_WORKGROUP: { type: 'string', field: 'athenaWorkGroup', setBy: 'aws', optional: true, description: 'The Athena workgroup an erasure runs its queries in.' },
  BLOB_DIR: { type: 'string', field: 'blobDir', setBy: 'local', optional: true, description: 'Local stand-in for RAW_PAYLOAD_BUCKET: a folder of files.' },
  EXPORT_BUCKET: { type: 'string', field: 'exportBucket', setBy: 'aws', optional: true, description: 'The KMS-encrypted bucket export files are written to (kept a day).' },
  LEADCONDUIT_INBOX_BUCKET: {
    type: 'string', field: 'leadconduitInboxBucket', setBy: 'aws',
    description: "LeadConduit's Event Streaming inbox bucket: the inbox function ingests from it, an erasure deletes the family's objects (locally .data/inbox/ instead).",
  },
  EXPORT_STATE_MACHINE_ARN: { type: 'string', field: 'exportStateMachineArn', setBy: 'aws', optional: true, description: 'The Step Functions workflow that runs exports (locally: the runtime runs them).' },
  REPLAY_STATE_MACHINE_ARN: { type: 'string', field: 'replayStateMachineArn', setBy: 'aws', optional: true, description: 'The Step Functions workflow that runs replays (locally: the runtime runs them).' },
  EXPORT_DIR: { type: 'string', field: 'exportDir', setBy: 'local', optional: true, description: 'Local stand-in for EXPORT_BUCKET: a folder of export files.' },
  EXPORT_URL_SECRET: { type: 'string', field: 'exportUrlSecret', setBy: 'local', optional: true, description: 'Signs local download URLs (what a presigned S3 URL is in AWS).' },
  CURSOR_SECRET_ARN: {
    type: 'string', field: 'cursorSecretArn', setBy: 'aws', optional: true,
    description: 'The Secrets Manager secret page cursors are signed with (HMAC-SHA256), read once per cold start.',
  },
  CURSOR_SECRET: {
    type: 'secret', field: 'cursorSecret', setBy: 'local', optional: true,
    description: 'Local stand-in for CURSOR_SECRET_ARN: the secret itself (made once, kept in <data folder>/cursor-secret).',
  },
  PSEUDONYM_SECRET_ARN: {
    type: 'string', field: 'pseudonymSecretArn', setBy: 'aws', optional: true,
    description: 'The Secrets Manager secret masked ids are keyed with (maskId: HMAC-SHA256), read once per cold start; never rotated.',
  },
  PSEUDONYM_SECRET: {
    type: 'secret', field: 'pseudonymSecret', setBy: 'local', optional: true,
    description: 'Local stand-in for PSEUDONYM_SECRET_ARN: the key itself (made once, kept in <data folder>/pseudonym-secret).',
  },
  EXPORT_SETTLE_SECONDS: {
    type: 'seconds', field: 'exportSettleSeconds', setBy: 'local', default: '1200',
    description: "How long an export waits before reading the archive: Firehose's buffer (900 s) + 300 s (locally 2 s: the stream poller and the archive's buffer).",
  },
  CONSOLE_DIR: {
    type: 'string', field: 'consoleDir', setBy: 'local', optional: true,
    description: "The console's built files: locally <data folder>/console (built by npm start); in Lambda the console/ folder beside the handler.",
  },
  LEADCONDUIT_URL: {
    type: 'url', field: 'leadconduitUrl', setBy: 'local', default: 'https://app.leadconduit.com',
    description: "LeadConduit's API the pull reads GET /events from (a test's stand-in locally; the real one by default).",
  },
  LOG_TABLE_NAME: {
    type: 'string', field: 'logTableName', setBy: 'aws',
    description: "The proof-of-record log table (contract section 14): each org's Merkle tiles, leaves, head and checkpoints; no TTL, no stream.",
  },
  CHECKPOINT_KEY_ARN: {
    type: 'string', field: 'checkpointKeyArn', setBy: 'aws', optional: true,
    description: 'The AWS KMS key checkpoints are signed with (ECC_NIST_P256, ECDSA_SHA_256; the integrator signs, the proofs function reads its public key).',
  },
  PROOF_KEY_FILE: {
    type: 'string', field: 'proofKeyFile', setBy: 'local', optional: true,
    description: 'Local stand-in for CHECKPOINT_KEY_ARN: a P-256 private key in PEM (made 0600 on first use: <data folder>/proof-signing-key.pem).',
  },
  CHECKPOINT_BUCKET_NAME: {
    type: 'string', field: 'checkpointBucketName', setBy: 'aws', optional: true,
    description: 'The S3 bucket with Object Lock (compliance, 400 days) every signed checkpoint is also written to, once.',
  },
  CHECKPOINT_ARCHIVE_DIR: {
    type: 'string', field: 'checkpointArchiveDir', setBy: 'local', optional: true,
    description: 'Local stand-in for CHECKPOINT_BUCKET_NAME: the folder standing for the bucket (files checkpoints/<org>/<size>.json under it; the data folder).',
  },
  CHECKPOINT_INTERVAL_SECONDS: {
    type: 'seconds', field: 'checkpointIntervalSeconds', setBy: 'local', default: '300',
    description: "The least time between two checkpoints of an org that grew (contract section 14: 300 s in AWS; locally 10 s).",
  },
  DYNAMODB_ENDPOINT: { type: 'url', field: 'dynamoEndpoint', setBy: 'local', optional: true, description: "DynamoDB Local's URL." },
  AWS_REGION: { type: 'string', field: 'region', setBy: 'lambda-runtime', default: DEFAULT_REGION, description: 'Set by Lambda itself.' },
} as const satisfies Record<string, EnvVariable>;

export type EnvName = keyof typeof environmentVariables;

/** Raw payloads live in S3 in AWS and in a folder locally: a function that reads or writes them needs one of the two. */
export const BLOB_LOCATION: readonly EnvName[] = ['RAW_PAYLOAD_BUCKET', 'BLOB_DIR'];
/** The cursor-signing secret is in Secrets Manager in AWS and given as is locally: a function that pages needs one of the two. */
export const CURSOR_SECRET_LOCATION: readonly EnvName[] = ['CURSOR_SECRET_ARN', 'CURSOR_SECRET'];
/** The pseudonym key (maskId) is in Secrets Manager in AWS and given as is locally: a function that masks needs one of the two. */
export const PSEUDONYM_SECRET_LOCATION: readonly EnvName[] = ['PSEUDONYM_SECRET_ARN', 'PSEUDONYM_SECRET'];
/** The checkpoint key is in KMS in AWS and a key file locally: a function that signs checkpoints or publishes the key needs one of the two. */
export const CHECKPOINT_KEY_LOCATION: readonly EnvName[] = ['CHECKPOINT_KEY_ARN', 'PROOF_KEY_FILE'];
/** Signed checkpoints are also kept write-once: the Object Lock bucket in AWS, a folder locally. */
export const CHECKPOINT_ARCHIVE_LOCATION: readonly EnvName[] = ['CHECKPOINT_BUCKET_NAME', 'CHECKPOINT_ARCHIVE_DIR'];
/** Pairs of which a function listing either half needs one (the AWS half, or its local stand-in). */
export const EITHER_OF: readonly (readonly EnvName[])[] = [BLOB_LOCATION, CURSOR_SECRET_LOCATION, PSEUDONYM_SECRET_LOCATION, CHECKPOINT_KEY_LOCATION, CHECKPOINT_ARCHIVE_LOCATION];

/**
 * What each function reads. CDK sets each function's 'aws' variables through `functionEnvironment` (the
 * compiler checks a value is given for every one); the config module requires each listed variable
 * without a default at start-up.
 */
export const functionVariables = {
  // PSEUDONYM_SECRET_ARN where events are written: each item carries the seal of its leaf (proof of record), keyed from it.
  ingest: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'SETTINGS_CACHE_SECONDS', 'PSEUDONYM_SECRET_ARN'],
  query: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'SETTINGS_CACHE_SECONDS', 'CURSOR_SECRET_ARN', 'PSEUDONYM_SECRET_ARN', 'ARCHIVE_DATABASE', 'ATHENA_WORKGROUP', 'LOG_TABLE_NAME'],
  webhooks: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'WEBHOOK_SECRET_CACHE_SECONDS', 'IDENTITY_CACHE_SECONDS', 'SETTINGS_CACHE_SECONDS', 'PSEUDONYM_SECRET_ARN'],
  health: [],
  console: ['CONSOLE_DIR'],
  exports: [
    'CONTROL_TABLE_NAME', 'EXPORT_BUCKET', 'EXPORT_STATE_MACHINE_ARN', 'EXPORT_DIR', 'EXPORT_URL_SECRET', 'EXPORT_SETTLE_SECONDS',
  ],
  replays: ['CONTROL_TABLE_NAME', 'EVENTS_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'REPLAY_STATE_MACHINE_ARN', 'ARCHIVE_DATABASE', 'ATHENA_WORKGROUP', 'PSEUDONYM_SECRET_ARN'],
  replayer: ['CONTROL_TABLE_NAME', 'EVENTS_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'EVENT_BUS_NAME', 'SETTINGS_CACHE_SECONDS', 'ARCHIVE_DATABASE', 'ATHENA_WORKGROUP', 'PSEUDONYM_SECRET_ARN'],
  leadconduitInbox: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'SETTINGS_CACHE_SECONDS', 'LEADCONDUIT_INBOX_BUCKET', 'PSEUDONYM_SECRET_ARN'],
  exporter: ['CONTROL_TABLE_NAME', 'EXPORT_BUCKET', 'ARCHIVE_DATABASE', 'ATHENA_WORKGROUP', 'EVENT_BUS_NAME', 'PSEUDONYM_SECRET_ARN'],
  exportSchedules: ['CONTROL_TABLE_NAME', 'EXPORT_STATE_MACHINE_ARN', 'EXPORT_SETTLE_SECONDS'],
  authorizer: ['CONTROL_TABLE_NAME'],
  fanout: ['EVENT_BUS_NAME', 'CONTROL_TABLE_NAME', 'ARCHIVE_STREAM_NAMES', 'SETTINGS_CACHE_SECONDS', 'PSEUDONYM_SECRET_ARN', 'LOG_TABLE_NAME'],
  admin: ['CONTROL_TABLE_NAME', 'EVENTS_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'ERASURE_STATE_MACHINE_ARN', 'CURSOR_SECRET_ARN', 'PSEUDONYM_SECRET_ARN', 'LOG_TABLE_NAME'],
  leadconduitPull: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'SETTINGS_CACHE_SECONDS', 'LEADCONDUIT_URL', 'PSEUDONYM_SECRET_ARN'],
  // Proof of record's routes: proofs from the log table, records from the events table, the key's public half; pages
  // (cursors), rate limits and the audit trail (evidence bundles are pii.read) as every org route.
  proofs: ['EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'SETTINGS_CACHE_SECONDS', 'CURSOR_SECRET_ARN', 'LOG_TABLE_NAME', 'CHECKPOINT_KEY_ARN', 'CHECKPOINT_INTERVAL_SECONDS'],
  // Proof of record's integrator (scheduled): the log table, the key that signs (locally PROOF_KEY_FILE), where
  // checkpoints are also kept (locally CHECKPOINT_ARCHIVE_DIR): each pair's AWS half listed, as EITHER_OF reads it.
  // PSEUDONYM_SECRET_ARN: the seal key, so a queue item put into the log table by hand is never appended.
  proofLog: ['LOG_TABLE_NAME', 'CHECKPOINT_KEY_ARN', 'CHECKPOINT_BUCKET_NAME', 'CHECKPOINT_INTERVAL_SECONDS', 'PSEUDONYM_SECRET_ARN'],
  erasure: [
    'EVENTS_TABLE_NAME', 'CONTROL_TABLE_NAME', 'RAW_PAYLOAD_BUCKET', 'EVENT_BUS_NAME', 'ERASURE_SETTLE_SECONDS',
    'ARCHIVE_BUCKET', 'ARCHIVE_DATABASE', 'ATHENA_WORKGROUP', 'EXPORT_BUCKET', 'PSEUDONYM_SECRET_ARN', 'LEADCONDUIT_INBOX_BUCKET', 'LOG_TABLE_NAME',
  ],
} as const satisfies Record<FunctionName, readonly EnvName[]>;

/** The variables CDK sets (their values are the stack's resource names). */
export type DeployedVariable = { [N in EnvName]: (typeof environmentVariables)[N]['setBy'] extends 'aws' ? N : never }[EnvName];

/** A function's environment block for CDK: exactly the deployed variables its contract lists. */
export function functionEnvironment(fn: FunctionName, deployed: Record<DeployedVariable, string>): Record<string, string> {
  const names = (functionVariables[fn] as readonly EnvName[]).filter((name) => environmentVariables[name].setBy === 'aws') as DeployedVariable[];
  return Object.fromEntries(names.map((name) => [name, deployed[name]]));
}

/** Settings read by the libraries we use (Powertools), set by CDK and by the local runtime. */
export const libraryVariables = {
  POWERTOOLS_SERVICE_NAME: 'leadlog',
  POWERTOOLS_LOG_LEVEL: 'INFO',
} as const;
