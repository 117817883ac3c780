import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys, identityDigest } from '../domain/keys.js';
import { batchGetAll } from './dynamo-batch.js';
import type { IdentityStore, LeadProfile } from '../domain/ports.js';

/**
 * In the control table: one item per identity (controlKeys.identity: {lead_id}, keyed by a hash, so no
 * e-mail or phone number sits in a key) and one profile per lead (controlKeys.leadProfile: {identities, created_at}).
 */
export class DynamoIdentityStore implements IdentityStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async find(orgId: string, keys: string[]): Promise<Map<string, string>> {
    const owners = await this.owners(orgId, keys.map(identityDigest));
    return new Map(keys.flatMap((key) => {
      const owner = owners.get(identityDigest(key));
      return owner === undefined ? [] : [[key, owner] as const];
    }));
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
        UpdateExpression: `SET created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :lead${keys.length > 0 ? ' ADD identities :keys' : ''}`,
        ExpressionAttributeValues: { ':now': nowIso, ':org': orgId, ':lead': leadId, ...(keys.length > 0 ? { ':keys': new Set(keys) } : {}) },
      }),
    );
  }

  async profile(orgId: string, leadId: string): Promise<LeadProfile | undefined> {
    // Consistent: merges decide on it, and a merge must see the one before it.
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.leadProfile(orgId, leadId), ConsistentRead: true }));
    const item = result.Item;
    if (!item) return undefined;
    return {
      identities: [...((item.identities as Set<string> | undefined) ?? [])],
      mergedFrom: [...((item.merged_from as Set<string> | undefined) ?? [])],
      ...(item.created_at ? { firstSeenAt: item.created_at as string } : {}),
      ...(item.merged_into ? { mergedInto: item.merged_into as string } : {}),
    };
  }

  async merge(orgId: string, from: string, into: string, nowIso: string): Promise<boolean> {
    const live = 'attribute_not_exists(merged_into)';
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName, Key: controlKeys.leadProfile(orgId, from), ConditionExpression: live,
                UpdateExpression: 'SET merged_into = :into, merged_at = :now, org_id = :org, lead_id = :from',
                ExpressionAttributeValues: { ':into': into, ':now': nowIso, ':org': orgId, ':from': from },
              },
            },
            {
              Update: {
                TableName: this.tableName, Key: controlKeys.leadProfile(orgId, into), ConditionExpression: live,
                UpdateExpression: 'SET created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :into ADD merged_from :from',
                ExpressionAttributeValues: { ':now': nowIso, ':org': orgId, ':into': into, ':from': new Set([from]) },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  async owners(orgId: string, identityDigests: string[]): Promise<Map<string, string>> {
    const byPk = new Map(identityDigests.map((digest) => [controlKeys.identityByDigest(orgId, digest).pk, digest]));
    const items = await batchGetAll(this.client, this.tableName, identityDigests.map((digest) => controlKeys.identityByDigest(orgId, digest)), { consistent: true });
    return new Map(items.map((item) => [byPk.get(item.pk as string)!, item.lead_id as string]));
  }

  async release(orgId: string, identityDigest: string, owner: string): Promise<void> {
    try {
      // Only while that lead still holds it: an identity claimed anew meanwhile (a new person) stays.
      await this.client.send(new DeleteCommand({
        TableName: this.tableName, Key: controlKeys.identityByDigest(orgId, identityDigest),
        ConditionExpression: 'lead_id = :lead', ExpressionAttributeValues: { ':lead': owner },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async removeProfile(orgId: string, leadId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: controlKeys.leadProfile(orgId, leadId) }));
  }
}
