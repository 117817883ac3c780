import { stepAnswer } from '../shared/adapters/step-functions-jobs.js';
import { defaultReplayWorkerDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { runReplay } from '../shared/domain/replays.js';

/** One step of a replay, invoked by its Step Functions execution (infra/constructs/job-workflow.ts) until completed. */
export interface ReplayStep {
  org_id: string;
  replay_id: string;
}

/** Lambda allows 15 minutes: no new page is started after 12. */
const STEP_BUDGET_MS = 12 * 60_000;

export const handler = withPseudonymKey('replayer', async (step: ReplayStep) => {
  const outcome = await runReplay(defaultReplayWorkerDependencies(), step.org_id, step.replay_id, Date.now() + STEP_BUDGET_MS);
  return stepAnswer({ org_id: step.org_id, replay_id: step.replay_id }, outcome);
});
