import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ControlPrefix } from '../domain/keys.js';

/**
 * Every item of one partition of a pk/sk table (the control table, the log table; optionally under a sort-key
 * prefix), all pages, or the first `limit` of them. The key layout itself is shared/domain/keys.ts.
 */
export async function queryPartition(
  client: DynamoDBDocumentClient, tableName: string, key: string | ControlPrefix, projection?: string[], options: { consistent?: boolean; limit?: number } = {},
): Promise<Record<string, unknown>[]> {
  const limit = options.limit ?? Infinity;
  const prefixed = typeof key !== 'string';
  const names = projection ? Object.fromEntries(projection.map((attribute, i) => [`#p${i}`, attribute])) : undefined;
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: prefixed ? 'pk = :pk AND begins_with(sk, :sk)' : 'pk = :pk',
        ExpressionAttributeValues: prefixed ? { ':pk': key.pk, ':sk': key.skPrefix } : { ':pk': key },
        ...(names ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names } : {}),
        ExclusiveStartKey: start,
        ...(options.consistent ? { ConsistentRead: true } : {}),
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length < limit);
  return items;
}
