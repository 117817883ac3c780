/**
 * Proof of record's cost and speed (issue #25 point 7), on DynamoDB Local, against baselines taken in the same run:
 *  1. the DynamoDB units (and dollars) the log adds per event: the stream path's queue puts and marks, the integrator's
 *     reads and writes, the checkpoints (two items, the head, a KMS Sign, an S3 PUT), by running the real code at each
 *     scenario's per-run sizes and counting what DynamoDB (Local) reports it consumed (ReturnConsumedCapacity), with
 *     DynamoDB's minimums where Local reports less; against the events table's own write units per event;
 *  2. proof latency at 1,000,000 leaves (tiles written directly), against one GetItem of an event item;
 *  3. the integrator's time per org (integrate + sign + archive) and its leaves per second on one large org.
 * Prints, never asserts. Figures: docs/benchmarks.md, "Proof of record (issue #25)".
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTables } from '../../infra/local/dynamo.js';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { LocalCheckpointSigner } from '../../infra/local/local-checkpoint-signer.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { FileBlobStore } from '../../shared/adapters/blob-stores.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { DynamoProofLogStore } from '../../shared/adapters/dynamo-proof-log.js';
import { DynamoShardPlanStore } from '../../shared/adapters/dynamo-shard-plan-store.js';
import { encodeEventItem } from '../../shared/adapters/event-item.js';
import { eventsTable } from '../../shared/definitions/tables.js';
import { indexShardsFor } from '../../shared/definitions/scale.js';
import { buildEvent, validateEventInput, type EventInput, type LeadEvent } from '../../shared/domain/event.js';
import { shardOf } from '../../shared/domain/keys.js';
import { appendLeaves, leafHashOf, rootHash, verifyConsistency, verifyInclusion, type Hash, type SubtreeHashReader } from '../../shared/domain/merkle.js';
import { consistencyOf, integrateMarkedOrgs, proofOfEvent, queueLeaves, type IntegratorPorts, type LoggableRecord, type ProofLogStore } from '../../shared/domain/proof-log.js';
import { configureSealKey, hasSealKey, hashFromBase64, hashToBase64, leafRecordOf, recordOf, sealOf, signCheckpoint, type Checkpoint, type CheckpointArchive, type CheckpointSigner } from '../../shared/domain/proofs.js';
import { hashFromTiles, partialTilesOf, tileKey, tilesAfterAppend, TILE_WIDTH, type Tile } from '../../shared/domain/tiles.js';
import { apiBody, itemBytes, meteredDocumentClient } from './cost-bench.js';
import { LOG_INTEGRATOR_CONCURRENCY, LOG_MAX_LEAVES_PER_RUN } from '../../shared/definitions/scale.js';

const prices = JSON.parse(readFileSync(join(import.meta.dirname, 'aws-prices.json'), 'utf8')) as Record<string, number>;
const percentile = (values: readonly number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;
/** As functions/proofLog.ts: leaves per org and run (the rest wait for the next minute), orgs at once. */
const MAX_LEAVES_PER_RUN = LOG_MAX_LEAVES_PER_RUN;
const MINUTE = 60_000;

// ── Pure helpers (test/unit/proofs-bench.test.ts) ──────────────────────────────────────────────────────────────────

/** What the log's items are, by their partition key's prefix (shared/domain/keys.ts logKeys). */
export type LogItemKind = 'queue' | 'mark' | 'head' | 'tile' | 'leaf' | 'checkpoint' | 'other';

export function logItemKindOf(pk: unknown): LogItemKind {
  if (typeof pk !== 'string') return 'other';
  const prefix = /^(LOGQ|LOGMARK|LOGHEAD|LOGTILE|LOGLEAF|LOGCPT|LOGCP)#/.exec(pk)?.[1];
  switch (prefix) {
    case 'LOGQ': return 'queue';
    case 'LOGMARK': return 'mark';
    case 'LOGHEAD': return 'head';
    case 'LOGTILE': return 'tile';
    case 'LOGLEAF': return 'leaf';
    case 'LOGCP': case 'LOGCPT': return 'checkpoint';
    default: return 'other';
  }
}

export interface CommandUnits { kind: LogItemKind; read: number; write: number; items: number }

/**
 * The units one DynamoDB call consumed, billed as DynamoDB bills them: what DynamoDB (Local) reported, raised to
 * DynamoDB's minimums where Local reports less (it reports 0 for a missing key in a BatchGetItem and for an empty
 * Query; DynamoDB charges a key or a query that finds nothing like a read of one small item: 1 unit strongly
 * consistent, 0.5 eventually; developer guide, "DynamoDB read and write operations"), and a write refused by its
 * condition as one unit (DynamoDB charges it; Local's error carries no ConsumedCapacity; the log's conditional
 * writes all touch items under 1 KB). Kind: the first key's partition key prefix (the log's calls touch one kind each).
 */
