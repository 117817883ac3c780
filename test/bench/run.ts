/**
 * `npm run bench`: leadlog measured against baselines taken in the same run, on the same DynamoDB Local.
 * Prints ratios, never asserts: the figures go to docs/benchmarks.md with the command that made them.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE } from '../../infra/constructs/bundling.js';
import { ensureTables, startDynamoLocal } from '../../infra/local/dynamo.js';
import { invokeRoute, loadLambdaHandlers, toApiGatewayEvent } from '../../infra/local/http-server.js';
import { matchRoute } from '../../shared/http/routing.js';
import { localEnvironment } from '../../infra/local/settings.js';
import { AUTHORIZER_CACHE_SECONDS, HANDLER_NAMES } from '../../shared/definitions/routes.js';
import { MAX_RATE_LIMIT } from '../../shared/definitions/rate-limits.js';
import { indexShardsFor, SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import type { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signStripe, stripeCheckoutCompleted } from '../../infra/local/webhook-samples.js';
import { alertsBenchmark } from './alerts-bench.js';
import { shardingBenchmark } from './sharding-bench.js';
import { archiveBenchmarks } from './archive-bench.js';
import { archivePartitionsBenchmark } from './archive-partitions-bench.js';
import { exitWithUsageOnHelp, progress } from '../../infra/local/cli.js';
import { apiBody, costBenchmarks, meteredDocumentClient } from './cost-bench.js';
import { exportsBenchmarks } from './exports-bench.js';
import { reportsBenchmark } from './reports-bench.js';
import { leadconduitBenchmark } from './leadconduit-bench.js';
import { patternBenchmarks } from './pattern-bench.js';
import { maskingBenchmarks } from './masking-bench.js';
import { localRuntimeBenchmark } from './local-runtime-bench.js';
import { proofsBenchmark } from './proofs-bench.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import type { EventStore } from '../../shared/domain/ports.js';
import { parseJsonLossless } from '../../shared/domain/json.js';
import { UNSHARDED } from '../../shared/domain/shards.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** A 2 KB event: a purchase with a realistic snapshot. */
function twoKbEvent(i: number): Record<string, unknown> {
  const event = {
    lead_id: `lead_${i % 500}`,
    source_type: 'external',
    source: 'stripe',
    event_type: 'purchase_completed',
    external_event_id: `evt_${randomUUID()}`,
    occurred_at: new Date(Date.now() - 60_000).toISOString(),
    payload: { product_id: 'prod_1', product_name: 'Course', category: 'education', amount: 49.9, currency: 'USD', payment_method: 'card' },
    lead_snapshot: { email: 'ana@example.com', first_name: 'Ana', state: 'SP', notes: '' },
  };
  const size = Buffer.byteLength(JSON.stringify(event));
  (event.lead_snapshot as { notes: string }).notes = 'x'.repeat(Math.max(0, 2048 - size));
  return event;
}

