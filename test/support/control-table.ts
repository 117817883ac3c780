import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';

/** Every control-table item of an org, as stored (a full scan: for tests that check what a store holds). */
export async function controlItemsOf(orgId: string): Promise<Record<string, unknown>[]> {
  const client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: inject('tableNames').control!, ExclusiveStartKey: start, FilterExpression: 'org_id = :org', ExpressionAttributeValues: { ':org': orgId } }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
