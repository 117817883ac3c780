/**
 * Local throughput (issue #13): the real `npm start` (disk-backed DynamoDB Local, stream poller, fan-out, alerts,
 * local bus and Parquet archive all running) against bare conditional PutItems of the same 2 KB item on the very
 * same DynamoDB Local (a scratch table with the same keys and indexes), in one run; then how far the archive falls
 * behind at that rate, and latency percentiles at half of it.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArchiveSql } from '../../infra/local/athena.js';
import { ensureTables, freePort } from '../../infra/local/dynamo.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { startRuntime, stopRuntime } from '../support/runtime.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { fixedShardPlans } from '../../shared/domain/shards.js';
import { DynamoShardPlanStore } from '../../shared/adapters/dynamo-shard-plan-store.js';
import { LOCAL_TABLE_PREFIX } from '../../infra/local/runtime.js';
import { controlTable, physicalTableName } from '../../shared/definitions/tables.js';
import { MAX_RATE_LIMIT } from '../../shared/definitions/rate-limits.js';
import { indexShardsFor, SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';

/** Rounds of each, alternating: DynamoDB Local's disk makes single rounds vary by a third on these machines. */
const ROUNDS = 5;

export async function localRuntimeBenchmark(report: (line: string) => void, body: (i: number) => Record<string, unknown>, options: { events: number; concurrency: number }): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-bench-runtime-'));
  const port = await freePort();
  const { child, ready } = startRuntime(dataDir, port, { DEV_ORG_ID: 'org_bench_runtime', POWERTOOLS_LOG_LEVEL: 'WARN' });
  await ready;
  try {
    const runtime = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { url: string; dynamoEndpoint: string };
    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    const documents = createDocumentClient({ endpoint: runtime.dynamoEndpoint });
    // The dev org's events a second follow its shard plan: planned for the bench's rate before its first request
    // (writers at once: the runtime has not read its plan yet), so the rounds measure stored events, not 429s.
    await new DynamoShardPlanStore(documents, physicalTableName(LOCAL_TABLE_PREFIX, controlTable))
      .raise('org_bench_runtime', indexShardsFor(MAX_RATE_LIMIT.requestsPerSecond), Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
    const scratch = await ensureTables(runtime.dynamoEndpoint, 'bench-bare');
    const store = new DynamoEventStore(documents, scratch.events!, { put: async () => undefined } as never, fixedShardPlans());
    const concurrently = async (count: number, task: (i: number) => Promise<void>) => {
      let next = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: options.concurrency }, async () => {
        while (next < count) await task(next++);
      }));
      return count / ((performance.now() - started) / 1000);
    };
    const bareItem = async (i: number) => {
      const validation = validateEventInput({ ...body(i), external_event_id: `bare_${randomUUID()}` }, { now: Date.now(), requireLeadId: true });
      if (!validation.ok) throw new Error('invalid bench event');
      return store.toItem(buildEvent(validation.value, { orgId: 'org_bench_bare', now: Date.now() }));
    };
    const acked = new Map<string, number>();
    // A plain keep-alive HTTP client: the load generator shares the 2 cores with what it measures, and undici's
    // fetch spends more CPU per request than http.request (a real client is on another machine).
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
    const target = new URL('/v1/events', runtime.url);
    const post = (i: number) => new Promise<void>((resolve, reject) => {
      const payload = JSON.stringify({ ...body(i), external_event_id: `rt_${randomUUID()}` });
      const req = request(target, {
        method: 'POST', agent,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 201) return reject(new Error(`npm start answered ${res.statusCode}`));
          acked.set((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: { id: string } }).event.id, Date.now());
          resolve();
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
    // Alternate rounds of each, after a warm-up of both.
    await concurrently(200, async (i) => void (await documents.send(new PutCommand({ TableName: scratch.events!, Item: await bareItem(i), ConditionExpression: 'attribute_not_exists(pk)' }))));
    await concurrently(200, post);
    const bare: number[] = [];
    const leadlog: number[] = [];
    // The archive's lag, sampled while the load runs: the oldest acknowledged event not in the archive yet.
    let worstLag = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await new Promise((r) => setTimeout(r, 1000));
        const { rows } = await runArchiveSql(join(dataDir, 'archive'), "SELECT id FROM events_raw WHERE org_id = 'org_bench_runtime'", [], { includeBuffered: true });
        const archived = new Set(rows.map((r) => r.id as string));
        const now = Date.now();
        for (const [id, at] of acked) if (!archived.has(id)) worstLag = Math.max(worstLag, now - at);
      }
    })();
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await concurrently(options.events, async (i) => void (await documents.send(new PutCommand({ TableName: scratch.events!, Item: await bareItem(i), ConditionExpression: 'attribute_not_exists(pk)' })))));
      leadlog.push(await concurrently(options.events, post));
    }
    sampling = false;
    await sampler;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // Latency at half the measured rate, open loop for 15 s.
    const rate = median(leadlog) / 2;
    const latencies: number[] = [];
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < rate * 15; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = performance.now();
      inFlight.push(post(i).then(() => void latencies.push(performance.now() - sent)));
    }
    await Promise.all(inFlight);
    const pct = (p: number) => [...latencies].sort((a, b) => a - b)[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
    report(`\n## Local runtime: npm start (disk-backed DynamoDB Local, poller, fan-out, alerts, archive) vs bare PutItem on that DynamoDB Local (concurrency ${options.concurrency}, ${options.events} x ${ROUNDS} rounds alternating, median)`);
    report(`bare conditional PutItem: ${median(bare).toFixed(0)} events/s`);
    // Each round against the bare round just before it, so drift in the disk's speed cancels out.
    const ratios = leadlog.map((rate, i) => rate / bare[i]!);
    report(`npm start, POST /v1/events: ${median(leadlog).toFixed(0)} events/s, ratio ${median(ratios).toFixed(2)} (median of ${ROUNDS} paired rounds, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= 0.80)`);
    report(`archive lag at that rate: worst ${(worstLag / 1000).toFixed(1)} s behind (target <= 5 s)`);
    report(`latency at half that rate (${rate.toFixed(0)}/s for 15 s): p50 ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms (target p99 < 250 ms)`);
  } finally {
    await stopRuntime(child);
  }
}
