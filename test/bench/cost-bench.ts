/**
 * Cost per million events, measured (issue #12): the real ingest and webhook handlers write through a DynamoDB
 * client that asks for ReturnConsumedCapacity INDEXES, so write units are what DynamoDB (Local) charges, per table
 * and index; item and index bytes come from the stored items by DynamoDB's size rules; AWS list prices come from
 * one data file (aws-prices.json). Printed per kind of event, single posts and batches, with the breakdown.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAMBDA_SYSTEM_LOG_LEVEL } from '../../infra/constructs/lambda-function.js';
import { FUNCTIONS } from '../../infra/stack.js';
import { eventsTable } from '../../shared/definitions/tables.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { decodeEventItem } from '../../shared/adapters/event-item.js';
import type { BlobStore } from '../../shared/domain/ports.js';
import { realisticEvent } from './archive-bench.js';
import type { AlertUnits } from './alerts-bench.js';

const prices = JSON.parse(readFileSync(join(import.meta.dirname, 'aws-prices.json'), 'utf8')) as Record<string, number>;
const HOT_MONTHS = 3; // 90 days in DynamoDB
/** The sampled events keep their payloads inline (under 64 KB): no blob is read. */
const inlineOnly: BlobStore = { put: async () => undefined, get: async () => { throw new Error('inline only'); }, getBytes: async () => { throw new Error('inline only'); }, delete: async () => undefined };

export interface Usage {
  writeUnits: Record<string, number>;
}

type TransactItems = { Put?: { TableName?: string; Item?: Record<string, unknown> }; Update?: { TableName?: string }; Delete?: { TableName?: string }; ConditionCheck?: { TableName?: string } }[];

/**
 * The table write units of one TransactWriteItems, per table, by DynamoDB's rule: each item of a transaction is
 * written twice (prepare, commit), so 2 units per KB or part of it. DynamoDB Local reports 2 units for a whole
 * transaction, whatever it holds (the 8 items of a first-sight link: 2; DynamoDB bills 16), so they are counted here.
 * A Put by its item's size; an Update, Delete or ConditionCheck as 1 KB (the control items they touch hold keys,
 * counts and dates, well under 1 KB; a ConditionCheck is counted as a written item, an upper bound).
 */
export function transactionWriteUnits(items: TransactItems): Record<string, number> {
  const units: Record<string, number> = {};
  for (const item of items) {
    const action = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
    if (!action?.TableName) continue;
    const table = action.TableName.replace(/^.*-/, '');
    const kb = item.Put?.Item ? Math.max(1, Math.ceil(itemBytes(item.Put.Item) / 1024)) : 1;
    units[table] = (units[table] ?? 0) + 2 * kb;
  }
  return units;
}

/**
 * A DynamoDB document client that adds ReturnConsumedCapacity: INDEXES to every write and adds up what each one
 * consumed; a transaction's table units by DynamoDB's rule (transactionWriteUnits), not as DynamoDB Local reports them.
 */
export function meteredDocumentClient(endpoint: string): { client: ReturnType<typeof createDocumentClient>; usage: Usage; reset: () => void } {
  const client = createDocumentClient({ endpoint });
  const usage: Usage = { writeUnits: {} };
  const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)/;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!WRITES.test(context.commandName ?? '')) return next(args);
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const transaction = context.commandName?.startsWith('TransactWrite') ? transactionWriteUnits((args.input as { TransactItems: TransactItems }).TransactItems) : undefined;
      for (const [table, units] of Object.entries(transaction ?? {})) usage.writeUnits[table] = (usage.writeUnits[table] ?? 0) + units;
      for (const c of [consumed].flat() as { TableName?: string; Table?: { CapacityUnits?: number }; CapacityUnits?: number; GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> }[]) {
        if (!c?.TableName) continue;
        const table = c.TableName.replace(/^.*-/, '');
        if (!transaction) usage.writeUnits[table] = (usage.writeUnits[table] ?? 0) + (c.Table?.CapacityUnits ?? c.CapacityUnits ?? 0);
        for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {})) usage.writeUnits[`${table}.${index}`] = (usage.writeUnits[`${table}.${index}`] ?? 0) + (units.CapacityUnits ?? 0);
      }
      return result;
    },
    { step: 'initialize', name: 'leadlogMeterCapacity' },
  );
  return { client, usage, reset: () => (usage.writeUnits = {}) };
}

