import { DEFAULT_REGION } from '../../shared/definitions/environment.js';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { localClient } from './dynamo.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

interface Checkpoint {
  streamArn: string;
  /** shard id → last sequence number handed to the handler successfully ('closed' when the shard ended). */
  shards: Record<string, string>;
}

/**
 * The local stand-in for the Lambda event-source mapping on the events table's stream: reads DynamoDB
 * Local's real stream shard by shard, hands batches to the same handler, honours its partial batch
 * response, and saves its position (the checkpoint file) so a restart resumes where it stopped.
 */
export class StreamPoller {
  private readonly streams: DynamoDBStreamsClient;
  private checkpoint: Checkpoint | undefined;
  private readonly iterators = new Map<string, string>();
  /** Per shard: the record that keeps failing and how many times in a row it did. */
  private readonly failures = new Map<string, { sequence: string; count: number }>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: {
      endpoint: string; tableName: string; handler: StreamHandler; checkpointFile?: string; intervalMs?: number; batchSize?: number;
      /** Failures of one record before it goes to `deadLetterFile` and the shard moves on (the mapping's retryAttempts). */
      retryAttempts?: number; deadLetterFile?: string;
    },
  ) {
    this.streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: DEFAULT_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    if (options.checkpointFile && existsSync(options.checkpointFile)) this.checkpoint = JSON.parse(readFileSync(options.checkpointFile, 'utf8')) as Checkpoint;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          const handled = await this.pollOnce();
          // Like the event-source mapping's batching window: unless a pass filled a whole batch, wait before the
          // next, so batches grow under load and per-batch work (alert evaluation) is shared by many records.
          if (handled < (this.options.batchSize ?? 100)) await new Promise((r) => setTimeout(r, this.options.intervalMs ?? 1000));
        } catch (error) {
          console.error('leadlog: stream poller:', (error as Error).message);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Polls until a full pass over the shards finds nothing new (tests and shutdown use it). */
  async drain(): Promise<void> {
    while ((await this.pollOnce()) > 0);
  }

  /** One pass over every open shard; returns how many records were handed to the handler. */
  async pollOnce(): Promise<number> {
    const streamArn = await this.streamArn();
    if (!this.checkpoint || this.checkpoint.streamArn !== streamArn) {
      this.checkpoint = { streamArn, shards: {} };
      this.iterators.clear();
    }
    let handled = 0;
    for (const shardId of await this.shardIds(streamArn)) {
      if (this.checkpoint.shards[shardId] === 'closed') continue;
      const cached = this.iterators.get(shardId);
      let page;
      try {
        page = await this.streams.send(new GetRecordsCommand({ ShardIterator: cached ?? (await this.iteratorFor(streamArn, shardId)), Limit: this.options.batchSize ?? 100 }));
      } catch (error) {
        // DynamoDB Local refuses an iterator taken while its shard was still empty once records arrive
        // ("read past the oldest stream record"); iterators also expire. Take a fresh one from the checkpoint.
        const name = (error as Error).name;
        if (cached && (name === 'TrimmedDataAccessException' || name === 'ExpiredIteratorException')) {
          this.iterators.delete(shardId);
          page = await this.streams.send(new GetRecordsCommand({ ShardIterator: await this.iteratorFor(streamArn, shardId), Limit: this.options.batchSize ?? 100 }));
        } else {
          throw error;
        }
      }
      const records = page.Records ?? [];
      if (records.length > 0) {
        let response: DynamoDBBatchResponse | void;
        try {
          response = await this.options.handler({ Records: records.map(toLambdaRecord) } as DynamoDBStreamEvent);
        } catch (error) {
          // A function error fails the whole batch, as Lambda counts it: a retry of its first record.
          console.error('leadlog: stream handler failed (the batch is retried):', (error as Error).message);
          response = { batchItemFailures: [{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber! }] };
        }
        const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
        let failedAt = failed === undefined ? -1 : records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
        if (failedAt >= 0 && (await this.exhausted(shardId, records[failedAt]!))) failedAt = failedAt + 1 < records.length ? failedAt + 1 : -1;
        const done = failedAt < 0 ? records : records.slice(0, failedAt);
        handled += done.length;
        if (done.length > 0) this.checkpoint.shards[shardId] = done.at(-1)!.dynamodb!.SequenceNumber!;
        if (failedAt >= 0) {
          // Retry from the failed record on the next pass: a fresh iterator after the last good one.
          this.iterators.delete(shardId);
          await this.save();
          continue;
        }
      }
      if (page.NextShardIterator) this.iterators.set(shardId, page.NextShardIterator);
      else {
        this.iterators.delete(shardId);
        this.checkpoint.shards[shardId] = 'closed';
      }
      if (records.length > 0 || !page.NextShardIterator) await this.save();
    }
    return handled;
  }

  /**
   * The event-source mapping's retry limit (infra/constructs/fanout.ts: retryAttempts 10, then the on-failure
   * destination): counts a failure of this record and, once it failed more than `retryAttempts` times in a row,
   * writes it to the dead-letter file (as Lambda's on-failure record: the shard and the sequence number, not the
   * data) and answers true, so the poller moves past it. One record that can never be handled delays the shard by
   * its retries, never blocks it or re-sends the records after it forever.
   */
  private async exhausted(shardId: string, record: StreamRecord): Promise<boolean> {
    const sequence = record.dynamodb!.SequenceNumber!;
    const seen = this.failures.get(shardId);
    const count = seen?.sequence === sequence ? seen.count + 1 : 1;
    this.failures.set(shardId, { sequence, count });
    if (count <= (this.options.retryAttempts ?? 10)) return false;
    this.failures.delete(shardId);
    const info = {
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: count },
      DDBStreamBatchInfo: { shardId, startSequenceNumber: sequence, endSequenceNumber: sequence, batchSize: 1, streamArn: this.checkpoint?.streamArn },
      timestamp: new Date().toISOString(),
    };
    console.error(`leadlog: ALARM stream record ${sequence} failed ${count} times: sent to the dead-letter file, the shard moves on`);
    if (this.options.deadLetterFile) await appendFile(this.options.deadLetterFile, `${JSON.stringify(info)}\n`);
    return true;
  }

  private async streamArn(): Promise<string> {
    const client = localClient(this.options.endpoint);
    try {
      const table = await client.send(new DescribeTableCommand({ TableName: this.options.tableName }));
      const arn = table.Table?.LatestStreamArn;
      if (!arn) throw new Error(`table ${this.options.tableName} has no stream`);
      return arn;
    } finally {
      client.destroy();
    }
  }

  private async shardIds(streamArn: string): Promise<string[]> {
    const ids: string[] = [];
    let start: string | undefined;
    do {
      const page = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      ids.push(...(page.StreamDescription?.Shards ?? []).map((s) => s.ShardId!));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return ids;
  }

  private async iteratorFor(streamArn: string, shardId: string): Promise<string> {
    const after = this.checkpoint?.shards[shardId];
    const result = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn, ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return result.ShardIterator!;
  }

  private async save(): Promise<void> {
    if (!this.options.checkpointFile || !this.checkpoint) return;
    const temp = `${this.options.checkpointFile}.tmp`;
    await writeFile(temp, JSON.stringify(this.checkpoint));
    await rename(temp, this.options.checkpointFile);
  }
}

/** The SDK's stream record in the shape Lambda hands to a handler (dates as epoch seconds). */
function toLambdaRecord(record: StreamRecord): DynamoDBStreamEvent['Records'][number] {
  const { ApproximateCreationDateTime, ...dynamodb } = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as 'INSERT' | 'MODIFY' | 'REMOVE',
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    ...(record.userIdentity ? { userIdentity: record.userIdentity } : {}),
    dynamodb: {
      ...(dynamodb as DynamoDBStreamEvent['Records'][number]['dynamodb']),
      ...(ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(new Date(ApproximateCreationDateTime).getTime() / 1000) } : {}),
    },
  } as DynamoDBStreamEvent['Records'][number];
}
