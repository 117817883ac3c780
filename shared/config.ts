/**
 * The one typed configuration module. Read once per process; a missing or malformed setting fails at
 * start-up (cold start) with a message naming it, never halfway through a request.
 */
export interface Config {
  eventsTableName: string;
  controlTableName: string;
  /** AWS: bucket for raw payloads over the inline limit. Local: unset, blobDir is used. */
  rawPayloadBucket?: string;
  blobDir?: string;
  /** DynamoDB Local's URL when running locally. */
  dynamoEndpoint?: string;
  region: string;
  /** How long a function keeps an org's webhook secrets in memory (AWS 60 s; locally 0 so rotations apply at once). */
  webhookSecretCacheSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };
  const config: Config = {
    eventsTableName: required('EVENTS_TABLE_NAME'),
    controlTableName: required('CONTROL_TABLE_NAME'),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    webhookSecretCacheSeconds: 60,
  };
  if (env.WEBHOOK_SECRET_CACHE_SECONDS !== undefined) {
    const seconds = Number(env.WEBHOOK_SECRET_CACHE_SECONDS);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) problems.push('WEBHOOK_SECRET_CACHE_SECONDS must be 0..3600');
    else config.webhookSecretCacheSeconds = seconds;
  }
  if (env.RAW_PAYLOAD_BUCKET) config.rawPayloadBucket = env.RAW_PAYLOAD_BUCKET;
  if (env.BLOB_DIR) config.blobDir = env.BLOB_DIR;
  if (!config.rawPayloadBucket && !config.blobDir) problems.push('RAW_PAYLOAD_BUCKET (AWS) or BLOB_DIR (local) is required');
  if (env.DYNAMODB_ENDPOINT) {
    if (!/^https?:\/\/[^\s]+$/.test(env.DYNAMODB_ENDPOINT)) problems.push('DYNAMODB_ENDPOINT must be an http(s) URL');
    config.dynamoEndpoint = env.DYNAMODB_ENDPOINT;
  }
  if (problems.length > 0) throw new ConfigError(`leadlog configuration: ${problems.join('; ')}`);
  return config;
}
