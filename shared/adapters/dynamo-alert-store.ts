import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WINDOW_MS, type AlertRuleId } from '../definitions/alert-rules.js';
import { sumContributions, type AlertRaised, type AlertStore, type CounterDelta, type CounterTotals, type RuleSettings } from '../domain/alerts.js';
import { sha256Hex } from '../domain/canonical.js';

/**
 * In the control table (TTL expires_at clears it):
 *   CNT#<org>#<rule>#<dimension hash>#<bucket> / <lowest sequence>  → one item per batch and counter
 *   ORG#<org> / ALERTCFG                                              → per-org overrides {rules: {...}}
 *   ALERT#<org>#<rule>#<dimension hash>#<window start> / ALERT        → "raised" marks
 * Counter writes spread over items (never one hot item per org); a window's totals are a Query per bucket.
 */
const counterPk = (orgId: string, rule: string, dimension: string, bucket: number) => `CNT#${orgId}#${rule}#${sha256Hex(dimension).slice(0, 16)}#${bucket}`;

export class DynamoAlertStore implements AlertStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async apply(delta: CounterDelta): Promise<void> {
    const first = delta.contributions.reduce((a, b) => (a.sequence <= b.sequence ? a : b));
    const totals = sumContributions(delta.contributions);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: counterPk(delta.orgId, delta.rule, delta.dimension, delta.bucketStart),
            sk: first.sequence,
            numerator: totals.numerator,
            denominator: totals.denominator,
            reasons: totals.reasons,
            expires_at: Math.floor((delta.bucketStart + 3 * WINDOW_MS) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error; // a replayed batch: already counted
    }
  }

  async totals(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[]): Promise<CounterTotals> {
    const totals: CounterTotals = { numerator: 0, denominator: 0, reasons: {} };
    await Promise.all(
      buckets.map(async (bucket) => {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': counterPk(orgId, rule, dimension, bucket) },
              ProjectionExpression: 'numerator, denominator, reasons',
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? []) {
            totals.numerator += item.numerator as number;
            totals.denominator += item.denominator as number;
            for (const [reason, count] of Object.entries((item.reasons as Record<string, number>) ?? {})) totals.reasons[reason] = (totals.reasons[reason] ?? 0) + count;
          }
          start = page.LastEvaluatedKey;
        } while (start);
      }),
    );
    return totals;
  }

  async overrides(orgId: string): Promise<Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: `ORG#${orgId}`, sk: 'ALERTCFG' } }));
    return result.Item?.rules as Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined;
  }

  async setOverrides(orgId: string, rules: Partial<Record<AlertRuleId, Partial<RuleSettings>>>): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: `ORG#${orgId}`, sk: 'ALERTCFG', rules } }));
  }

  private markKey(alert: AlertRaised) {
    return { pk: `ALERT#${alert.org_id}#${alert.rule_id}#${sha256Hex(alert.dimension).slice(0, 16)}#${alert.window_start}`, sk: 'ALERT' };
  }

  async markRaised(alert: AlertRaised): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.markKey(alert), alert, expires_at: Math.floor(Date.parse(alert.window_end) / 1000) + 86_400 },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async unmarkRaised(alert: AlertRaised): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: this.markKey(alert) }));
  }
}