async function runConcurrent(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number> {
  // A line on stderr every 5 s with the share of this step done and the time left (the report stays on stdout).
  const ticker = progress('bench step', count, { print: (line) => process.stderr.write(`${line}\n`) });
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      await task(next++);
      ticker.tick();
    }
  }));
  ticker.done();
  return count / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main(): Promise<void> {
  exitWithUsageOnHelp(`Usage: npm run bench   (environment: BENCH_CONCURRENCY=32 BENCH_EVENTS=3000 BENCH_ROUNDS=5
                        BENCH_ARCHIVE_EVENTS=100000 BENCH_QUERY_EVENTS=1000000 BENCH_SKIP_ARCHIVE=1 BENCH_SKIP_RUNTIME=1
                        BENCH_EXPORT_EVENTS=1000000 BENCH_REPLAY_EVENTS=100000 BENCH_SKIP_EXPORTS=1
                        BENCH_SKIP_PATTERNS=1 BENCH_SKIP_MASKING=1 BENCH_SKIP_ALERTS=1 BENCH_SKIP_PARTITIONS=1
                        BENCH_REPORT_EVENTS=1000000 BENCH_SKIP_REPORTS=1
                        BENCH_LEADCONDUIT_EVENTS=2000 BENCH_SKIP_LEADCONDUIT=1
                        BENCH_PROOF_LEAVES=1000000 BENCH_PROOF_ORGS=50 BENCH_PROOF_BIG=100000 BENCH_SKIP_PROOFS=1)

  Benchmarks against an in-memory DynamoDB Local and DuckDB, each figure a ratio to a baseline measured in the
  same run: ingest vs bare conditional PutItem, handler CPU, timeline reads, audit cost, webhooks, lossless JSON,
  cost per million events, bundle sizes, (unless BENCH_SKIP_ARCHIVE=1) the archive, and (unless
  BENCH_SKIP_EXPORTS=1) exports of 1,000,000 archived events and a replay of 100,000, (unless
  BENCH_SKIP_PATTERNS=1) pattern matching and (unless BENCH_SKIP_MASKING=1) PII masking over values of 10 KB to 1 MB and (unless BENCH_SKIP_REPORTS=1) every report over
  1,000,000 archived events of one org with Athena's bytes scanned per report, and (unless BENCH_SKIP_LEADCONDUIT=1)
  LeadConduit's inbox and pull paths as ratios to core ingest, and (unless BENCH_SKIP_PROOFS=1) proof of record's
  units and dollars per million events, proof latency at 1,000,000 leaves and checkpoint time per org. Prints as it goes;
  records nothing. Results and the commands that made them: docs/benchmarks.md.`);
  const dynamo = await startDynamoLocal();
  const tableNames = await ensureTables(dynamo.endpoint, 'leadlog-bench');
  Object.assign(process.env, localEnvironment(dynamo.endpoint, tableNames, mkdtempSync(join(tmpdir(), 'leadlog-bench-'))), {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Deployed functions keep webhook secrets for 60 s (npm start asks every time, for instant rotations).
    WEBHOOK_SECRET_CACHE_SECONDS: '60',
    SETTINGS_CACHE_SECONDS: '60',
  });
  const { configurePseudonymKey } = await import('../../shared/domain/masking.js');
  configurePseudonymKey(process.env.PSEUDONYM_SECRET!); // as npm start does, before anything is masked
  const { createDependencies } = await import('../../shared/adapters/container.js');
  const { createApiKey } = await import('../../shared/domain/api-keys.js');
  const { createIngestHandler } = await import('../../functions/ingest.js');
  const deps = createDependencies();
  const stack = await loadLambdaHandlers();
  const orgId = `org_bench_${Date.now()}`;
  const { key } = await createApiKey(deps.apiKeys, { orgId, scopes: ['events:write', 'events:read', 'pii:read'], now: Date.now() });
  // The CPU rounds post single events back to back in-process (1,500+ a second on a slow machine), above the default
  // per-org limit (1,000/s): the bench's org takes the highest limit an org may set, as a busy org would, so every
  // request measured is served, never a cheap 429. The limiter's own cost (a lease write per 1/20 s of rate) is measured.
  await deps.rateLimits.setLimits(orgId, { requests_per_second: MAX_RATE_LIMIT.requestsPerSecond, burst: MAX_RATE_LIMIT.burst });
  // Its events a second follow its shard plan (eventsPerSecondFor): planned for that rate before its first request
  // (writers at once: no instance has read its plan yet), so the bench measures stored events, not 429s.
  await deps.shardPlans.raise(orgId, indexShardsFor(MAX_RATE_LIMIT.requestsPerSecond), Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
  const lines: string[] = [];
  const report = (line: string) => {
    lines.push(line);
    console.log(line);
  };

  // Deployed, API Gateway caches the authorizer's answer (AUTHORIZER_CACHE_SECONDS): so does the stand-in here.
  const gateway = { ...stack, authorizerCacheSeconds: AUTHORIZER_CACHE_SECONDS };
  const post = (body: unknown, handlers = stack.handlers) => {
    const url = new URL('http://localhost/v1/events');
    const matched = matchRoute('POST', url.pathname)!;
    const event = toApiGatewayEvent({
      method: 'POST', url, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: Buffer.from(JSON.stringify(body)), route: matched.route, pathParameters: {}, requestId: randomUUID(),
    });
    return invokeRoute({ ...gateway, handlers }, event, matched.route);
  };

  // 1. Ingest: the full handler path (gateway stand-in, middleware, validation, one conditional PutItem) vs
  //    a bare conditional PutItem of the very item leadlog writes (same size, same index keys), at the same
  //    concurrency, alternating rounds.
  const bare = createDocumentClient({ endpoint: dynamo.endpoint });
  const bodies = Array.from({ length: EVENTS }, (_, i) => twoKbEvent(i));
  // Warm up both JITs (Node's and DynamoDB Local's JVM) and the sockets on both paths before measuring.
  await runConcurrent(2000, CONCURRENCY, async (i) => {
    await post(twoKbEvent(i));
    await bare.send(new PutCommand({ TableName: tableNames.events, Item: { pk: `warmup#${i}#${randomUUID()}`, body: 'x', expires_at: 0 }, ConditionExpression: 'attribute_not_exists(pk)' }));
  });
  const baseline: number[] = [];
  const leadlog: number[] = [];
  const store = deps.events as DynamoEventStore;
  for (let round = 0; round < ROUNDS; round++) {
    const items = await Promise.all(bodies.map(async (body) => {
      const input = validateEventInput({ ...body, external_event_id: `evt_${randomUUID()}` }, { now: Date.now() });
      if (!input.ok) throw new Error('invalid bench event');
      return store.toItem(buildEvent(input.value, { orgId, now: Date.now() }));
    }));
    baseline.push(await runConcurrent(EVENTS, CONCURRENCY, (i) =>
      bare.send(new PutCommand({ TableName: tableNames.events, Item: items[i], ConditionExpression: 'attribute_not_exists(pk)' })),
    ));
    const fresh = bodies.map((b) => ({ ...b, external_event_id: `evt_${randomUUID()}` }));
    leadlog.push(await runConcurrent(EVENTS, CONCURRENCY, async (i) => {
      const result = await post(fresh[i]);
      if (result.statusCode !== 201) throw new Error(`ingest answered ${result.statusCode}: ${result.body}`);
    }));
  }
  report(`## Ingest throughput (2 KB events, concurrency ${CONCURRENCY}, ${EVENTS} events x ${ROUNDS} rounds, median)`);
  report(`bare conditional PutItem: ${median(baseline).toFixed(0)} events/s`);
  report(`leadlog ingest handler:   ${median(leadlog).toFixed(0)} events/s`);
  report(`ratio: ${(median(leadlog) / median(baseline)).toFixed(2)} (target >= 0.80)`);

  // 2. Handler CPU per event with the store stubbed: what leadlog itself costs.
  const stubStore: EventStore = {
    put: async () => ({ status: 'created' }),
    get: async () => undefined,
    getRaw: async () => undefined,
    query: async () => ({ items: [], positions: [] }),
    shardPlan: async () => UNSHARDED,
    erasable: async () => ({ items: [] }),
    remove: async () => undefined,
    records: async () => [],
    scanRecords: async function* () {},
  };
  const stubbed = { ...stack.handlers, ingest: createIngestHandler({ ...deps, events: stubStore }) as never };
  // The baseline: a handler that only parses the body and answers 201, through the same gateway stand-in. The
  // absolute figure moves ~3x between machines of one kind; the ratio, measured in alternating rounds, does not.
  const parseAndAnswer = {
    ...stack.handlers,
    ingest: (async (event: { body?: string }) => {
      JSON.parse(event.body ?? '{}');
      return { statusCode: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: randomUUID() }) };
    }) as never,
  };
  const cpuRounds = 5;
  const perRound = 4_000;
  const ingestCpu = async (handlers: typeof stubbed) => {
    const start = process.cpuUsage();
    for (let i = 0; i < perRound; i++) await post(bodies[i % bodies.length], handlers);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / perRound;
  };
  for (let i = 0; i < 2000; i++) await post(bodies[i % bodies.length], i % 2 ? stubbed : parseAndAnswer);
  const leadlogCpu: number[] = [];
  const bareCpu: number[] = [];
  for (let round = 0; round < cpuRounds; round++) {
    bareCpu.push(await ingestCpu(parseAndAnswer));
    leadlogCpu.push(await ingestCpu(stubbed));
  }
  report(`\n## Ingest handler CPU per 2 KB event, store stubbed (${cpuRounds} x ${perRound} events each, alternating; gateway event building included)`);
  report(`baseline (parse the body, answer 201): ${median(bareCpu).toFixed(1)} us/event`);
  report(`leadlog ingest handler:                ${median(leadlogCpu).toFixed(1)} us/event`);
  report(`ratio: ${(median(leadlogCpu) / median(bareCpu)).toFixed(2)} x the baseline`);

  // 3. Timeline page latency for a lead with 1,000 events.
  const lead = `lead_timeline_${Date.now()}`;
  await runConcurrent(1000, 16, (i) => post({ ...twoKbEvent(i), lead_id: lead, occurred_at: new Date(Date.now() - 3_600_000 + i * 1000).toISOString() }));
  const get = async (path: string) => {
    const url = new URL(`http://localhost${path}`);
    const matched = matchRoute('GET', url.pathname)!;
    const event = toApiGatewayEvent({ method: 'GET', url, headers: { authorization: `Bearer ${key}` }, body: Buffer.alloc(0), route: matched.route, pathParameters: matched.pathParameters, requestId: randomUUID() });
    const started = performance.now();
    const result = await invokeRoute(gateway, event, matched.route);
    if (result.statusCode !== 200) throw new Error(`timeline answered ${result.statusCode}`);
    return { ms: performance.now() - started, body: JSON.parse(result.body as string) };
  };
  const firstPage: number[] = [];
  const bigPage: number[] = [];
  const walk: number[] = [];
  for (let run = 0; run < 30; run++) {
    firstPage.push((await get(`/v1/leads/${lead}/events?limit=100`)).ms);
    bigPage.push((await get(`/v1/leads/${lead}/events?limit=1000`)).ms);
    let cursor: string | null = null;
    const started = performance.now();
    let items = 0;
    do {
      const page: { body: { items: unknown[]; next_cursor: string | null } } = await get(`/v1/leads/${lead}/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      items += page.body.items.length;
      cursor = page.body.next_cursor;
    } while (cursor);
    if (items !== 1000) throw new Error(`walked ${items} events, expected 1000`);
    walk.push(performance.now() - started);
  }
  report(`\n## Timeline reads, lead with 1,000 events of 2 KB (30 runs)`);
  report(`first page, limit=100:  p50 ${median(firstPage).toFixed(1)} ms, p95 ${percentile(firstPage, 0.95).toFixed(1)} ms`);
  report(`one page, limit=1000:   p50 ${median(bigPage).toFixed(1)} ms, p95 ${percentile(bigPage, 0.95).toFixed(1)} ms`);
  report(`all 10 pages of 100:    p50 ${median(walk).toFixed(1)} ms`);

  // 3b. The audit record's cost: a read with pii:read is audited (one PutItem before the answer), a masked read is
  //     not. The difference should be about one PutItem, measured here on its own, sequentially.
  const reader = (await createApiKey(deps.apiKeys, { orgId, scopes: ['events:read'], now: Date.now() })).key;
  const timed = async (apiKey: string) => {
    const url = new URL(`http://localhost/v1/leads/${lead}/events?limit=10`);
    const matched = matchRoute('GET', url.pathname)!;
    const event = toApiGatewayEvent({ method: 'GET', url, headers: { authorization: `Bearer ${apiKey}` }, body: Buffer.alloc(0), route: matched.route, pathParameters: matched.pathParameters, requestId: randomUUID() });
    const started = performance.now();
    if ((await invokeRoute(gateway, event, matched.route)).statusCode !== 200) throw new Error('read failed');
    return performance.now() - started;
  };
  const audited: number[] = [];
  const masked: number[] = [];
  const puts: number[] = [];
  for (let i = 0; i < 300; i++) {
    audited.push(await timed(key));
    masked.push(await timed(reader));
    const started = performance.now();
    await bare.send(new PutCommand({ TableName: tableNames.control, Item: { pk: `bench#${randomUUID()}`, sk: 'x', at: new Date().toISOString() }, ConditionExpression: 'attribute_not_exists(pk)' }));
    puts.push(performance.now() - started);
  }
  report(`\n## Audit record cost: a timeline page of 10 (300 sequential reads each)`);
  report(`masked read (not audited):        p50 ${median(masked).toFixed(2)} ms`);
  report(`read with pii:read (audited):     p50 ${median(audited).toFixed(2)} ms`);
  report(`difference: ${(median(audited) - median(masked)).toFixed(2)} ms; one PutItem alone: p50 ${median(puts).toFixed(2)} ms`);

  // 4. Webhooks: signed Stripe deliveries through the webhook handler (verify, parse, map, resolve the lead,
  //    one conditional write) vs the core ingest path, same concurrency, same run, alternating rounds.
  const stripeSecret = 'whsec_bench_secret';
  await setWebhookSecret(deps.webhookSecrets, { orgId, provider: 'stripe', secret: stripeSecret, nowIso: new Date().toISOString() });
  const deliverStripe = (delivery: { body: string; headers: Record<string, string> }) => {
    const url = new URL(`http://localhost/v1/webhooks/stripe/${orgId}`);
    const matched = matchRoute('POST', url.pathname)!;
    const event = toApiGatewayEvent({ method: 'POST', url, headers: delivery.headers, body: Buffer.from(delivery.body), route: matched.route, pathParameters: matched.pathParameters, requestId: randomUUID() });
    return invokeRoute(gateway, event, matched.route);
  };
  const signed = (person: { email: string; phone: string }) => {
    const body = JSON.stringify(stripeCheckoutCompleted(person));
    return { body, headers: signStripe(body, stripeSecret) };
  };
  const returning = Array.from({ length: 100 }, (_, i) => ({ email: `buyer${i}@example.com`, phone: `+55119${String(10_000_000 + i)}` }));
  for (const person of returning) await deliverStripe(signed(person)); // first sight for the pool
  const webhookFirstSight: number[] = [];
  const webhookReturning: number[] = [];
  const ingestAgain: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fresh = bodies.map((b) => ({ ...b, external_event_id: `evt_${randomUUID()}` }));
    ingestAgain.push(await runConcurrent(EVENTS, CONCURRENCY, async (i) => {
      if ((await post(fresh[i])).statusCode !== 201) throw new Error('ingest failed');
    }));
    const newPeople = Array.from({ length: EVENTS }, (_, i) => signed({ email: `new${round}.${i}.${Date.now()}@example.com`, phone: `+1415${String(1_000_000 + round * EVENTS + i)}` }));
    webhookFirstSight.push(await runConcurrent(EVENTS, CONCURRENCY, async (i) => {
      const result = await deliverStripe(newPeople[i]!);
      if (result.statusCode !== 200) throw new Error(`webhook answered ${result.statusCode}: ${result.body}`);
    }));
    const repeat = Array.from({ length: EVENTS }, (_, i) => signed(returning[i % returning.length]!));
    webhookReturning.push(await runConcurrent(EVENTS, CONCURRENCY, async (i) => {
      const result = await deliverStripe(repeat[i]!);
      if (result.statusCode !== 200) throw new Error(`webhook answered ${result.statusCode}: ${result.body}`);
    }));
  }
  report(`\n## Signed Stripe deliveries vs core ingest (concurrency ${CONCURRENCY}, ${EVENTS} x ${ROUNDS} rounds, median)`);
  report(`core ingest path:                          ${median(ingestAgain).toFixed(0)} events/s`);
  report(`webhook, returning customers (known ids):  ${median(webhookReturning).toFixed(0)} deliveries/s, ratio ${(median(webhookReturning) / median(ingestAgain)).toFixed(2)} (target >= 0.70)`);
  report(`webhook, first sight (new lead: one link transaction: 3 identity claims, their items, the profile): ${median(webhookFirstSight).toFixed(0)} deliveries/s, ratio ${(median(webhookFirstSight) / median(ingestAgain)).toFixed(2)}`);

  // 4b. First sight with merges: each person arrives e-mail only, then phone only (two leads), then with both (a merge:
  //     one transaction and a lead.merged event besides the delivery). The rate counts all three deliveries.
  const merging: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const people = Array.from({ length: EVENTS / 3 }, (_, i) => ({ email: `merge${round}.${i}.${Date.now()}@example.com`, phone: `+1628${String(1_000_000 + round * EVENTS + i).slice(-7)}` }));
    const partial = (person: { email: string; phone: string }, keep: 'email' | 'phone' | 'both') => {
      const event = stripeCheckoutCompleted(person);
      const details = event.data.object.customer_details as Record<string, unknown>;
      if (keep === 'email') delete details.phone;
      if (keep === 'phone') delete details.email;
      (event.data.object as Record<string, unknown>).customer = null;
      const body = JSON.stringify(event);
      return { body, headers: signStripe(body, stripeSecret) };
    };
    const started = performance.now();
    for (const keep of ['email', 'phone', 'both'] as const) {
      const deliveries = people.map((person) => partial(person, keep));
      await runConcurrent(deliveries.length, CONCURRENCY, async (i) => {
        const result = await deliverStripe(deliveries[i]!);
        if (result.statusCode !== 200) throw new Error(`webhook answered ${result.statusCode}: ${result.body}`);
      });
    }
    merging.push((people.length * 3) / ((performance.now() - started) / 1000));
  }
  report(`webhook, first sight with merges (e-mail only, phone only, then both): ${median(merging).toFixed(0)} deliveries/s, ratio ${(median(merging) / median(ingestAgain)).toFixed(2)}`);

  // 4c. Lossless JSON: the CPU of parsing a 2 KB body keeping every number's digits vs plain JSON.parse.
  const plainText = JSON.stringify(bodies[0]);
  const bigText = plainText.replace('"amount":49.9', '"amount":49.9,"order_id":828758318460506337');
  const cpuOf = (parse: (text: string) => unknown, text: string) => {
    for (let i = 0; i < 5_000; i++) parse(text);
    const start = process.cpuUsage();
    for (let i = 0; i < 50_000; i++) parse(text);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 50_000;
  };
  const plainCost = cpuOf(JSON.parse, plainText);
  report(`\n## Lossless JSON parsing, ${Buffer.byteLength(plainText)}-byte body (50,000 parses)`);
  report(`JSON.parse:                                  ${plainCost.toFixed(2)} us`);
  report(`parseJsonLossless, no long numbers:          ${cpuOf(parseJsonLossless, plainText).toFixed(2)} us, ratio ${(cpuOf(parseJsonLossless, plainText) / plainCost).toFixed(2)}`);
  report(`parseJsonLossless, an 18-digit id (reviver): ${cpuOf(parseJsonLossless, bigText).toFixed(2)} us, ratio ${(cpuOf(parseJsonLossless, bigText) / cpuOf(JSON.parse, bigText)).toFixed(2)}`);

  // 5. Bundle sizes, bundled exactly as CDK bundles them.
  // 5. Cost per million events: the real handlers over a DynamoDB client that records consumed capacity.
  const { loadConfig } = await import('../../shared/config.js');
  const { createWebhookHandler } = await import('../../functions/webhooks.js');
  const metered = meteredDocumentClient(dynamo.endpoint);
  const meteredDeps = createDependencies(loadConfig(), { documents: metered.client });
  const meteredHandlers = { ...stack.handlers, ingest: createIngestHandler(meteredDeps) as never, webhooks: createWebhookHandler(meteredDeps) as never };
  const invoke = (method: 'POST', path: string, body: string, headers: Record<string, string>) => {
    const url = new URL(`http://localhost${path}`);
    const matched = matchRoute(method, url.pathname)!;
    const event = toApiGatewayEvent({ method, url, headers, body: Buffer.from(body), route: matched.route, pathParameters: matched.pathParameters, requestId: randomUUID() });
    return invokeRoute({ ...gateway, handlers: meteredHandlers }, event, matched.route);
  };
  const apiHeaders = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  // The alerts over a filling hour first: the cost section prices their units at a full window.
  const alertUnits = process.env.BENCH_SKIP_ALERTS !== '1' ? await alertsBenchmark(report, dynamo.endpoint, tableNames.control!) : undefined;
  await costBenchmarks(report, {
    ...(alertUnits ? { alerts: alertUnits } : {}),
    endpoint: dynamo.endpoint, eventsTableName: tableNames.events!, orgId, usage: metered.usage, resetUsage: metered.reset,
    send: async (kind, mode, count) => {
      const times: number[] = [];
      const timed = async (call: () => Promise<{ statusCode?: number; body?: unknown }>, expected: number) => {
        const started = performance.now();
        const result = await call();
        times.push(performance.now() - started);
        if (result.statusCode !== expected) throw new Error(`cost bench: ${kind} answered ${result.statusCode}: ${String(result.body).slice(0, 200)}`);
      };
      if (kind === 'webhook') {
        for (let i = 0; i < count; i++) {
          const delivery = signed(returning[i % returning.length]!);
          await timed(() => invoke('POST', `/v1/webhooks/stripe/${orgId}`, delivery.body, delivery.headers), 200);
        }
      } else if (mode === 'single') {
        for (let i = 0; i < count; i++) await timed(() => invoke('POST', '/v1/events', JSON.stringify(apiBody(kind, i)), apiHeaders), 201);
      } else {
        for (let i = 0; i < count; i += 10) {
          const events = Array.from({ length: 10 }, (_, j) => apiBody(kind, i + j));
          await timed(() => invoke('POST', '/v1/events/batch', JSON.stringify({ events }), apiHeaders), 200);
        }
      }
      return { requests: times.length, msPerRequest: median(times) };
    },
  });

  // 6. The local runtime: npm start itself against bare PutItem on its own disk-backed DynamoDB Local.
  if (process.env.BENCH_SKIP_RUNTIME !== '1') await localRuntimeBenchmark(report, (i) => apiBody('purchase', i), { events: 600, concurrency: CONCURRENCY });

  report(`\n## Function bundles (minified, ESM, AWS SDK from the runtime; target <= 500 KB each)`);
  for (const name of [...HANDLER_NAMES, 'authorizer', 'fanout']) {
    const result = await build({
      entryPoints: [join('functions', `${name}.ts`)], bundle: true, platform: 'node', format: 'esm', write: false,
      target: BUNDLE.target, minify: BUNDLE.minify, mainFields: [...BUNDLE.mainFields], external: [...BUNDLE.externalModules],
      banner: { js: BUNDLE.banner }, logLevel: 'error',
    });
    report(`${name.padEnd(10)} ${(result.outputFiles[0]!.contents.length / 1024).toFixed(1)} KB`);
  }

  if (process.env.BENCH_SKIP_SHARDS !== '1') await shardingBenchmark(report, deps.events, deps.shardPlans);
  if (process.env.BENCH_SKIP_PATTERNS !== '1') patternBenchmarks(report);
  if (process.env.BENCH_SKIP_MASKING !== '1') maskingBenchmarks(report);
  if (process.env.BENCH_SKIP_ARCHIVE !== '1') await archiveBenchmarks(report);
  if (process.env.BENCH_SKIP_PARTITIONS !== '1') await archivePartitionsBenchmark(report);
  if (process.env.BENCH_SKIP_EXPORTS !== '1') await exportsBenchmarks(report, deps, createDocumentClient({ endpoint: dynamo.endpoint }), orgId);
  if (process.env.BENCH_SKIP_REPORTS !== '1') await reportsBenchmark(report);
  if (process.env.BENCH_SKIP_LEADCONDUIT !== '1') await leadconduitBenchmark(report, deps);
  if (process.env.BENCH_SKIP_PROOFS !== '1') await proofsBenchmark(report, dynamo.endpoint);

  bare.destroy();
  await dynamo.stop();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
