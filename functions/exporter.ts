import { stepAnswer } from '../shared/adapters/step-functions-jobs.js';
import { defaultExportWorkerDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { runExport } from '../shared/domain/exports.js';

/** One step of an export, invoked by its Step Functions execution (infra/constructs/job-workflow.ts) until completed. */
export interface ExportStep {
  org_id: string;
  export_id: string;
}

/** Lambda allows 15 minutes: no new day is started after 10, so the last day's Athena query has time to finish. */
const STEP_BUDGET_MS = 10 * 60_000;

export const handler = withPseudonymKey('exporter', async (step: ExportStep) => {
  const outcome = await runExport(defaultExportWorkerDependencies(), step.org_id, step.export_id, Date.now() + STEP_BUDGET_MS);
  return stepAnswer({ org_id: step.org_id, export_id: step.export_id }, outcome);
});