export function unitsOfCall(command: string, input: Record<string, any>, output: Record<string, any> | undefined, failed = false): CommandUnits {
  const reported = [output?.ConsumedCapacity].flat().reduce((sum: number, c: any) => sum + Number(c?.CapacityUnits ?? 0), 0);
  const name = command.replace(/Command$/, '');
  if (name === 'BatchGetItem') {
    const [request] = Object.values((input.RequestItems ?? {}) as Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }>);
    const asked = request?.Keys.length ?? 0;
    const found = Object.values((output?.Responses ?? {}) as Record<string, unknown[]>).reduce((n, items) => n + items.length, 0);
    const unprocessed = Object.values((output?.UnprocessedKeys ?? {}) as Record<string, { Keys: unknown[] }>).reduce((n, r) => n + r.Keys.length, 0);
    const missing = Math.max(0, asked - found - unprocessed);
    return { kind: logItemKindOf(request?.Keys[0]?.pk), read: reported + missing * (request?.ConsistentRead ? 1 : 0.5), write: 0, items: asked - unprocessed };
  }
  if (name === 'BatchWriteItem') {
    const [requests] = Object.values((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Record<string, unknown> }; DeleteRequest?: { Key: Record<string, unknown> } }[]>);
    const first = requests?.[0];
    return { kind: logItemKindOf(first?.PutRequest?.Item.pk ?? first?.DeleteRequest?.Key.pk), read: 0, write: reported, items: requests?.length ?? 0 };
  }
  if (name === 'Query' || name === 'Scan') {
    const floor = input.ConsistentRead ? 1 : 0.5;
    return { kind: logItemKindOf(input.ExpressionAttributeValues?.[':pk']), read: Math.max(reported, floor), write: 0, items: Number(output?.Count ?? 0) };
  }
  if (name === 'GetItem') return { kind: logItemKindOf(input.Key?.pk), read: Math.max(reported, input.ConsistentRead ? 1 : 0.5), write: 0, items: 1 };
  if (/^(PutItem|UpdateItem|DeleteItem)$/.test(name)) {
    return { kind: logItemKindOf(input.Item?.pk ?? input.Key?.pk), read: 0, write: failed ? Math.max(reported, 1) : reported, items: 1 };
  }
  return { kind: 'other', read: reported, write: 0, items: 0 };
}

/** Which part of the log's work a call belongs to (set by `phased`). */
export type Phase = 'stream' | 'integrate' | 'checkpoint' | 'read';

/** Units by item kind and by phase, and calls by DynamoDB operation. */
export class UnitMeter {
  phase: Phase = 'read';
  units = new Map<LogItemKind, { read: number; write: number }>();
  phases = new Map<Phase, { read: number; write: number }>();
  calls = new Map<string, { calls: number; items: number }>();

  add(command: string, units: CommandUnits): void {
    for (const [map, key] of [[this.units, units.kind], [this.phases, this.phase]] as [Map<string, { read: number; write: number }>, string][]) {
      const u = map.get(key) ?? { read: 0, write: 0 };
      u.read += units.read;
      u.write += units.write;
      map.set(key, u);
    }
    const name = command.replace(/Command$/, '');
    const c = this.calls.get(name) ?? { calls: 0, items: 0 };
    c.calls += 1;
    c.items += units.items;
    this.calls.set(name, c);
  }

  total(): { read: number; write: number } {
    let read = 0;
    let write = 0;
    for (const u of this.units.values()) {
      read += u.read;
      write += u.write;
    }
    return { read, write };
  }

  of(phase: Phase): { read: number; write: number } {
    return { ...(this.phases.get(phase) ?? { read: 0, write: 0 }) };
  }

  reset(): void {
    this.units.clear();
    this.phases.clear();
    this.calls.clear();
  }
}

/**
 * The store with each call's phase set on the meter, for an integrator run one org at a time: the stream path's
 * enqueue; the integrator's lease, queue, leaf and tile reads, writes, commit, dequeue, release and head; the
 * checkpoint's work, which is everything between the dequeue and the release (the last checkpoint, the consistency
 * proof's tile reads, the two checkpoint items and the head's checkpoint fields) and clearing the org's mark.
 */
export function phased(store: ProofLogStore, meter: UnitMeter): ProofLogStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        meter.phase = property === 'enqueue' ? 'stream'
          : property === 'latestCheckpoint' || property === 'recordCheckpoint' || property === 'clearMark' ? 'checkpoint' : 'integrate';
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property === 'dequeue') return (result as Promise<void>).then(() => { meter.phase = 'checkpoint'; });
        return result;
      };
    },
  });
}

