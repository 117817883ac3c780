import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './dynamo-batch.js';
import { ALERT_TOTAL_SHARDS, WINDOW_MS, type AlertRuleId } from '../definitions/alert-rules.js';
import { ALERT_HISTORY_DAYS, sumContributions, type AlertRaised, type CounterDelta, type CounterTotals, type RuleSettings } from '../domain/alerts.js';
import { controlKeys } from '../domain/keys.js';
import type { AlertStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * In the control table (TTL expires_at clears counters and marks): per bucket a mark per batch (controlKeys.alertCounter,
 * its idempotency key and reasons) and running totals (controlKeys.alertTotal, ALERT_TOTAL_SHARDS items), per-org overrides (controlKeys.alertSettings: {rules: {...}}) and "raised"
 * marks (controlKeys.alertRaised), one partition per org: the org's alert history, kept ALERT_HISTORY_DAYS. A window's
 * totals are one BatchGet of its buckets' total items, the same cost however many batches it holds (contract section 5,
 * v1.2); its reasons are read from the marks only when the window first crosses its threshold.
 */

export class DynamoAlertStore implements AlertStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async apply(delta: CounterDelta): Promise<void> {
    const first = delta.contributions.reduce((a, b) => (a.sequence <= b.sequence ? a : b));
    const totals = sumContributions(delta.contributions);
    const expiresAt = Math.floor((delta.bucketStart + 3 * WINDOW_MS) / 1000);
    // The batch's mark (its idempotency key, with its reasons) and the bucket's running totals in one transaction: a
    // replayed batch finds its mark and adds nothing; the totals spread over shards so no one item takes every batch.
    const shard = parseInt(createHash('sha256').update(first.sequence).digest('hex').slice(0, 8), 16) % ALERT_TOTAL_SHARDS;
    const items = [
      {
        Put: {
          TableName: this.tableName, ConditionExpression: 'attribute_not_exists(pk)',
          Item: {
            ...controlKeys.alertCounter(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, first.sequence),
            numerator: totals.numerator, denominator: totals.denominator, reasons: totals.reasons, expires_at: expiresAt,
          },
        },
      },
      {
        Update: {
          TableName: this.tableName, Key: controlKeys.alertTotal(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, shard),
          UpdateExpression: 'ADD numerator :n, denominator :d SET expires_at = :expires',
          ExpressionAttributeValues: { ':n': totals.numerator, ':d': totals.denominator, ':expires': expiresAt },
        },
      },
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return; // a replayed batch: already counted
        // Another batch's transaction on the same totals item: try again, a little later each time.
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  async totals(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[]): Promise<CounterTotals> {
    // A bounded read whatever the window holds: the buckets' total items (ALERT_TOTAL_SHARDS each), one BatchGet.
    const keys = buckets.flatMap((bucket) => Array.from({ length: ALERT_TOTAL_SHARDS }, (_, shard) => controlKeys.alertTotal(orgId, rule, dimension, bucket, shard)));
    const totals: CounterTotals = { numerator: 0, denominator: 0, reasons: {} };
    for (const item of await batchGetAll(this.client, this.tableName, keys, { consistent: true })) {
      totals.numerator += Number(item.numerator ?? 0);
      totals.denominator += Number(item.denominator ?? 0);
    }
    return totals;
  }

  async reasons(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[]): Promise<Record<string, number>> {
    // Read only when a window first crosses its threshold: every batch's mark of the window, for its reasons.
    const reasons: Record<string, number> = {};
    for (const bucket of buckets) {
      for (const item of await queryPartition(this.client, this.tableName, controlKeys.alertCounterPartition(orgId, rule, dimension, bucket), ['sk', 'reasons'])) {
        if (String(item.sk).startsWith('TOTAL#')) continue;
        for (const [reason, count] of Object.entries((item.reasons as Record<string, number>) ?? {})) reasons[reason] = (reasons[reason] ?? 0) + count;
      }
    }
    return reasons;
  }

  async raised(alert: AlertRaised): Promise<boolean> {
    return (await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.markKey(alert), ConsistentRead: true }))).Item !== undefined;
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
