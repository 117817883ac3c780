import { v5 as uuidv5 } from 'uuid';
import { ALERT_TOTAL_SHARDS, BUCKET_MS, WINDOW_MS } from '../definitions/alert-rules.js';
import { activePartitionsPerStream, ARCHIVE_ROW_BYTES, ARCHIVE_STREAMS, archiveStreamOf, archiveStreamsForOrg, FIREHOSE_ACTIVE_PARTITIONS_DEFAULT, FIREHOSE_ACTIVE_PARTITIONS_MAX, FIREHOSE_STREAM_BYTES_PER_SECOND, FIREHOSE_STREAM_REQUESTS_PER_SECOND } from '../definitions/archive.js';
import { eventLimitsFor, eventsPerSecondFor, modelInstancesFor, rateLimitStateWritesPerSecond, RATE_LIMIT_DEFAULTS } from '../definitions/rate-limits.js';
import { AUTHORIZER_CACHE_SECONDS } from '../definitions/routes.js';
import { INDEX_ENTRY_WRITE_UNITS, indexShardsFor, KEY_HEADROOM, KEY_READ_UNITS_PER_SECOND, KEY_WRITE_UNITS_PER_SECOND } from '../definitions/scale.js';
import {
  FANOUT_BATCH_FIXED_SECONDS, FANOUT_SECONDS_PER_EVENT, NEW_TABLE_WRITE_UNITS, PARTITION_BYTES, STREAM_PROFILES, STREAM_SETTINGS_BEFORE,
  type StreamProfile, type StreamSettings,
} from '../definitions/stream.js';
import { aggregate, windowBuckets } from './alerts.js';
import type { LeadEvent } from './event.js';
import { MAX_BUS_ENTRIES } from './fanout.js';
import { alertShardOf, controlKeys, eventKeysFor, shardOf } from './keys.js';
import { DAY_MS, RETENTION_MS } from './time.js';

/**
 * The scale model (contract section 15, issue #22 point 6; `npm run scale-model`, docs/scale.md): one second of
 * synthetic traffic per scenario, each event run through the key functions the stores use (eventKeysFor, shardOf,
 * controlKeys, the alerts' own `aggregate`, the archive's stream routing), counting write and read units per key
 * value; the hottest key of each component is judged against DynamoDB's per-key limits with KEY_HEADROOM (pass = at
 * most half the limit), and the account and service quotas likewise (at the quota after the increases docs/scale.md
 * lists). Nothing here re-types a key formula: change a key layout and the model follows.
 *
 * Assumptions (stated, not measured): an event item of EVENT_ITEM_BYTES (the cost bench's realistic lead event); a
 * source.submitted carries an e-mail and a phone (two identity claims, one lead profile transaction); one rule and
 * dimension of an org is over its threshold all hour (an org in trouble: its evaluations read the raised mark);
 * stream shards follow the events table's partitions (one per 1,000 write units of base-table traffic, or per 10 GB).
 */

/** The base item of the cost bench's realistic lead event (docs/benchmarks.md: 1,727 bytes). */
export const EVENT_ITEM_BYTES = 1_727;
const BASE_WRITE_UNITS = Math.ceil(EVENT_ITEM_BYTES / 1024);
/** A transaction writes 2 units per item per KB (DynamoDB's rule): the alert mark and total, a first-sight link. */
const TRANSACTION_ITEM_UNITS = 2;

/** Quotas the model judges against: AWS's default, and what docs/scale.md asks AWS to raise it to. */
export interface Quota {
  name: string;
  default: number;
  planned: number;
  unit: string;
  url: string;
}