export interface ScenarioMeasure {
  /** Stream path units per event (queue puts, marks at this scenario's events of an org per stream batch). */
  stream: { read: number; write: number };
  /** One integrator run of one org: fixed units + units per leaf (a linear fit over two measured runs, or one run's total / n with fixed 0). */
  run: { fixed: { read: number; write: number }; perLeaf: { read: number; write: number } };
  /** One checkpoint of one org (the calls of its run from the dequeue on, and clearing its mark). */
  checkpoint: { read: number; write: number };
}

/**
 * Units per event of a scenario: each org's events per minute go through one integrator run (at most MAX_LEAVES_PER_RUN
 * of them: above that an org falls behind), each five minutes' through one checkpoint (one KMS Sign, one S3 PUT).
 */
export function perEvent(measure: ScenarioMeasure, eventsPerSecondPerOrg: number, checkpointSeconds = 300): { read: number; write: number; signs: number; puts: number; behind: boolean } {
  const perRun = eventsPerSecondPerOrg * 60;
  const n = Math.min(perRun, MAX_LEAVES_PER_RUN);
  const perCheckpoint = eventsPerSecondPerOrg * checkpointSeconds;
  const run = (k: 'read' | 'write') => measure.run.fixed[k] / n + measure.run.perLeaf[k];
  return {
    read: measure.stream.read + run('read') + measure.checkpoint.read / perCheckpoint,
    write: measure.stream.write + run('write') + measure.checkpoint.write / perCheckpoint,
    signs: 1 / perCheckpoint,
    puts: 1 / perCheckpoint,
    behind: perRun > MAX_LEAVES_PER_RUN,
  };
}

/** Dollars per million events of units and requests (on-demand, Standard table class: the log table's). */
export function dollarsPerMillion(u: { read: number; write: number; signs: number; puts: number }): { dynamo: number; kms: number; s3: number; total: number } {
  const dynamo = u.read * prices.dynamoOnDemandPerMillionReadUnits! + u.write * prices.dynamoOnDemandPerMillionWriteUnits!;
  const kms = u.signs * 1e6 * (prices.kmsAsymmetricPer10kRequests! / 10_000);
  const s3 = u.puts * 1e6 * (prices.s3PutPer1kRequests! / 1000);
  return { dynamo, kms, s3, total: dynamo + kms + s3 };
}

// ── Wiring ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** A document client that meters every call into `meter` (asking for ReturnConsumedCapacity TOTAL). */
function meteredClient(endpoint: string, meter: UnitMeter) {
  const client = createDocumentClient({ endpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const input = args.input as Record<string, any>;
      input.ReturnConsumedCapacity = 'TOTAL';
      try {
        const result = await next(args);
        meter.add(command, unitsOfCall(command, input, result.output as Record<string, any>));
        return result;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') meter.add(command, unitsOfCall(command, input, undefined, true));
        throw error;
      }
    },
    { step: 'initialize', name: 'proofsBenchMeter' },
  );
  return client;
}

/** Counts signatures and archive puts: a KMS Sign and an S3 PUT each in AWS. */
function counted(signer: CheckpointSigner, archive: CheckpointArchive) {
  const counts = { signs: 0, puts: 0, ms: 0 };
  return {
    counts,
    signer: { keyId: () => signer.keyId(), publicKeyPem: () => signer.publicKeyPem(), sign: async (m: Uint8Array) => { const t = performance.now(); counts.signs++; try { return await signer.sign(m); } finally { counts.ms += performance.now() - t; } } } satisfies CheckpointSigner,
    archive: {
      put: async (c: Checkpoint) => { const t = performance.now(); counts.puts++; try { await archive.put(c); } finally { counts.ms += performance.now() - t; } },
      // The integrator's check against the archive (one LIST + one GET per checkpoint in S3), timed with the signing.
      latestAbove: async (orgId: string, size: number) => { const t = performance.now(); try { return await archive.latestAbove(orgId, size); } finally { counts.ms += performance.now() - t; } },
    } satisfies CheckpointArchive,
  };
}

/** Sealed records of new events of an org (as the stream path decodes them), received `atMs` on. */
function sealedRecords(input: EventInput, orgId: string, count: number, atMs: number, shards: number): LoggableRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const { event } = buildEvent({ ...input, external_event_id: `evt_${randomUUID()}` }, { orgId, now: atMs + i });
    const { contentHash } = recordOf(event, undefined);
    const seal = sealOf(leafRecordOf(event, contentHash));
    if (!seal) throw new Error('proofs bench: no seal key');
    return { event, proof: { contentHash, seal, expiresAt: Math.floor(Date.parse(event.expires_at) / 1000), shard: shardOf(event.id, shards) } };
  });
}

function domainInput(): EventInput {
  const validated = validateEventInput(apiBody('domain', 1), { now: Date.now() });
  if (!validated.ok) throw new Error('proofs bench: invalid event');
  return validated.value;
}

const fmt = (u: { read: number; write: number }) => `${u.read.toFixed(3)} read + ${u.write.toFixed(3)} write`;

