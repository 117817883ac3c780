import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ControlPrefix } from '../domain/keys.js';

/**
 * Every item of one control-table partition (optionally under a sort-key prefix), all pages. The key layout
 * itself is shared/domain/keys.ts (`controlKeys`).
 */
export async function queryPartition(
  client: DynamoDBDocumentClient, tableName: string, key: string | ControlPrefix, projection?: string[], options: { consistent?: boolean } = {},
): Promise<Record<string, unknown>[]> {
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
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
