import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExportJob, ExportScheduler } from '../domain/exports.js';
import type { ReplayJob, ReplayScheduler } from '../domain/replays.js';
import type { ErasureScheduler } from '../domain/ports.js';

/**
 * In AWS an erasure runs as a Step Functions execution named after the erasure (infra/constructs/erasure.ts):
 * starting it again is a no-op (the name is unique per state machine), so a retried DELETE never runs it twice.
 */
export class StepFunctionsErasureScheduler implements ErasureScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  async start(orgId: string, erasureId: string): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn, name: erasureId, input: JSON.stringify({ org_id: orgId, erasure_id: erasureId }),
      }));
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }
}

/**
 * Locally the runtime's erasure runner (infra/local/erasure-runner.ts) finds running jobs in the control table
 * by itself, after a restart too: starting one needs nothing more than the job's running mark.
 */
export const polledErasureScheduler: ErasureScheduler = { start: async () => undefined };

/** Starts an export's execution (infra/constructs/job-workflow.ts), named after the job: a second start is a no-op. */
export class StepFunctionsExportScheduler implements ExportScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  async start(job: ExportJob): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: job.id, input: JSON.stringify({ org_id: job.orgId, export_id: job.id }) }));
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }
}

/** Locally the runtime's runner finds queued exports by their running marks: nothing to start. */
export const polledExportScheduler: ExportScheduler = { start: async () => undefined };

/** Starts a replay's execution (infra/constructs/job-workflow.ts), named after the replay. */
export class StepFunctionsReplayScheduler implements ReplayScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  async start(job: ReplayJob): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: job.id, input: JSON.stringify({ org_id: job.orgId, replay_id: job.id }) }));
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }
}

/** Locally the runtime's runner finds running replays by their marks: nothing to start. */
export const polledReplayScheduler: ReplayScheduler = { start: async () => undefined };