export async function proofsBenchmark(report: (line: string) => void, endpoint: string): Promise<void> {
  if (!hasSealKey()) configureSealKey('leadlog-bench-seal-secret-0123456789abcdef');
  const dir = mkdtempSync(join(tmpdir(), 'leadlog-proofs-bench-'));
  const local = { signer: new LocalCheckpointSigner(join(dir, 'proof-signing-key.pem')), archive: new LocalCheckpointArchive(join(dir, 'archive')) };
  await costOfTheLog(report, endpoint, local);
  await proofLatency(report, endpoint, local);
  await checkpointTime(report, endpoint, local);
}

// ── 1. Units and dollars per million events ───────────────────────────────────────────────────────────────────────

async function costOfTheLog(report: (line: string) => void, endpoint: string, local: { signer: CheckpointSigner; archive: CheckpointArchive }): Promise<void> {
  const names = await ensureTables(endpoint, 'proofs-cost');
  // The baseline: the events table's write units per event (base item and indexes), as the cost section measures them.
  const events = meteredDocumentClient(endpoint);
  const plans = new DynamoShardPlanStore(createDocumentClient({ endpoint }), names.control!);
  const store = new DynamoEventStore(events.client, names.events!, new FileBlobStore(mkdtempSync(join(tmpdir(), 'leadlog-proofs-blobs-'))), plans);
  const BASELINE_EVENTS = 200;
  for (let i = 0; i < BASELINE_EVENTS; i++) {
    const input = validateEventInput(apiBody('processing', i), { now: Date.now() });
    if (!input.ok) throw new Error('proofs bench: invalid event');
    await store.put(buildEvent(input.value, { orgId: 'org_proofs_baseline', now: Date.now() }), Date.now());
  }
  const eventWrite = Object.entries(events.usage.writeUnits).filter(([n]) => n.startsWith('events')).reduce((s, [, v]) => s + v, 0) / BASELINE_EVENTS;
  const eventWritePrice = eventsTable.tableClass === 'STANDARD_INFREQUENT_ACCESS' ? prices.dynamoInfrequentAccessPerMillionWriteUnits! : prices.dynamoOnDemandPerMillionWriteUnits!;
  const eventDollars = eventWrite * eventWritePrice;

  const meter = new UnitMeter();
  const log = phased(new DynamoProofLogStore(meteredClient(endpoint, meter), names.log!), meter);
  const c = counted(local.signer, local.archive);
  const input = domainInput();
  const t0 = Date.now();

  /** Queues `n` leaves for each org in stream batches of `perBatch` of the org's events; returns stream units per event. */
  const queue = async (orgs: string[], n: number, perBatch: number, atMs: number, shards: number) => {
    meter.reset();
    for (const orgId of orgs) {
      const records = sealedRecords(input, orgId, n, atMs, shards);
      const batches: LoggableRecord[][] = [];
      for (let i = 0; i < records.length; i += perBatch) batches.push(records.slice(i, i + perBatch));
      // Stream batches run side by side (one per stream shard and factor): 8 at a time here.
      for (let i = 0; i < batches.length; i += 8) await Promise.all(batches.slice(i, i + 8).map((b) => queueLeaves(log, b, atMs)));
    }
    const t = meter.of('stream');
    return { read: t.read / (orgs.length * n), write: t.write / (orgs.length * n) };
  };
  const ports = (shards: number): IntegratorPorts => ({ store: log, signer: c.signer, archive: c.archive, shardsOf: async () => shards });
  /** One scheduled run at `atMs`, one org at a time (the meter's phases need it; units do not depend on it): per org. */
  const run = async (orgs: number, shards: number, atMs: number) => {
    meter.reset();
    const started = performance.now();
    const results = await integrateMarkedOrgs(ports(shards), { owner: 'bench', nowMs: () => atMs, leaseMs: MINUTE, checkpointIntervalSeconds: 300, maxLeaves: MAX_LEAVES_PER_RUN, concurrency: 1 });
    const msPerOrg = (performance.now() - started) / orgs;
    const failed = results.find((r) => r.error !== undefined);
    if (failed) throw failed.error;
    const per = (u: { read: number; write: number }) => ({ read: u.read / orgs, write: u.write / orgs });
    return { integrate: per(meter.of('integrate')), checkpoint: per(meter.of('checkpoint')), msPerOrg };
  };

  /**
   * A scenario measured at its own per-run sizes: a warm-up run (the log's first leaves and checkpoint), runs at +1 (and
   * +2) minutes with `n` (and `n2`) leaves, no checkpoint due (the run's units: their slope and fixed part), then one at
   * +5 minutes, a checkpoint due: its checkpoint phase.
   */
  const measure = async (label: string, orgs: string[], n: number, n2: number | undefined, perBatch: number, shards: number) => {
    const started = performance.now();
    await queue(orgs, Math.min(n, 1000), perBatch, t0, shards);
    await run(orgs.length, shards, t0);
    const stream = await queue(orgs, n, perBatch, t0 + MINUTE - 5_000, shards);
    const { integrate: one, msPerOrg } = await run(orgs.length, shards, t0 + MINUTE);
    let perLeaf = { read: one.read / n, write: one.write / n };
    let fixed = { read: 0, write: 0 };
    if (n2 !== undefined) {
      await queue(orgs, n2, perBatch, t0 + 2 * MINUTE - 5_000, shards);
      const two = (await run(orgs.length, shards, t0 + 2 * MINUTE)).integrate;
      perLeaf = { read: (two.read - one.read) / (n2 - n), write: (two.write - one.write) / (n2 - n) };
      fixed = { read: one.read - perLeaf.read * n, write: one.write - perLeaf.write * n };
    }
    await queue(orgs, Math.min(n, 1000), perBatch, t0 + 5 * MINUTE - 5_000, shards);
    const signsBefore = c.counts.signs;
    const { checkpoint } = await run(orgs.length, shards, t0 + 5 * MINUTE);
    if (c.counts.signs - signsBefore !== orgs.length) throw new Error(`proofs bench: ${label}: ${c.counts.signs - signsBefore} checkpoints for ${orgs.length} orgs`);
    report(`  measured ${label}: ${orgs.length} org(s) x ${n}${n2 ? ` and ${n2}` : ''} leaves a run, ${shards} queue shard(s), ${perBatch} of an org's events per stream batch (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    report(`    stream path ${fmt(stream)} units/event; a run: ${fmt(fixed)} fixed + ${fmt(perLeaf)} per leaf (${msPerOrg.toFixed(0)} ms per org at ${n} leaves); a checkpoint: ${fmt(checkpoint)} units`);
    return { measure: { stream, run: { fixed, perLeaf }, checkpoint } satisfies ScenarioMeasure, msPerOrg };
  };

  report(`\n## Proof of record: DynamoDB units and dollars the log adds per event (integrator every minute, checkpoint every 5 minutes; on-demand prices, log table Standard; KMS $${prices.kmsAsymmetricPer10kRequests}/10k asymmetric requests, S3 PUT $${prices.s3PutPer1kRequests}/1k)`);
  report(`baseline: the event's own write: ${eventWrite.toFixed(2)} write units per event (events table, base + indexes, a ~2 KB processing event) = $${eventDollars.toFixed(2)} per million events (${eventsTable.tableClass ?? 'STANDARD'})`);
  const scale = Number(process.env.BENCH_PROOF_COST_SCALE ?? 1);
  const orgA = `org_pc_a_${randomUUID().slice(0, 6)}`;
  const one100 = await measure('one org at 100 events/s', [orgA], Math.round(6000 * scale), undefined, 500, indexShardsFor(100));
  const one10k = await measure('one org at 10,000 events/s (slope from two run sizes)', [`org_pc_b_${randomUUID().slice(0, 6)}`], Math.round(1000 * scale), Math.round(5000 * scale), 1000, indexShardsFor(10_000));
  const manyOrgs = Array.from({ length: Math.max(2, Math.round(30 * scale)) }, (_, i) => `org_pc_c${i}_${randomUUID().slice(0, 4)}`);
  const many = await measure('orgs at 1 event/s each', manyOrgs, 60, undefined, 1, 1);
  const rows: [string, ScenarioMeasure, number][] = [['one org at 100 events/s', one100.measure, 100], ['one org at 10,000 events/s', one10k.measure, 10_000], ['10,000 orgs at 1 event/s', many.measure, 1]];
  for (const [label, m, rate] of rows) {
    const u = perEvent(m, rate);
    const d = dollarsPerMillion(u);
    report(`${label.padEnd(27)} ${fmt(u)} units/event = $${d.total.toFixed(3)} per million events (DynamoDB $${d.dynamo.toFixed(3)}, KMS $${d.kms.toFixed(4)}, S3 $${d.s3.toFixed(4)}); ratio to the event's write: units ${(u.write / eventWrite).toFixed(2)} (writes), dollars ${(d.total / eventDollars).toFixed(2)}${u.behind ? `; NOTE: ${rate * 60} events a minute > ${MAX_LEAVES_PER_RUN} leaves a run: the integrator falls behind` : ''}`);
  }
  report(`  time: 10,000 orgs of 60 leaves a minute at ${many.msPerOrg.toFixed(0)} ms per org (one at a time, here) take ${((10_000 * many.msPerOrg) / LOG_INTEGRATOR_CONCURRENCY / 1000).toFixed(0)} s a run at the integrator's concurrency of ${LOG_INTEGRATOR_CONCURRENCY} (functions/proofLog.ts), against the 60 s between runs`);
  report(`  a grown table (one stream shard per 10 GB) may carry each of an org's events in its own stream batch: +1 mark write a event (+$${prices.dynamoOnDemandPerMillionWriteUnits!.toFixed(3)} per million) over the one-org lines`);
  // Storage: one leaf item per event kept forever, plus its share of a full level-0 tile.
  const raw = createDocumentClient({ endpoint });
  const leafItem = (await raw.send(new GetCommand({ TableName: names.log!, Key: { pk: `LOGLEAF#${manyOrgs[0]}#${(await log.leavesInOrder(manyOrgs[0]!, 1))[0]!.id}`, sk: 'L' } }))).Item!;
  const tile = (await raw.send(new GetCommand({ TableName: names.log!, Key: { pk: `LOGTILE#${orgA}#0#0`, sk: 'T' } }))).Item!;
  if (Number(tile.width) !== TILE_WIDTH) throw new Error('proofs bench: the first tile of the 100 events/s org is not full');
  const tileBytes = itemBytes(tile);
  const perEventBytes = itemBytes(leafItem) + prices.dynamoItemOverheadBytes! + (tileBytes + prices.dynamoItemOverheadBytes!) / TILE_WIDTH;
  const gbPerMillion = (perEventBytes * 1e6) / 1024 ** 3;
  report(`storage: ${perEventBytes.toFixed(0)} bytes per event kept (leaf item ${itemBytes(leafItem)} + 100 overhead, a 256th of a full level-0 tile of ${tileBytes} bytes), no TTL: $${(gbPerMillion * (prices.dynamoStandardStoragePerGbMonth! + prices.dynamoPitrPerGbMonth!)).toFixed(3)} per million events per month (storage + PITR), for as long as the log is kept`);
  raw.destroy();
  events.client.destroy();
}

// ── 2. Proof latency at 1,000,000 leaves ──────────────────────────────────────────────────────────────────────────

async function proofLatency(report: (line: string) => void, endpoint: string, local: { signer: CheckpointSigner; archive: CheckpointArchive }): Promise<void> {
  const LEAVES = Number(process.env.BENCH_PROOF_LEAVES ?? 1_000_000);
  const SAMPLE = Math.min(2000, LEAVES);
  const names = await ensureTables(endpoint, 'proofs-latency');
  const meter = new UnitMeter();
  const client = meteredClient(endpoint, meter);
  const log = new DynamoProofLogStore(client, names.log!);
  const orgId = `org_proofs_${randomUUID().slice(0, 8)}`;
  const started = performance.now();
  // Leaf hashes: random, except at the sampled indexes, where they are real events' leaves.
  const pool = randomBytes(32 * LEAVES);
  const hashes: Hash[] = Array.from({ length: LEAVES }, (_, i) => pool.subarray(32 * i, 32 * i + 32));
  const ids: string[] = Array.from({ length: LEAVES }, () => randomUUID());
  const sampled = new Map<string, { index: number; event: LeadEvent; contentHash: string }>();
  const input = domainInput();
  while (sampled.size < SAMPLE) {
    const index = Math.floor(Math.random() * LEAVES);
    if (sampled.has(ids[index]!)) continue;
    const { event } = buildEvent({ ...input, external_event_id: `evt_${randomUUID()}` }, { orgId, now: Date.now() });
    const { contentHash } = recordOf(event, undefined);
    ids[index] = event.id;
    hashes[index] = leafHashOf(leafRecordOf(event, contentHash));
    sampled.set(event.id, { index, event, contentHash });
  }
  // The tiles, appended in chunks as the integrator would, written directly; only the partial tiles and those above
  // level 0 stay in memory (all the next append and the root need).
  const loaded = new Map<string, Tile>();
  const reader: SubtreeHashReader = { hashesOf: async (subtrees) => subtrees.map((s) => hashFromTiles(s, loaded)) };
  const CHUNK = 65_536;
  let written = 0;
  for (let size = 0; size < LEAVES; size += CHUNK) {
    const end = Math.min(LEAVES, size + CHUNK);
    const added = await appendLeaves(reader, size, hashes.slice(size, end));
    const tiles = tilesAfterAppend(loaded, size, added, ids.slice(size, end));
    await log.writeTiles(orgId, tiles);
    written += tiles.length;
    for (const tile of tiles) loaded.set(tileKey(tile), tile);
    const partial = new Set(partialTilesOf(end).map(tileKey));
    for (const [key, tile] of loaded) if (tile.level === 0 && !partial.has(key)) loaded.delete(key);
  }
  const root = await rootHash(reader, LEAVES);
  await log.writeLeaves(orgId, [...sampled.values()].map(({ index, event }) => ({ id: event.id, index, leafHash: hashes[index]!, receivedAt: event.received_at, expiresAt: Math.floor(Date.parse(event.expires_at) / 1000) })));
  const owner = 'bench';
  await log.lease(orgId, owner, Date.now(), MINUTE);
  await log.commit(orgId, owner, 0, LEAVES, root);
  const checkpoint = await signCheckpoint({ org_id: orgId, tree_size: LEAVES, root_hash: hashToBase64(root), issued_at: new Date().toISOString() }, local.signer);
  await local.archive.put(checkpoint);
  await log.recordCheckpoint(checkpoint, owner);
  await log.release(orgId, owner);
  const buildSeconds = (performance.now() - started) / 1000;
  // The baseline's item: a real event item (~1 KB domain event), in the same table.
  const built = buildEvent({ ...input, external_event_id: `evt_${randomUUID()}` }, { orgId, now: Date.now() });
  const inline = { put: async () => undefined, get: async () => '', getBytes: async () => Buffer.alloc(0), delete: async () => undefined };
  const eventItem = { ...(await encodeEventItem(built, inline)), sk: 'E' };
  await client.send(new PutCommand({ TableName: names.log!, Item: eventItem }));
  const getEvent = () => client.send(new GetCommand({ TableName: names.log!, Key: { pk: eventItem.pk, sk: 'E' }, ConsistentRead: true }));
  const ports = {
    store: log, checkpointIntervalSeconds: 300,
    storedEvent: async (_org: string, id: string) => { const s = sampled.get(id); return s ? { event: s.event, recordHash: s.contentHash } : undefined; },
  };
  const sampleIds = [...sampled.keys()];
  for (let i = 0; i < 50; i++) { await proofOfEvent(ports, orgId, sampleIds[i % sampleIds.length]!); await getEvent(); } // warm up
  const PROOFS = Number(process.env.BENCH_PROOF_PROOFS ?? 1000);
  const proofMs: number[] = [];
  const getMs: number[] = [];
  meter.reset();
  let getUnits = 0;
  for (let i = 0; i < PROOFS; i++) {
    const id = sampleIds[Math.floor(Math.random() * sampleIds.length)]!;
    let t = performance.now();
    const proof = await proofOfEvent(ports, orgId, id);
    proofMs.push(performance.now() - t);
    const leafHash = hashFromBase64(proof.leaf_hash)!;
    if (!proof.leaf || hashToBase64(leafHashOf(proof.leaf)) !== proof.leaf_hash || !verifyInclusion(leafHash, proof.leaf_index, LEAVES, proof.inclusion_proof.map((h) => hashFromBase64(h)!), root)) {
      throw new Error(`proofs bench: the proof of ${id} does not verify`);
    }
    const before = meter.total().read;
    t = performance.now();
    await getEvent();
    getMs.push(performance.now() - t);
    getUnits += meter.total().read - before;
  }
  const proofCalls = Object.fromEntries([...meter.calls].filter(([n]) => n !== 'GetItem'));
  const proofUnits = (meter.total().read - getUnits) / PROOFS;
  meter.reset();
  const PAIRS = Number(process.env.BENCH_PROOF_PAIRS ?? 200);
  const consistencyMs: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = 1 + Math.floor(Math.random() * LEAVES);
    const b = 1 + Math.floor(Math.random() * LEAVES);
    const [from, to] = a <= b ? [a, b] : [b, a];
    const t = performance.now();
    const c = await consistencyOf(log, orgId, from, to);
    consistencyMs.push(performance.now() - t);
    if (to === LEAVES && c.to_root_hash !== hashToBase64(root)) throw new Error('proofs bench: the consistency proof names another root');
    if (!verifyConsistency(from, to, c.consistency_proof.map((h) => hashFromBase64(h)!), hashFromBase64(c.from_root_hash)!, hashFromBase64(c.to_root_hash)!)) throw new Error(`proofs bench: consistency ${from} → ${to} does not verify`);
  }
  const consistencyCalls = Object.fromEntries(meter.calls);
  const consistencyUnits = meter.total().read / PAIRS;
  const callsText = (calls: Record<string, { calls: number; items: number }>, n: number) => Object.entries(calls).map(([name, c]) => `${name} ${(c.calls / n).toFixed(2)} calls (${(c.items / n).toFixed(1)} items)`).join(', ');
  const p50 = (v: number[]) => percentile(v, 0.5);
  report(`\n## Proof of record: proof latency at ${LEAVES.toLocaleString('en-US')} leaves (DynamoDB Local, in memory; ${written} tiles written directly in ${buildSeconds.toFixed(1)} s; ${SAMPLE} sampled events with leaf items; sequential calls)`);
  report(`baseline, one GetItem of an event item (${itemBytes(eventItem)} bytes, consistent): p50 ${p50(getMs).toFixed(2)} ms, p95 ${percentile(getMs, 0.95).toFixed(2)} ms, ${(getUnits / PROOFS).toFixed(1)} read units`);
  report(`event proof (proofOfEvent, ${PROOFS} random sampled ids, every proof verified): p50 ${p50(proofMs).toFixed(2)} ms, p95 ${percentile(proofMs, 0.95).toFixed(2)} ms; ratio p50 ${(p50(proofMs) / p50(getMs)).toFixed(2)}, p95 ${(percentile(proofMs, 0.95) / percentile(getMs, 0.95)).toFixed(2)}`);
  report(`  reads per proof: ${callsText(proofCalls, PROOFS)}; ${proofUnits.toFixed(1)} read units = $${(proofUnits * prices.dynamoOnDemandPerMillionReadUnits!).toFixed(2)} per million proofs (the event lookup, answered from memory here, adds one GetItem in parallel)`);
  report(`consistency proof (consistencyOf, ${PAIRS} random size pairs, each verified): p50 ${p50(consistencyMs).toFixed(2)} ms, p95 ${percentile(consistencyMs, 0.95).toFixed(2)} ms; ratio p50 ${(p50(consistencyMs) / p50(getMs)).toFixed(2)}`);
  report(`  reads per proof: ${callsText(consistencyCalls, PAIRS)}; ${consistencyUnits.toFixed(1)} read units`);
  client.destroy();
}

// ── 3. Checkpoint time per org ────────────────────────────────────────────────────────────────────────────────────

async function checkpointTime(report: (line: string) => void, endpoint: string, local: { signer: CheckpointSigner; archive: CheckpointArchive }): Promise<void> {
  const ORGS = Number(process.env.BENCH_PROOF_ORGS ?? 50);
  const PER_ORG = Number(process.env.BENCH_PROOF_ORG_LEAVES ?? 1000);
  const BIG = Number(process.env.BENCH_PROOF_BIG ?? 100_000);
  const names = await ensureTables(endpoint, 'proofs-checkpoints');
  const client = createDocumentClient({ endpoint });
  const log = new DynamoProofLogStore(client, names.log!);
  const c = counted(local.signer, local.archive);
  const input = domainInput();
  const ports: IntegratorPorts = { store: log, signer: c.signer, archive: c.archive, shardsOf: async () => 1 };
  const options = (concurrency: number) => ({ owner: 'bench', nowMs: Date.now, leaseMs: 5 * MINUTE, checkpointIntervalSeconds: 0, maxLeaves: MAX_LEAVES_PER_RUN, concurrency });
  const queueAll = async (orgs: string[], n: number) => {
    const started = performance.now();
    const records = orgs.flatMap((orgId) => sealedRecords(input, orgId, n, Date.now(), 1));
    const batches: LoggableRecord[][] = [];
    for (let i = 0; i < records.length; i += 1000) batches.push(records.slice(i, i + 1000));
    for (let i = 0; i < batches.length; i += 4) await Promise.all(batches.slice(i, i + 4).map((b) => queueLeaves(log, b, Date.now())));
    return (performance.now() - started) / 1000;
  };
  const orgs = Array.from({ length: ORGS }, (_, i) => `org_cp${i}_${randomUUID().slice(0, 6)}`);
  const queuedIn = await queueAll(orgs, PER_ORG);
  const started = performance.now();
  const results = await integrateMarkedOrgs(ports, options(1));
  const wall = performance.now() - started;
  const failed = results.find((r) => r.error !== undefined);
  if (failed) throw failed.error;
  const appended = results.reduce((n, r) => n + (r.result?.status === 'done' ? r.result.appended : 0), 0);
  if (appended !== ORGS * PER_ORG || c.counts.signs !== ORGS) throw new Error(`proofs bench: integrated ${appended} leaves and ${c.counts.signs} checkpoints`);
  report(`\n## Proof of record: the integrator's time (DynamoDB Local, in memory; local P-256 signer and file archive; queued through queueLeaves with sealed records in ${queuedIn.toFixed(1)} s)`);
  report(`${ORGS} orgs x ${PER_ORG} queued leaves, one at a time: ${(wall / ORGS).toFixed(1)} ms per org for integrate + sign + archive (sign + archive ${(c.counts.ms / ORGS).toFixed(2)} ms of it), ${((ORGS * PER_ORG) / (wall / 1000)).toFixed(0)} leaves/s`);
  const big = `org_cpbig_${randomUUID().slice(0, 6)}`;
  const bigQueued = await queueAll([big], BIG);
  const t = performance.now();
  const [result] = await integrateMarkedOrgs(ports, options(1));
  const bigMs = performance.now() - t;
  if (result?.error !== undefined) throw result.error;
  if (result?.result?.status !== 'done' || result.result.appended !== BIG) throw new Error('proofs bench: the large org was not integrated whole');
  report(`one org with ${BIG.toLocaleString('en-US')} queued leaves (queued in ${bigQueued.toFixed(1)} s): ${(bigMs / 1000).toFixed(1)} s for integrate + sign + archive = ${(BIG / (bigMs / 1000)).toFixed(0)} leaves/s (an org at 10,000 events/s queues 600,000 a minute)`);
  client.destroy();
}

