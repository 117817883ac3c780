import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WINDOW_MS, type AlertRuleId } from '../definitions/alert-rules.js';
import { sumContributions, type AlertRaised, type CounterDelta, type CounterTotals, type RuleSettings } from '../domain/alerts.js';
import { controlKeys } from '../domain/keys.js';
import type { AlertStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * In the control table (TTL expires_at clears counters and marks): counter items (controlKeys.alertCounter,
 * one per batch and counter), per-org overrides (controlKeys.alertSettings: {rules: {...}}) and "raised"
 * marks (controlKeys.alertRaised). Counter writes spread over items (never one hot item per org); a window's
 * totals are a Query per bucket.
 */

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
            ...controlKeys.alertCounter(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, first.sequence),
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
        const partition = controlKeys.alertCounterPartition(orgId, rule, dimension, bucket);
        for (const item of await queryPartition(this.client, this.tableName, partition, ['numerator', 'denominator', 'reasons'])) {
          totals.numerator += item.numerator as number;
          totals.denominator += item.denominator as number;
          for (const [reason, count] of Object.entries((item.reasons as Record<string, number>) ?? {})) totals.reasons[reason] = (totals.reasons[reason] ?? 0) + count;
        }
      }),
    );
    return totals;
  }

  async overrides(orgId: string): Promise<Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.alertSettings(orgId) }));
    return result.Item?.rules as Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined;
  }

  async setOverrides(orgId: string, rules: Partial<Record<AlertRuleId, Partial<RuleSettings>>>): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.alertSettings(orgId), rules } }));
  }

  private markKey(alert: AlertRaised) {
    return controlKeys.alertRaised(alert.org_id, alert.rule_id, alert.dimension, alert.window_start);
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
