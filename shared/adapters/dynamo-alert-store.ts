import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WINDOW_MS, type AlertRuleId } from '../definitions/alert-rules.js';
import { ALERT_HISTORY_DAYS, sumContributions, type AlertRaised, type CounterDelta, type CounterTotals, type RuleSettings } from '../domain/alerts.js';
import { controlKeys } from '../domain/keys.js';
import type { AlertStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * In the control table (TTL expires_at clears counters and marks): counter items (controlKeys.alertCounter,
 * one per batch and counter), per-org overrides (controlKeys.alertSettings: {rules: {...}}) and "raised"
 * marks (controlKeys.alertRaised), one partition per org: the org's alert history, kept ALERT_HISTORY_DAYS. Counter writes spread over items (never one hot item per org); a window's
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
          Item: { ...this.markKey(alert), alert, expires_at: Math.floor(Date.parse(alert.window_end) / 1000) + ALERT_HISTORY_DAYS * 86_400 },
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

  async recent(orgId: string, query: { fromIso: string; toIso: string; limit: number; after?: string }): Promise<{ items: AlertRaised[]; next?: string }> {
    const found: { sk: string; alert: AlertRaised }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.tableName, ScanIndexForward: false, ExclusiveStartKey: start, Limit: query.limit + 1,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        // '#' sorts before every digit: `<to>#…` is the first key of the window starting at `to`, excluded below.
        ExpressionAttributeValues: { ':pk': controlKeys.alertsOfOrg(orgId), ':lo': query.fromIso, ':hi': query.after ?? `${query.toIso}#` },
      }));
      for (const item of page.Items ?? []) {
        if (item.sk === query.after || (item.sk as string) >= `${query.toIso}#`) continue;
        found.push({ sk: item.sk as string, alert: item.alert as AlertRaised });
      }
      start = page.LastEvaluatedKey;
    } while (start && found.length <= query.limit);
    const items = found.slice(0, query.limit);
    return { items: items.map((f) => f.alert), ...(found.length > query.limit ? { next: items[items.length - 1]!.sk } : {}) };
  }
}
