import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { LeadConduitApiClient } from '../../shared/adapters/leadconduit-api-client.js';
import { MAX_RATE_LIMIT } from '../../shared/definitions/rate-limits.js';
import { indexShardsFor, SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import { mapWithConcurrency } from '../../shared/domain/concurrency.js';
import { ingestBatch } from '../../shared/domain/ingest.js';
import { processInboxObject } from '../../shared/domain/leadconduit/inbox.js';
import { mapLeadConduitEvent, redactCredentials } from '../../shared/domain/leadconduit/mapping.js';
import { PULL_INGEST_CHUNK, PULL_PAGE_LIMIT, pullLeadConduit } from '../../shared/domain/leadconduit/pull.js';
import { generateLeadConduitEvents, leadIdOf, startLeadConduitApi } from '../support/leadconduit-api.js';

/**
 * LeadConduit's ways in, locally (issue #23 point 7): events a second through
 * (a) the Event Streaming inbox: one file per event under `leadconduit/<org>/<lead id>/<event id>.json`, each taken by
 *     processInboxObject (read, parse, the LeadConduit ingest, moved to `_ingested/`, status marks) as `npm start`'s
 *     watcher does, 4 at a time (its concurrency);
 * (b) the pull: `pullLeadConduit` paging the local stand-in of LeadConduit's GET /events (1,000 a page over HTTP, each
 *     served event checked against LeadConduit's schema by the stand-in, as it always is) into the ingest in chunks of 100;
 * each as a ratio to (c) core ingest: `ingestBatch` (what POST /v1/events/batch runs) storing the very same events as
 * section 12 maps them (same items, same sizes, the same e-mail identity linked), in batches of 100 one after another,
 * on the same DynamoDB Local in the same run. After an uncounted warm-up, core is measured before and after the two
 * ways and its mean taken, so a machine slowing down during the run does not favour either. Each path has its own org, its rate limit and shard plan
 * raised (eventsPerSecondFor) as run.ts does, so what is measured is stored events, never a wait for the bucket.
 */
export interface LeadConduitBenchOptions {
  events?: number;
}

type Report = (line: string) => void;

async function benchOrg(deps: Dependencies, name: string): Promise<string> {
  const orgId = `org_bench_lc_${name}_${Date.now()}`;
  await deps.rateLimits.setLimits(orgId, { requests_per_second: MAX_RATE_LIMIT.requestsPerSecond, burst: MAX_RATE_LIMIT.burst });
  await deps.shardPlans.raise(orgId, indexShardsFor(MAX_RATE_LIMIT.requestsPerSecond), Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
  return orgId;
}

const perSecond = (count: number, ms: number) => (count / ms) * 1000;
const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export async function leadconduitBenchmark(report: Report, deps: Dependencies, options: LeadConduitBenchOptions = {}): Promise<{ inboxRatio: number; pullRatio: number }> {
  // The container is imported once the caller has set the environment (run.ts and section.ts import it late too).
  const { leadConduitInboxPorts, leadConduitPullPorts } = await import('../../shared/adapters/container.js');
  const count = options.events ?? Number(process.env.BENCH_LEADCONDUIT_EVENTS ?? 2000);
  report(`\n## LeadConduit (issue #23): ${count.toLocaleString()} events a path, local DynamoDB`);
  // Each path its own copy of the events (own LeadConduit ids and leads): nothing is a duplicate of another path's.
  const fresh = (n = count) => generateLeadConduitEvents(n, { startMs: Date.now() - n * 1000, stepMs: 1000, writers: 3 });

  // (c) core ingest of the same events as section 12 maps them.
  const core = async (label: string, n = count) => {
    const orgId = await benchOrg(deps, `core_${label}`);
    const inputs = fresh(n).map((object) => {
      const mapped = mapLeadConduitEvent(redactCredentials(object), orgId);
      if (!mapped.ok) throw new Error(`a generated event did not map: ${JSON.stringify(mapped.errors)}`);
      const [email] = mapped.value.identity.emails;
      return { ...mapped.value.input, ...(email ? { identity: { email } } : {}) };
    });
    const started = performance.now();
    let created = 0;
    for (const batch of chunks(inputs, 100)) {
      const results = await ingestBatch(deps.events, { events: batch }, { orgId, now: Date.now(), identities: deps.identities, identityRules: deps.identityRules, admission: deps.eventLimiter });
      created += results.filter((r) => r.status === 'created').length;
    }
    const ms = performance.now() - started;
    if (created !== n) throw new Error(`core ingest stored ${created} of ${n}`);
    return perSecond(n, ms);
  };

  // Warm-up, not counted: the first thousand writes of a run pay DynamoDB Local's JIT and the first rate-limit leases.
  await core('warmup', Math.min(count, 1000));
  const coreBefore = await core('before');

  // (a) the inbox: files written first (LeadConduit's writes, not timed), then taken as the watcher takes them.
  const inboxOrg = await benchOrg(deps, 'inbox');
  const root = mkdtempSync(join(tmpdir(), 'leadlog-bench-inbox-'));
  const keys: string[] = [];
  for (const event of fresh()) {
    const key = `leadconduit/${inboxOrg}/${leadIdOf(event)}/${event.id as string}.json`;
    await mkdir(join(root, 'leadconduit', inboxOrg, leadIdOf(event)!), { recursive: true });
    await writeFile(join(root, key), JSON.stringify(event));
    keys.push(key);
  }
  const inboxPorts = leadConduitInboxPorts(deps, new FileInboxObjects(root));
  let inboxStored = 0;
  const inboxStarted = performance.now();
  await mapWithConcurrency(keys, 4, async (key) => {
    const outcome = await processInboxObject(inboxPorts, key, Date.now());
    if (outcome.outcome === 'created') inboxStored++;
  });
  const inboxMs = performance.now() - inboxStarted;
  if (inboxStored !== count) throw new Error(`the inbox stored ${inboxStored} of ${count}`);
  const inbox = perSecond(count, inboxMs);

  // (b) the pull from the stand-in of LeadConduit's API.
  const pullOrg = await benchOrg(deps, 'pull');
  const standIn = await startLeadConduitApi();
  let pull: number;
  try {
    standIn.publish(fresh());
    const ports = { ...leadConduitPullPorts(deps), api: new LeadConduitApiClient({ baseUrl: standIn.url, apiKey: standIn.apiKey }) };
    const pullStarted = performance.now();
    const outcome = await pullLeadConduit(ports, { orgId: pullOrg, owner: randomUUID(), leaseMs: 300_000, pageLimit: PULL_PAGE_LIMIT });
    const pullMs = performance.now() - pullStarted;
    if (outcome.created !== count) throw new Error(`the pull stored ${outcome.created} of ${count} (${JSON.stringify(outcome)})`);
    pull = perSecond(count, pullMs);
  } finally {
    await standIn.close();
  }

  const coreAfter = await core('after');
  const coreMean = (coreBefore + coreAfter) / 2;
  const row = (name: string, rate: number) => `| ${name} | ${rate.toFixed(0)} | ${(rate / coreMean).toFixed(2)} |`;
  report('| path | events/s | ratio to core ingest |');
  report('|---|---|---|');
  report(`| core ingest (ingestBatch, batches of ${100}; before ${coreBefore.toFixed(0)}, after ${coreAfter.toFixed(0)}) | ${coreMean.toFixed(0)} | 1.00 |`);
  report(row('(a) inbox: files → processInboxObject → ingest, 4 at a time', inbox));
  report(row(`(b) pull: stand-in GET /events (pages of ${PULL_PAGE_LIMIT}) → pull → ingest in chunks of ${PULL_INGEST_CHUNK}`, pull));
  return { inboxRatio: inbox / coreMean, pullRatio: pull / coreMean };
}