/** DynamoDB's item size: attribute names plus values (strings and binaries by length, numbers ~ digits/2 + 1, sets and lists summed). */
export function itemBytes(item: Record<string, unknown>): number {
  const valueBytes = (value: unknown): number => {
    if (value === null || value === undefined || typeof value === 'boolean') return 1;
    if (typeof value === 'string') return Buffer.byteLength(value);
    if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').length / 2) + 1;
    if (value instanceof Uint8Array) return value.length;
    if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
    if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
    return 3 + Object.entries(value as object).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + 1 + valueBytes(v), 0);
  };
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

/** The bytes an index keeps of an item: its keys, the table key and the projected attributes. */
function indexBytes(item: Record<string, unknown>, index: (typeof eventsTable.indexes)[number]): number {
  if (item[index.partitionKey] === undefined) return 0; // sparse: not in this index
  const keys = ['pk', index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])];
  const projected = index.projection.type === 'ALL' ? Object.keys(item) : [...keys, ...index.projection.nonKeyAttributes];
  return itemBytes(Object.fromEntries(Object.entries(item).filter(([name]) => projected.includes(name)))) + prices.dynamoItemOverheadBytes!;
}

export interface CostInputs {
  endpoint: string;
  eventsTableName: string;
  orgId: string;
  /** Sends `count` events of a kind (singly or in batches) through the real handlers; returns handler ms per request. */
  send: (kind: Kind, mode: 'single' | 'batch', count: number) => Promise<{ requests: number; msPerRequest: number }>;
  usage: Usage;
  resetUsage: () => void;
  /** The windowed alerts' units per event at a full hour's window (test/bench/alerts-bench.ts), measured in the same run. */
  alerts?: AlertUnits;
}

export type Kind = 'processing' | 'purchase' | 'domain' | 'webhook';

/**
 * The API body of a ~2 KB lead-processing event (LeadConduit-style with a flow, realistic text), a ~2 KB purchase
 * (no flow), a ~0.5 KB domain event.
 */
export function apiBody(kind: Exclude<Kind, 'webhook'>, i: number): Record<string, unknown> {
  const occurred_at = new Date(Date.now() - 60_000).toISOString();
  if (kind === 'purchase') {
    // A ~2 KB purchase (no LeadConduit flow): the realistic lead snapshot of a processing event, a product payload.
    const { lead_snapshot, appended } = realisticEvent(i) as LeadEvent;
    return {
      lead_id: `lead_purchase_${i % 500}`, source_type: 'external', source: 'hotmart', event_type: 'purchase_completed', external_event_id: `evt_${randomUUID()}`, occurred_at,
      payload: { product_id: `prod_${i % 40}`, product_name: 'Growth Course — evening cohort', category: 'education', amount: 497, currency: 'BRL', payment_method: 'credit_card', installments: 12, order_id: `HP${String(1e10 + i)}` },
      lead_snapshot, appended,
    };
  }
  if (kind === 'domain') {
    return {
      lead_id: `lead_domain_${i % 300}`, source_type: 'direct', source: 'web', event_type: 'product_viewed', external_event_id: `evt_${randomUUID()}`, occurred_at,
      payload: { product_id: `prod_${i % 40}`, product_name: 'Growth Course — evening cohort', category: 'education', url: `https://shop.example.com/p/${i % 40}?utm_source=google` },
      lead_snapshot: { email: `buyer${i}@example.com`, first_name: 'Ana', utm_campaign: `campaign_${i % 20}` },
    };
  }
  const { id: _id, org_id: _org, received_at: _r, expires_at: _e, schema_version: _s, ...event } = realisticEvent(i) as LeadEvent & Record<string, unknown>;
  return { ...event, lead_id: `lead_proc_${i % 500}`, external_event_id: `evt_${randomUUID()}`, occurred_at };
}

