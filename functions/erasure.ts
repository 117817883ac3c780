import { stepAnswer } from '../shared/adapters/step-functions-jobs.js';
import { defaultErasureDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { runErasure } from '../shared/domain/erasure.js';

/** One step of an erasure, invoked by its Step Functions execution (infra/constructs/job-workflow.ts) until completed. */
export interface ErasureStep {
  org_id: string;
  erasure_id: string;
}

export const handler = withPseudonymKey('erasure', async (step: ErasureStep) => {
  const outcome = await runErasure(defaultErasureDependencies(), step.org_id, step.erasure_id);
  return stepAnswer({ org_id: step.org_id, erasure_id: step.erasure_id }, outcome);
});
