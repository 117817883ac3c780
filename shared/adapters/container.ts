import { randomUUID } from 'node:crypto';
import { ServiceUnavailableError } from '../domain/errors.js';
import { toProblem } from '../http/problem.js';
import { loadConfig, type Config } from '../config.js';
import type { FunctionName } from '../definitions/environment.js';
import type { FanoutPorts } from '../domain/fanout.js';
import {
  systemClock, type AlertStore, type ApiKeyStore, type Archive, type BlobStore, type Clock, type EventBus, type EventStore,
  type ArchiveEraser, type AuditLog, type ErasureScheduler, type ErasureStore, type IdentityStore, type RateLimitStore, type SettingsStore, type ShardPlanStore, type WebhookSecretStore,
  type LeadConduitStatusStore, type LeadConduitPullStore,
} from '../domain/ports.js';
import type { ErasurePorts } from '../domain/erasure.js';
import { AthenaArchiveEraser } from './athena-archive-eraser.js';
import {
  createAthenaClient, createDocumentClient, createEventBridgeClient, createFirehoseClient, createKmsClient, createS3Client, createSecretsManagerClient, createStepFunctionsClient,
} from './aws-clients.js';
import { Cursors } from '../domain/cursor.js';
import { secretsManagerSecret } from './secrets.js';
import { DynamoErasureStore } from './dynamo-erasure-store.js';
import {
  polledErasureScheduler, polledExportScheduler, polledReplayScheduler, StepFunctionsErasureScheduler, StepFunctionsExportScheduler, StepFunctionsReplayScheduler,
} from './step-functions-jobs.js';
import { DynamoExportStore, DynamoReplayStore } from './dynamo-export-store.js';
import type { ArchivedEvents, ReplayScheduler, ReplayStore } from '../domain/replays.js';
import { AthenaArchivedEvents } from './athena-archived-events.js';
import { localStandIns } from './local-stand-ins.js';
import type { ReportEngine } from '../domain/ports.js';

/** Without Athena and without the local runtime's engine (a function run alone): reports cannot run, said plainly. */
const missingReportEngine: ReportEngine = {
  start: () => Promise.reject(new Error('leadlog configuration: no report engine (ATHENA_WORKGROUP and ARCHIVE_DATABASE in AWS; npm start sets the local one)')),
  wait: () => Promise.reject(new Error('no report engine')),
  state: async () => undefined,
};
import { S3PresignedLinks, SignedFileLinks } from './export-links.js';
import { AthenaExportEngine } from './athena-export-engine.js';
import { AthenaReportEngine } from './athena-report-engine.js';
import { announceExportReady, type ExportEngine, type ExportJobStore, type ExportLinks, type ExportScheduler } from '../domain/exports.js';
import type { ExportScheduleStore } from '../domain/export-schedules.js';
import { DynamoExportScheduleStore } from './dynamo-export-schedule-store.js';
import { FileBlobStore, S3BlobStore } from './blob-stores.js';
import { DynamoAlertStore } from './dynamo-alert-store.js';
import { DynamoApiKeyStore } from './dynamo-api-key-store.js';
import { DynamoEventStore } from './dynamo-event-store.js';
import { DynamoShardPlanStore } from './dynamo-shard-plan-store.js';
import { plannedPeakEventsPerSecond } from '../domain/shards.js';
import { archiveStreamsForOrg } from '../definitions/archive.js';
import { DynamoIdentityStore } from './dynamo-identity-store.js';
import { DynamoAuditLog } from './dynamo-audit-log.js';
import { DynamoSettingsStore } from './dynamo-settings-store.js';
import { DynamoWebhookSecretStore } from './dynamo-webhook-secret-store.js';
import { DynamoLeadConduitStatusStore } from './dynamo-leadconduit-status-store.js';
import { DynamoLeadConduitPullStore } from './dynamo-leadconduit-pull-store.js';
import { LEADCONDUIT_DEFAULT_URL, LeadConduitApiClient } from './leadconduit-api-client.js';
import { ingestLeadConduitEvents, recordLeadConduitMarks } from '../domain/leadconduit/ingest.js';
import type { PullPorts, ScheduledPullPorts } from '../domain/leadconduit/pull.js';
import { leadConduitKeySecretName } from '../definitions/leadconduit-pull.js';
import { DynamoRateLimitStore } from './dynamo-rate-limiter.js';
import { EventRateLimiter, RateLimiter } from '../domain/rate-limit.js';
import { controlKeys } from '../domain/keys.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { configurePseudonymKey, maskError, type MaskOptions } from '../domain/masking.js';
import { configureSealKey } from '../domain/proofs.js';
import { DynamoProofLogStore } from './dynamo-proof-log.js';
import { KmsCheckpointSigner } from './kms-checkpoint-signer.js';
import { S3CheckpointArchive } from './s3-checkpoint-archive.js';
import type { IntegratorPorts, ProofLogStore } from '../domain/proof-log.js';
import type { CheckpointArchive, CheckpointSigner } from '../domain/proofs.js';
import { cachedMaskOptions } from '../domain/privacy.js';
import { cachedIdentityRules, type IdentityRules } from '../domain/identity.js';
import { EventBridgeBus } from './eventbridge-bus.js';
import { FirehoseArchive } from './firehose-archive.js';
import { S3InboxObjects } from './inbox-objects.js';
import type { InboxPorts } from '../domain/leadconduit/inbox.js';
import type { InboxHandlerDependencies } from '../stream/inbox-handler.js';
import type { InboxObjects } from '../domain/ports.js';

