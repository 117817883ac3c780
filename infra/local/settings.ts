import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_REGION, libraryVariables, type EnvName } from '../../shared/definitions/environment.js';
import type { Provider } from '../../shared/domain/webhooks/signatures.js';

/**
 * The local runtime's side of the environment, in one file: its own settings (npm start, the CLIs), read
 * here and nowhere else under infra/local/, and the functions' environment contract
 * (shared/definitions/environment.ts), filled here for the local stand-ins.
 */
const env = process.env;

/** Dev webhook secrets to use instead of generated ones, per provider. */
const WEBHOOK_SECRET_VARIABLES: Record<Provider, string> = {
  stripe: 'STRIPE_WEBHOOK_SECRET', shopify: 'SHOPIFY_WEBHOOK_SECRET', typeform: 'TYPEFORM_WEBHOOK_SECRET', hotmart: 'HOTMART_HOTTOK',
};

export const localSettings = {
  /** Where the local runtime keeps its state; everything under it survives a restart. */
  dataDir: resolve(env.LEADLOG_DATA_DIR ?? '.data'),
  port: Number(env.PORT ?? 3000),
  host: env.HOST ?? '127.0.0.1',
  /** DynamoDB Local's port; undefined picks a free one. */
  dynamoPort: env.DYNAMODB_PORT ? Number(env.DYNAMODB_PORT) : undefined,
  /** Each rule match is also POSTed here. */
  alertsUrl: env.LEADLOG_ALERTS_URL || undefined,
  /** No request log lines. */
  quiet: env.LEADLOG_QUIET === '1',
  devOrgId: env.DEV_ORG_ID?.trim() || undefined,
  /** Subscribers' own bus rules (contract section 5): leadlog.rules.json at the project root unless this names another file. */
  rulesFile: resolve(env.LEADLOG_RULES_FILE ?? 'leadlog.rules.json'),
  region: env.AWS_REGION ?? DEFAULT_REGION,
  logLevel: env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  webhookSecrets: Object.fromEntries(
    Object.entries(WEBHOOK_SECRET_VARIABLES).map(([provider, name]) => [provider, env[name]?.trim() || undefined]),
  ) as Record<Provider, string | undefined>,
  /** `npm run keys -- … --aws`: the deployed control table, unless --table names it. */
  awsControlTable: env.CONTROL_TABLE_NAME || undefined,
};

/** Contract variables whose AWS resource has a local stand-in instead: the blob folder, the local bus, the Parquet archive. */
type ReplacedLocally =
  | 'RAW_PAYLOAD_BUCKET' | 'EVENT_BUS_NAME' | 'ARCHIVE_STREAM_NAMES'
  | 'ERASURE_STATE_MACHINE_ARN' | 'ARCHIVE_BUCKET' | 'ARCHIVE_DATABASE' | 'ATHENA_WORKGROUP' | 'EXPORT_BUCKET' | 'EXPORT_STATE_MACHINE_ARN' | 'REPLAY_STATE_MACHINE_ARN' | 'CURSOR_SECRET_ARN' | 'PSEUDONYM_SECRET_ARN'
  | 'LEADCONDUIT_INBOX_BUCKET' | 'CHECKPOINT_KEY_ARN' | 'CHECKPOINT_BUCKET_NAME';

/**
 * The environment the functions read, pointed at the local stand-ins: every contract variable but those a
 * stand-in replaces (the compiler checks none is forgotten), plus what the SDK and Powertools read.
 */
/** A random secret kept in the data folder (made on first use): stable across restarts, never in the repository. */
function localSecret(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

export function localEnvironment(dynamoEndpoint: string, tableNames: Record<string, string>, dataDir = localSettings.dataDir): Record<string, string> {
  const contract: Record<Exclude<EnvName, ReplacedLocally>, string> = {
    EVENTS_TABLE_NAME: tableNames.events!,
    CONTROL_TABLE_NAME: tableNames.control!,
    LOG_TABLE_NAME: tableNames.log!,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    BLOB_DIR: resolve(dataDir, 's3'),
    CONSOLE_DIR: resolve(dataDir, 'console'),
    EXPORT_DIR: resolve(dataDir, 'files'),
    EXPORT_URL_SECRET: localSecret(dataDir, 'export-url-secret'),
    // What Secrets Manager holds in AWS: made once, so cursors stay valid across restarts.
    CURSOR_SECRET: localSecret(dataDir, 'cursor-secret'),
    // The key of masked ids (maskId), what Secrets Manager holds in AWS: made once and never changed, so the
    // archive's pseudonyms stay findable by erasure and exports across restarts.
    PSEUDONYM_SECRET: localSecret(dataDir, 'pseudonym-secret'),
    // Proof of record (contract section 14): the checkpoint key under the data folder (made 0600 on first use by
    // infra/local/local-checkpoint-signer.ts), the archive's files under <data folder>/checkpoints/, a checkpoint every 10 s.
    PROOF_KEY_FILE: resolve(dataDir, 'proof-signing-key.pem'),
    CHECKPOINT_ARCHIVE_DIR: resolve(dataDir),
    CHECKPOINT_INTERVAL_SECONDS: '10',
    // The stream poller reads every second and the archive's buffer is read with each export: 2 s covers both.
    EXPORT_SETTLE_SECONDS: '2',
    AWS_REGION: localSettings.region,
    // Rotations apply at once locally (deployed functions keep secrets for 60 s).
    WEBHOOK_SECRET_CACHE_SECONDS: '0',
    SETTINGS_CACHE_SECONDS: '0',
    // One process locally: an erasure's settle phase only waits out the identity cache and the stream poller.
    IDENTITY_CACHE_SECONDS: '2',
    ERASURE_SETTLE_SECONDS: '3',
    // The pull reads the real LeadConduit unless LEADCONDUIT_URL names another (a stand-in).
    LEADCONDUIT_URL: env.LEADCONDUIT_URL || 'https://app.leadconduit.com',
  };
  return {
    ...contract,
    // The SDK's default chain would otherwise look for credentials: DynamoDB Local accepts any.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_SERVICE_NAME: libraryVariables.POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: localSettings.logLevel,
    // No POWERTOOLS_DEV: its pretty-printed logs span many lines; every log entry is one JSON line, as in Lambda.
  };
}

/** Sets the functions' environment in this process, as Lambda would before loading a handler. */
export function fillProcessEnvironment(values: Record<string, string>): void {
  Object.assign(env, values);
}
