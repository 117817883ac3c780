import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ExportErasedError } from '../domain/exports.js';
import type { ControlKey } from '../domain/keys.js';
import { queryPartition } from './control-table.js';

const ERASED = 'erased';

/** What a stored job has: its org, id, status, and when it was asked for (its record's TTL counts from then). */
interface Job {
  orgId: string;
  id: string;
  status: string;
  requestedAt: string;
}

/**
 * Asynchronous jobs (exports, replays) in the control table: the job item, and a running mark while it is not
 * finished (one partition for all orgs, read by the local runner after a restart). Ids, filters and counts; no PII.
 */
export class DynamoJobStore<T extends Job> {
  /** Jobs whose running mark this store has written: a job saved after every chunk writes its mark once, not each time. */
  private readonly marked = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly keys: { job: (orgId: string, id: string) => ControlKey; running: (orgId: string, id: string) => ControlKey; runningPartition: string },
    private readonly isRunning: (job: T) => boolean,
    private readonly ttlSeconds: number,
  ) {}

  async save(job: T): Promise<void> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...this.keys.job(job.orgId, job.id), job, expires_at: Math.floor(Date.parse(job.requestedAt) / 1000) + this.ttlSeconds },
        // `erased` is final (an erasure deleted the job's file): a step still under way cannot write it back to life.
        ...(job.status === ERASED ? {} : {
          ConditionExpression: 'attribute_not_exists(#job) OR #job.#status <> :erased',
          ExpressionAttributeNames: { '#job': 'job', '#status': 'status' }, ExpressionAttributeValues: { ':erased': ERASED },
        }),
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ExportErasedError(job.id);
      throw error;
    }
    const mark = this.keys.running(job.orgId, job.id);
    const key = `${job.orgId}/${job.id}`;
    if (this.isRunning(job)) {
      if (this.marked.has(key)) return;
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...mark, org_id: job.orgId, job_id: job.id } }));
      this.marked.add(key);
    } else {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: mark }));
      this.marked.delete(key);
    }
  }

  async get(orgId: string, id: string): Promise<T | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.keys.job(orgId, id), ConsistentRead: true }));
    return result.Item?.job as T | undefined;
  }

  /** Every job of the org still kept (the job items of its partition). */
  async list(orgId: string): Promise<T[]> {
    const { pk, sk } = this.keys.job(orgId, '');
    const items = await queryPartition(this.client, this.tableName, { pk, skPrefix: sk }, ['job'], { consistent: true });
    return items.map((item) => item.job as T);
  }

  async running(): Promise<{ orgId: string; id: string }[]> {
    const items = await queryPartition(this.client, this.tableName, this.keys.runningPartition, ['org_id', 'job_id'], { consistent: true });
    return items.map((item) => ({ orgId: item.org_id as string, id: item.job_id as string }));
  }
}
