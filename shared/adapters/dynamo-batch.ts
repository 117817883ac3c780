import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * DynamoDB's batch calls, whole: keys or requests in chunks of the API's limits (100 gets, 25 writes), and what
 * DynamoDB leaves unprocessed (throttling) retried with backoff until done.
 */
const backoff = (attempt: number) => (attempt > 0 ? new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt))) : undefined);

/** Every item found for `keys` (missing ones are simply absent), read consistently when asked. */
export async function batchGetAll(
  client: DynamoDBDocumentClient, tableName: string, keys: Record<string, unknown>[],
  options: { consistent?: boolean; attributes?: string[] } = {},
): Promise<Record<string, unknown>[]> {
  const names = options.attributes ? Object.fromEntries(options.attributes.map((name, i) => [`#a${i}`, name])) : undefined;
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      await backoff(attempt);
      const result = await client.send(new BatchGetCommand({
        RequestItems: {
          [tableName]: {
            Keys: pending, ...(options.consistent ? { ConsistentRead: true } : {}),
            ...(names ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names } : {}),
          },
        },
      }));
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = result.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined;
    }
  }
  return found;
}

/** Puts and deletes (unconditional, idempotent) for one table, 25 a call. */
export async function batchWriteAll(
  client: DynamoDBDocumentClient, tableName: string,
  requests: ({ PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } })[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: Record<string, unknown>[] | undefined = requests.slice(i, i + 25);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      await backoff(attempt);
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = result.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
    }
  }
}
