import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { ErasureJob, ErasureStore } from '../domain/ports.js';
import { batchWriteAll } from './dynamo-batch.js';
import { queryPartition } from './control-table.js';

/**
 * Erasure jobs in the control table (controlKeys.erasureJob / erasureOfLead / runningErasure): the job with its
 * phase and counts, one item per member lead naming its erasure (keyed by a digest of the lead id, holding no id),
 * and a running mark while it runs. The job holds the plain lead ids only while it runs (a resumed run needs them);
 * completing it stores their pseudonyms instead (runErasure), so nothing here names an erased lead afterwards.
 */
export class DynamoErasureStore implements ErasureStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(job: ErasureJob, previous: string | undefined): Promise<ErasureJob> {
    const named = controlKeys.erasureOfLead(job.orgId, job.leadId);
    try {
      await this.client.send(new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName, Item: { ...named, org_id: job.orgId, erasure_id: job.id },
              ConditionExpression: previous ? 'erasure_id = :previous' : 'attribute_not_exists(pk)',
              ...(previous ? { ExpressionAttributeValues: { ':previous': previous } } : {}),
            },
          },
          { Put: { TableName: this.tableName, Item: toItem(job), ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: this.tableName, Item: { ...controlKeys.runningErasure(job.orgId, job.id), org_id: job.orgId, erasure_id: job.id } } },
        ],
      }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const winner = await this.ofLead(job.orgId, job.leadId);
      const standing = winner ? await this.get(job.orgId, winner) : undefined;
      if (!standing) throw error;
      return standing;
    }
    // The other members name it too, so a DELETE of any of them answers this job.
    const others = job.members.filter((member) => member !== job.leadId);
    await batchWriteAll(this.client, this.tableName, others.map((member) => ({
      PutRequest: { Item: { ...controlKeys.erasureOfLead(job.orgId, member), org_id: job.orgId, erasure_id: job.id } },
    })));
    return job;
  }

  async get(orgId: string, erasureId: string): Promise<ErasureJob | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.erasureJob(orgId, erasureId), ConsistentRead: true }));
    return result.Item ? fromItem(result.Item) : undefined;
  }

  async ofLead(orgId: string, leadId: string): Promise<string | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.erasureOfLead(orgId, leadId), ConsistentRead: true }));
    return result.Item?.erasure_id as string | undefined;
  }

  async save(job: ErasureJob): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: toItem(job) }));
    if (job.phase === 'completed') {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: controlKeys.runningErasure(job.orgId, job.id) }));
    }
  }

  async running(): Promise<{ orgId: string; id: string }[]> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.runningErasures().pk, ['org_id', 'erasure_id'], { consistent: true });
    return items.map((item) => ({ orgId: item.org_id as string, id: item.erasure_id as string }));
  }
}

function toItem(job: ErasureJob): Record<string, unknown> {
  return {
    ...controlKeys.erasureJob(job.orgId, job.id),
    org_id: job.orgId, erasure_id: job.id, lead_id: job.leadId, members: job.members, phase: job.phase, counts: job.counts,
    requested_at: job.requestedAt, key_id: job.keyId, request_id: job.requestId,
    ...(job.settleUntil ? { settle_until: job.settleUntil } : {}),
    ...(job.pending ? { pending: job.pending } : {}),
    ...(job.mentioned?.length ? { mentioned: job.mentioned } : {}),
    ...(job.completedAt ? { completed_at: job.completedAt } : {}),
  };
}

function fromItem(item: Record<string, unknown>): ErasureJob {
  return {
    orgId: item.org_id as string, id: item.erasure_id as string, leadId: item.lead_id as string, members: item.members as string[],
    phase: item.phase as ErasureJob['phase'], counts: item.counts as ErasureJob['counts'], requestedAt: item.requested_at as string,
    keyId: item.key_id as string, requestId: item.request_id as string,
    ...(item.settle_until ? { settleUntil: item.settle_until as string } : {}),
    ...(item.pending ? { pending: item.pending as ErasureJob['pending'] } : {}),
    ...(item.mentioned ? { mentioned: item.mentioned as string[] } : {}),
    ...(item.completed_at ? { completedAt: item.completed_at as string } : {}),
  };
}
