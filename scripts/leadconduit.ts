import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createSecretsManagerClient } from '../shared/adapters/aws-clients.js';
import { createDependencies, leadConduitPullPorts } from '../shared/adapters/container.js';
import { leadConduitKeySecretName } from '../shared/definitions/leadconduit-pull.js';
import { LEADCONDUIT_DEFAULT_URL, LeadConduitApiClient } from '../shared/adapters/leadconduit-api-client.js';
import { secretsManagerSecret } from '../shared/adapters/secrets.js';
import { loadConfig } from '../shared/config.js';
import { controlTable, eventsTable, logTable, physicalTableName } from '../shared/definitions/tables.js';
import { ORG_ID_PATTERN } from '../shared/domain/keys.js';
import { LEADCONDUIT_ID_PATTERN, pullLeadConduit, refusedKey, type PullOutcome } from '../shared/domain/leadconduit/pull.js';
import { exitWithUsageOnHelp, progress } from '../infra/local/cli.js';
import { forgetJavaPid, LOCAL_TABLE_PREFIX, runningRuntime, startLocalDynamo } from '../infra/local/runtime.js';
import { localEnvironment, localSettings } from '../infra/local/settings.js';

/**
 * `npm run leadconduit -- pull --org <id> [--since <iso> | --after-id <id>]` (contract section 12): pages LeadConduit's
 * GET /events into leadlog for one org, from the org's kept position (resumable), showing progress. Targets the running
 * `npm start` (else .data/ directly, as `npm run keys` does), or the deployed tables with --aws.
 */
const USAGE = `Usage: npm run leadconduit -- pull --org <id> [--since <ISO date-time> | --after-id <LeadConduit event id>] [--aws [--table <control table>]]

  Pulls LeadConduit's events (GET /events, sort=asc, after_id paging) into leadlog for one org, in chunks of 100
  through the same ingest as POST /v1/integrations/leadconduit/events. Each run starts 10 minutes before the org's
  kept position (LeadConduit's ids are only roughly ordered by time; what is read again is a duplicate and stored
  once); the position moves only after a page is stored, so an interrupted pull resumes where it stopped.
  --since / --after-id override the kept position for this run (a first pull without either reads the last 90 days).

  LEADCONDUIT_API_KEY   the org's LeadConduit API key (required locally; with --aws, else the key stored by
                        npm run keys -- leadconduit --org <id> --api-key <key> --aws)
  LEADCONDUIT_URL       LeadConduit's API (default ${LEADCONDUIT_DEFAULT_URL})

Target: the running npm start's tables (LEADLOG_DATA_DIR, default .data), else .data/ directly;
  --aws [--table <control table>]   the deployed tables (EVENTS_TABLE_NAME, CONTROL_TABLE_NAME and RAW_PAYLOAD_BUCKET
                                    from the environment, see the stack's outputs; AWS credentials from the environment)
Exit: 0 done; 1 refused key, LeadConduit unavailable, another pull of the org running; 130 interrupted (re-run resumes).`;

function fail(message: string): never {
  console.error(`leadconduit: ${message}\n\n${USAGE}`);
  process.exit(2);
}

exitWithUsageOnHelp(USAGE);
const [command, ...rest] = process.argv.slice(2);
if (command !== 'pull') fail(command ? `unknown command '${command}'` : 'a command is required');
const { values } = parseArgs({
  args: rest,
  options: { org: { type: 'string' }, since: { type: 'string' }, 'after-id': { type: 'string' }, aws: { type: 'boolean', default: false }, table: { type: 'string' } },
  strict: true,
});
const org = values.org;
if (!org || !ORG_ID_PATTERN.test(org)) fail(`pull needs --org matching ${ORG_ID_PATTERN}`);
if (values.since !== undefined && values['after-id'] !== undefined) fail('give --since or --after-id, not both');
const sinceMs = values.since === undefined ? undefined : /^\d{4}-\d{2}-\d{2}(T|$)/.test(values.since) ? Date.parse(values.since) : Number.NaN;
if (sinceMs !== undefined && (Number.isNaN(sinceMs) || sinceMs > Date.now())) fail('--since must be an ISO date-time, not in the future');
const afterId = values['after-id'];
if (afterId !== undefined && !LEADCONDUIT_ID_PATTERN.test(afterId)) fail('--after-id must be a LeadConduit event id (24 hex digits)');
const baseUrl = process.env.LEADCONDUIT_URL?.trim() || LEADCONDUIT_DEFAULT_URL;
if (!/^https?:\/\/\S+$/.test(baseUrl)) fail('LEADCONDUIT_URL must be an http(s) URL');

