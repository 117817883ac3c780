import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { defaultLeadConduitPullDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { maskError } from '../shared/domain/masking.js';
import { pullScheduledOrgs } from '../shared/domain/leadconduit/pull.js';

/** Orgs pulled side by side in one run. */
const CONCURRENCY = 4;
/** No page starts in the run's last 90 s: a page's fetch (its retries bounded by the client) and its ingest fit in them. */
const STOP_BEFORE_END_MS = 90_000;
/** Whatever is under way is abandoned 10 s before Lambda's timeout (never stored halfway: its position stays), so each lease is released. */
const ABORT_BEFORE_END_MS = 10_000;

/**
 * The scheduled LeadConduit puller (contract section 12): EventBridge Scheduler invokes it every 5 minutes
 * (infra/constructs/leadconduit-pull.ts); it pulls each org that stored an API key, within the invocation's time, and
 * the next run continues what is left. An org's failure is its status's `last_error` (and a warning here), never
 * another org's.
 */
// withPseudonymKey: the seal of each event written (proof of record) is derived from the pseudonym secret.
export const handler = withPseudonymKey('leadconduitPull', async (_event: unknown, context: Context) => {
  const ports = defaultLeadConduitPullDependencies();
  const endMs = Date.now() + context.getRemainingTimeInMillis();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error('the run reached its time limit')), Math.max(0, endMs - ABORT_BEFORE_END_MS - Date.now()));
  try {
    const results = await pullScheduledOrgs(ports, {
      owner: `lambda-${randomUUID()}`, leaseMs: endMs - Date.now(), stopAtMs: endMs - STOP_BEFORE_END_MS, concurrency: CONCURRENCY, signal: stop.signal,
    });
    for (const result of results) {
      if (result.status === 'failed') console.warn(JSON.stringify({ level: 'WARN', message: 'leadconduit pull failed', org_id: result.orgId, error: maskError(result.error) }));
    }
    const by = (status: string) => results.filter((result) => result.status === status).length;
    return { orgs: results.length, done: by('done'), paused: by('paused'), busy: by('busy'), failed: by('failed'), skipped: by('skipped') };
  } finally {
    clearTimeout(timer);
  }
});
