import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../definitions/routes.js';
import type { ApiKeyRecord, ApiKeyStore } from '../domain/ports.js';
import { translateAwsError } from './aws-errors.js';

/**
 * Two items per key in the control table, written together:
 *   APIKEY#<sha256 of key> / APIKEY    → lookup by presented key (the authorizer's one GetItem)
 *   ORG#<org>             / APIKEY#<id> → listing and revoking by key id
 */
const byHash = (hash: string) => ({ pk: `APIKEY#${hash}`, sk: 'APIKEY' });
const byOrg = (orgId: string, keyId: string) => ({ pk: `ORG#${orgId}`, sk: `APIKEY#${keyId}` });

interface KeyItem {
  org_id: string;
  key_id: string;
  key_hash: string;
  scopes: Scope[];
  created_at: string;
  revoked_at?: string;
  label?: string;
}

function toRecord(item: KeyItem): ApiKeyRecord & { keyHash: string } {
  return {
    keyId: item.key_id, orgId: item.org_id, scopes: item.scopes, createdAt: item.created_at, keyHash: item.key_hash,
    ...(item.revoked_at ? { revokedAt: item.revoked_at } : {}),
    ...(item.label ? { label: item.label } : {}),
  };
}

export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(record: ApiKeyRecord, keyHash: string): Promise<void> {
    const item: KeyItem = {
      org_id: record.orgId, key_id: record.keyId, key_hash: keyHash, scopes: record.scopes, created_at: record.createdAt,
      ...(record.label ? { label: record.label } : {}),
    };
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.tableName, Item: { ...byHash(keyHash), ...item }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: this.tableName, Item: { ...byOrg(record.orgId, record.keyId), ...item }, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
  }

  async findByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined> {
    try {
      const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: byHash(keyHash), ConsistentRead: true }));
      return result.Item ? toRecord(result.Item as KeyItem) : undefined;
    } catch (error) {
      return translateAwsError(error, 'check the API key');
    }
  }

  async list(orgId: string): Promise<ApiKeyRecord[]> {
    const items: KeyItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': `ORG#${orgId}`, ':sk': 'APIKEY#' },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((result.Items ?? []) as KeyItem[]));
      start = result.LastEvaluatedKey;
    } while (start);
    return items.map((item) => {
      const { keyHash: _hash, ...record } = toRecord(item);
      return record;
    });
  }

  async revoke(orgId: string, keyId: string, atIso: string): Promise<boolean> {
    const found = await this.client.send(new GetCommand({ TableName: this.tableName, Key: byOrg(orgId, keyId), ConsistentRead: true }));
    const item = found.Item as KeyItem | undefined;
    if (!item) return false;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [byHash(item.key_hash), byOrg(orgId, keyId)].map((Key) => ({
            Update: {
              TableName: this.tableName, Key,
              UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :at)',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':at': atIso },
            },
          })),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