/**
 * The container: what handlers need, behind ports, built from the typed configuration. Each adapter is made
 * on first use, so a function builds (and needs configuration for) only what it touches: the authorizer
 * never needs the events table, health needs nothing.
 */
export interface Dependencies {
  config: Config;
  /** Each org's index shard plan (section 15); the events store writes and reads by it. */
  shardPlans: ShardPlanStore;
  events: EventStore;
  apiKeys: ApiKeyStore;
  identities: IdentityStore;
  webhookSecrets: WebhookSecretStore;
  settings: SettingsStore;
  audit: AuditLog;
  erasures: ErasureStore;
  /** Raised alerts (the history GET /v1/alerts lists). */
  alerts: AlertStore;
  /** Signs and verifies page cursors with the deployment's secret (Secrets Manager in AWS, CURSOR_SECRET locally). */
  cursors: Cursors;
  /** Export jobs, how they start (Step Functions in AWS, the local runner) and where their files download from. */
  exports: { store: ExportJobStore; scheduler: ExportScheduler; links: ExportLinks; schedules: ExportScheduleStore };
  /** Replay jobs and how they start (Step Functions in AWS, the local runner). */
  replays: { store: ReplayStore; scheduler: ReplayScheduler; archive: ArchivedEvents | undefined };
  /** Step Functions in AWS; locally the runtime's runner finds running jobs itself. */
  scheduler: ErasureScheduler;
  /** An org's masking options (its own PII key names), cached for SETTINGS_CACHE_SECONDS. */
  maskOptions: (orgId: string) => Promise<MaskOptions>;
  /** An org's identity rules (PUT /v1/settings/identity: its junk values as identity keys, its limits), cached for SETTINGS_CACHE_SECONDS. */
  identityRules: (orgId: string) => Promise<IdentityRules>;
  /** Per-org token buckets (shared/domain/rate-limit.ts), leased from the control table; one per process, so leases are shared by its requests. */
  rateLimiter: RateLimiter;
  /** The orgs' buckets and overrides (PUT /v1/settings/limits). */
  rateLimits: RateLimitStore;
  /** Per-org events buckets at each org's shard plan's rate (EventRateLimiter): every way in admits its events here before storing them. */
  eventLimiter: EventRateLimiter;
  /** LeadConduit's per-org counters and marks per way in (GET /v1/integrations/leadconduit/status). */
  leadconduitStatus: LeadConduitStatusStore;
  /** Each org's LeadConduit pull: position, lease, whether AWS pulls it on schedule (controlKeys.leadconduitPull). */
  leadconduitPulls: LeadConduitPullStore;
  blobs: BlobStore;
  /** Reports (section 13): Athena in AWS, the runtime's DuckDB locally (localStandIns.reports). */
  reports: ReportEngine;
  /** Proof of record (section 14): the log's store, the checkpoint signer and the write-once checkpoint archive. */
  proofLog: ProofLogStore;
  checkpointSigner: CheckpointSigner;
  checkpointArchive: CheckpointArchive;
  clock: Clock;
}

