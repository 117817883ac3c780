import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createIntegratorPorts, defaultDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { integrateMarkedOrgs } from '../shared/domain/proof-log.js';
import { LOG_INTEGRATOR_CONCURRENCY, LOG_MAX_LEAVES_PER_RUN } from '../shared/definitions/scale.js';
import { maskError } from '../shared/domain/masking.js';

const CONCURRENCY = LOG_INTEGRATOR_CONCURRENCY;
const MAX_LEAVES = LOG_MAX_LEAVES_PER_RUN;
/** Kept back from the Lambda's time: no org is started after it, and each lease ends before the Lambda would. */
const STOP_BEFORE_END_MS = 60_000;

/**
 * Proof of record's integrator (contract section 14), every minute (an EventBridge schedule, reserved concurrency 1):
 * each org with queued leaves gets them appended to its log, and a signed checkpoint when one is due (every
 * CHECKPOINT_INTERVAL_SECONDS). One writer per org by a lease, so an overlapping run skips orgs it cannot lease.
 * A failed org is logged and alarmed (the function's errors) and stays marked for the next run. The seal key (from the
 * pseudonym secret) is read first: without it no queue item could be told from one put into the log table by hand.
 */
export const handler = withPseudonymKey('proofLog', async (_event: unknown, context: Context) => {
  const deps = defaultDependencies('proofLog');
  const endMs = Date.now() + context.getRemainingTimeInMillis();
  const results = await integrateMarkedOrgs(createIntegratorPorts(deps), {
    owner: `lambda-${randomUUID()}`, nowMs: () => Date.now(), leaseMs: Math.max(60_000, endMs - Date.now()),
    checkpointIntervalSeconds: deps.config.checkpointIntervalSeconds, maxLeaves: MAX_LEAVES, concurrency: CONCURRENCY, stopAtMs: endMs - STOP_BEFORE_END_MS,
  });
  const failed = results.filter((r) => r.error !== undefined);
  for (const { orgId, error } of failed) console.error(JSON.stringify({ level: 'ERROR', message: 'log integration failed', org_id: orgId, error: maskError(error) }));
  const summary = {
    orgs: results.length, failed: failed.length,
    appended: results.reduce((n, r) => n + (r.result?.status === 'done' ? r.result.appended : 0), 0),
    checkpoints: results.filter((r) => r.result?.status === 'done' && r.result.checkpoint).length,
    // Queue items without a valid seal (put into the log table by hand): never appended, and worth a look.
    refused: results.reduce((n, r) => n + (r.result?.status === 'done' ? r.result.refused : 0), 0),
  };
  if (summary.refused > 0) console.error(JSON.stringify({ level: 'ERROR', message: 'queue items without a valid seal refused (the log table written by hand?)', refused: summary.refused }));
  // A failure fails the invocation too: the errors alarm sees it (and no org is silently left behind).
  if (failed.length > 0) throw new Error(`log integration failed for ${failed.length} of ${results.length} orgs`);
  return summary;
});
