import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExportJob, ExportScheduler } from '../domain/exports.js';
import type { ReplayJob, ReplayScheduler } from '../domain/replays.js';
import type { ErasureScheduler } from '../domain/ports.js';

/**
 * In AWS each job (an erasure, an export, a replay) runs as a Step Functions execution named after it
 * (infra/constructs/job-workflow.ts): starting it again is a no-op (the name is unique per state machine), so a
 * retried request never runs a job twice. Locally the runtime's runners find jobs by their running marks.
 */
async function startNamed(client: SFNClient, stateMachineArn: string, name: string, input: Record<string, string>): Promise<void> {
  try {
    await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
}

export class StepFunctionsErasureScheduler implements ErasureScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  start(orgId: string, erasureId: string): Promise<void> {
    return startNamed(this.client, this.stateMachineArn, erasureId, { org_id: orgId, erasure_id: erasureId });
  }
}

export const polledErasureScheduler: ErasureScheduler = { start: async () => undefined };

/** Starts an export's execution (infra/constructs/job-workflow.ts), named after the job: a second start is a no-op. */
export class StepFunctionsExportScheduler implements ExportScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  start(job: ExportJob): Promise<void> {
    return startNamed(this.client, this.stateMachineArn, job.id, { org_id: job.orgId, export_id: job.id });
  }
}

/** Locally the runtime's runner finds queued exports by their running marks: nothing to start. */
export const polledExportScheduler: ExportScheduler = { start: async () => undefined };

/** Starts a replay's execution (infra/constructs/job-workflow.ts), named after the replay. */
export class StepFunctionsReplayScheduler implements ReplayScheduler {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  start(job: ReplayJob): Promise<void> {
    return startNamed(this.client, this.stateMachineArn, job.id, { org_id: job.orgId, replay_id: job.id });
  }
}

/** Locally the runtime's runner finds running replays by their marks: nothing to start. */
export const polledReplayScheduler: ReplayScheduler = { start: async () => undefined };

/**
 * What a job's step answers its workflow (infra/constructs/job-workflow.ts reads `status`, and waits `wait_seconds`
 * before invoking the step again), with the ids it was given.
 */
export function stepAnswer<T extends Record<string, string>>(step: T, outcome: { waitMs: number } | object) {
  return { ...step, ...('waitMs' in outcome ? { status: 'waiting' as const, wait_seconds: Math.ceil(outcome.waitMs / 1000) } : { status: 'completed' as const }) };
}