/** An object whose properties are made by their factory on first read, then kept (enumerable, so it spreads). */
function memoized<T extends object>(factories: { [K in keyof T]: () => T[K] }): T {
  const target = {} as T;
  for (const key of Object.keys(factories) as (keyof T)[]) {
    let made = false;
    let value: T[keyof T];
    Object.defineProperty(target, key, {
      enumerable: true,
      get: () => {
        if (!made) {
          value = factories[key]();
          made = true;
        }
        return value;
      },
    });
  }
  return target;
}

/** Clients a caller may supply instead (the cost benchmark passes a DynamoDB client that records consumed capacity). */
export interface ClientOverrides {
  documents?: ReturnType<typeof createDocumentClient>;
}

function clientsFor(config: Config, overrides: ClientOverrides = {}) {
  let documents: ReturnType<typeof createDocumentClient> | undefined = overrides.documents;
  return {
    documents: () => (documents ??= createDocumentClient({ endpoint: config.dynamoEndpoint, region: config.region })),
    blobs: (): BlobStore => (config.rawPayloadBucket
      ? new S3BlobStore(createS3Client({ region: config.region }), config.rawPayloadBucket)
      : new FileBlobStore(config.blobDir!)),
  };
}

export function createDependencies(config: Config = loadConfig(), overrides: ClientOverrides = {}): Dependencies {
  const clients = clientsFor(config, overrides);
  const deps: Dependencies = memoized<Dependencies>({
    config: () => config,
    blobs: clients.blobs,
    shardPlans: () => new DynamoShardPlanStore(clients.documents(), config.controlTableName),
    events: () => new DynamoEventStore(clients.documents(), config.eventsTableName, deps.blobs, deps.shardPlans),
    apiKeys: () => new DynamoApiKeyStore(clients.documents(), config.controlTableName),
    identities: () => new DynamoIdentityStore(clients.documents(), config.controlTableName),
    webhookSecrets: () => new DynamoWebhookSecretStore(clients.documents(), config.controlTableName),
    settings: () => new DynamoSettingsStore(clients.documents(), config.controlTableName),
    audit: () => new DynamoAuditLog(clients.documents(), config.controlTableName),
    erasures: () => new DynamoErasureStore(clients.documents(), config.controlTableName),
    alerts: () => new DynamoAlertStore(clients.documents(), config.controlTableName),
    cursors: () => new Cursors(config.cursorSecretArn
      ? secretsManagerSecret(createSecretsManagerClient({ region: config.region }), config.cursorSecretArn)
      : async () => config.cursorSecret ?? Promise.reject(new Error('leadlog configuration: CURSOR_SECRET_ARN (AWS) or CURSOR_SECRET (local) is required'))),
    exports: () => ({
      store: new DynamoExportStore(clients.documents(), config.controlTableName),
      scheduler: config.exportStateMachineArn
        ? new StepFunctionsExportScheduler(createStepFunctionsClient({ region: config.region }), config.exportStateMachineArn)
        : polledExportScheduler,
      links: config.exportBucket ? new S3PresignedLinks(createS3Client({ region: config.region }), config.exportBucket) : new SignedFileLinks(config.exportUrlSecret!),
      schedules: new DynamoExportScheduleStore(clients.documents(), config.controlTableName),
    }),
    replays: () => ({
      store: new DynamoReplayStore(clients.documents(), config.controlTableName),
      scheduler: config.replayStateMachineArn
        ? new StepFunctionsReplayScheduler(createStepFunctionsClient({ region: config.region }), config.replayStateMachineArn)
        : polledReplayScheduler,
      // The part of a replay older than the hot store: Athena in AWS, the runtime's DuckDB locally.
      archive: config.athenaWorkGroup && config.archiveDatabase
        ? new AthenaArchivedEvents(createAthenaClient({ region: config.region }), { workGroup: config.athenaWorkGroup, database: config.archiveDatabase })
        : localStandIns.archivedEvents,
    }),
    scheduler: () => (config.erasureStateMachineArn
      ? new StepFunctionsErasureScheduler(createStepFunctionsClient({ region: config.region }), config.erasureStateMachineArn)
      : polledErasureScheduler),
    maskOptions: () => cachedMaskOptions(deps.settings, config.settingsCacheSeconds * 1000),
    identityRules: () => cachedIdentityRules(deps.settings, config.settingsCacheSeconds * 1000),
    rateLimits: () => new DynamoRateLimitStore(clients.documents(), config.controlTableName),
    leadconduitStatus: () => new DynamoLeadConduitStatusStore(clients.documents(), config.controlTableName),
    leadconduitPulls: () => new DynamoLeadConduitPullStore(clients.documents(), config.controlTableName),
    rateLimiter: () => new RateLimiter(deps.rateLimits, { settingsCacheMs: config.settingsCacheSeconds * 1000, clock: deps.clock }),
    eventLimiter: () => new EventRateLimiter(new DynamoRateLimitStore(clients.documents(), config.controlTableName, controlKeys.rateLimitEventsBucket), {
      clock: deps.clock, shardPlan: (orgId, nowMs) => deps.shardPlans.of(orgId, nowMs), log: new Logger({ serviceName: 'leadlog', persistentKeys: { component: 'event-limiter' } }),
    }),
    reports: () => (config.athenaWorkGroup && config.archiveDatabase
      ? new AthenaReportEngine(createAthenaClient({ region: config.region }), { workGroup: config.athenaWorkGroup, database: config.archiveDatabase })
      : localStandIns.reports ?? missingReportEngine),
    proofLog: () => new DynamoProofLogStore(clients.documents(), config.logTableName),
    // KMS and the Object Lock bucket in AWS; the runtime's key file and folder locally (localStandIns).
    checkpointSigner: () => (config.checkpointKeyArn
      ? new KmsCheckpointSigner(config.checkpointKeyArn, createKmsClient({ region: config.region }))
      : localStandIns.checkpointSigner ?? unconfigured<CheckpointSigner>('CHECKPOINT_KEY_ARN (or the local signer)', ['keyId', 'sign', 'publicKeyPem'])),
    checkpointArchive: () => (config.checkpointBucketName
      ? new S3CheckpointArchive(config.checkpointBucketName, createS3Client({ region: config.region }))
      : localStandIns.checkpointArchive ?? unconfigured<CheckpointArchive>('CHECKPOINT_BUCKET_NAME (or the local archive)', ['put'])),
    clock: () => systemClock,
  });
  return deps;
}

