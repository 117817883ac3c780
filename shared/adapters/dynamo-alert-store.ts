import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './dynamo-batch.js';
import { ALERT_TOTAL_SHARDS, BUCKET_MS, WINDOW_MS, type AlertRuleId } from '../definitions/alert-rules.js';
import { ALERT_HISTORY_DAYS, sumContributions, type AlertRaised, type CounterDelta, type CounterTotals, type RuleSettings } from '../domain/alerts.js';
import { alertShardOf, controlKeys } from '../domain/keys.js';
import { mapWithConcurrency } from '../domain/concurrency.js';
import type { AlertStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

/**
 * In the control table (TTL expires_at clears counters and marks): per bucket a mark per batch (controlKeys.alertCounter,
 * its idempotency key and reasons) and running totals (controlKeys.alertTotal, ALERT_TOTAL_SHARDS items), per-org overrides (controlKeys.alertSettings: {rules: {...}}) and "raised"
 * marks (controlKeys.alertRaised), one partition per org: the org's alert history, kept ALERT_HISTORY_DAYS. A window's
 * totals are one BatchGet of its buckets' total items, the same cost however many batches it holds (contract section 5,
 * v1.2); its reasons are read from the marks only when the window first crosses its threshold.
 */

/**
 * Closed buckets (ended CLOSED_AFTER_MS before the evaluation's now) are cached per instance for
 * CLOSED_BUCKET_CACHE_MS, so an evaluation reads the current bucket's ALERT_TOTAL_SHARDS items, not the window's
 * twelve buckets: a late batch counts at once in the store, and in another instance's evaluation within a minute.
 * The instance that writes to a cached bucket drops its copy. Per-org overrides are cached as long.
 */
const CLOSED_AFTER_MS = 60_000;
const CLOSED_BUCKET_CACHE_MS = 60_000;
const CLOSED_BUCKET_CACHE_ENTRIES = 10_000;

export class DynamoAlertStore implements AlertStore {
  private readonly closedBuckets = new Map<string, { numerator: number; denominator: number; readAt: number }>();
  private readonly cachedOverrides = new Map<string, { rules: Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined; readAt: number }>();

  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string, private readonly clock: () => number = Date.now) {}

  /**
   * Idempotent per record, not only per identical batch: a batch's mark holds its lowest sequence number (its key) and
   * its highest (`last`). Lambda reads a retried batch afresh, so a retry holds the same records (sequence numbers are
   * padded to one width: string order is numeric order) and possibly newer ones after them; a retry that meets its
   * mark counts only the contributions after the mark's `last`, under their own mark.
   */
  async apply(delta: CounterDelta): Promise<void> {
    const first = delta.contributions.reduce((a, b) => (a.sequence <= b.sequence ? a : b));
    const last = delta.contributions.reduce((a, b) => (a.sequence >= b.sequence ? a : b));
    const totals = sumContributions(delta.contributions);
    const expiresAt = Math.floor((delta.bucketStart + 3 * WINDOW_MS) / 1000);
    // The batch's mark (its idempotency key, with its reasons) and the bucket's running totals in one transaction: a
    // replayed batch finds its mark and adds nothing; the totals spread over shards so no one item takes every batch.
    const shard = alertShardOf(first.sequence);
    const items = [
      {
        Put: {
          TableName: this.tableName, ConditionExpression: 'attribute_not_exists(pk)',
          Item: {
            ...controlKeys.alertCounter(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, first.sequence),
            numerator: totals.numerator, denominator: totals.denominator, reasons: totals.reasons, expires_at: expiresAt, last: last.sequence,
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
    this.closedBuckets.delete(this.bucketKey(delta.orgId, delta.rule, delta.dimension, delta.bucketStart));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
          // A replayed batch: what its mark covered is counted; what came after it (a retry read further) is not yet.
          const covered = await this.markLast(delta, first.sequence);
          const newer = delta.contributions.filter((c) => c.sequence > covered);
          if (newer.length > 0) await this.apply({ ...delta, contributions: newer });
          return;
        }
        // Another batch's transaction on the same totals item: try again, a little later each time.
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** The highest sequence number a batch's mark covered (a mark written before `last` was kept: every one, as then). */
  private async markLast(delta: CounterDelta, firstSequence: string): Promise<string> {
    const key = controlKeys.alertCounter(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, firstSequence);
    const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ProjectionExpression: '#last', ExpressionAttributeNames: { '#last': 'last' } }))).Item;
    return typeof item?.last === 'string' ? item.last : '\uffff';
  }

  async totals(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[], nowMs?: number): Promise<CounterTotals> {
    // A bounded read whatever the window holds: the total item of each shard of each bucket not cached, one BatchGet.
    const totals: CounterTotals = { numerator: 0, denominator: 0, reasons: {} };
    const toRead: number[] = [];
    for (const bucket of buckets) {
      const cached = nowMs !== undefined ? this.closedBuckets.get(this.bucketKey(orgId, rule, dimension, bucket)) : undefined;
      if (cached && this.clock() - cached.readAt < CLOSED_BUCKET_CACHE_MS) {
        totals.numerator += cached.numerator;
        totals.denominator += cached.denominator;
      } else {
        toRead.push(bucket);
      }
    }
    const reads = toRead.map((bucket) => ({ bucket, numerator: 0, denominator: 0 }));
    // One total item per bucket and shard, each in its own partition: its partition key names its bucket's read.
    const totalItems = reads.flatMap((read) => Array.from({ length: ALERT_TOTAL_SHARDS }, (_, shard) => ({ key: controlKeys.alertTotal(orgId, rule, dimension, read.bucket, shard), read })));
    const readOfKey = new Map(totalItems.map(({ key, read }) => [key.pk, read]));
    for (const item of await batchGetAll(this.client, this.tableName, totalItems.map(({ key }) => key), { consistent: true })) {
      const read = readOfKey.get(String(item.pk))!;
      read.numerator += Number(item.numerator ?? 0);
      read.denominator += Number(item.denominator ?? 0);
    }
    for (const read of reads) {
      totals.numerator += read.numerator;
      totals.denominator += read.denominator;
      // A bucket that ended CLOSED_AFTER_MS before now takes few late batches: kept for CLOSED_BUCKET_CACHE_MS.
      if (nowMs !== undefined && read.bucket + BUCKET_MS + CLOSED_AFTER_MS <= nowMs) this.remember(this.bucketKey(orgId, rule, dimension, read.bucket), read);
    }
    return totals;
  }

  async reasons(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[]): Promise<Record<string, number>> {
    // Read only when a window first crosses its threshold: every batch's mark of the window (every shard), for its reasons.
    const reasons: Record<string, number> = {};
    const partitions = buckets.flatMap((bucket) => Array.from({ length: ALERT_TOTAL_SHARDS }, (_, shard) => controlKeys.alertCounterPartition(orgId, rule, dimension, bucket, shard)));
    const marks = await mapWithConcurrency(partitions, 16, (partition) => queryPartition(this.client, this.tableName, partition, ['sk', 'reasons']));
    for (const item of marks.flat()) {
      if (item.sk === 'TOTAL') continue;
      for (const [reason, count] of Object.entries((item.reasons as Record<string, number>) ?? {})) reasons[reason] = (reasons[reason] ?? 0) + count;
    }
    return reasons;
  }

  private bucketKey(orgId: string, rule: string, dimension: string, bucket: number): string {
    return `${orgId}\u0000${rule}\u0000${dimension}\u0000${bucket}`;
  }

  private remember(key: string, read: { numerator: number; denominator: number }): void {
    if (this.closedBuckets.size >= CLOSED_BUCKET_CACHE_ENTRIES) this.closedBuckets.delete(this.closedBuckets.keys().next().value!);
    this.closedBuckets.set(key, { numerator: read.numerator, denominator: read.denominator, readAt: this.clock() });
  }

  async raised(alert: AlertRaised): Promise<boolean> {
    return (await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.markKey(alert), ConsistentRead: true }))).Item !== undefined;
  }

  async overrides(orgId: string): Promise<Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined> {
    // Read once a minute per org per instance, not once per batch: the org's ORG# partition is not a per-batch key.
    const cached = this.cachedOverrides.get(orgId);
    if (cached && this.clock() - cached.readAt < CLOSED_BUCKET_CACHE_MS) return cached.rules;
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.alertSettings(orgId) }));
    const rules = result.Item?.rules as Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined;
    if (this.cachedOverrides.size >= CLOSED_BUCKET_CACHE_ENTRIES) this.cachedOverrides.clear();
    this.cachedOverrides.set(orgId, { rules, readAt: this.clock() });
    return rules;
  }

  async setOverrides(orgId: string, rules: Partial<Record<AlertRuleId, Partial<RuleSettings>>>): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.alertSettings(orgId), rules } }));
    this.cachedOverrides.delete(orgId);
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
