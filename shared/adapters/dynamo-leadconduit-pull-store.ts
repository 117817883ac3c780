import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { LeadConduitPullRecord, LeadConduitPullStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * Each org's LeadConduit pull in one small control-table item (controlKeys.leadconduitPull): `after_id` (only moves
 * forward), the lease (`lease_owner`, `lease_until` epoch ms) and `scheduled`. Every change is one conditional
 * UpdateItem, never a read first. Every org's item is in one partition, so the scheduled puller lists them with one
 * query; each run writes its org's item a few times (lease, a page, release): 10,000 orgs every 5 minutes is about
 * 100 writes a second on that partition, a fifth of DynamoDB's per-key limit.
 */
export class DynamoLeadConduitPullStore implements LeadConduitPullStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  private async conditional(update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>, orgId: string): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: controlKeys.leadconduitPull(orgId), ...update }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(orgId: string): Promise<LeadConduitPullRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.leadconduitPull(orgId), ConsistentRead: true }));
    return Item ? recordOf(orgId, Item) : undefined;
  }

  lease(orgId: string, owner: string, untilMs: number, nowMs: number): Promise<boolean> {
    return this.conditional({
      UpdateExpression: 'SET lease_owner = :owner, lease_until = :until',
      ConditionExpression: 'attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner',
      ExpressionAttributeValues: { ':owner': owner, ':until': untilMs, ':now': nowMs },
    }, orgId);
  }

  advance(orgId: string, owner: string, afterId: string, untilMs: number): Promise<boolean> {
    // Never backwards. Only the lease's holder moves it, and the holder asks only past what it read when it leased.
    return this.conditional({
      UpdateExpression: 'SET after_id = :id, lease_until = :until',
      ConditionExpression: 'lease_owner = :owner AND (attribute_not_exists(after_id) OR after_id < :id)',
      ExpressionAttributeValues: { ':owner': owner, ':until': untilMs, ':id': afterId },
    }, orgId);
  }

  async release(orgId: string, owner: string, lastRunAt: string): Promise<void> {
    await this.conditional({
      UpdateExpression: 'SET last_run_at = :at REMOVE lease_owner, lease_until',
      ConditionExpression: 'lease_owner = :owner',
      ExpressionAttributeValues: { ':owner': owner, ':at': lastRunAt },
    }, orgId);
  }

  async schedule(orgId: string, nowIso: string): Promise<void> {
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: controlKeys.leadconduitPull(orgId),
      UpdateExpression: 'SET scheduled = :yes, scheduled_at = :at', ExpressionAttributeValues: { ':yes': true, ':at': nowIso },
    }));
  }

  async scheduled(): Promise<LeadConduitPullRecord[]> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.leadconduitPulls().pk, ['sk', 'after_id', 'scheduled', 'last_run_at']);
    return items.filter((item) => item.scheduled === true).map((item) => recordOf(item.sk as string, item));
  }
}

function recordOf(orgId: string, item: Record<string, unknown>): LeadConduitPullRecord {
  return {
    orgId,
    ...(typeof item.after_id === 'string' ? { afterId: item.after_id } : {}),
    ...(item.scheduled === true ? { scheduled: true } : {}),
    ...(typeof item.last_run_at === 'string' ? { lastRunAt: item.last_run_at } : {}),
  };
}