/**
 * A port this function's configuration does not give: made without error (dependencies are spread whole, and most
 * functions never sign), failing on first use with what is missing.
 */
function unconfigured<T>(what: string, methods: (keyof T & string)[]): T {
  const fail = async () => {
    throw new Error(`leadlog configuration: ${what} is required for proof of record`);
  };
  return Object.fromEntries(methods.map((method) => [method, fail])) as T;
}

/** Local stand-ins for the fan-out's AWS sinks (infra/local/: the local bus and the Parquet archive). */
export interface FanoutStandIns {
  bus?: EventBus;
  archive?: Archive;
}

/** The stream fan-out's ports: the bus and the archive (EventBridge and Firehose, unless stand-ins are given) and the alert store. */
export function createFanoutDependencies(config: Config = loadConfig(), standIns: FanoutStandIns = {}): FanoutPorts {
  const clients = clientsFor(config);
  return memoized<Required<Omit<FanoutPorts, 'log'>>>({
    bus: () => standIns.bus ?? new EventBridgeBus(createEventBridgeClient({ region: config.region }), config.eventBusName),
    archive: () => {
      if (standIns.archive) return standIns.archive;
      // A large org's rows spread over as many streams as its peak rate needs (its index shard plan says how large).
      const plans = new DynamoShardPlanStore(clients.documents(), config.controlTableName);
      const orgStreams = async (orgId: string) => archiveStreamsForOrg(plannedPeakEventsPerSecond(await plans.of(orgId, Date.now())));
      return new FirehoseArchive(createFirehoseClient({ region: config.region }), config.archiveStreamNames, orgStreams);
    },
    alerts: (): AlertStore => new DynamoAlertStore(clients.documents(), config.controlTableName),
    proofLog: () => new DynamoProofLogStore(clients.documents(), config.logTableName),
    maskOptions: () => cachedMaskOptions(new DynamoSettingsStore(clients.documents(), config.controlTableName), config.settingsCacheSeconds * 1000),
    clock: () => systemClock,
  });
}

