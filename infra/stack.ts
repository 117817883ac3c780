import { QUERY_DIR } from './queries.js';
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsoleSync } from './console-bundle.js';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { functionEnvironment, type DeployedVariable, type FunctionName } from '../shared/definitions/environment.js';
import { HANDLER_NAMES, type HandlerName } from '../shared/definitions/routes.js';
import { LeadlogApi } from './constructs/api.js';
import { acknowledge, LeadlogFunction } from './constructs/lambda-function.js';
import { PayloadStorage } from './constructs/storage.js';
import { LeadlogTables } from './constructs/tables.js';
import { DEFAULT_STREAM_PROFILE, STREAM_PROFILES, type StreamProfile } from '../shared/definitions/stream.js';
import { Fanout } from './constructs/fanout.js';
import { Analytics } from './constructs/analytics.js';
import { Monitoring } from './constructs/monitoring.js';
import { JobWorkflow } from './constructs/job-workflow.js';
import { ExportStorage } from './constructs/exports.js';
import { LeadConduitInbox } from './constructs/leadconduit-inbox.js';
import { LeadConduitPull } from './constructs/leadconduit-pull.js';
import { ProofOfRecord } from './constructs/proofs.js';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke as SchedulerLambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { DEFAULT_BUS_NAME } from '../shared/definitions/event-rules.js';

/** Each function's construct id (kept: it names the deployed resources) and sizing. */
export const FUNCTIONS: Record<FunctionName, { id: string; memorySize: number; timeout?: Duration; reservedConcurrentExecutions?: number }> = {
  ingest: { id: 'Ingest', memorySize: 1024 },
  query: { id: 'Query', memorySize: 1024 },
  health: { id: 'Health', memorySize: 256, reservedConcurrentExecutions: 5 },
  // Public and unauthenticated by API key: with reserveConcurrency, capped so a flood cannot take the account's concurrency.
  // 250: 10,000 deliveries a second (section 15's 10,000 orgs) at ~20 ms each is ~200 executions.
  webhooks: { id: 'Webhooks', memorySize: 1024, reservedConcurrentExecutions: 250 },
  admin: { id: 'Admin', memorySize: 512 },
  // Static files and the API description from memory: small and quick.
  console: { id: 'Console', memorySize: 256 },
  authorizer: { id: 'Authorizer', memorySize: 512, timeout: Duration.seconds(5) },
  fanout: { id: 'Fanout', memorySize: 512, timeout: Duration.seconds(60) },
  // Athena queries of an erasure's archive phase run inside one step.
  erasure: { id: 'Erasure', memorySize: 512, timeout: Duration.minutes(15) },
  exports: { id: 'Exports', memorySize: 512 },
  // A replay's dry run counts matches in the events table and, for older ranges, the archive (Athena).
  replays: { id: 'Replays', memorySize: 512 },
  // Proof of record's routes: a proof is O(log n) reads; an evidence bundle reads a lead's events and their proofs.
  proofs: { id: 'Proofs', memorySize: 1024, timeout: Duration.seconds(29) },
  // An export step starts no new day after 10 minutes (functions/exporter.ts); files stream through it.
  exporter: { id: 'Exporter', memorySize: 1024, timeout: Duration.minutes(15) },
  exportSchedules: { id: 'ExportSchedules', memorySize: 256, timeout: Duration.minutes(1) },
  // A replay step starts no new page after 12 minutes (functions/replayer.ts).
  replayer: { id: 'Replayer', memorySize: 512, timeout: Duration.minutes(15) },
  // Every 5 minutes; pages stop 90 s before the end and the run continues next time (functions/leadconduitPull.ts).
  leadconduitPull: { id: 'LeadconduitPull', memorySize: 1024, timeout: Duration.minutes(5) },
  // One LeadConduit event (≤ 1 MB) per message, up to 10 a batch: read, ingested and moved within seconds.
  leadconduitInbox: { id: 'LeadConduitInbox', memorySize: 512, timeout: Duration.seconds(60) },
  // Proof of record's integrator, every minute: one run at a time (a lease per org besides; reserved when reserveConcurrency is on).
  proofLog: { id: 'ProofLog', memorySize: 1024, timeout: Duration.minutes(5), reservedConcurrentExecutions: 1 },
};

