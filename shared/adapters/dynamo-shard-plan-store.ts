import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SHARD_PLAN_CACHE_MS } from '../definitions/scale.js';
import { controlKeys } from '../domain/keys.js';
import type { ShardPlanStore } from '../domain/ports.js';
import { planAt, raisedPlan, type ShardPlan, type ShardPlanRecord } from '../domain/shards.js';

/**
 * Index shard plans in the control table (`ORG#<org>` / `SHARDS`), cached per instance for at most
 * SHARD_PLAN_CACHE_MS: the invariant of shared/domain/shards.ts (writers use a raised count only after every
 * reader's cache has seen it) depends on that bound. One GetItem per org per minute per instance.
 */
export class DynamoShardPlanStore implements ShardPlanStore {
  private readonly cache = new Map<string, { record: ShardPlanRecord | undefined; fetchedAt: number }>();

  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string, private readonly clock: () => number = Date.now) {}

  async of(orgId: string, nowMs: number): Promise<ShardPlan> {
    return planAt(await this.record(orgId), nowMs);
  }

  async raise(orgId: string, shards: number, nowMs: number): Promise<ShardPlan> {
    for (;;) {
      const current = await this.read(orgId);
      const next = raisedPlan(current, shards, nowMs);
      if (!next) {
        // Already as large (raised elsewhere): the cache takes the plan just read, never older than what it answers.
        this.cache.set(orgId, { record: current, fetchedAt: this.clock() });
        return planAt(current, nowMs);
      }
      try {
        // Conditioned on the plan read: two raises at once never lose the larger one or lower `previous`.
        await this.client.send(new PutCommand({
          TableName: this.tableName,
          Item: { ...controlKeys.shardPlan(orgId), ...next },
          ...(current
            ? { ConditionExpression: 'shards = :seen', ExpressionAttributeValues: { ':seen': current.shards } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }));
        this.cache.set(orgId, { record: next, fetchedAt: this.clock() });
        return planAt(next, nowMs);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  private async record(orgId: string): Promise<ShardPlanRecord | undefined> {
    const cached = this.cache.get(orgId);
    // The cache's age is measured on the instance's own clock, never on a simulated one.
    if (cached && this.clock() - cached.fetchedAt < SHARD_PLAN_CACHE_MS) return cached.record;
    const record = await this.read(orgId);
    this.cache.set(orgId, { record, fetchedAt: this.clock() });
    return record;
  }

  private async read(orgId: string): Promise<ShardPlanRecord | undefined> {
    const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.shardPlan(orgId), ConsistentRead: true }))).Item;
    return item ? { shards: Number(item.shards), previous: Number(item.previous), writers_from_ms: Number(item.writers_from_ms) } : undefined;
  }
}