/** Local stand-ins for the erasure job's AWS parts: the local bus, the Parquet archive that rewrites its own files, the DuckDB exporter, the inbox folder. */
export interface ErasureStandIns {
  bus?: EventBus;
  archive?: ArchiveEraser;
  exports?: ExportEngine;
  /** LeadConduit's inbox folder (`new FileInboxObjects('.data/inbox')`); without it, the S3 bucket LEADCONDUIT_INBOX_BUCKET names. */
  inbox?: InboxObjects;
}

/** The erasure job's ports (shared/domain/erasure.ts): the stores it deletes from, the archive eraser, the bus. */
export function createErasureDependencies(config: Config = loadConfig(), standIns: ErasureStandIns = {}): ErasurePorts {
  const deps = createDependencies(config);
  return memoized<Omit<ErasurePorts, 'onProgress'>>({
    events: () => deps.events,
    identities: () => deps.identities,
    blobs: () => deps.blobs,
    erasures: () => deps.erasures,
    audit: () => deps.audit,
    proofLog: () => deps.proofLog,
    clock: () => deps.clock,
    settleMs: () => config.erasureSettleSeconds * 1000,
    bus: () => standIns.bus ?? new EventBridgeBus(createEventBridgeClient({ region: config.region }), config.eventBusName),
    // LeadConduit's Event Streaming inbox (v1.2): the family's objects are listed and deleted (no read, no KMS).
    inbox: () => standIns.inbox ?? new S3InboxObjects(createS3Client({ region: config.region }), config.leadconduitInboxBucket),
    // Export files holding the family (v1.2): the jobs, and the engine that asks the archive and deletes the files.
    exports: () => {
      const store = new DynamoExportStore(clientsFor(config).documents(), config.controlTableName);
      if (standIns.exports) return { store, engine: standIns.exports };
      const { exportBucket: bucket, archiveDatabase: database, athenaWorkGroup: workGroup } = config;
      if (!bucket || !database || !workGroup) throw new Error('the erasure job needs EXPORT_BUCKET, ARCHIVE_DATABASE and ATHENA_WORKGROUP in AWS');
      return { store, engine: new AthenaExportEngine(createAthenaClient({ region: config.region }), createS3Client({ region: config.region }), { bucket, database, workGroup }) };
    },
    archive: () => {
      if (standIns.archive) return standIns.archive;
      const { archiveBucket: bucket, archiveDatabase: database, athenaWorkGroup: workGroup } = config;
      if (!bucket || !database || !workGroup) throw new Error('the erasure job needs ARCHIVE_BUCKET, ARCHIVE_DATABASE and ATHENA_WORKGROUP in AWS');
      return new AthenaArchiveEraser(createAthenaClient({ region: config.region }), createS3Client({ region: config.region }), { bucket, database, workGroup });
    },
  });
}

let pseudonymKeyRead: Promise<void> | undefined;

/**
 * Configures maskId's key for this process (configurePseudonymKey) from a function's configuration: the Secrets
 * Manager secret PSEUDONYM_SECRET_ARN names (one read per cold start), or PSEUDONYM_SECRET locally. Awaited before a
 * function masks anything (withPseudonymKey); a failed read is tried again on the next call, never skipped.
 */
