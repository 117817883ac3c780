import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../definitions/routes.js';
import { controlKeys } from '../domain/keys.js';
import type { ApiKeyRecord, ApiKeyStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * Two items per key in the control table, written together (controlKeys.apiKeyByHash for the authorizer's
 * one GetItem by presented key, controlKeys.apiKeyOfOrg for listing and revoking by key id).
 */
const byHash = controlKeys.apiKeyByHash;
const byOrg = controlKeys.apiKeyOfOrg;

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
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: byHash(keyHash), ConsistentRead: true }));
    return result.Item ? toRecord(result.Item as KeyItem) : undefined;
  }

  async list(orgId: string): Promise<ApiKeyRecord[]> {
    const items = (await queryPartition(this.client, this.tableName, controlKeys.apiKeysOfOrg(orgId))) as unknown as KeyItem[];
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