export const QUOTAS = {
  apiGateway: { name: 'API Gateway requests/s per account and Region', default: 10_000, planned: 25_000, unit: 'req/s', url: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html' },
  putEvents: { name: 'EventBridge PutEvents requests/s (us-east-1)', default: 10_000, planned: 30_000, unit: 'req/s', url: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html' },
  lambdaConcurrency: { name: 'Lambda concurrent executions per Region', default: 1_000, planned: 3_000, unit: 'executions', url: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html' },
  tableWrites: { name: 'DynamoDB write units/s per on-demand table or index', default: 40_000, planned: 400_000, unit: 'WRU/s', url: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html' },
  tableReads: { name: 'DynamoDB read units/s per on-demand table', default: 40_000, planned: 400_000, unit: 'RRU/s', url: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html' },
  firehosePartitions: { name: 'Firehose active partitions per stream', default: FIREHOSE_ACTIVE_PARTITIONS_DEFAULT, planned: FIREHOSE_ACTIVE_PARTITIONS_MAX, unit: 'partitions', url: 'https://docs.aws.amazon.com/firehose/latest/dev/buffering.html' },
  // The 10× burst puts ~200 MB/s on the deployed streams: the Firehose Limits form raises a stream's throughput.
  firehoseBytes: { name: 'Firehose bytes/s per stream (us-east-1)', default: FIREHOSE_STREAM_BYTES_PER_SECOND, planned: 10 * FIREHOSE_STREAM_BYTES_PER_SECOND, unit: 'B/s', url: 'https://docs.aws.amazon.com/firehose/latest/dev/limits.html' },
  firehoseRequests: { name: 'Firehose requests/s per stream (us-east-1)', default: FIREHOSE_STREAM_REQUESTS_PER_SECOND, planned: FIREHOSE_STREAM_REQUESTS_PER_SECOND, unit: 'req/s', url: 'https://docs.aws.amazon.com/firehose/latest/dev/limits.html' },
} satisfies Record<string, Quota>;

export type { StreamSettings };

/** Section 15's targets are a large deployment's: they are judged with the `large` stream profile. */
export const STREAM_SETTINGS: StreamSettings = STREAM_PROFILES.large;

/** What the deployment runs with: the org's index shards for a peak rate, alert total shards, stream settings. */
export interface Plan {
  /** by_day/by_flow shards of an org whose peak (bursts included) is this many events a second. */
  indexShards: (peakEventsPerSecond: number) => number;
  alertShards: number;
  stream: StreamSettings;
}

export const PLAN: Plan = { indexShards: indexShardsFor, alertShards: ALERT_TOTAL_SHARDS, stream: STREAM_SETTINGS };
/** Before issue #22: one unsharded key per day and flow, one alert total per bucket, 100-record batches every second. */
export const PLAN_BEFORE: Plan = { indexShards: () => 1, alertShards: 1, stream: STREAM_SETTINGS_BEFORE };

export interface Scenario {
  name: string;
  orgs: number;
  /** Events a second per org in the modelled second. */
  eventsPerSecond: number;
  /** The org's planned peak (its shard plan): bursts included. */
  peakEventsPerSecond: number;
  /** Events per API request: 100 when the org posts batches (the way to go fast), 1 otherwise. */
  eventsPerRequest: number;
  /** Events per second the table has held for 90 days (its partitions, so its stream shards). */
  sustainedTableRate: number;
  /** A backfill: occurred_at a year back, in time order (one past day at a time). */
  backfill?: { historyEventsPerDay: number };
  /** A section 15 design target (docs/scale.md). */
  target: boolean;
  /** Judged under this stream profile instead of the plan's (the default deployment's `standard`). */
  profile?: StreamProfile;
}

/** A year of history is posted at this pace (docs/scale.md): half of the 10,000 events/s design target. */
export const BACKFILL_EVENTS_PER_SECOND = 5_000;
/** The history the backfill scenario posts: an org averaging 100 events a second, for a year. */
export const BACKFILL_HISTORY_EVENTS_PER_DAY = 100 * 86_400;
export const BACKFILL_DAYS = 365;
/** How long that takes at the documented pace, in days. */
export const backfillDays = (): number => (BACKFILL_HISTORY_EVENTS_PER_DAY * BACKFILL_DAYS) / BACKFILL_EVENTS_PER_SECOND / 86_400;

export const SCENARIOS: Scenario[] = [
  ...[10, 100, 1_000, 10_000].map((rate) => ({
    name: `one org at ${rate.toLocaleString('en-US')} events/s`, orgs: 1, eventsPerSecond: rate, peakEventsPerSecond: rate * 10,
    eventsPerRequest: rate >= 1_000 ? 100 : 1, sustainedTableRate: Math.max(rate, 10_000), target: rate === 10_000,
  })),
  { name: 'burst: the 10,000/s org at 10× for 5 minutes', orgs: 1, eventsPerSecond: 100_000, peakEventsPerSecond: 100_000, eventsPerRequest: 100, sustainedTableRate: 10_000, target: true },
  {
    name: `backfill: a year of one org at ${BACKFILL_EVENTS_PER_SECOND.toLocaleString('en-US')} events/s`, orgs: 1, eventsPerSecond: BACKFILL_EVENTS_PER_SECOND,
    peakEventsPerSecond: BACKFILL_EVENTS_PER_SECOND * 2, eventsPerRequest: 100, sustainedTableRate: 10_000, backfill: { historyEventsPerDay: BACKFILL_HISTORY_EVENTS_PER_DAY }, target: true,
  },
  { name: '10,000 orgs at 1 event/s', orgs: 10_000, eventsPerSecond: 1, peakEventsPerSecond: 10, eventsPerRequest: 1, sustainedTableRate: 10_000, target: true },
  {
    name: 'standard stream profile (the default deploy): one org at 1,000 events/s on a table that held 1,000/s for 90 days', orgs: 1,
    eventsPerSecond: 1_000, peakEventsPerSecond: 10_000, eventsPerRequest: 100, sustainedTableRate: 1_000, target: false, profile: 'standard',
  },
];

/** A deterministic PRNG (mulberry32): the same scenario gives the same figures every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NAMESPACE = '6f1c2a7e-4b8d-5e3f-9a1b-2c3d4e5f6a7b';
const NOW_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const FLOWS = 20;
const SOURCES = 10;
const BUYERS = 50;
const STEPS = 10;

/** Picks index k of n with weight 1/(k+1): the first flow, source or buyer takes the largest share (~28 % of 20). */
function zipf(rng: () => number, n: number): number {
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / (k + 1);
  let x = rng() * total;
  for (let k = 0; k < n; k++) {
    x -= 1 / (k + 1);
    if (x <= 0) return k;
  }
  return n - 1;
}

/** The event types of a lead's life and their shares: what counts toward which alert rule follows from them. */
const TYPES: [string, number][] = [
  ['source.submitted', 0.25], ['source.rejected', 0.05], ['filter.failed', 0.03], ['recipient.delivered', 0.2], ['recipient.failed', 0.1],
  ['step.completed', 0.27], ['lead.updated', 0.1],
];

export interface SyntheticEvent {
  event: LeadEvent;
  /** Identities its delivery claims (source.submitted: an e-mail and a phone). */
  identities: string[];
}

/**
 * One second of an org's events: UUID ids, leads with a realistic spread (most leads 1–8 events in a second, 1 % a
 * ping-post auction of 50), flows and sources skewed (zipf), buyers and steps, occurred_at today (or, in a backfill,
 * one past day at a time).
 */
export function syntheticSecond(scenario: Scenario, orgIndex: number, seed = 1): SyntheticEvent[] {
  const rng = random(seed * 1_000_003 + orgIndex);
  const orgId = `org_${String(orgIndex).padStart(5, '0')}`;
  const events: SyntheticEvent[] = [];
  const occurredBase = scenario.backfill
    ? NOW_MS - BACKFILL_DAYS * DAY_MS + Math.floor(rng() * BACKFILL_DAYS) * DAY_MS
    : NOW_MS - 1_000;
  let lead = 0;
  while (events.length < scenario.eventsPerSecond) {
    const leadId = `lead_${orgIndex}_${lead++}_${Math.floor(rng() * 1e9).toString(36)}`;
    const count = rng() < 0.01 ? 50 : 1 + Math.floor(rng() * 8);
    for (let i = 0; i < count && events.length < scenario.eventsPerSecond; i++) {
      let x = rng();
      const type = TYPES.find(([, share]) => (x -= share) <= 0)?.[0] ?? 'lead.updated';
      const index = events.length;
      const occurredMs = scenario.backfill ? occurredBase + Math.floor((index / scenario.eventsPerSecond) * 1_000) : occurredBase + Math.floor(rng() * 1_000);
      const event = {
        id: uuidv5(`${seed}:${orgId}:${index}`, NAMESPACE), org_id: orgId, lead_id: leadId, event_type: type,
        source: `source_${zipf(rng, SOURCES)}`, source_type: 'external', outcome: type.endsWith('failed') || type.endsWith('rejected') ? 'failure' : 'success',
        occurred_at: new Date(occurredMs).toISOString(), received_at: new Date(NOW_MS).toISOString(), expires_at: new Date(NOW_MS + RETENTION_MS).toISOString(),
        ...(rng() < 0.8 ? { flow_id: `flow_${zipf(rng, FLOWS)}` } : {}),
        ...(type.startsWith('recipient.') ? { entity_id: `buyer_${zipf(rng, BUYERS)}` } : {}),
        ...(type === 'step.completed' ? { step_id: `step_${Math.floor(rng() * STEPS)}`, timing: { duration_ms: Math.floor(rng() * 3_000) } } : {}),
      } as unknown as LeadEvent;
      events.push({ event, identities: type === 'source.submitted' ? [`email:${leadId}@example.com`, `phone:+1555${String(index).padStart(7, '0')}`] : [] });
    }
  }
  return events;
}

/** Per key value: write and read units a second. */
class KeyLoad {
  private readonly keys = new Map<string, { w: number; r: number }>();
  add(key: string, writes: number, reads = 0): void {
    const load = this.keys.get(key) ?? { w: 0, r: 0 };
    load.w += writes;
    load.r += reads;
    this.keys.set(key, load);
  }
  /** The key with the largest share of its limits (write or read). */
  hottest(): { key: string; w: number; r: number; share: number } | undefined {
    let best: { key: string; w: number; r: number; share: number } | undefined;
    for (const [key, { w, r }] of this.keys) {
      const share = Math.max(w / KEY_WRITE_UNITS_PER_SECOND, r / KEY_READ_UNITS_PER_SECOND);
      if (!best || share > best.share) best = { key, w, r, share };
    }
    return best;
  }
  total(): { w: number; r: number } {
    let w = 0;
    let r = 0;
    for (const load of this.keys.values()) {
      w += load.w;
      r += load.r;
    }
    return { w, r };
  }
}

export interface Row {
  component: string;
  /** The hottest key value, or what is measured. */
  key: string;
  rate: string;
  limit: string;
  /** Share of the limit (or quota); pass when at most KEY_HEADROOM. */
  share: number;
  pass: boolean;
}

export interface ScenarioResult {
  scenario: Scenario;
  rows: Row[];
  /** Figures behind the stream rows, for docs/scale.md. */
  stream: { shardsNew: number; shardsGrown: number; eventsPerBatch: number; batchesPerSecond: number; addedLatencySeconds: number };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function keyRow(component: string, load: KeyLoad): Row {
  const hot = load.hottest();
  if (!hot) return { component, key: '(none)', rate: '0', limit: `${KEY_WRITE_UNITS_PER_SECOND} W / ${KEY_READ_UNITS_PER_SECOND} R`, share: 0, pass: true };
  return {
    component, key: hot.key.length > 60 ? `${hot.key.slice(0, 57)}…` : hot.key, rate: `${fmt(hot.w)} W/s, ${fmt(hot.r)} R/s`,
    limit: `${KEY_WRITE_UNITS_PER_SECOND} W / ${KEY_READ_UNITS_PER_SECOND} R`, share: hot.share, pass: hot.share <= KEY_HEADROOM,
  };
}

function quotaRow(component: string, what: string, value: number, quota: Quota): Row {
  const share = value / quota.planned;
  const limit = quota.planned === quota.default ? `${fmt(quota.default)} ${quota.unit}` : `${fmt(quota.planned)} ${quota.unit} (default ${fmt(quota.default)})`;
  return { component, key: what, rate: `${fmt(value)} ${quota.unit}`, limit, share, pass: share <= KEY_HEADROOM };
}

/** The fan-out's time for a batch of `n` events. */
export const batchSeconds = (n: number) => FANOUT_BATCH_FIXED_SECONDS + FANOUT_SECONDS_PER_EVENT * n;

/** Stream shards of the events table: one per 1,000 base-table write units a second, and one per 10 GB held. */
export function streamShards(eventsPerSecond: number, heldEventsPerSecond: number): { shardsNew: number; shardsGrown: number } {
  const byWrites = Math.ceil((eventsPerSecond * BASE_WRITE_UNITS) / KEY_WRITE_UNITS_PER_SECOND);
  const shardsNew = Math.max(Math.ceil(NEW_TABLE_WRITE_UNITS / KEY_WRITE_UNITS_PER_SECOND), byWrites);
  const held = (heldEventsPerSecond * RETENTION_MS) / 1000 * EVENT_ITEM_BYTES;
  return { shardsNew, shardsGrown: Math.max(shardsNew, Math.ceil(held / PARTITION_BYTES)) };
}

/**
 * Records per batch on a stream slot receiving `n` records a second: the first record opens the batch, the window
 * gathers more until the batch size (so a busy slot invokes with full batches, a quiet one once per window).
 */
export const eventsPerBatch = (n: number, stream: StreamSettings) => Math.min(stream.batchSize, 1 + n * stream.windowSeconds);

/** Runs one scenario's second through the key functions under a plan. */
export function runScenario(scenario: Scenario, plan: Plan = PLAN, seed = 1): ScenarioResult {
  const events: SyntheticEvent[] = [];
  for (let org = 0; org < scenario.orgs; org++) events.push(...syntheticSecond(scenario, org, seed));
  // Stream slots take records by a hash of the item key: interleave the orgs' events as the stream would.
  const order = random(seed);
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(order() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  const total = events.length;
  const shards = plan.indexShards(scenario.peakEventsPerSecond);
  const base = new KeyLoad(), byLead = new KeyLoad(), byDay = new KeyLoad(), byFlow = new KeyLoad();
  const identities = new KeyLoad(), leads = new KeyLoad(), alertCounters = new KeyLoad(), raised = new KeyLoad(), limiter = new KeyLoad(), apiKeys = new KeyLoad();

  for (const { event, identities: claimed } of events) {
    const shard = shardOf(event.id, shards);
    base.add(eventKeysFor.pk(event.org_id, event.id), BASE_WRITE_UNITS);
    byLead.add(eventKeysFor.lead(event.org_id, event.lead_id), INDEX_ENTRY_WRITE_UNITS);
    byDay.add(eventKeysFor.day(event.org_id, event.occurred_at.slice(0, 10), shard), INDEX_ENTRY_WRITE_UNITS);
    if (event.flow_id) byFlow.add(eventKeysFor.flow(event.org_id, event.flow_id, shard), INDEX_ENTRY_WRITE_UNITS);
    for (const identity of claimed) identities.add(controlKeys.identity(event.org_id, identity).pk, 1, 1);
    if (claimed.length > 0) leads.add(controlKeys.leadPartition(event.org_id, event.lead_id), TRANSACTION_ITEM_UNITS, 1);
  }

  // Requests: the limiter's state items per org (its request bucket and, in the same partition, its events bucket),
  // the authorizer's key lookup (cached AUTHORIZER_CACHE_SECONDS).
  const requestsPerOrg = scenario.eventsPerSecond / scenario.eventsPerRequest;
  for (let org = 0; org < scenario.orgs; org++) {
    const orgId = `org_${String(org).padStart(5, '0')}`;
    // Served by many function instances at once, each leasing its own share (an org's leases grow with its instances).
    const instances = modelInstancesFor(requestsPerOrg);
    limiter.add(controlKeys.rateLimitBucket(orgId).pk, rateLimitStateWritesPerSecond(requestsPerOrg, RATE_LIMIT_DEFAULTS, instances));
    // The events bucket, token by token (a batch's lease is at least its 100 events, so fewer writes: an upper bound).
    limiter.add(controlKeys.rateLimitEventsBucket(orgId).pk, rateLimitStateWritesPerSecond(scenario.eventsPerSecond, eventLimitsFor(shards), instances));
    apiKeys.add(controlKeys.apiKeyByHash(`hash_of_${orgId}_key`).pk, 0, Math.min(requestsPerOrg, 1 / AUTHORIZER_CACHE_SECONDS));
  }

  // The stream: shards of a new table (throughput) and of a grown one (batching); batches of the steady-state size.
  const { shardsNew, shardsGrown } = streamShards(scenario.eventsPerSecond * scenario.orgs, scenario.sustainedTableRate);
  const slotsGrown = shardsGrown * plan.stream.parallelization;
  const perBatch = eventsPerBatch(total / slotsGrown, plan.stream);
  const batchesPerSecond = total / perBatch;
  const size = Math.max(1, Math.round(perBatch));
  let putEvents = 0;
  let concurrency = 0;
  // The deployed delivery streams (ARCHIVE_STREAMS); an org over half a stream's bytes spread over its planned share.
  const archiveStreams = ARCHIVE_STREAMS;
  const orgStreams = Math.min(archiveStreams, archiveStreamsForOrg(scenario.eventsPerSecond));
  const firehoseRequests = new Map<number, number>();
  const firehoseBytes = new Map<number, number>();
  let sequence = 0;
  for (let start = 0; start < total; start += size) {
    const chunk = events.slice(start, start + size);
    // A chunk shorter than a batch (the last, or a quiet stream's second) is that share of one batch.
    const weight = chunk.length / perBatch;
    putEvents += Math.ceil(chunk.length / MAX_BUS_ENTRIES) * (chunk.length >= perBatch ? 1 : weight);
    concurrency += batchSeconds(perBatch) * weight;
    const touched = new Set<number>();
    for (const { event } of chunk) {
      const stream = archiveStreamOf(event.org_id, event.id, archiveStreams, orgStreams);
      touched.add(stream);
      firehoseBytes.set(stream, (firehoseBytes.get(stream) ?? 0) + ARCHIVE_ROW_BYTES);
    }
    for (const stream of touched) firehoseRequests.set(stream, (firehoseRequests.get(stream) ?? 0) + weight);
    const records = chunk.map(({ event }) => ({ event, sequence: String(++sequence) }));
    for (const delta of aggregate(records)) {
      // The adapter's transaction: the batch's mark and one total ADD, on the shard the first sequence number picks
      // (alertShardOf; a plan with another shard count, such as "before", spreads its totals the same way over its own).
      const first = delta.contributions.reduce((a, b) => (a.sequence <= b.sequence ? a : b)).sequence;
      const totalShard = plan.alertShards === ALERT_TOTAL_SHARDS ? alertShardOf(first) : shardOf(first, plan.alertShards);
      alertCounters.add(controlKeys.alertCounter(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, first).pk, TRANSACTION_ITEM_UNITS * weight);
      alertCounters.add(controlKeys.alertTotal(delta.orgId, delta.rule, delta.dimension, delta.bucketStart, totalShard).pk, TRANSACTION_ITEM_UNITS * weight);
      // Evaluation (only windows ending in the last hour: the backfill rule): the current bucket's totals, strongly
      // consistent (closed buckets are cached per instance); an org in trouble also reads its raised mark.
      const atMs = delta.bucketStart + BUCKET_MS - 1;
      if (atMs < NOW_MS - WINDOW_MS) continue;
      const current = windowBuckets(atMs).at(-1)!;
      for (let k = 0; k < plan.alertShards; k++) alertCounters.add(controlKeys.alertTotal(delta.orgId, delta.rule, delta.dimension, current, k).pk, 0, weight);
      if (delta.rule === 'rejection_rate') {
        const windowStart = new Date(Math.floor(atMs / WINDOW_MS) * WINDOW_MS).toISOString();
        raised.add(controlKeys.alertRaised(delta.orgId, delta.rule, delta.dimension, windowStart).pk, 0, weight);
      }
    }
  }

  const rows: Row[] = [
    keyRow('base table (org#id)', base),
    keyRow('by_lead', byLead),
    keyRow(`by_day (${shards} shard${shards === 1 ? '' : 's'})`, byDay),
    keyRow(`by_flow (${shards} shard${shards === 1 ? '' : 's'})`, byFlow),
    keyRow('identity claims', identities),
    keyRow('lead partitions', leads),
    keyRow(`alert counters (${plan.alertShards} total shard${plan.alertShards === 1 ? '' : 's'})`, alertCounters),
    keyRow('raised alerts (one rule crossing)', raised),
    keyRow('rate-limiter state', limiter),
    keyRow('API key lookups', apiKeys),
  ];

  // The org's event rate (its events bucket) follows its shard plan: the scenario's rate must be within it, or the
  // org is refused (429) before any key is; the plan is what admits it, so the cap itself is the limit (pass ≤ 100 %).
  const eventCap = eventsPerSecondFor(shards);
  rows.push({
    component: `event rate cap (${shards} shard${shards === 1 ? '' : 's'}: eventsPerSecondFor)`, key: 'one org, events/s', rate: `${fmt(scenario.eventsPerSecond)} events/s`,
    limit: `${fmt(eventCap)} events/s`, share: scenario.eventsPerSecond / eventCap, pass: scenario.eventsPerSecond <= eventCap,
  });

  // Firehose: active partitions of the fullest stream over a buffer window, its bytes and requests a second.
  const partitions = scenario.backfill
    ? Math.ceil((scenario.eventsPerSecond * 900) / scenario.backfill.historyEventsPerDay) + 1
    : activePartitionsPerStream(scenario.orgs, archiveStreams, { orgStreams });
  rows.push(quotaRow(`Firehose active partitions (${archiveStreams} stream${archiveStreams === 1 ? '' : 's'})`, 'fullest stream, org × dt', partitions, QUOTAS.firehosePartitions));
  rows.push(quotaRow('Firehose throughput', 'fullest stream, bytes/s', Math.max(0, ...firehoseBytes.values()), QUOTAS.firehoseBytes));
  rows.push(quotaRow('Firehose requests', 'fullest stream, PutRecordBatch/s', Math.max(0, ...firehoseRequests.values()), QUOTAS.firehoseRequests));
  rows.push(quotaRow('EventBridge PutEvents', `${fmt(batchesPerSecond)} batches/s, ≤${MAX_BUS_ENTRIES} entries a request`, putEvents, QUOTAS.putEvents));

  // A stream slot on a new table must drain its share with every batch under half its throughput.
  const slotsNew = shardsNew * plan.stream.parallelization;
  const perSlot = total / slotsNew;
  const slotCapacity = plan.stream.batchSize / batchSeconds(plan.stream.batchSize);
  rows.push({
    component: `stream shards (new table: ${shardsNew} × ${plan.stream.parallelization})`, key: `one slot, batches of ${plan.stream.batchSize}`, rate: `${fmt(perSlot)} events/s`,
    limit: `${fmt(slotCapacity)} events/s`, share: perSlot / slotCapacity, pass: perSlot / slotCapacity <= KEY_HEADROOM,
  });
  const lambdaNew = (total / Math.min(plan.stream.batchSize, eventsPerBatch(perSlot, plan.stream))) * batchSeconds(Math.min(plan.stream.batchSize, eventsPerBatch(perSlot, plan.stream)));
  rows.push(quotaRow(`Lambda concurrency (fan-out, grown table: ${shardsGrown} shards)`, 'fan-out executions', Math.max(concurrency, lambdaNew), QUOTAS.lambdaConcurrency));
  rows.push(quotaRow('API Gateway', `${scenario.eventsPerRequest} event${scenario.eventsPerRequest === 1 ? '' : 's'} a request`, requestsPerOrg * scenario.orgs, QUOTAS.apiGateway));

  const eventsTable = Math.max(base.total().w, byDay.total().w, byLead.total().w, byFlow.total().w);
  rows.push(quotaRow('events table (busiest of table and indexes)', 'write units/s', eventsTable, QUOTAS.tableWrites));
  const control = [identities, leads, alertCounters, raised, limiter, apiKeys].reduce((sum, load) => ({ w: sum.w + load.total().w, r: sum.r + load.total().r }), { w: 0, r: 0 });
  rows.push(quotaRow('control table', 'write units/s', control.w, QUOTAS.tableWrites));
  rows.push(quotaRow('control table', 'read units/s', control.r, QUOTAS.tableReads));

  return {
    scenario, rows,
    stream: { shardsNew, shardsGrown, eventsPerBatch: perBatch, batchesPerSecond, addedLatencySeconds: perBatch >= plan.stream.batchSize ? 0 : plan.stream.windowSeconds },
  };
}

/** Every scenario under the project's plan. */
export const runModel = (plan: Plan = PLAN): ScenarioResult[] => SCENARIOS.map((scenario) => runScenario(scenario, scenario.profile ? { ...plan, stream: STREAM_PROFILES[scenario.profile] } : plan));