export function configurePseudonymsFrom(config: Config): Promise<void> {
  pseudonymKeyRead ??= (async () => {
    const key = config.pseudonymSecretArn
      ? await secretsManagerSecret(createSecretsManagerClient({ region: config.region }), config.pseudonymSecretArn)()
      : config.pseudonymSecret;
    if (!key) throw new Error('leadlog configuration: PSEUDONYM_SECRET_ARN (AWS) or PSEUDONYM_SECRET (local) is required');
    configurePseudonymKey(key);
    configureSealKey(key); // the seal of leadlog's own event writes (proof of record), derived from the same secret
  })().catch((error: unknown) => {
    pseudonymKeyRead = undefined;
    throw error;
  });
  return pseudonymKeyRead;
}

/** A function entry that masks: the pseudonym key is configured (from the function's environment) before each call runs. */
export function withPseudonymKey<A extends unknown[], R>(fn: FunctionName, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      // Once read, the key's promise is reused as is: the environment is parsed only until the first read succeeds.
      await (pseudonymKeyRead ?? configurePseudonymsFrom(loadConfig(fn)));
    } catch (error) {
      // An HTTP call (API Gateway's v2 event) gets the 503 problem+json any dependency failure gets, never a bare
      // Lambda error; stream and job invocations fail, and their retries take them again.
      console.error(JSON.stringify({ level: 'ERROR', message: 'the pseudonym key could not be read', error: maskError(error) }));
      if (isHttpEvent(args[0])) return unavailable(error) as R;
      throw error;
    }
    return handler(...args);
  };
}

const isHttpEvent = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && 'requestContext' in event && 'rawPath' in event;

function unavailable(error: unknown) {
  const requestId = randomUUID();
  const { problem, headers } = toProblem(new ServiceUnavailableError('A dependency is briefly unavailable; retry.', { cause: error }), requestId);
  return { statusCode: problem.status, headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...headers }, body: JSON.stringify(problem) };
}

const perFunction = new Map<FunctionName, unknown>();

/** An export's worker in AWS (functions/exporter.ts): the job store and the Athena engine. */
export function defaultExportWorkerDependencies() {
  const config = loadConfig('exporter');
  return {
    store: new DynamoExportStore(createDocumentClient({ region: config.region }), config.controlTableName),
    engine: new AthenaExportEngine(createAthenaClient({ region: config.region }), createS3Client({ region: config.region }), {
      bucket: config.exportBucket!, database: config.archiveDatabase!, workGroup: config.athenaWorkGroup!,
    }),
    nowMs: () => Date.now(),
    announce: announceExportReady(new EventBridgeBus(createEventBridgeClient({ region: config.region }), config.eventBusName)),
  };
}

/** A replay's worker in AWS (functions/replayer.ts): the events, the job store, the bus and the org's masking. */
export function defaultReplayWorkerDependencies() {
  const config = loadConfig('replayer');
  const deps = createDependencies(config);
  return {
    events: deps.events, archive: deps.replays.archive, replays: deps.replays.store, maskOptions: deps.maskOptions, nowMs: () => Date.now(),
    bus: new EventBridgeBus(createEventBridgeClient({ region: config.region }), config.eventBusName),
  };
}

/** The clock of scheduled exports in AWS (functions/export-schedules.ts, invoked by EventBridge Scheduler). */
export function defaultScheduleClockDependencies() {
  const config = loadConfig('exportSchedules');
  const documents = createDocumentClient({ region: config.region });
  return {
    schedules: new DynamoExportScheduleStore(documents, config.controlTableName),
    exports: { store: new DynamoExportStore(documents, config.controlTableName), scheduler: new StepFunctionsExportScheduler(createStepFunctionsClient({ region: config.region }), config.exportStateMachineArn!) },
    settleMs: config.exportSettleSeconds * 1000,
  };
}

/** The pull's ports (shared/domain/leadconduit/pull.ts) over a container: the LeadConduit ingest as `pull`, its status marks, its position store. */
export function leadConduitPullPorts(deps: Dependencies): Omit<PullPorts, 'api'> {
  return {
    store: deps.leadconduitPulls,
    ingest: (orgId, objects, nowMs) => ingestLeadConduitEvents(deps, orgId, objects, 'pull', nowMs),
    recordRun: (orgId, run) => recordLeadConduitMarks(deps, orgId, 'pull', run),
    now: () => deps.clock.now(),
  };
}

