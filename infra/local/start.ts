import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SCOPES } from '../../shared/definitions/routes.js';
import { eventRules } from '../../shared/definitions/event-rules.js';
import { authenticateApiKey, createApiKey } from '../../shared/domain/api-keys.js';
import { ORG_ID_PATTERN } from '../../shared/domain/keys.js';
import { configurePseudonymsFrom, createDependencies, createIntegratorPorts, createErasureDependencies, createFanoutDependencies, leadConduitInboxPorts } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { LeadConduitInboxWatcher } from './leadconduit-inbox-watcher.js';
import { loadConfig } from '../../shared/config.js';
import { generateSecret } from '../../shared/domain/webhooks/secrets.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { createLocalApi, loadLambdaHandlers } from './http-server.js';
import { LocalBus } from './local-bus.js';
import { LocalArchive } from './local-archive.js';
import { ErasureRunner, ExportRunner, ReplayRunner } from './job-runner.js';
import { StreamPoller } from './stream-poller.js';
import { loadSubscriberRules, SubscriberRulesError, type SubscriberRule } from './subscriber-rules.js';
import { DATA_DIR, clearRuntimeInfo, runningRuntime, startLocalDynamo, writeRuntimeInfo } from './runtime.js';
import { acquireInstanceLock, checkJava, checkPortFree, PreflightError } from './preflight.js';
import { exitWithUsageOnHelp } from './cli.js';
import { fillProcessEnvironment, localEnvironment, localSettings } from './settings.js';
import { buildConsole } from '../console-bundle.js';
import { LocalExporter } from './local-exporter.js';
import { LocalReportEngine } from './local-report-engine.js';
import { LocalArchivedEvents } from './local-archived-events.js';
import { LocalCheckpointArchive } from './local-checkpoint-archive.js';
import { LocalCheckpointSigner } from './local-checkpoint-signer.js';
import { integrateMarkedOrgs } from '../../shared/domain/proof-log.js';
import { LOG_MAX_LEAVES_PER_RUN } from '../../shared/definitions/scale.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { announceExportReady } from '../../shared/domain/exports.js';
import { runDueSchedules } from '../../shared/domain/export-schedules.js';
import { maskFreeText, maskId } from '../../shared/domain/masking.js';

/**
 * `npm start`: the whole shape on one machine. DynamoDB Local with data under .data/, the tables from the
 * shared definitions, the HTTP API on PORT calling the real handlers, and a dev org with a full-scope key.
 */
