import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportJob, ExportJobStore } from '../domain/exports.js';
import { controlKeys } from '../domain/keys.js';
import { queryPartition } from './control-table.js';

/** How long a job's record stays (its file lives a day: the export bucket's lifecycle, or the local folder). */
const JOB_TTL_SECONDS = 7 * 86_400;

/** Export jobs in the control table (controlKeys.exportJob): the filter, status and rows so far; no PII. */
export class DynamoExportStore implements ExportJobStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async save(job: ExportJob): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: { ...controlKeys.exportJob(job.orgId, job.id), job, expires_at: Math.floor(Date.parse(job.requestedAt) / 1000) + JOB_TTL_SECONDS },
    }));
    const mark = controlKeys.runningExport(job.orgId, job.id);
    if (job.status === 'queued' || job.status === 'running') {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...mark, org_id: job.orgId, export_id: job.id } }));
    } else {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: mark }));
    }
  }

  async running(): Promise<{ orgId: string; id: string }[]> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.runningExports().pk, ['org_id', 'export_id'], { consistent: true });
    return items.map((item) => ({ orgId: item.org_id as string, id: item.export_id as string }));
  }

  async get(orgId: string, id: string): Promise<ExportJob | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.exportJob(orgId, id), ConsistentRead: true }));
    return result.Item?.job as ExportJob | undefined;
  }
}