/** The scheduled puller in AWS (functions/leadconduitPull.ts): each org's key read from Secrets Manager on each run (a rotated key applies at once). */
export function defaultLeadConduitPullDependencies(): ScheduledPullPorts {
  if (!perFunction.has('leadconduitPull')) {
    const config = loadConfig('leadconduitPull');
    const deps = createDependencies(config);
    const secrets = createSecretsManagerClient({ region: config.region });
    perFunction.set('leadconduitPull', {
      ...leadConduitPullPorts(deps),
      apiFor: async (orgId: string) => new LeadConduitApiClient({
        baseUrl: config.leadconduitUrl ?? LEADCONDUIT_DEFAULT_URL, apiKey: (await secretsManagerSecret(secrets, leadConduitKeySecretName(orgId))()).trim(),
      }),
    } satisfies ScheduledPullPorts);
  }
  return perFunction.get('leadconduitPull') as ScheduledPullPorts;
}

/** The process-wide dependencies of one function, from the environment on first use (its contract checked then). */
export function defaultDependencies(fn: Exclude<FunctionName, 'fanout' | 'erasure' | 'exporter' | 'exportSchedules' | 'replayer'>): Dependencies {
  if (!perFunction.has(fn)) perFunction.set(fn, createDependencies(loadConfig(fn)));
  return perFunction.get(fn) as Dependencies;
}

export function defaultFanoutDependencies(): FanoutPorts {
  if (!perFunction.has('fanout')) perFunction.set('fanout', createFanoutDependencies(loadConfig('fanout')));
  return perFunction.get('fanout') as FanoutPorts;
}

export function defaultErasureDependencies(): ErasurePorts {
  if (!perFunction.has('erasure')) perFunction.set('erasure', createErasureDependencies(loadConfig('erasure')));
  return perFunction.get('erasure') as ErasurePorts;
}

/**
 * The Event Streaming inbox's ports (shared/domain/leadconduit/inbox.ts) over a container and an inbox (the S3 bucket
 * in AWS, `.data/inbox/` locally): the LeadConduit ingest as `inbox`, its status marks, and the objects that never
 * reached the ingest (not JSON, too large, a bad key) counted as invalid.
 */
export function leadConduitInboxPorts(deps: Dependencies, objects: InboxObjects): InboxPorts {
  return {
    objects,
    ingest: (orgId, items, nowMs) => ingestLeadConduitEvents(deps, orgId, items, 'inbox', nowMs),
    recordInbox: async (orgId, mark, uncountedInvalid) => {
      await recordLeadConduitMarks(deps, orgId, 'inbox', mark);
      if (uncountedInvalid) await deps.leadconduitStatus.count(orgId, 'inbox', { invalid: 1 });
    },
  };
}

/** The inbox function in AWS (functions/leadconduitInbox.ts): the S3 inbox bucket its notifications name. */
export function defaultLeadConduitInboxDependencies(): InboxHandlerDependencies {
  if (!perFunction.has('leadconduitInbox')) {
    const config = loadConfig('leadconduitInbox');
    const bucket = config.leadconduitInboxBucket;
    const objects = new S3InboxObjects(createS3Client({ region: config.region }), bucket);
    perFunction.set('leadconduitInbox', { ports: leadConduitInboxPorts(createDependencies(config), objects), bucket } satisfies InboxHandlerDependencies);
  }
  return perFunction.get('leadconduitInbox') as InboxHandlerDependencies;
}

/** Proof of record's integrator (shared/domain/proof-log.ts): the log, the signer, the archive, each org's queue shards. */
export function createIntegratorPorts(deps: Dependencies): IntegratorPorts {
  return {
    store: deps.proofLog, signer: deps.checkpointSigner, archive: deps.checkpointArchive,
    shardsOf: async (orgId) => (await deps.shardPlans.of(orgId, deps.clock.now())).read,
  };
}
