import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp, progress, requireRunningServer } from '../infra/local/cli.js';
import { runArchiveSql } from '../infra/local/athena.js';
import { signStripe, stripeCheckoutCompleted } from '../infra/local/webhook-samples.js';
import { LOCAL_TABLE_PREFIX } from '../infra/local/runtime.js';
import { createDocumentClient } from '../shared/adapters/aws-clients.js';
import { DynamoApiKeyStore } from '../shared/adapters/dynamo-api-key-store.js';
import { DynamoWebhookSecretStore } from '../shared/adapters/dynamo-webhook-secret-store.js';
import { createApiKey } from '../shared/domain/api-keys.js';
import { setWebhookSecret } from '../shared/domain/webhooks/secrets.js';
import { controlTable, eventsTable, physicalTableName } from '../shared/definitions/tables.js';

/**
 * `npm run load -- --rate R --seconds S --dup-ratio D`: drives the running `npm start` (loopback only) with
 * new events, duplicates, batches, signed Stripe webhooks and timeline reads at R operations per second for
 * S seconds, for a fresh org, then reconciles: every acknowledged event exactly once in DynamoDB and in the
 * archive. Prints throughput, latency percentiles and error counts.
 */
exitWithUsageOnHelp(`Usage: npm run load -- [--rate R] [--seconds S] [--dup-ratio D] [--max-in-flight N] [--archive-wait S]

  Drives the running npm start (loopback only) at R operations per second (default 100) for S seconds (30):
  new events, re-posts (ratio D, 0.1), batches, signed Stripe webhooks and timeline reads, for a fresh org;
  then reconciles DynamoDB and the archive. Progress every 5 s; exits 1 if anything was lost or duplicated.`);
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '30' }, 'dup-ratio': { type: 'string', default: '0.1' },
    'data-dir': { type: 'string' }, 'max-in-flight': { type: 'string', default: '256' }, 'archive-wait': { type: 'string', default: '90' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const dupRatio = Number(values['dup-ratio']);
if (!(rate > 0 && rate <= 5000 && seconds > 0 && seconds <= 3600 && dupRatio >= 0 && dupRatio < 1)) {
  console.error('Usage: npm run load -- --rate 1..5000 --seconds 1..3600 --dup-ratio 0..0.99');
  process.exit(2);
}
const dataDir = values['data-dir'] ?? process.env.LEADLOG_DATA_DIR ?? '.data';
const runtime = requireRunningServer(dataDir, 'load');
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(runtime.url)) throw new Error(`refusing to load a non-loopback address: ${runtime.url}`);

const documents = createDocumentClient({ endpoint: runtime.dynamoEndpoint });
const controlName = physicalTableName(LOCAL_TABLE_PREFIX, controlTable);
const orgId = `org_load_${Date.now()}`;
const { key } = await createApiKey(new DynamoApiKeyStore(documents, controlName), { orgId, scopes: ['events:write', 'events:read', 'pii:read'], now: Date.now() });
const stripeSecret = `whsec_load_${randomUUID()}`;
await setWebhookSecret(new DynamoWebhookSecretStore(documents, controlName), { orgId, provider: 'stripe', secret: stripeSecret, nowIso: new Date().toISOString() });

type Kind = 'new' | 'duplicate' | 'batch' | 'webhook' | 'read';
const latencies: Record<Kind, number[]> = { new: [], duplicate: [], batch: [], webhook: [], read: [] };
const statuses = new Map<string, number>();
const acknowledged = new Set<string>();
const sent: Record<string, unknown>[] = [];
let unexpected = 0;
let retries = 0;

const event = () => ({
  lead_id: `lead_${Math.floor(Math.random() * 2000)}`, source_type: 'internal', source: 'leadconduit',
  event_type: ['source.submitted', 'source.accepted', 'enhancement.success', 'recipient.delivered'][Math.floor(Math.random() * 4)],
  external_event_id: `evt_${randomUUID()}`, timing: { duration_ms: Math.floor(Math.random() * 500) }, payload: { price: 12.5 },
  lead_snapshot: { email: 'load@example.com', notes: 'x'.repeat(1200) },
});

/** One operation as a well-behaved client does it: a 503 is retried after Retry-After with the same body (same idempotency key). */
async function call(kind: Kind, method: string, path: string, body: string | undefined, headers: Record<string, string>) {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(runtime.url + path, { method, headers, ...(body ? { body } : {}) });
      const text = await response.text();
      statuses.set(`${kind} ${response.status}`, (statuses.get(`${kind} ${response.status}`) ?? 0) + 1);
      if (response.status === 503 && attempt < 6) {
        retries++;
        await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      latencies[kind].push(performance.now() - started);
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      statuses.set(`${kind} network-error`, (statuses.get(`${kind} network-error`) ?? 0) + 1);
      unexpected++;
      return { status: 0, body: undefined };
    }
  }
}

const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
async function operation(): Promise<void> {
  const roll = Math.random();
  if (roll < 0.1) {
    await call('read', 'GET', `/v1/leads/lead_${Math.floor(Math.random() * 2000)}/events?limit=50`, undefined, auth);
  } else if (roll < 0.2) {
    const body = JSON.stringify(stripeCheckoutCompleted({ email: `buyer${Math.floor(Math.random() * 500)}@example.com`, phone: '+5511999990000' }));
    const res = await call('webhook', 'POST', `/v1/webhooks/stripe/${orgId}`, body, signStripe(body, stripeSecret));
    if (res.status === 200) acknowledged.add(res.body.event_id);
    else unexpected++;
  } else if (roll < 0.3) {
    const events = Array.from({ length: 10 }, event);
    const res = await call('batch', 'POST', '/v1/events/batch', JSON.stringify({ events }), auth);
    if (res.status === 200) {
      for (const r of res.body.results) if (r.status === 'created' || r.status === 'duplicate') acknowledged.add(r.id);
      events.forEach((e) => sent.push(e));
    } else unexpected++;
  } else {
    const duplicate = sent.length > 0 && Math.random() < dupRatio;
    const body = duplicate ? sent[Math.floor(Math.random() * sent.length)]! : event();
    const res = await call(duplicate ? 'duplicate' : 'new', 'POST', '/v1/events', JSON.stringify(body), auth);
    if (res.status === 201 || res.status === 200) {
      acknowledged.add(res.body.event.id);
      if (!duplicate) sent.push(body);
    } else unexpected++;
  }
}

