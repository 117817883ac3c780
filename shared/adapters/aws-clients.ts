import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware, MiddlewareStack } from '@smithy/types';
import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DEFAULT_REGION } from '../definitions/environment.js';
import { ServiceUnavailableError } from '../domain/errors.js';

/**
 * Every AWS SDK client leadlog uses is made here, and each carries one middleware that translates the
 * SDK's errors into the domain's: a dependency's transient failure (throttling, timeout, internal error,
 * connection loss), after the SDK's own retries, becomes a ServiceUnavailableError (503 + Retry-After).
 * Anything else (ConditionalCheckFailedException, validation errors) passes through unchanged: adapters
 * read those as answers.
 */
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded',
  'InternalServerError', 'ServiceUnavailable', 'TransactionConflictException', 'LimitExceededException',
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE',
]);
const READS = /^(Get|BatchGet|Query|Scan|Describe|List)/;

/** The one translation: a retryable SDK failure becomes a 503 the client may retry; the rest is rethrown as is. */
export function translateAwsError(error: unknown, commandName = ''): unknown {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (!(RETRYABLE.has(e?.name ?? '') || RETRYABLE.has(e?.code ?? '') || e?.$retryable || (status !== undefined && status >= 500))) return error;
  const read = READS.test(commandName);
  // The write either happened or not: the client's retry with the same idempotency key resolves which.
  return new ServiceUnavailableError(
    read ? 'Temporarily unable to read the data; retry shortly.' : 'Temporarily unable to store the data; retry with the same idempotency key.',
    { cause: error, retryAfterSeconds: 1 },
  );
}

const translateErrors: InitializeMiddleware<object, object> = (next, context) => async (args) => {
  try {
    return await next(args);
  } catch (error) {
    throw translateAwsError(error, context.commandName);
  }
};

/** Outermost (initialize, high priority): it sees the error the caller would see, after every retry. */
export function withErrorTranslation<C extends { middlewareStack: MiddlewareStack<any, any> }>(client: C): C {
  client.middlewareStack.add(translateErrors, { step: 'initialize', priority: 'high', name: 'leadlogTranslateErrors' });
  return client;
}

export interface AwsClientOptions {
  /** A local stand-in's URL (DynamoDB Local); undefined in AWS. */
  endpoint?: string | undefined;
  /** Undefined: the SDK's own resolution (AWS_REGION in Lambda); a local endpoint defaults to DEFAULT_REGION. */
  region?: string | undefined;
  maxSockets?: number;
}

/** The options every client here is built with (region, endpoint, retries, timeouts). */
export function base(options: AwsClientOptions) {
  const region = options.region ?? (options.endpoint ? DEFAULT_REGION : undefined);
  return {
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(region ? { region } : {}),
  };
}

/** One client per process (module scope in Lambda), keep-alive sockets, numbers and empty values handled. */
export function createDocumentClient(options: AwsClientOptions = {}): DynamoDBDocumentClient {
  const maxSockets = options.maxSockets ?? 64;
  const client = new DynamoDBClient({
    ...base(options),
    maxAttempts: 3,
    // Options for the SDK's own NodeHttpHandler: keep-alive sockets, and bounded waits so a stuck
    // connection becomes a retryable timeout (then a 503) rather than a hung Lambda.
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new Agent({ keepAlive: true, maxSockets }),
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
    },
  });
  withErrorTranslation(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } });
}

export const createS3Client = (options: AwsClientOptions = {}) => withErrorTranslation(new S3Client(base(options)));
export const createEventBridgeClient = (options: AwsClientOptions = {}) => withErrorTranslation(new EventBridgeClient(base(options)));
export const createFirehoseClient = (options: AwsClientOptions = {}) => withErrorTranslation(new FirehoseClient(base(options)));
export const createAthenaClient = (options: AwsClientOptions = {}) => withErrorTranslation(new AthenaClient(base(options)));
export const createStepFunctionsClient = (options: AwsClientOptions = {}) => withErrorTranslation(new SFNClient(base(options)));
export const createSecretsManagerClient = (options: AwsClientOptions = {}) => withErrorTranslation(new SecretsManagerClient(base(options)));
/** KMS: the checkpoint signer (Sign, GetPublicKey on the ECC_NIST_P256 checkpoint key). */
export const createKmsClient = (options: AwsClientOptions = {}) => withErrorTranslation(new KMSClient(base(options)));
/** IAM (`npm run keys -- leadconduit --aws`: the per-org writer); a global service, the region only picks the endpoint. */

