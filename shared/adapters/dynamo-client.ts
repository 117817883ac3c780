import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';

export interface DynamoClientOptions {
  /** DynamoDB Local's URL; undefined in AWS. */
  endpoint?: string;
  region?: string;
  maxSockets?: number;
}

/** One client per process (module scope in Lambda), keep-alive sockets, numbers and empty values handled. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const maxSockets = options.maxSockets ?? 64;
  const client = new DynamoDBClient({
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
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
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