export async function costBenchmarks(report: (line: string) => void, inputs: CostInputs): Promise<void> {
  const documents = createDocumentClient({ endpoint: inputs.endpoint });
  const memoryGb = (fn: keyof typeof FUNCTIONS) => FUNCTIONS[fn].memorySize / 1024;
  const rows: string[] = [];
  report(`\n## Cost per million events (measured usage x AWS list prices in test/bench/aws-prices.json; 90 days hot; events table ${eventsTable.tableClass ?? 'STANDARD'}, Lambda system logs ${LAMBDA_SYSTEM_LOG_LEVEL})`);
  for (const [kind, mode] of [['processing', 'single'], ['processing', 'batch'], ['purchase', 'single'], ['purchase', 'batch'], ['domain', 'single'], ['domain', 'batch'], ['webhook', 'single']] as const) {
    const count = 400;
    inputs.resetUsage();
    const { requests, msPerRequest } = await inputs.send(kind, mode, count);
    const units = inputs.usage.writeUnits;
    const eventUnits = Object.entries(units).filter(([name]) => name.startsWith('events')).reduce((sum, [, v]) => sum + v, 0) / count;
    const otherUnits = Object.entries(units).filter(([name]) => !name.startsWith('events')).reduce((sum, [, v]) => sum + v, 0) / count;
    // Stored bytes: the latest `count` items of this kind's leads, base and per index.
    const sample = await sampleItems(documents, inputs.eventsTableName, inputs.orgId, kind);
    const base = sample.reduce((sum, item) => sum + itemBytes(item) + prices.dynamoItemOverheadBytes!, 0) / sample.length;
    const perIndex = eventsTable.indexes.map((index) => sample.reduce((sum, item) => sum + indexBytes(item, index), 0) / sample.length);
    const stored = sample.length > 0 ? await decodeEventItem(sample[0] as never, { leadSnapshot: true, rawPayload: true }, inlineOnly) : undefined;
    const archiveRow = stored ? Buffer.byteLength(JSON.stringify(toArchiveRow(stored))) : 0;
    const perRequest = requests / count; // requests per event
    const infrequent = eventsTable.tableClass === 'STANDARD_INFREQUENT_ACCESS';
    const eventWritePrice = infrequent ? prices.dynamoInfrequentAccessPerMillionWriteUnits! : prices.dynamoOnDemandPerMillionWriteUnits!;
    const eventStoragePrice = infrequent ? prices.dynamoInfrequentAccessStoragePerGbMonth! : prices.dynamoStandardStoragePerGbMonth!;
    const platformLogBytes = LAMBDA_SYSTEM_LOG_LEVEL === 'WARN' ? 0 : prices.lambdaPlatformLogBytesPerInvocation!;
    const fn = kind === 'webhook' ? 'webhooks' : 'ingest';
    const million = 1e6;
    const gb = (bytes: number) => (bytes * million) / 1024 ** 3;
    const cost = {
      'API Gateway': perRequest * prices.apiGatewayHttpPerMillionRequests!,
      Lambda: perRequest * (prices.lambdaPerMillionRequests! + (Math.ceil(msPerRequest) / 1000) * memoryGb(fn) * prices.lambdaArmPerGbSecond! * million)
        + (1 / 100) * prices.lambdaPerMillionRequests! + 0.001 * memoryGb('fanout') * prices.lambdaArmPerGbSecond! * million, // fan-out: batches of 100, ~1 ms an event
      'DynamoDB writes': eventUnits * eventWritePrice + otherUnits * prices.dynamoOnDemandPerMillionWriteUnits!,
      // Alert counters: what the alerts bench measured per event at a full window (control table, on demand).
      'DynamoDB alerts': inputs.alerts ? inputs.alerts.last.write * prices.dynamoOnDemandPerMillionWriteUnits! + inputs.alerts.last.read * prices.dynamoOnDemandPerMillionReadUnits! : 0,
      'DynamoDB storage (90 d)': gb(base + perIndex.reduce((a, b) => a + b, 0)) * eventStoragePrice * HOT_MONTHS,
      'PITR (90 d)': gb(base) * prices.dynamoPitrPerGbMonth! * HOT_MONTHS,
      EventBridge: prices.eventBridgeCustomPerMillionEvents!,
      Firehose: gb(Math.ceil(archiveRow / 1024) * 1024) * (prices.firehoseDirectPutPerGb! + prices.firehoseFormatConversionPerGb! + prices.firehoseDynamicPartitioningPerGb!),
      'S3 archive (90 d)': gb(archiveRow * 0.15) * (prices.s3StandardPerGbMonth! + 2 * prices.s3StandardIaPerGbMonth!),
      'CloudWatch Logs': gb(perRequest * (platformLogBytes + prices.apiGatewayAccessLogBytesPerRequest!) + 0.01 * platformLogBytes) * prices.cloudWatchLogsIngestPerGb!,
    };
    const total = Object.values(cost).reduce((a, b) => a + b, 0);
    report(`${kind} ${mode === 'batch' ? 'in batches of 10' : 'posted singly'}: $${total.toFixed(2)} per million events`);
    report(`  write units per event: ${eventUnits.toFixed(2)} events table (${Object.entries(units).filter(([n]) => n.startsWith('events')).map(([n, v]) => `${n.replace('events', 'base').replace('base.', '')} ${(v / count).toFixed(2)}`).join(', ')}) + ${otherUnits.toFixed(2)} control table`);
    report(`  bytes per event: base item ${base.toFixed(0)}, ${eventsTable.indexes.map((index, i) => `${index.name} ${perIndex[i]!.toFixed(0)}`).join(', ')}; handler ${msPerRequest.toFixed(1)} ms per request`);
    report(`  breakdown: ${Object.entries(cost).map(([name, dollars]) => `${name} $${dollars.toFixed(2)}`).join(', ')}`);
    rows.push(`${kind}/${mode}: $${total.toFixed(2)}`);
  }
  report(`summary: ${rows.join('; ')}`);
  if (inputs.alerts) {
    // Before issue #22 every batch re-read every counter item of the hour: one item per batch per bucket, so at a
    // full window each batch read 12 x (batches per bucket) items; the same batches as the alerts bench measured.
    const { last, batchesPerBucket, eventsPerBatch } = inputs.alerts;
    const beforeReads = (12 * batchesPerBucket) / eventsPerBatch;
    const dollars = (read: number, write: number) => write * prices.dynamoOnDemandPerMillionWriteUnits! + read * prices.dynamoOnDemandPerMillionReadUnits!;
    report(`alerts at a full hour's window (${batchesPerBucket} batches of ${eventsPerBatch} per 5-minute bucket): now ${last.read.toFixed(2)} read + ${last.write.toFixed(2)} write units per event = $${dollars(last.read, last.write).toFixed(3)} per million events (in the totals above); before issue #22 ${beforeReads.toFixed(2)} read units per event (${batchesPerBucket} counter items x 12 buckets per batch, growing with traffic) = $${dollars(beforeReads, last.write).toFixed(3)}`);
  }
}

