import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportJob, ExportJobStore } from '../domain/exports.js';
import { controlKeys } from '../domain/keys.js';
import type { ReplayJob, ReplayStore } from '../domain/replays.js';
import { DynamoJobStore } from './dynamo-job-store.js';

/** A job's record is kept a week (an export's file lives a day: the export bucket's lifecycle, or the local folder). */
const JOB_TTL_SECONDS = 7 * 86_400;

/** Export jobs (controlKeys.exportJob): the filter, status and rows so far. */
export class DynamoExportStore extends DynamoJobStore<ExportJob> implements ExportJobStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, { job: controlKeys.exportJob, running: controlKeys.runningExport, runningPartition: controlKeys.runningExports().pk },
      (job) => job.status === 'queued' || job.status === 'running', JOB_TTL_SECONDS);
  }
}

/** Replay jobs (controlKeys.replayJob): the filter, where the replay is, and its counts. */
export class DynamoReplayStore extends DynamoJobStore<ReplayJob> implements ReplayStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, { job: controlKeys.replayJob, running: controlKeys.runningReplay, runningPartition: controlKeys.runningReplays().pk },
      (job) => job.status === 'running', JOB_TTL_SECONDS);
  }
}