console.log(`load: ${rate}/s for ${seconds} s against ${runtime.url}, duplicates ${(dupRatio * 100).toFixed(0)} % of single posts, org ${orgId}`);
const started = performance.now();
const inFlight = new Set<Promise<void>>();
const maxInFlight = Number(values['max-in-flight']);
let skipped = 0;
const ticker = progress('load', rate * seconds);
for (let i = 0; i < rate * seconds; i++) {
  ticker.tick();
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (inFlight.size >= maxInFlight) {
    skipped++; // the server is behind: an open-loop generator drops rather than queues without bound
    continue;
  }
  const op = operation().finally(() => inFlight.delete(op));
  inFlight.add(op);
}
await Promise.all(inFlight);
ticker.done();
const elapsed = (performance.now() - started) / 1000;

const pct = (values: number[], p: number) => (values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!);
const all = Object.values(latencies).flat();
console.log(`\noperations: ${all.length} in ${elapsed.toFixed(1)} s = ${(all.length / elapsed).toFixed(0)}/s (target ${rate}/s; ${skipped} skipped at ${maxInFlight} in flight)`);
console.log(`latency ms, all: p50 ${pct(all, 0.5).toFixed(1)}  p95 ${pct(all, 0.95).toFixed(1)}  p99 ${pct(all, 0.99).toFixed(1)}`);
for (const [kind, list] of Object.entries(latencies)) if (list.length) console.log(`  ${kind.padEnd(9)} n=${String(list.length).padEnd(6)} p50 ${pct(list, 0.5).toFixed(1)}  p95 ${pct(list, 0.95).toFixed(1)}  p99 ${pct(list, 0.99).toFixed(1)}`);
console.log(`statuses: ${[...statuses].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
const fiveHundreds = [...statuses].filter(([k]) => / 5\d\d$/.test(k)).reduce((s, [, v]) => s + v, 0);
console.log(`5xx answers: ${fiveHundreds} (all 503 + Retry-After, each retried by the client: ${retries} retries); unexpected final answers: ${unexpected}`);

// Reconciliation: DynamoDB holds exactly the acknowledged events of this org.
const stored = new Map<string, number>();
let startKey: Record<string, unknown> | undefined;
do {
  const page = await documents.send(new ScanCommand({ TableName: physicalTableName(LOCAL_TABLE_PREFIX, eventsTable), FilterExpression: 'org_id = :o', ExpressionAttributeValues: { ':o': orgId }, ProjectionExpression: 'id', ExclusiveStartKey: startKey }));
  for (const item of page.Items ?? []) stored.set(item.id as string, (stored.get(item.id as string) ?? 0) + 1);
  startKey = page.LastEvaluatedKey;
} while (startKey);
const lostInDynamo = [...acknowledged].filter((id) => !stored.has(id)).length;
const unacknowledgedInDynamo = [...stored.keys()].filter((id) => !acknowledged.has(id)).length;
console.log(`\nreconciliation, DynamoDB: acknowledged ${acknowledged.size}, stored ${stored.size}, lost ${lostInDynamo}, stored without acknowledgement ${unacknowledgedInDynamo}`);

// …and the archive (it flushes every 10 s): wait until it holds them, then check each is counted once. The raw table
// may hold a row twice (at least once, like Firehose); the `events` view that queries read must show it once.
const deadline = Date.now() + Number(values['archive-wait']) * 1000;
let archived = { n: 0, ids: 0, lost: acknowledged.size, copies: 0 };
while (Date.now() < deadline) {
  const rows = (await runArchiveSql(join(dataDir, 'archive'), 'SELECT id FROM events WHERE org_id = ?', [orgId])).rows.map((r) => r.id as string);
  const copies = Number((await runArchiveSql(join(dataDir, 'archive'), 'SELECT count(*) AS n FROM events_raw WHERE org_id = ?', [orgId])).rows[0]!.n);
  const ids = new Set(rows);
  archived = { n: rows.length, ids: ids.size, lost: [...acknowledged].filter((id) => !ids.has(id)).length, copies };
  if (archived.lost === 0) break;
  await new Promise((r) => setTimeout(r, 2000));
}
console.log(`reconciliation, archive: rows in the events view ${archived.n}, distinct ${archived.ids}, lost ${archived.lost}, counted twice ${archived.n - archived.ids} (raw copies ${archived.copies}: at least once, absorbed by the view)`);
const nonRetryable5xx = [...statuses].filter(([k]) => / 5\d\d$/.test(k) && !k.endsWith(' 503')).reduce((s, [, v]) => s + v, 0);
const ok = nonRetryable5xx === 0 && unexpected === 0 && lostInDynamo === 0 && unacknowledgedInDynamo === 0 && archived.lost === 0 && archived.n === archived.ids;
console.log(ok ? `RESULT: ok — zero lost, zero duplicated, zero 5xx other than ${fiveHundreds} retried 503s` : 'RESULT: FAILED');
documents.destroy();
process.exit(ok ? 0 : 1);