export interface LeadlogStackProps extends StackProps {
  /** Names every physical resource: `leadlog-${stage}-…`. */
  stage: string;
  /**
   * Reserve concurrency for the public functions (webhooks 250, health 5). Off by default: Lambda refuses a
   * reservation that leaves fewer than 100 unreserved executions, which fails the deploy in accounts whose
   * quota was lowered (new accounts start at 10). The public routes are throttled at the stage either way.
   */
  reserveConcurrency?: boolean;
  /**
   * The stream mapping's profile (shared/definitions/stream.ts): `standard` (default, bus and alerts within ~5 s) or
   * `large` (section 15's 10,000 events/s: up to 90 s on a quiet shard; docs/scale.md).
   */
  streamProfile?: StreamProfile;
}

/** The whole of leadlog on AWS: one construct per concern, wired with grants (no hand-written policies). */
export class LeadlogStack extends Stack {
  constructor(scope: Construct, id: string, props: LeadlogStackProps) {
    super(scope, id, props);
    const prefix = `leadlog-${props.stage}`;

    const dataKey = new Key(this, 'DataKey', {
      description: 'leadlog: events, control data and raw payloads at rest',
      enableKeyRotation: true,
    });
    const logKey = new Key(this, 'LogKey', { description: 'leadlog: CloudWatch log groups', enableKeyRotation: true });
    logKey.grantEncryptDecrypt(new ServicePrincipal(`logs.${this.region}.amazonaws.com`));

    const tables = new LeadlogTables(this, 'Tables', { prefix, key: dataKey });
    const storage = new PayloadStorage(this, 'Storage', { key: dataKey });
    const busName = props.stage === 'dev' ? DEFAULT_BUS_NAME : `${DEFAULT_BUS_NAME}-${props.stage}`;
    const erasureWorkflowName = `${prefix}-erasure`;
    const exportWorkflowName = `${prefix}-export`;
    const replayWorkflowName = `${prefix}-replay`;
    const exportStorage = new ExportStorage(this, 'ExportStorage', { key: dataKey, accessLogs: storage.accessLogs });
    const analytics = new Analytics(this, 'Analytics', { prefix, key: dataKey, logKey, accessLogs: storage.accessLogs });
    // LeadConduit's Event Streaming inbox (section 12): its function is wired below, once the functions exist.
    const leadConduitInbox = new LeadConduitInbox(this, 'EventStreamingInbox', { fnTimeout: FUNCTIONS.leadconduitInbox.timeout!, accessLogs: storage.accessLogs });
    // Page cursors are signed with this (contract section 3): generated by CloudFormation, never in the template, encrypted
    // with the data key, read once per cold start by the functions that page (query, admin) and by nothing else.
    const cursorSecret = new Secret(this, 'CursorSecret', {
      description: 'leadlog: signs page cursors (HMAC-SHA256)',
      encryptionKey: dataKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(cursorSecret, { 'AwsSolutions-SMG4': 'Rotating it would only invalidate the page cursors open at that moment; it protects no stored data.' });
    // Masked ids are keyed with this (maskId: HMAC-SHA256; a plain digest of a phone is reversed in seconds). Generated by
    // CloudFormation, encrypted with the data key, read once per cold start by the functions that mask. Never rotated and
    // never deleted with the stack: years of archive rows carry pseudonyms made with it, and erasure and exports find
    // those rows by computing them again.
    const pseudonymSecret = new Secret(this, 'PseudonymSecret', {
      description: 'leadlog: keys masked ids (HMAC-SHA256); never rotate',
      encryptionKey: dataKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(pseudonymSecret, { 'AwsSolutions-SMG4': 'Rotating it would orphan every archived pseudonym: erasure and exports could no longer find those rows.' });
    // Proof of record (contract section 14): the checkpoint key and the Object Lock bucket; functions wired below.
    const proofs = new ProofOfRecord(this, 'ProofOfRecord', {
      accessLogs: storage.accessLogs,
      aliasName: props.stage === 'dev' ? 'alias/leadlog-checkpoints' : `alias/leadlog-checkpoints-${props.stage}`,
    });
    // Every variable of the environment contract (shared/definitions/environment.ts); each function gets its own.
    const deployed: Record<DeployedVariable, string> = {
      EVENTS_TABLE_NAME: tables.events.tableName,
      CONTROL_TABLE_NAME: tables.control.tableName,
      RAW_PAYLOAD_BUCKET: storage.bucket.bucketName,
      EVENT_BUS_NAME: busName,
      ARCHIVE_STREAM_NAMES: Fn.join(',', analytics.deliveryStreams.map((stream) => stream.ref)),
      ERASURE_STATE_MACHINE_ARN: JobWorkflow.arnFor(this, erasureWorkflowName),
      EXPORT_BUCKET: exportStorage.bucket.bucketName,
      EXPORT_STATE_MACHINE_ARN: JobWorkflow.arnFor(this, exportWorkflowName),
      REPLAY_STATE_MACHINE_ARN: JobWorkflow.arnFor(this, replayWorkflowName),
      ARCHIVE_BUCKET: analytics.bucket.bucketName,
      ARCHIVE_DATABASE: analytics.database,
      ATHENA_WORKGROUP: analytics.workGroup.ref,
      CURSOR_SECRET_ARN: cursorSecret.secretArn,
      PSEUDONYM_SECRET_ARN: pseudonymSecret.secretArn,
      LEADCONDUIT_INBOX_BUCKET: leadConduitInbox.bucket.bucketName,
      LOG_TABLE_NAME: tables.log.tableName,
      CHECKPOINT_KEY_ARN: proofs.key.keyArn,
      CHECKPOINT_BUCKET_NAME: proofs.bucket.bucketName,
    };
    const fn = (name: FunctionName) => {
      const { id, reservedConcurrentExecutions, ...sizing } = FUNCTIONS[name];
      if (props.reserveConcurrency && reservedConcurrentExecutions !== undefined) Object.assign(sizing, { reservedConcurrentExecutions });
      // The console function ships the console's built files beside its handler (built here, at synth).
      // The console's bundle beside its handler; the reports' SQL (queries/*.sql, shared/adapters/report-sql.ts) beside the query function's.
      const extraFiles = name === 'console' ? { from: buildConsoleSync(mkdtempSync(join(tmpdir(), 'leadlog-console-'))).dir, as: 'console' }
        : name === 'query' ? { from: QUERY_DIR, as: 'queries' } : undefined;
      return new LeadlogFunction(this, id, { handlerModule: name, environment: functionEnvironment(name, deployed), logKey, ...sizing, ...(extraFiles ? { extraFiles } : {}) }).fn;
    };

    // One function per handler module of the route table, plus the authorizer and the stream fan-out.
    const handlers = {} as Record<HandlerName, NodejsFunction>;
    for (const name of HANDLER_NAMES) handlers[name] = fn(name);
    const { ingest, query, webhooks } = handlers;
    const authorizer = fn('authorizer');
    const fanoutFn = fn('fanout');
    // No grant method exists for an L1 delivery stream: exactly the one action on exactly the archive's streams.
    fanoutFn.addToRolePolicy(new PolicyStatement({ actions: ['firehose:PutRecordBatch'], resources: analytics.deliveryStreams.map((stream) => stream.attrArn) }));
    dataKey.grantEncrypt(fanoutFn); // the delivery stream's server-side encryption key
    tables.control.grantReadWriteData(fanoutFn); // alert counters, overrides and raised marks

    // Least privilege: ingest writes events and raw payloads; query reads them; the authorizer reads keys.
    tables.events.grantWriteData(ingest);
    tables.events.grantReadData(ingest); // a duplicate's stored twin comes back on the conditional check
    storage.bucket.grantPut(ingest);
    storage.bucket.grantRead(ingest);
    tables.events.grantReadData(query);
    storage.bucket.grantRead(query);
    tables.control.grantReadData(authorizer);
    tables.control.grantReadWriteData(query); // lead identities, privacy settings; writes: the audit trail
    tables.control.grantReadWriteData(ingest); // an event's `identity`: claims, profiles and merges
    tables.control.grantReadWriteData(handlers.admin); // org settings (privacy)
    cursorSecret.grantRead(query); // signing and verifying page cursors
    cursorSecret.grantRead(handlers.admin); // the audit trail's cursors
    // Webhooks: store events (and raw payloads), read secrets, read and claim identities.
    tables.events.grantReadWriteData(webhooks);
    tables.control.grantReadWriteData(webhooks);
    storage.bucket.grantPut(webhooks);
    storage.bucket.grantRead(webhooks);

    const logicalId = (construct: Construct) => this.getLogicalId(construct.node.defaultChild as never);
    /** A grant on the data key carries GenerateDataKey* and ReEncrypt* wildcards: one reason for both. */
    const dataKeyUse = (reason: string) => ({ 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': reason, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': reason });
    const bucketObjects = `Resource::<${logicalId(storage.bucket)}.Arn>/*`;
    const eventIndexes = `Resource::<${logicalId(tables.events)}.Arn>/index/*`;
    const readGrant = {
      [`AwsSolutions-IAM5[${eventIndexes}]`]: "Queries on the events table's own indexes (by_lead, by_day, by_flow) only.",
      [`AwsSolutions-IAM5[${bucketObjects}]`]: 'Objects of the raw-payload bucket only; keys are raw/<org>/<event id>/….',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': 'grantRead on the one raw-payload bucket (object reads and their versions).',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'grantRead on the one raw-payload bucket.',
      'AwsSolutions-IAM5[Action::s3:List*]': 'grantRead on the one raw-payload bucket.',
    };
    acknowledge(ingest, {
      ...readGrant,
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantPut: abort its own multipart uploads to the raw-payload bucket.',
      ...dataKeyUse("Encrypting raw payloads with the stack's own data key only."),
    });
    acknowledge(query, {
      ...readGrant,
      ...dataKeyUse("Writing audit records to the control table with the stack's own data key only."),
    });
    acknowledge(handlers.admin, {
      [`AwsSolutions-IAM5[${eventIndexes}]`]: "Reading the events table's own indexes (by_lead: is there anything of a lead to erase).",
      ...dataKeyUse("Writing the org's settings to the control table, encrypted with the stack's own data key only."),
    });
    acknowledge(webhooks, {
      ...readGrant,
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantPut: abort its own multipart uploads to the raw-payload bucket.',
      ...dataKeyUse("Encrypting items and raw payloads with the stack's own data key only."),
    });

    const api = new LeadlogApi(this, 'Api', { handlers, authorizer, logKey });

    // Erasure (section 9): the admin function records the job and starts its workflow; the erasure function deletes.
    const erasureFn = fn('erasure');
    const erasure = new JobWorkflow(this, 'ErasureWorkflow', { name: erasureWorkflowName, step: erasureFn, what: 'erasure', logKey });
    erasure.stateMachine.grantStartExecution(handlers.admin);
    tables.events.grantReadData(handlers.admin); // is there anything of the lead to erase
    tables.events.grantReadWriteData(erasureFn);
    tables.control.grantReadWriteData(erasureFn);
    storage.bucket.grantRead(erasureFn);
    storage.bucket.grantDelete(erasureFn);
    analytics.bucket.grantReadWrite(erasureFn);
    analytics.bucket.grantDelete(erasureFn);
    analytics.results.grantReadWrite(erasureFn); // Athena writes the job's query results as the job
    const workGroupArn = this.formatArn({ service: 'athena', resource: 'workgroup', resourceName: analytics.workGroup.ref });
    /** Running Athena queries over the archive: the workgroup, and reading the Glue catalog's archive tables. */
    const grantArchiveQueries = (fn: NodejsFunction, tablesRead: string[]) => {
      // StopQueryExecution: a request that runs out of time stops its query (shared/adapters/athena-queries.ts).
      fn.addToRolePolicy(new PolicyStatement({ actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'], resources: [workGroupArn] }));
      fn.addToRolePolicy(new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          this.formatArn({ service: 'glue', resource: 'catalog' }),
          this.formatArn({ service: 'glue', resource: 'database', resourceName: analytics.database }),
          ...tablesRead.map((table) => this.formatArn({ service: 'glue', resource: 'table', resourceName: `${analytics.database}/${table}` })),
        ],
      }));
    };
    grantArchiveQueries(erasureFn, ['events', 'events_raw']);
    // Export files holding the family (v1.2): the erasure asks each export's query over the `events` view, then
    // deletes the file and its parts from the export bucket.
    exportStorage.bucket.grantRead(erasureFn);
    exportStorage.bucket.grantDelete(erasureFn);
    // LeadConduit's inbox (v1.2): the family's objects, waiting, ingested or set aside, listed and deleted.
    leadConduitInbox.grantErase(erasureFn);

    const fanout = new Fanout(this, 'StreamFanout', { busName, events: tables.events, fanout: fanoutFn, key: dataKey, stream: STREAM_PROFILES[props.streamProfile ?? DEFAULT_STREAM_PROFILE] });
    fanout.bus.grantPutEventsTo(erasureFn); // Lead Erased
    const archiveObjects = `Resource::<${logicalId(analytics.bucket)}.Arn>/*`;
    const resultObjects = `Resource::<${logicalId(analytics.results)}.Arn>/*`;
    acknowledge(erasureFn, {
      ...readGrant,
      [`AwsSolutions-IAM5[${archiveObjects}]`]: 'Objects of the archive bucket only: the erasure rewrites the files holding the lead.',
      [`AwsSolutions-IAM5[${resultObjects}]`]: "Objects of the Athena results bucket only: the erasure's own query results.",
      [`AwsSolutions-IAM5[Resource::<${logicalId(exportStorage.bucket)}.Arn>/*]`]: 'Objects of the export bucket only: the erasure deletes the export files holding the lead.',
      [`AwsSolutions-IAM5[Resource::<${logicalId(leadConduitInbox.bucket)}.Arn>/leadconduit/*]`]: "LeadConduit's inbox objects (leadconduit/<org>/…): the erasure deletes those whose key names a member (no read).",
      [`AwsSolutions-IAM5[Resource::<${logicalId(leadConduitInbox.bucket)}.Arn>/rejected/leadconduit/*]`]: 'Set-aside inbox copies and their reasons: the erasure deletes those whose key names a member (no read).',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': 'Deleting the erased raw payloads, replaced archive files and export files holding the lead, in those three buckets only.',
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantReadWrite: Athena UNLOAD multipart uploads into the archive bucket only.',
      ...dataKeyUse("Rewriting archive files and job records with the stack's own data key only."),
    });
    // Exports (section 10): the exports function records the job and starts its workflow; the exporter runs Athena
    // over the archive and writes the file into the export bucket; the exports function presigns its download.
    const exporterFn = fn('exporter');
    const exportWorkflow = new JobWorkflow(this, 'ExportWorkflow', { name: exportWorkflowName, step: exporterFn, what: 'export', logKey });
    exportWorkflow.stateMachine.grantStartExecution(handlers.exports);
    tables.control.grantReadWriteData(handlers.exports);
    exportStorage.bucket.grantRead(handlers.exports); // a presigned URL carries the presigner's rights
    tables.control.grantReadWriteData(exporterFn);
    exportStorage.bucket.grantReadWrite(exporterFn);
    exportStorage.bucket.grantDelete(exporterFn);
    fanout.bus.grantPutEventsTo(exporterFn); // Export Ready
    analytics.bucket.grantRead(exporterFn);
    analytics.results.grantReadWrite(exporterFn);
    grantArchiveQueries(exporterFn, ['events', 'events_raw']);
    // A Parquet export is one CREATE TABLE AS with a single bucket: its scratch tables only (export_<id>).
    exporterFn.addToRolePolicy(new PolicyStatement({
      actions: ['glue:CreateTable', 'glue:DeleteTable', 'glue:GetTable'],
      resources: [
        this.formatArn({ service: 'glue', resource: 'catalog' }),
        this.formatArn({ service: 'glue', resource: 'database', resourceName: analytics.database }),
        this.formatArn({ service: 'glue', resource: 'table', resourceName: `${analytics.database}/export_ex_*` }),
      ],
    }));
    // Replays (section 10): the replays function counts matches and starts the workflow; the replayer reads the
    // events table and puts each event on the bus again, at its pace.
    const replayerFn = fn('replayer');
    const replayWorkflow = new JobWorkflow(this, 'ReplayWorkflow', { name: replayWorkflowName, step: replayerFn, what: 'replay', logKey });
    replayWorkflow.stateMachine.grantStartExecution(handlers.replays);
    tables.events.grantReadData(handlers.replays); // a dry run counts the matching events
    tables.control.grantReadWriteData(handlers.replays); // the job records
    tables.events.grantReadData(replayerFn);
    tables.control.grantReadWriteData(replayerFn);
    storage.bucket.grantRead(replayerFn); // events whose body is claim-checked
    fanout.bus.grantPutEventsTo(replayerFn);
    // The functions that mask (maskId), and only they, read the pseudonym key (PSEUDONYM_SECRET_ARN in their contract).
    for (const masking of [query, handlers.admin, handlers.replays, fanoutFn, erasureFn, exporterFn, replayerFn]) pseudonymSecret.grantRead(masking);
    // The part of a replay older than the hot store is read back from the archive with Athena (the dry run counts it);
    // reports (GET /v1/reports/{name}, section 13) run on Athena from the query function.
    for (const reader of [replayerFn, handlers.replays, query]) {
      analytics.bucket.grantRead(reader);
      analytics.results.grantRead(reader);
      analytics.results.grantPut(reader); // Athena writes the query's result as the caller
      grantArchiveQueries(reader, ['events', 'events_raw']);
      acknowledge(reader, {
        [`AwsSolutions-IAM5[Resource::<${logicalId(analytics.bucket)}.Arn>/*]`]: 'Reading the archive files Athena scans for a replay older than the hot store, or a report.',
        [`AwsSolutions-IAM5[Resource::<${logicalId(analytics.results)}.Arn>/*]`]: "Objects of the Athena results bucket only: the replay's or report's own query results.",
        'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantPut of the Athena results bucket: its own query results only.',
        'AwsSolutions-IAM5[Action::s3:GetObject*]': 'grantRead of the archive and results buckets: Athena reads as the caller.',
        'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'grantRead of the archive and results buckets: Athena reads as the caller.',
        'AwsSolutions-IAM5[Action::s3:List*]': 'grantRead of the archive and results buckets: Athena reads as the caller.',
      });
    }
    acknowledge(replayerFn, {
      ...readGrant,
      ...dataKeyUse("Job records in the control table with the stack's own data key only."),
    });

    // Scheduled exports: EventBridge Scheduler invokes the clock every 15 minutes; it starts each due run's workflow.
    const scheduleClockFn = fn('exportSchedules');
    tables.control.grantReadWriteData(scheduleClockFn);
    exportWorkflow.stateMachine.grantStartExecution(scheduleClockFn);
    const clockRole = new Role(this, 'ExportScheduleClockRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    new Schedule(this, 'ExportScheduleClock', {
      schedule: ScheduleExpression.rate(Duration.minutes(15)),
      target: new SchedulerLambdaInvoke(scheduleClockFn, { retryAttempts: 3, role: clockRole }),
      description: 'Starts the scheduled exports that are due (shared/domain/export-schedules.ts)',
    });
    acknowledge(clockRole, { [`AwsSolutions-IAM5[Resource::<${logicalId(scheduleClockFn)}.Arn>:*]`]: 'EventBridge Scheduler invokes the one schedule-clock function (and its versions).' });
    acknowledge(scheduleClockFn, {
      ...dataKeyUse("Schedules and job records in the control table with the stack's own data key only."),
    });
    const exportObjects = `Resource::<${logicalId(exportStorage.bucket)}.Arn>/*`;
    acknowledge(handlers.replays, {
      [`AwsSolutions-IAM5[Resource::<${logicalId(tables.events)}.Arn>/index/*]`]: "A replay's dry run counts on the events table's own by_day index only.",
      ...dataKeyUse("Job records in the control table with the stack's own data key only."),
    });
    acknowledge(handlers.exports, {
      [`AwsSolutions-IAM5[${exportObjects}]`]: 'Presigning downloads of export files: objects of the export bucket only.',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': 'grantRead of the export bucket: presigned downloads of its files.',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'grantRead of the export bucket: presigned downloads of its files.',
      'AwsSolutions-IAM5[Action::s3:List*]': 'grantRead of the export bucket: presigned downloads of its files.',
      ...dataKeyUse("Job records in the control table with the stack's own data key only."),
    });
    acknowledge(exporterFn, {
      ...readGrant,
      [`AwsSolutions-IAM5[${exportObjects}]`]: 'Objects of the export bucket only: the export writes its parts and its file.',
      [`AwsSolutions-IAM5[Resource::<${logicalId(analytics.bucket)}.Arn>/*]`]: 'Reading the archive files Athena scans for the export.',
      [`AwsSolutions-IAM5[Resource::<${logicalId(analytics.results)}.Arn>/*]`]: "Objects of the Athena results bucket only: the export's own query results.",
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': "Deleting the export's parts once joined, in the export bucket only.",
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantReadWrite: multipart uploads of export files into the export bucket only.',
      ...dataKeyUse("Writing export files and job records with the stack's own data key only."),
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:${this.region}:<AWS::AccountId>:table/${analytics.database}/export_ex_*]`]: "The export's own scratch tables (export_<id>) for a Parquet CREATE TABLE AS.",
    });
    acknowledge(fanoutFn, {
      ...dataKeyUse("Sending to the KMS-encrypted dead-letter queue with the stack's own data key."),
    });

    // LeadConduit's pull (section 12): every 5 minutes, each org that stored an API key under leadlog/leadconduit/.
    const leadconduitPullFn = fn('leadconduitPull');
    new LeadConduitPull(this, 'LeadConduitPullSchedule', { puller: leadconduitPullFn, events: tables.events, control: tables.control, payloads: storage.bucket });

    // The inbox's function: ingests each object S3 notifies (via the queue) as the LeadConduit ingest does for the API route.
    const inboxFn = fn('leadconduitInbox');
    leadConduitInbox.consumeWith(inboxFn);
    tables.events.grantReadWriteData(inboxFn); // the conditional put, and a duplicate's stored twin
    tables.control.grantReadWriteData(inboxFn); // identities (claims, merges), the org's identity rules, the inbox's status
    storage.bucket.grantPut(inboxFn); // raw payloads over the inline limit (claim check)
    storage.bucket.grantRead(inboxFn);
    const inboxBucket = logicalId(leadConduitInbox.bucket);
    acknowledge(inboxFn, {
      ...readGrant,
      [`AwsSolutions-IAM5[Resource::<${inboxBucket}.Arn>/leadconduit/*]`]: "What LeadConduit wrote (leadconduit/<org>/…) only: read, tagged ingested, deleted once set aside.",
      [`AwsSolutions-IAM5[Resource::<${inboxBucket}.Arn>/rejected/*]`]: 'Set-aside copies and their reasons, under rejected/ only.',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': 'Deleting an inbox object once its copy under rejected/ is written, under leadconduit/ only.',
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantPut: abort its own multipart uploads (raw payloads, set-aside copies).',
      ...dataKeyUse("Items and raw payloads with the stack's own data key, set-aside copies with the inbox's own key only."),
    });

    // Proof of record: the integrator appends sealed events to the log and signs checkpoints; the fan-out queues them;
    // an erasure (and the admin function that checks and starts one) reads and rewrites a leaf's content away.
    const proofLogFn = fn('proofLog');
    proofs.integrate(proofLogFn);
    tables.log.grantReadWriteData(proofLogFn);
    tables.log.grantWriteData(fanoutFn);
    tables.log.grantReadWriteData(erasureFn);
    tables.log.grantReadWriteData(handlers.admin);
    // Where events are written, the seal of each item is keyed from the pseudonym secret.
    for (const writer of [ingest, webhooks, inboxFn, leadconduitPullFn]) pseudonymSecret.grantRead(writer);
    pseudonymSecret.grantRead(proofLogFn); // the integrator checks each queue item's seal (a hand-put one is never appended)
    acknowledge(proofLogFn, { ...dataKeyUse("The log table's items with the stack's own data key only.") });
    // The proofs routes read events, raw bytes and the log, publish the public key, page (cursors), and write
    // rate-limit state and the audit trail (evidence bundles are pii.read) to the control table.
    const proofsFn = handlers.proofs;
    tables.events.grantReadData(proofsFn);
    tables.log.grantReadData(proofsFn);
    storage.bucket.grantRead(proofsFn);
    tables.control.grantReadWriteData(proofsFn);
    cursorSecret.grantRead(proofsFn);
    proofs.grantPublicKeyRead(proofsFn);
    acknowledge(proofsFn, {
      ...readGrant,
      ...dataKeyUse("Rate-limit state and audit records in the control table with the stack's own data key only."),
    });

    const monitoring = new Monitoring(this, 'Monitoring', {
      api: api.api,
      functions: {
        Ingest: ingest, Query: query, Webhooks: webhooks, Authorizer: authorizer, Fanout: fanoutFn, Erasure: erasureFn,
        Exports: handlers.exports, Replays: handlers.replays, Exporter: exporterFn, Replayer: replayerFn, ExportSchedules: scheduleClockFn, LeadConduitPull: leadconduitPullFn,
        LeadConduitInbox: inboxFn, ProofLog: proofLogFn, Proofs: handlers.proofs,
      },
      streamConsumer: fanoutFn,
      tables: { events: tables.events, control: tables.control, log: tables.log },
      deadLetterQueues: { Stream: fanout.deadLetters, Rules: fanout.ruleDeadLetters, Bus: fanout.busDeadLetters, LeadConduitInbox: leadConduitInbox.deadLetters },
      deliveryStreamNames: analytics.deliveryStreams.map((stream) => stream.ref),
      key: dataKey,
    });
    new CfnOutput(this, 'OpsTopicArn', { value: monitoring.topic.topicArn });
    new CfnOutput(this, 'ArchiveBucketName', { value: analytics.bucket.bucketName });
    new CfnOutput(this, 'ArchiveDeliveryStreamNames', {
      value: Fn.join(',', analytics.deliveryStreams.map((stream) => stream.ref)), description: 'npm run archive -- redeliver --bucket <ArchiveBucketName> --streams <this>',
    });
    new CfnOutput(this, 'GlueDatabase', { value: analytics.database });
    new CfnOutput(this, 'AthenaWorkGroup', { value: analytics.workGroup.ref });
    new CfnOutput(this, 'EventBusName', { value: fanout.bus.eventBusName });
    new CfnOutput(this, 'AlertsTopicArn', { value: fanout.alerts.topicArn });
    new CfnOutput(this, 'ApiUrl', { value: api.api.apiEndpoint });
    // Served by the HTTP API itself (same origin as the API, so the key never crosses origins): docs/decisions.md.
    new CfnOutput(this, 'ConsoleUrl', { value: `${api.api.apiEndpoint}/console/` });
    new CfnOutput(this, 'OpenApiUrl', { value: `${api.api.apiEndpoint}/v1/openapi.json` });
    new CfnOutput(this, 'EventsTableName', { value: tables.events.tableName });
    new CfnOutput(this, 'ControlTableName', { value: tables.control.tableName, description: 'npm run keys -- … --aws --table <this>' });
    new CfnOutput(this, 'RawPayloadBucketName', { value: storage.bucket.bucketName });
    new CfnOutput(this, 'ErasureStateMachineArn', { value: erasure.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ExportBucketName', { value: exportStorage.bucket.bucketName });
    new CfnOutput(this, 'LeadConduitInboxBucketName', {
      value: leadConduitInbox.bucket.bucketName, description: 'npm run keys -- leadconduit --org <id> --aws --bucket <this> --kms-key-arn <LeadConduitInboxKeyArn>',
    });
    new CfnOutput(this, 'CheckpointBucketName', { value: proofs.bucket.bucketName, description: 'Signed checkpoints, Object Lock (compliance, 400 days)' });
    new CfnOutput(this, 'CheckpointKeyArn', { value: proofs.key.keyArn, description: 'The KMS key checkpoints are signed with (ECDSA P-256); its public key: GET /v1/proofs/public-key' });
    new CfnOutput(this, 'LeadConduitInboxKeyArn', { value: leadConduitInbox.key.keyArn, description: "The inbox bucket's KMS key: LeadConduit's writers encrypt with it" });
  }
}
