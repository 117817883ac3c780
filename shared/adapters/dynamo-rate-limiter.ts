import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { controlKeys, type ControlKey } from '../domain/keys.js';
import type { BucketChange, RateLimitSettings, RateLimitStore } from '../domain/ports.js';

/** An idle org's bucket item is deleted by the table's TTL this long after it was last full (a missing one reads as full). */
const BUCKET_TTL_SECONDS = 86_400;

/**
 * The per-org token buckets in the control table (controlKeys.rateLimitBucket: its own partition per org; the events
 * bucket controlKeys.rateLimitEventsBucket beside it) and the
 * orgs' overrides (controlKeys.rateLimitSettings). Each bucket change is one conditional UpdateItem that returns the
 * item as it was when its condition fails (ReturnValuesOnConditionCheckFailure), so no change ever reads first.
 */
export class DynamoRateLimitStore implements RateLimitStore {
  /** `bucket`: which of the org's buckets (its requests by default; controlKeys.rateLimitEventsBucket for its events). */
  constructor(
    private readonly client: DynamoDBDocumentClient, private readonly tableName: string,
    private readonly bucket: (orgId: string) => ControlKey = controlKeys.rateLimitBucket,
  ) {}

  advance(orgId: string, change: { nowMs: number; addMs: number; atMostMs: number }): Promise<BucketChange> {
    return this.update(orgId, {
      UpdateExpression: 'SET tat = tat + :add, expires_at = :expires',
      ConditionExpression: 'tat BETWEEN :now AND :most',
      ExpressionAttributeValues: { ':add': change.addMs, ':now': change.nowMs, ':most': change.atMostMs, ':expires': expiresAt(change.atMostMs + change.addMs) },
    });
  }

  restart(orgId: string, change: { nowMs: number; addMs: number }): Promise<BucketChange> {
    return this.update(orgId, {
      UpdateExpression: 'SET tat = :tat, org_id = :org, expires_at = :expires',
      ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
      ExpressionAttributeValues: { ':tat': change.nowMs + change.addMs, ':now': change.nowMs, ':org': orgId, ':expires': expiresAt(change.nowMs + change.addMs) },
    });
  }

  async limits(orgId: string): Promise<RateLimitSettings | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.rateLimitSettings(orgId), ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      ...(typeof Item.requests_per_second === 'number' ? { requests_per_second: Item.requests_per_second } : {}),
      ...(typeof Item.burst === 'number' ? { burst: Item.burst } : {}),
      ...(typeof Item.updated_at === 'string' ? { updated_at: Item.updated_at } : {}),
    };
  }

  async setLimits(orgId: string, settings: RateLimitSettings): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.rateLimitSettings(orgId), org_id: orgId, ...settings } }));
  }

  private async update(orgId: string, input: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> }): Promise<BucketChange> {
    try {
      const result = await this.client.send(new UpdateCommand({
        TableName: this.tableName, Key: this.bucket(orgId), ...input,
        ReturnValues: 'UPDATED_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return { ok: true, tatMs: Number(result.Attributes?.tat) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item ? unmarshall(error.Item) : undefined;
      return { ok: false, tatMs: typeof old?.tat === 'number' ? old.tat : undefined };
    }
  }
}

const expiresAt = (fullAtMs: number) => Math.ceil(fullAtMs / 1000) + BUCKET_TTL_SECONDS;
