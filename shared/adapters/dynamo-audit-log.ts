import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { renameInResource } from '../domain/audit.js';
import { controlKeys } from '../domain/keys.js';
import { queryPartition } from './control-table.js';
import type { AuditEntry, AuditLog, PagePosition } from '../domain/ports.js';
import { DAY_MS, toIso, utcDay, utcDays } from '../domain/time.js';

/** Audit records are kept this long (section 9), then DynamoDB's TTL removes them. */
export const AUDIT_RETENTION_MS = 400 * DAY_MS;

/** How many day partitions an erasure's renaming reads at once. */
const DAYS_AT_ONCE = 16;

/** The audit trail in the control table: one partition per org and UTC day, sorted by time (controlKeys.auditDay). */
export class DynamoAuditLog implements AuditLog {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async record(orgId: string, entry: AuditEntry): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: { pk: controlKeys.auditDay(orgId, utcDay(entry.at)), sk: `${entry.at}#${randomUUID()}`, ...entry, expires_at: Math.floor((Date.parse(entry.at) + AUDIT_RETENTION_MS) / 1000) },
    }));
  }

  /**
   * Day partition by day over the range (an erasure is rare; each day is one small Query, DAYS_AT_ONCE of them in
   * flight), renaming as it goes.
   */
  async renameResource(orgId: string, request: { fromMs: number; toMs: number; names: readonly string[]; replacement: string }): Promise<number> {
    const names = new Set(request.names);
    const days = utcDays(request.fromMs, request.toMs);
    let renamed = 0;
    for (let i = 0; i < days.length; i += DAYS_AT_ONCE) {
      const pages = await Promise.all(days.slice(i, i + DAYS_AT_ONCE).map((day) =>
        queryPartition(this.client, this.tableName, controlKeys.auditDay(orgId, day), ['pk', 'sk', 'resource', 'renamed_by'], { consistent: true })));
      for (const item of pages.flat()) {
        if (item.renamed_by === request.replacement) {
          renamed += 1; // an interrupted run's work, counted once
          continue;
        }
        const resource = renameInResource(String(item.resource ?? ''), names, request.replacement);
        if (resource === undefined) continue;
        await this.client.send(new UpdateCommand({
          TableName: this.tableName, Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: 'SET #resource = :resource, renamed_by = :by', ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#resource': 'resource' }, ExpressionAttributeValues: { ':resource': resource, ':by': request.replacement },
        })).catch((error: Error) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error; // expired and removed meanwhile
        });
        renamed += 1;
      }
    }
    return renamed;
  }

  async list(orgId: string, query: { days: string[]; fromMs: number; toMs: number; limit: number; after?: PagePosition }): Promise<{ items: AuditEntry[]; next?: PagePosition }> {
    const found: { partition: number; sk: string; entry: AuditEntry }[] = [];
    for (let partition = query.after?.partition ?? 0; partition < query.days.length && found.length <= query.limit; partition++) {
      const upper = query.after && partition === query.after.partition ? query.after.timeKey : `${toIso(query.toMs)}#~`;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(new QueryCommand({
          TableName: this.tableName, ScanIndexForward: false, ExclusiveStartKey: start, Limit: query.limit + 1,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': controlKeys.auditDay(orgId, query.days[partition]!), ':lo': toIso(query.fromMs), ':hi': upper },
        }));
        for (const item of page.Items ?? []) {
          if (item.sk === upper || found.length > query.limit) continue;
          found.push({ partition, sk: item.sk as string, entry: { at: item.at, key_id: item.key_id, action: item.action, resource: item.resource, request_id: item.request_id, ...(item.detail ? { detail: item.detail } : {}) } as AuditEntry });
        }
        start = page.LastEvaluatedKey;
      } while (start && found.length <= query.limit);
    }
    const items = found.slice(0, query.limit);
    const last = items.length > 0 ? found[items.length - 1] : undefined;
    return { items: items.map((f) => f.entry), ...(found.length > query.limit && last ? { next: { partition: last.partition, timeKey: last.sk } } : {}) };
  }
}
