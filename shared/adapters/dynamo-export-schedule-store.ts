import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportSchedule, ExportScheduleStore } from '../domain/export-schedules.js';
import { controlKeys } from '../domain/keys.js';
import { queryPartition } from './control-table.js';

/**
 * Export schedules in the control table, every org's in one partition (controlKeys.exportSchedule): a clock reads
 * them all at once, and there are a handful per org. The next run moves by a conditional update (the claim).
 */
export class DynamoExportScheduleStore implements ExportScheduleStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(schedule: ExportSchedule): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName, Item: { ...controlKeys.exportSchedule(schedule.orgId, schedule.id), schedule, next_run_at: schedule.nextRunAt },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
  }

  private async read(orgId?: string): Promise<ExportSchedule[]> {
    const key = orgId ? controlKeys.exportSchedulesOf(orgId) : controlKeys.exportSchedulesOf().pk; // every org: the whole partition
    const items = await queryPartition(this.client, this.tableName, key, ['schedule', 'next_run_at'], { consistent: true });
    return items.map((item) => ({ ...(item.schedule as ExportSchedule), nextRunAt: item.next_run_at as string }));
  }

  list(orgId: string): Promise<ExportSchedule[]> {
    return this.read(orgId);
  }

  async due(nowIso: string): Promise<ExportSchedule[]> {
    return (await this.read()).filter((schedule) => schedule.nextRunAt <= nowIso);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: controlKeys.exportSchedule(orgId, id), ReturnValues: 'ALL_OLD' }));
    return result.Attributes !== undefined;
  }

  async claim(schedule: ExportSchedule, from: string, to: string): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName, Key: controlKeys.exportSchedule(schedule.orgId, schedule.id),
        UpdateExpression: 'SET next_run_at = :to', ConditionExpression: 'next_run_at = :from',
        ExpressionAttributeValues: { ':from': from, ':to': to },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