/** The tables to pull into: the deployed ones, the environment's (DYNAMODB_ENDPOINT set: a test's), the running npm start's, or .data/ directly. */
async function withConfig<T>(work: (config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  if (values.aws) {
    const env = { ...process.env, ...(values.table ? { CONTROL_TABLE_NAME: values.table } : {}) };
    return work(loadConfig('leadconduitPull', env));
  }
  if (process.env.DYNAMODB_ENDPOINT) return work(loadConfig('leadconduitPull'));
  const tableNames = { events: physicalTableName(LOCAL_TABLE_PREFIX, eventsTable), control: physicalTableName(LOCAL_TABLE_PREFIX, controlTable), log: physicalTableName(LOCAL_TABLE_PREFIX, logTable) };
  const running = runningRuntime();
  if (running) return work(loadConfig('leadconduitPull', localEnvironment(running.dynamoEndpoint, tableNames, localSettings.dataDir)));
  const { dynamo } = await startLocalDynamo();
  try {
    return await work(loadConfig('leadconduitPull', localEnvironment(dynamo.endpoint, tableNames, localSettings.dataDir)));
  } finally {
    await dynamo.stop();
    await forgetJavaPid();
  }
}

async function apiKeyFor(config: ReturnType<typeof loadConfig>): Promise<string> {
  const given = process.env.LEADCONDUIT_API_KEY?.trim();
  if (given) return given;
  if (!values.aws) {
    console.error('leadconduit: LEADCONDUIT_API_KEY is not set (the org\'s LeadConduit API key)');
    process.exit(1);
  }
  return (await secretsManagerSecret(createSecretsManagerClient({ region: config.region }), leadConduitKeySecretName(org!))()).trim();
}

const aborted = new AbortController();
process.once('SIGINT', () => aborted.abort(new Error('interrupted')));
process.once('SIGTERM', () => aborted.abort(new Error('interrupted')));

const outcome: PullOutcome = await withConfig(async (config) => {
  const api = new LeadConduitApiClient({ baseUrl, apiKey: await apiKeyFor(config) });
  const ports = { ...leadConduitPullPorts(createDependencies(config)), api };
  let shown: ReturnType<typeof progress> | undefined;
  let covered = 0;
  return pullLeadConduit(ports, {
    orgId: org!, owner: `cli-${randomUUID()}`, leaseMs: 5 * 60_000, signal: aborted.signal,
    ...(sinceMs !== undefined ? { sinceMs } : {}), ...(afterId !== undefined ? { afterId } : {}),
    onPage(p) {
      // Progress over LeadConduit's time span from where the run started to now (the total count is unknown ahead).
      shown ??= progress('leadconduit pull: minutes of LeadConduit time read', Math.max(1, Math.ceil((Date.now() - p.fromMs) / 60_000)), {
        print: (line) => console.log(`${line}; ${p.created} created, ${p.duplicate} duplicate, ${p.invalid} invalid so far`),
      });
      const minutes = Math.max(0, Math.floor((p.coveredToMs - p.fromMs) / 60_000));
      shown.tick(Math.max(0, minutes - covered));
      covered = Math.max(covered, minutes);
    },
  });
}).catch((error: unknown) => {
  console.error(`leadconduit: ${(error as Error).message}`);
  process.exit(1);
});

const summary = `${outcome.pages} page(s): ${outcome.created} created, ${outcome.duplicate} duplicate, ${outcome.invalid} invalid`;
const resume = values.since !== undefined || afterId !== undefined ? 'Run it again without --since/--after-id to resume from there.' : 'Run the same command again to resume from there.';
const where = outcome.afterId ? `after id ${outcome.afterId}` : 'before the first page';
if (outcome.status === 'done') {
  console.log(`leadconduit: org ${org} pulled, ${summary}; position ${where}`);
  process.exit(0);
}
if (outcome.status === 'busy') {
  console.error(`leadconduit: another pull of org ${org} is running (it holds the org's lease); try again when it ends`);
  process.exit(1);
}
if (refusedKey(outcome)) {
  console.error(`leadconduit: ${(outcome.error as Error).message}`);
  process.exit(1);
}
if (aborted.signal.aborted) {
  console.error(`leadconduit: interrupted after ${summary}; stopped ${where}. ${resume}`);
  process.exit(130);
}
console.error(`leadconduit: stopped after ${summary}, ${where}: ${(outcome.error as Error)?.message ?? outcome.status}. ${resume}`);
process.exit(1);
