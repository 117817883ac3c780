import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../config.js';
import type { ApiKeyStore, BlobStore, Clock, EventStore } from '../domain/ports.js';
import { systemClock } from '../domain/ports.js';
import { FileBlobStore, S3BlobStore } from './blob-stores.js';
import { DynamoApiKeyStore } from './dynamo-api-key-store.js';
import { createDocumentClient } from './dynamo-client.js';
import { DynamoEventStore } from './dynamo-event-store.js';
import { DynamoIdentityStore } from './dynamo-identity-store.js';
import { DynamoWebhookSecretStore } from './dynamo-webhook-secret-store.js';
import type { IdentityStore } from '../domain/identity.js';
import type { WebhookSecretStore } from '../domain/webhooks/secrets.js';

/** What handlers need, behind ports. Lambda modules build it once at module scope (reused across invocations). */
export interface Dependencies {
  config: Config;
  events: EventStore;
  apiKeys: ApiKeyStore;
  identities: IdentityStore;
  webhookSecrets: WebhookSecretStore;
  blobs: BlobStore;
  clock: Clock;
}

export function createDependencies(config: Config = loadConfig()): Dependencies {
  const documents = createDocumentClient({ endpoint: config.dynamoEndpoint, region: config.region });
  const blobs: BlobStore = config.rawPayloadBucket
    ? new S3BlobStore(new S3Client({ region: config.region }), config.rawPayloadBucket)
    : new FileBlobStore(config.blobDir!);
  return {
    config,
    events: new DynamoEventStore(documents, config.eventsTableName, blobs),
    apiKeys: new DynamoApiKeyStore(documents, config.controlTableName),
    identities: new DynamoIdentityStore(documents, config.controlTableName),
    webhookSecrets: new DynamoWebhookSecretStore(documents, config.controlTableName),
    blobs,
    clock: systemClock,
  };
}

let shared: Dependencies | undefined;

/** The process-wide dependencies, created on first use from the environment. */
export function defaultDependencies(): Dependencies {
  shared ??= createDependencies();
  return shared;
}
