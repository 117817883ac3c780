import { defaultErasureDependencies } from '../shared/adapters/container.js';
import { runErasure } from '../shared/domain/erasure.js';

/** One step of an erasure, invoked by its Step Functions execution (infra/constructs/erasure.ts) until completed. */
export interface ErasureStep {
  org_id: string;
  erasure_id: string;
}

export const handler = async (step: ErasureStep) => {
  const outcome = await runErasure(defaultErasureDependencies(), step.org_id, step.erasure_id);
  return { org_id: step.org_id, erasure_id: step.erasure_id, ...('waitMs' in outcome ? { status: 'waiting', wait_seconds: Math.ceil(outcome.waitMs / 1000) } : outcome) };
};