/** Some stored items of one kind, read whole from the base table (the indexes keep only a few attributes). */
async function sampleItems(documents: ReturnType<typeof createDocumentClient>, tableName: string, orgId: string, kind: Kind): Promise<Record<string, unknown>[]> {
  const lead = kind === 'processing' ? 'lead_proc_1' : kind === 'purchase' ? 'lead_purchase_1' : kind === 'domain' ? 'lead_domain_1' : undefined;
  const page = lead
    ? await documents.send(new QueryCommand({ TableName: tableName, IndexName: 'by_lead', KeyConditionExpression: 'lead_key = :l', ExpressionAttributeValues: { ':l': `${orgId}#${lead}` }, Limit: 20 }))
    : await documents.send(new QueryCommand({ TableName: tableName, IndexName: 'by_day', KeyConditionExpression: 'day_key = :d', ExpressionAttributeValues: { ':d': `${orgId}#${new Date().toISOString().slice(0, 10)}` }, Limit: 200, ScanIndexForward: false }));
  const keys = (page.Items ?? []).filter((item) => lead || item.source === 'stripe').slice(0, 20).map((item) => item.pk as string);
  const items: Record<string, unknown>[] = [];
  for (const pk of keys) {
    const found = await documents.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }));
    items.push(...(found.Items ?? []));
  }
  return items;
}