async function main(): Promise<void> {
  exitWithUsageOnHelp(`Usage: npm start

  Runs leadlog on this machine: DynamoDB Local (data in .data/), the HTTP API, the stream fan-out with the local
  bus and Parquet archive, and the erasure runner; prints the URL, a dev org, its API key and webhook secrets.
  Ctrl-C (or SIGTERM) stops everything. Environment: PORT (3000), HOST (127.0.0.1), LEADLOG_DATA_DIR (.data),
  DEV_ORG_ID, DYNAMODB_PORT, LEADLOG_ALERTS_URL, LEADLOG_QUIET=1, STRIPE_WEBHOOK_SECRET, SHOPIFY_WEBHOOK_SECRET,
  TYPEFORM_WEBHOOK_SECRET, HOTMART_HOTTOK. Your own bus rules: leadlog.rules.json (LEADLOG_RULES_FILE).`);
  const started = performance.now();
  const { port, host } = localSettings;
  // One instance per data folder, Java, a free port: checked before anything starts (one line and exit 1 if not).
  let releaseLock: () => void;
  try {
    await mkdir(DATA_DIR, { recursive: true });
    releaseLock = acquireInstanceLock(DATA_DIR, () => {
      const info = runningRuntime();
      return info?.url ? `serving ${info.url}` : undefined;
    });
    checkJava();
    await checkPortFree(host, port);
  } catch (error) {
    if (!(error instanceof PreflightError)) throw error;
    console.error(`leadlog: ${error.message}`);
    process.exit(1);
  }
  // Subscribers' own rules, judged as EventBridge judges them, before anything starts.
  let subscriberRules: SubscriberRule[];
  try {
    subscriberRules = loadSubscriberRules(localSettings.rulesFile);
  } catch (error) {
    if (!(error instanceof SubscriberRulesError)) throw error;
    console.error(`leadlog: ${error.message}`);
    process.exit(1);
  }
  const { dynamo, tableNames } = await startLocalDynamo();
  let server: Server | undefined;
  let poller: StreamPoller | undefined;
  let archive: LocalArchive | undefined;
  let erasures: ErasureRunner | undefined;
  let exports: ExportRunner | undefined;
  let scheduleClock: NodeJS.Timeout | undefined;
  let proofClock: NodeJS.Timeout | undefined;
  let replays: ReplayRunner | undefined;
  let leadConduitInbox: LeadConduitInboxWatcher | undefined;
  let stopping = false;
  // Every step of stopping runs whatever the one before did (a step that fails is reported, never a crash), so
  // DynamoDB Local is always stopped, the lock released and the exit code kept: no state of a shared loop
  // (a bad buffer, a failing job) can orphan a process or block the next start.
  const step = async (name: string, run: () => Promise<unknown> | unknown) => {
    try {
      await run();
    } catch (error) {
      console.error(`leadlog: stopping ${name}: ${(error as Error).message}`);
    }
  };
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nleadlog: stopping…');
    await step('the API', async () => {
      if (!server) return;
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
      server.closeAllConnections();
      await closing;
    });
    await step('erasures', () => erasures?.stop()); // a job mid-way resumes on the next start
    await step('the LeadConduit inbox', () => leadConduitInbox?.stop()); // a file mid-way is taken again on the next start
    if (scheduleClock) clearInterval(scheduleClock);
    if (proofClock) clearInterval(proofClock);
    await step('exports', () => exports?.stop());
    await step('replays', () => replays?.stop());
    await step('the stream poller', async () => {
      if (!poller) return;
      await poller.stop();
      await poller.drain(); // what was accepted reaches the bus and the archive before we stop
    });
    await step('the archive', () => archive?.stop()); // nothing accepted is missing from the Parquet archive after a clean stop
    await step('DynamoDB Local', () => dynamo.stop());
    await step('the runtime files', () => clearRuntimeInfo());
    await step('the instance lock', () => releaseLock());
    console.log('leadlog: stopped.');
    process.exit(code);
  };
  stopAfterFailedStart = stop;
  // From a terminal (Ctrl-C: SIGINT), a process manager or a script (SIGTERM), a closed terminal (SIGHUP).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
  dynamo.process.once('exit', () => {
    if (!stopping) {
      console.error('leadlog: DynamoDB Local exited unexpectedly');
      void stop(1);
    }
  });

  fillProcessEnvironment(localEnvironment(dynamo.endpoint, tableNames));
  const config = loadConfig();
  // Every function here shares this process: the pseudonym key (maskId) is set once, before anything is masked.
  await configurePseudonymsFrom(config);
  const deps = createDependencies(config);
  const { orgId, apiKey } = await ensureDevOrg(deps);
  const secrets = await ensureDevWebhookSecrets(deps, orgId);
  // The console's files, built fresh from console/src into the data folder the console function serves (CONSOLE_DIR).
  await buildConsole(config.consoleDir!);
  // A replay older than the hot store reads the local archive back (DuckDB): the functions find it here.
  localStandIns.archivedEvents = new LocalArchivedEvents(join(DATA_DIR, 'archive'));
  localStandIns.reports = new LocalReportEngine(join(DATA_DIR, 'archive'));
  // Proof of record: checkpoints signed with a P-256 key under .data/ and kept write-once in .data/checkpoints/.
  localStandIns.checkpointSigner = new LocalCheckpointSigner(config.proofKeyFile!);
  localStandIns.checkpointArchive = new LocalCheckpointArchive(config.checkpointArchiveDir!);
  const { handlers, authorizer } = await loadLambdaHandlers();
  // The stream → fan-out → bus path, as in AWS: DynamoDB Local's stream, the same handler, the same rule patterns.
  // A row the archive cannot encode is quarantined on its own (.data/archive/errors/) and alarmed here: one error
  // line, masked, with the count since start; `npm run archive -- redeliver --local` re-feeds it.
  archive = new LocalArchive({
    dir: join(DATA_DIR, 'archive'),
    onQuarantine: (row) => console.error(maskFreeText(
      `leadlog: ALARM archive quarantined event ${row.id ?? '?'} of org ${row.orgId ?? '?'} (${archive!.quarantined} since start): ${row.reason}; in ${row.object}; re-feed with npm run archive -- redeliver --local`,
    )),
  });
  await archive.start();
  const bus = new LocalBus({
    alertsFile: join(DATA_DIR, 'alerts.jsonl'), print: true, region: localSettings.region, ...(localSettings.alertsUrl ? { postUrl: localSettings.alertsUrl } : {}),
    subscriberRules, subscriberDir: join(DATA_DIR, 'rules'),
  });
  // The same fan-out factory and container as the deployed function, with the local bus and archive as its sinks.
  const fanout = createFanoutHandler(createFanoutDependencies(config, { bus, archive }));
  // Up to 1,000 records a call (the most GetRecords returns): under load, fewer reads compete with the API's writes.
  // A record that fails 10 times in a row goes to .data/stream-dead-letters.jsonl, as the mapping's SQS DLQ in AWS.
  poller = new StreamPoller({
    endpoint: dynamo.endpoint, tableName: tableNames.events!, handler: fanout, checkpointFile: join(DATA_DIR, 'stream-checkpoint.json'), batchSize: 1000,
    deadLetterFile: join(DATA_DIR, 'stream-dead-letters.jsonl'),
  });
  poller.start();
  // Erasures (DELETE /v1/leads/{id}): the Step Functions workflow's job, run here; interrupted ones resume. The
  // family's LeadConduit inbox files go too (the watcher's folder below, .data/inbox).
  const exportsEngine = new LocalExporter({ archiveDir: join(DATA_DIR, 'archive'), exportDir: config.exportDir! });
  erasures = new ErasureRunner(createErasureDependencies(config, { bus, archive, exports: exportsEngine, inbox: new FileInboxObjects(join(DATA_DIR, 'inbox')) }), {
    onError: (error) => console.error(`leadlog: erasure step failed (retried): ${maskFreeText(error.message)}`),
  });
  erasures.start();
  // Exports (POST /v1/exports): the export workflow's job, run here over the local archive into .data/files.
  exports = new ExportRunner({ store: deps.exports.store, engine: exportsEngine, announce: announceExportReady(bus) }, {
    onError: (error) => console.error(`leadlog: export step failed (retried): ${maskFreeText(error.message)}`),
  });
  exports.start();
  // Replays (POST /v1/replays): the replay workflow's job, run here onto the local bus.
  replays = new ReplayRunner({ events: deps.events, archive: localStandIns.archivedEvents, replays: deps.replays.store, bus, maskOptions: deps.maskOptions, nowMs: Date.now }, {
    onError: (error) => console.error(`leadlog: replay step failed (retried): ${maskFreeText(error.message)}`),
  });
  replays.start();
  // LeadConduit's Event Streaming inbox (section 12): S3 → SQS → the inbox function in AWS, this watcher here, over
  // .data/inbox/leadconduit/<org_id>/ with the same keys; the dev org's folder is made so there is somewhere to drop files.
  const inboxRoot = join(DATA_DIR, 'inbox');
  await mkdir(join(inboxRoot, 'leadconduit', orgId), { recursive: true });
  leadConduitInbox = new LeadConduitInboxWatcher({
    root: inboxRoot,
    ports: leadConduitInboxPorts(deps, new FileInboxObjects(inboxRoot)),
    onOutcome: (key, outcome) => {
      if (outcome.outcome === 'rejected') console.error(maskFreeText(`leadlog: LeadConduit inbox: ${key} set aside (${outcome.reason}); see _rejected/ in its org's folder`));
      else if (!localSettings.quiet && outcome.outcome !== 'gone') console.log(`leadlog: LeadConduit inbox: ${key} ${outcome.outcome}`);
    },
    onError: (key, error) => console.error(`leadlog: LeadConduit inbox: ${key} not taken yet (retried): ${maskFreeText(error.message)}`),
  });
  leadConduitInbox.start();
  // Scheduled exports: EventBridge Scheduler's tick in AWS, this clock here (every 30 s; a run is claimed once).
  scheduleClock = setInterval(() => {
    runDueSchedules({ schedules: deps.exports.schedules, exports: deps.exports }, Date.now(), config.exportSettleSeconds * 1000)
      .then((tick) => tick.failed.forEach((f) => console.error(`leadlog: scheduled export ${f.scheduleId} could not start (retried): ${f.error.name}`)))
      .catch((error: Error) => console.error(`leadlog: scheduled exports: ${maskFreeText(error.message)}`));
  }, 30_000);
  scheduleClock.unref();
  // Proof of record's integrator: the scheduled function's run (every minute in AWS), here every checkpoint interval.
  const integratorPorts = createIntegratorPorts(deps);
  let integrating = false;
  proofClock = setInterval(() => {
    if (integrating) return;
    integrating = true;
    integrateMarkedOrgs(integratorPorts, {
      owner: `local-${process.pid}`, nowMs: Date.now, leaseMs: 10 * 60_000, checkpointIntervalSeconds: config.checkpointIntervalSeconds, maxLeaves: LOG_MAX_LEAVES_PER_RUN, concurrency: 4,
    })
      .then((results) => results.forEach((r) => {
        if (r.error !== undefined) console.error(`leadlog: ALARM log integration of org ${r.orgId} failed (retried): ${maskFreeText(r.error instanceof Error ? r.error.message : String(r.error))}`);
        if (r.result?.status === 'done' && r.result.refused > 0) console.error(`leadlog: ALARM ${r.result.refused} queue items of org ${r.orgId} refused: their seal does not verify (the log table written by hand?)`);
      }))
      .catch((error: Error) => console.error(`leadlog: log integration: ${maskFreeText(error.message)}`))
      .finally(() => { integrating = false; });
  }, Math.min(10, config.checkpointIntervalSeconds) * 1000);
  proofClock.unref();
  const quiet = localSettings.quiet;
  server = createLocalApi({
    handlers,
    authorizer,
    files: { dir: config.exportDir!, secret: config.exportUrlSecret! },
    // The log holds no unmasked value: a lead id in a path may be an e-mail (each segment masked as an id).
    onRequest: quiet ? undefined : ({ method, path, status, ms }) => console.log(`${method} ${path.split('/').map(maskId).join('/')} ${status} ${ms.toFixed(1)}ms`),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, host, resolve);
    });
  } catch (error) {
    // Taken between the preflight check and now: the same one line, and everything started so far stopped.
    console.error(`leadlog: port ${port} on ${host} is already in use (${(error as NodeJS.ErrnoException).code}): pick another port, e.g. PORT=${port + 1} npm start.`);
    server = undefined;
    return void stop(1);
  }
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  await writeRuntimeInfo({ pid: process.pid, dynamoEndpoint: dynamo.endpoint, url });
  console.log(
    [
      '',
      `leadlog is running (started in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      `  console:   ${url}/console/   (sign in with the API key below)`,
      `  API:       ${url}   (health: ${url}/v1/health; description: ${url}/v1/openapi.json)`,
      `  alerts:    printed here and appended to .data/alerts.jsonl (rules: ${eventRules.map((r) => r.id).join(', ')})`,
      `  your rules: ${subscriberRules.length > 0 ? `${subscriberRules.map((r) => r.name).join(', ')} from ${localSettings.rulesFile} → .data/rules/<name>.jsonl` : 'none (add leadlog.rules.json: {"<rule name>": <event pattern>})'}`,
      `  archive:   .data/archive/events/org_id=…/dt=…/*.parquet (npm run athena -- "SELECT …" or --query <name> --org <id>)`,
      `  LeadConduit: drop Event Streaming files into ${relative(process.cwd(), join(inboxRoot, 'leadconduit', orgId)) || '.'}/<lead id>/<event id>.json (ingested within 5 s)`,
      `  proofs:    each org's log checkpointed every ${config.checkpointIntervalSeconds} s (key .data/proof-signing-key.pem, checkpoints .data/checkpoints/); npm run verify -- --org ${orgId}`,
      `  DynamoDB:  ${dynamo.endpoint}   (tables ${Object.values(tableNames).join(', ')}; data in ${join(DATA_DIR, 'dynamodb')})`,
      `  dev org:   ${orgId}   (.data/dev-org-id)`,
      `  API key:   ${apiKey}   (.data/dev-api-key; scopes ${SCOPES.join(', ')})`,
      '  webhooks:  (secrets in .data/webhook-secrets.json; send a signed sample with npm run webhook:sample -- <provider>)',
      ...PROVIDERS.map((p) => `    ${p.padEnd(9)} ${url}/v1/webhooks/${p}/${orgId}   secret ${secrets[p]}`),
      '',
      `  export LEADLOG_URL=${url}`,
      `  curl -si "$LEADLOG_URL/v1/events" -H "Authorization: Bearer $(cat .data/dev-api-key)" -H 'content-type: application/json' \\`,
      `    -d '{"lead_id":"lead_1","source_type":"direct","source":"web","event_type":"product_viewed","payload":{"product_id":"p1","product_name":"Course","category":"education"}}'`,
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

/** The dev org (DEV_ORG_ID, else the one from .data/dev-org-id, else a new one) and a working full-scope key for it. */
async function ensureDevOrg(deps: ReturnType<typeof createDependencies>): Promise<{ orgId: string; apiKey: string }> {
  const orgFile = join(DATA_DIR, 'dev-org-id');
  const keyFile = join(DATA_DIR, 'dev-api-key');
  const orgId = localSettings.devOrgId || (existsSync(orgFile) ? (await readFile(orgFile, 'utf8')).trim() : `org_dev_${randomBytes(4).toString('hex')}`);
  if (!ORG_ID_PATTERN.test(orgId)) throw new Error(`DEV_ORG_ID must match ${ORG_ID_PATTERN}`);
  await writeFile(orgFile, `${orgId}\n`);
  if (existsSync(keyFile)) {
    const existing = (await readFile(keyFile, 'utf8')).trim();
    const record = await authenticateApiKey(deps.apiKeys, existing);
    if (record && record.orgId === orgId && SCOPES.every((s) => record.scopes.includes(s))) return { orgId, apiKey: existing };
  }
  const { key } = await createApiKey(deps.apiKeys, { orgId, scopes: [...SCOPES], label: 'dev (npm start)', now: Date.now() });
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  return { orgId, apiKey: key };
}

/** The dev org's webhook secret per provider: from the env var if set, else the stored one, else a new one. */
async function ensureDevWebhookSecrets(deps: ReturnType<typeof createDependencies>, orgId: string): Promise<Record<Provider, string>> {
  const secrets = {} as Record<Provider, string>;
  const nowIso = new Date().toISOString();
  for (const provider of PROVIDERS) {
    const fromEnv = localSettings.webhookSecrets[provider];
    const stored = await deps.webhookSecrets.get(orgId, provider);
    const secret = fromEnv || stored[0] || generateSecret(provider);
    if (stored[0] !== secret) await deps.webhookSecrets.put(orgId, provider, [secret], nowIso);
    secrets[provider] = secret;
  }
  await writeFile(join(DATA_DIR, 'webhook-secrets.json'), `${JSON.stringify({ org_id: orgId, ...secrets }, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** Set once DynamoDB Local runs: a start that fails after that stops what it started (never an orphaned Java). */
let stopAfterFailedStart: ((code: number) => Promise<void>) | undefined;

main().catch(async (error) => {
  console.error('leadlog: failed to start:', error);
  if (stopAfterFailedStart) await stopAfterFailedStart(1);
  process.exit(1);
});
