import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { IdentityStore } from '../domain/ports.js';

/**
 * In the control table: one item per identity (controlKeys.identity: {lead_id}, keyed by a hash, so no
 * e-mail or phone number sits in a key) and one profile per lead (controlKeys.leadProfile: {identities, created_at}).
 */
export class DynamoIdentityStore implements IdentityStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async find(orgId: string, keys: string[]): Promise<Map<string, string>> {
    const byPk = new Map(keys.map((key) => [controlKeys.identity(orgId, key).pk, key]));
    const found = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined = {
        [this.tableName]: { Keys: keys.slice(i, i + 100).map((key) => controlKeys.identity(orgId, key)), ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const result = await this.client.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const key = byPk.get(item.pk as string);
          if (key) found.set(key, item.lead_id as string);
        }
        request = result.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  async claim(orgId: string, key: string, leadId: string, nowIso: string): Promise<string> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...controlKeys.identity(orgId, key), org_id: orgId, lead_id: leadId, kind: key.slice(0, key.indexOf(':')), created_at: nowIso },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return leadId;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return unmarshall(error.Item).lead_id as string;
      throw error;
    }
  }

  async addToProfile(orgId: string, leadId: string, keys: string[], nowIso: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: controlKeys.leadProfile(orgId, leadId),
        UpdateExpression: 'SET created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :lead ADD identities :keys',
        ExpressionAttributeValues: { ':now': nowIso, ':org': orgId, ':lead': leadId, ':keys': new Set(keys) },
      }),
    );
  }

  async profile(orgId: string, leadId: string): Promise<{ identities: string[]; createdAt: string } | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.leadProfile(orgId, leadId) }));
    if (!result.Item) return undefined;
    return { identities: [...((result.Item.identities as Set<string> | undefined) ?? [])], createdAt: result.Item.created_at as string };
  }
}
