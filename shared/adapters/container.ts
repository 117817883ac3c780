import { loadConfig, type Config } from '../config.js';
import type { FunctionName } from '../definitions/environment.js';
import type { FanoutPorts } from '../domain/fanout.js';
import {
  systemClock, type AlertStore, type ApiKeyStore, type Archive, type BlobStore, type Clock, type EventBus, type EventStore,
  type AuditLog, type IdentityStore, type SettingsStore, type WebhookSecretStore,
} from '../domain/ports.js';
import { createDocumentClient, createEventBridgeClient, createFirehoseClient, createS3Client } from './aws-clients.js';
import { FileBlobStore, S3BlobStore } from './blob-stores.js';
import { DynamoAlertStore } from './dynamo-alert-store.js';
import { DynamoApiKeyStore } from './dynamo-api-key-store.js';
import { DynamoEventStore } from './dynamo-event-store.js';
import { DynamoIdentityStore } from './dynamo-identity-store.js';
import { DynamoAuditLog } from './dynamo-audit-log.js';
import { DynamoSettingsStore } from './dynamo-settings-store.js';
import { DynamoWebhookSecretStore } from './dynamo-webhook-secret-store.js';
import type { MaskOptions } from '../domain/masking.js';
import { cachedMaskOptions } from '../domain/privacy.js';
import { EventBridgeBus } from './eventbridge-bus.js';
import { FirehoseArchive } from './firehose-archive.js';

/**
 * The container: what handlers need, behind ports, built from the typed configuration. Each adapter is made
 * on first use, so a function builds (and needs configuration for) only what it touches: the authorizer
 * never needs the events table, health needs nothing.
 */
export interface Dependencies {
  config: Config;
  events: EventStore;
  apiKeys: ApiKeyStore;
  identities: IdentityStore;
  webhookSecrets: WebhookSecretStore;
  settings: SettingsStore;
  audit: AuditLog;
  /** An org's masking options (its own PII key names), cached for SETTINGS_CACHE_SECONDS. */
  maskOptions: (orgId: string) => Promise<MaskOptions>;
  blobs: BlobStore;
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

function clientsFor(config: Config) {
  let documents: ReturnType<typeof createDocumentClient> | undefined;
  return {
    documents: () => (documents ??= createDocumentClient({ endpoint: config.dynamoEndpoint, region: config.region })),
    blobs: (): BlobStore => (config.rawPayloadBucket
      ? new S3BlobStore(createS3Client({ region: config.region }), config.rawPayloadBucket)
      : new FileBlobStore(config.blobDir!)),
  };
}

export function createDependencies(config: Config = loadConfig()): Dependencies {
  const clients = clientsFor(config);
  const deps: Dependencies = memoized<Dependencies>({
    config: () => config,
    blobs: clients.blobs,
    events: () => new DynamoEventStore(clients.documents(), config.eventsTableName, deps.blobs),
    apiKeys: () => new DynamoApiKeyStore(clients.documents(), config.controlTableName),
    identities: () => new DynamoIdentityStore(clients.documents(), config.controlTableName),
    webhookSecrets: () => new DynamoWebhookSecretStore(clients.documents(), config.controlTableName),
    settings: () => new DynamoSettingsStore(clients.documents(), config.controlTableName),
    audit: () => new DynamoAuditLog(clients.documents(), config.controlTableName),
    maskOptions: () => cachedMaskOptions(deps.settings, config.settingsCacheSeconds * 1000),
    clock: () => systemClock,
  });
  return deps;
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
    archive: () => standIns.archive ?? new FirehoseArchive(createFirehoseClient({ region: config.region }), config.archiveStreamName),
    alerts: (): AlertStore => new DynamoAlertStore(clients.documents(), config.controlTableName),
    maskOptions: () => cachedMaskOptions(new DynamoSettingsStore(clients.documents(), config.controlTableName), config.settingsCacheSeconds * 1000),
    clock: () => systemClock,
  });
}

const perFunction = new Map<FunctionName, unknown>();

/** The process-wide dependencies of one function, from the environment on first use (its contract checked then). */
export function defaultDependencies(fn: Exclude<FunctionName, 'fanout'>): Dependencies {
  if (!perFunction.has(fn)) perFunction.set(fn, createDependencies(loadConfig(fn)));
  return perFunction.get(fn) as Dependencies;
}

export function defaultFanoutDependencies(): FanoutPorts {
  if (!perFunction.has('fanout')) perFunction.set('fanout', createFanoutDependencies(loadConfig('fanout')));
  return perFunction.get('fanout') as FanoutPorts;
}
