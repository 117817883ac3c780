import { v5 as uuidv5 } from 'uuid';
import { sha256Hex } from './canonical.js';
import { ALERT_TOTAL_SHARDS } from '../definitions/alert-rules.js';

const ALERT_ID_NAMESPACE = '0b3f9c52-7d1e-5a4b-8c6d-2e9f1a3b5c7d';
const utf8 = new TextEncoder();

/**
 * The key layout of both tables (shared/definitions/tables.ts), in one place. Org ids never contain '#'
 * (ORG_ID_PATTERN), so `…#${org}#…` keys cannot collide across orgs.
 */
export const ORG_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * An index key spread over shards (contract section 15: no key above half of DynamoDB's per-key limit). Shard 0 is
 * the unsharded key `<org>#<rest>` (items written before an org had shards stay where readers look); shard k > 0 is
 * `<org>~<k>#<rest>`: '~' is never in an org id and the org part ends at the first '#', so no flow id, however
 * many '#' it holds, makes one shard's key equal another's.
 */
const shardedKey = (orgId: string, rest: string, shard: number) => (shard === 0 ? `${orgId}#${rest}` : `${orgId}~${shard}#${rest}`);

/** Which of `shards` an event's index entries go to: from its id, so a retried write lands on the same shard. */
export function shardOf(id: string, shards: number): number {
  if (shards <= 1) return 0;
  return parseInt(sha256Hex(id).slice(0, 8), 16) % shards;
}

/** Which of ALERT_TOTAL_SHARDS a stream batch's counter writes go to: from its lowest sequence number (the same on a retry). */
export function alertShardOf(firstSequence: string): number {
  return parseInt(sha256Hex(firstSequence).slice(0, 8), 16) % ALERT_TOTAL_SHARDS;
}

/** Events table: the item key and the index partition and sort keys. */
export const eventKeysFor = {
  pk: (orgId: string, id: string) => `${orgId}#${id}`,
  lead: (orgId: string, leadId: string) => `${orgId}#${leadId}`,
  /** An org's day in by_day, shard `shard` (0: the unsharded key). */
  day: (orgId: string, day: string, shard = 0) => shardedKey(orgId, day, shard),
  /** An org's flow in by_flow, shard `shard` (0: the unsharded key). */
  flow: (orgId: string, flowId: string, shard = 0) => shardedKey(orgId, flowId, shard),
  /** Every shard of a day (read side by side, merged by time_key). */
  dayShards: (orgId: string, day: string, shards: number) => Array.from({ length: Math.max(1, shards) }, (_, k) => shardedKey(orgId, day, k)),
  flowShards: (orgId: string, flowId: string, shards: number) => Array.from({ length: Math.max(1, shards) }, (_, k) => shardedKey(orgId, flowId, k)),
  /** The index sort key: occurred_at, then the tiebreak (timeTiebreak: the id, or LeadConduit's order). */
  time: (occurredAt: string, tiebreak: string) => `${occurredAt}#${tiebreak}`,
};

const LEADCONDUIT_OBJECT_ID = /^[0-9a-fA-F]{24}$/;

/**
 * What orders events that share an occurred_at in the indexes (timelines, lists, flows): the event's id, except for a
 * LeadConduit event whose LeadConduit id is a BSON ObjectId (24 hex digits, time-ordered as LeadConduit orders its
 * events): that id, lower-cased, `-` and the first 11 hex digits of leadlog's id. One lead's LeadConduit events that
 * share a start_timestamp thus keep LeadConduit's order (section 12). Same shape as an id (36 characters of
 * [0-9a-f-], so cursors hold it as they hold an id) and never equal to one (its `-` is at position 24, a UUID's at 8);
 * unique per org (a LeadConduit id names one leadlog id, and the digits of that id follow).
 */
export function timeTiebreak(event: { id: string; source: string; external_event_id?: string | undefined }): string {
  if (event.source !== 'leadconduit' || event.external_event_id === undefined || !LEADCONDUIT_OBJECT_ID.test(event.external_event_id)) return event.id;
  return `${event.external_event_id.toLowerCase()}-${event.id.replace(/-/g, '').slice(0, 11)}`;
}

export type ControlKey = { pk: string; sk: string };

/** A partition of the control table and a sort-key prefix: the items of one kind under one org. */
export interface ControlPrefix {
  pk: string;
  skPrefix: string;
}

/** A short digest for a key part that is free text (a dimension) or PII (an e-mail): no raw value sits in a key. */
const digest = (value: string, length = 64) => sha256Hex(value).slice(0, length);

/** The digest an identity (`email:…`, `phone:…`, `ref:…`) is keyed by; event items list the ones their delivery named. */
export const identityDigest = (identityKey: string): string => digest(identityKey);
/** The digest a lead is named by where its id must not stay once it is erased (split and mention items). */
export const leadDigest = (leadId: string): string => digest(leadId);

/**
 * Control table: one partition-and-sort-key layout for API keys, identities, lead profiles, webhook secrets,
 * alert settings, alert counters and raised-alert marks. Every adapter of that table builds its keys here.
 *
 *   APIKEY#<sha256 of key>                         / APIKEY           lookup by presented key (the authorizer's GetItem)
 *   ORG#<org>                                      / APIKEY#<key id>  listing and revoking an org's keys
 *   ORG#<org>                                      / WEBHOOK#<prov.>  {secrets: [current, previous?]}
 *   ORG#<org>                                      / ALERTCFG         per-org alert rule overrides
 *   ORG#<org>                                      / PRIVACY          per-org privacy settings {pii_keys}
 *   ORG#<org>                                      / IDENTITY         per-org identity settings {ignore}: values never linked
 *   ORG#<org>                                      / SHARDS           the org's index shard plan {shards, previous, writers_from}
 *   ORG#<org>                                      / LIMITS           per-org rate limit {requests_per_second, burst} (PUT /v1/settings/limits)
 *   ORG#<org>                                      / LEADCONDUIT#<channel>  {created, duplicate, invalid (ADD), last_key, after_id, last_run_at,
 *                                                                     last_error}: one item per way in (api, inbox, pull), section 12
 *   RATELIMIT#<org>                                / BUCKET           the org's token bucket {tat}: GCRA's arrival time (ms), leased from in
 *                                                                     chunks (shared/definitions/rate-limits.ts: a few dozen writes a second
 *                                                                     at most); its own partition, so its writes share no key with settings
 *   RATELIMIT#<org>                                / EVENTS           the org's events bucket {tat}: the same GCRA at its shard plan's rate
 *                                                                     (eventLimitsFor), leased the same way; the partition's writes are
 *                                                                     both buckets' (the scale model adds them)
 *   AUDIT#<org>#<UTC day>                          / <at>#<uuid>      one audit record (TTL: 400 days)
 *   IDENT#<org>#<sha256 of identity>               / IDENT            {lead_id}: the first claim wins
 *   LEAD#<org>#<lead id>                           / PROFILE          {created_at, merged_into?, n_email, n_phone, n_ref}: small, whatever
 *                                                                     the family's size (the counts are its subtree's person identities)
 *   LEAD#<org>#<lead id>                           / ID#<sha256>      {key}: a person identity this lead claimed, one item each
 *   LEAD#<org>#<lead id>                           / MERGED#<lead id> {from, identity, merged_at}: a lead merged directly into this one
 *   LEAD#<org>#<lead id>                           / SPLIT#<sha256>   a lead (by digest) split from this one by an unmerge: never merged
 *                                                                     again by a delivery (on both sides; an erased side leaves a digest)
 *   LEAD#<org>#<lead id>                           / MENTION#<event>  {event_id, on_lead_digest}: an event on another family that names this
 *                                                                     lead (lead.merged/unmerged after a split, lead.merge_refused): erased with
 *                                                                     it; the lead it is on by digest (that lead may be erased first)
 *   ERASURE#<org>                                  / JOB#<erasure id> one erasure job: phase, members, counts (no PII)
 *   ERASURE#<org>                                  / JOB#<erasure id>#PART#<list>#<digest>#<n>  {values}: the n-th slice of a long
 *                                                                     list of the job (members, mentioned, …) kept out of the job item so no
 *                                                                     item grows with the family; <digest> names the list's content
 *   ERASURE#<org>                                  / LEAD#<digest>    {erasure_id}: the erasure of a lead (idempotent DELETE), keyed by
 *                                                                     a digest of the lead id: an erased id (an e-mail) is never kept
 *   ERASURES                                       / <org>#<id>       a running erasure (the local runner resumes these)
 *   EXPORT#<org>                                   / JOB#<export id>  one export job: filter, status, rows so far (TTL 7 days)
 *   EXPORTS                                        / <org>#<id>       an export still queued or running (the local runner resumes these)
 *   EXPORT_SCHEDULES                               / <org>#<id>       a scheduled export: name, period, format, filter, next run
 *   LEADCONDUIT_PULLS                              / <org>            an org's LeadConduit pull: position {after_id} (only forward),
 *                                                                     its lease {lease_owner, lease_until}, scheduled (AWS pulls it
 *                                                                     every 5 min); one small item per org, a few writes per run
 *   REPLAY#<org>                                   / JOB#<replay id>  one replay: filter, position, counts (TTL 7 days)
 *   REPLAYS                                        / <org>#<id>       a replay still running (the local runner resumes these)
 *   CNT#<org>#<rule>#<dim. digest>#<bucket>#<shard> / <lowest seq.>   one counter item per batch (TTL): the batch's idempotency mark and
 *                                                                     reasons, in the shard its lowest sequence number picks (alertShardOf)
 *   CNT#<org>#<rule>#<dim. digest>#<bucket>#<shard> / TOTAL           that shard's running totals (TTL): ALERT_TOTAL_SHARDS partitions per
 *                                                                     bucket, so no key takes every batch of a busy org (section 15)
 *   ALERTS#<org>                                   / <start>#<uuid of rule+dimension>  a raised alert, once per window;
 *                                                                      the org's alert history, newest last (TTL 30 days)
 */
export const controlKeys = {
  apiKeyByHash: (keyHash: string): ControlKey => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' }),
  apiKeyOfOrg: (orgId: string, keyId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: `APIKEY#${keyId}` }),
  apiKeysOfOrg: (orgId: string): ControlPrefix => ({ pk: `ORG#${orgId}`, skPrefix: 'APIKEY#' }),
  webhookSecrets: (orgId: string, provider: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: `WEBHOOK#${provider}` }),
  webhookSecretsOfOrg: (orgId: string): ControlPrefix => ({ pk: `ORG#${orgId}`, skPrefix: 'WEBHOOK#' }),
  alertSettings: (orgId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: 'ALERTCFG' }),
  privacySettings: (orgId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: 'PRIVACY' }),
  identitySettings: (orgId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: 'IDENTITY' }),
  shardPlan: (orgId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: 'SHARDS' }),
  rateLimitSettings: (orgId: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: 'LIMITS' }),
  rateLimitBucket: (orgId: string): ControlKey => ({ pk: `RATELIMIT#${orgId}`, sk: 'BUCKET' }),
  rateLimitEventsBucket: (orgId: string): ControlKey => ({ pk: `RATELIMIT#${orgId}`, sk: 'EVENTS' }),
  leadconduitStatus: (orgId: string, channel: string): ControlKey => ({ pk: `ORG#${orgId}`, sk: `LEADCONDUIT#${channel}` }),
  leadconduitStatusOfOrg: (orgId: string): ControlPrefix => ({ pk: `ORG#${orgId}`, skPrefix: 'LEADCONDUIT#' }),
  auditDay: (orgId: string, day: string): string => `AUDIT#${orgId}#${day}`,
  identity: (orgId: string, identityKey: string): ControlKey => controlKeys.identityByDigest(orgId, identityDigest(identityKey)),
  identityByDigest: (orgId: string, identityDigest: string): ControlKey => ({ pk: `IDENT#${orgId}#${identityDigest}`, sk: 'IDENT' }),
  leadProfile: (orgId: string, leadId: string): ControlKey => ({ pk: `LEAD#${orgId}#${leadId}`, sk: 'PROFILE' }),
  leadPartition: (orgId: string, leadId: string): string => `LEAD#${orgId}#${leadId}`,
  leadIdentity: (orgId: string, leadId: string, identityKey: string): ControlKey => ({ pk: `LEAD#${orgId}#${leadId}`, sk: `ID#${identityDigest(identityKey)}` }),
  leadMerge: (orgId: string, into: string, from: string): ControlKey => ({ pk: `LEAD#${orgId}#${into}`, sk: `MERGED#${from}` }),
  leadSplit: (orgId: string, leadId: string, other: string): ControlKey => ({ pk: `LEAD#${orgId}#${leadId}`, sk: `SPLIT#${leadDigest(other)}` }),
  leadMention: (orgId: string, leadId: string, eventId: string): ControlKey => ({ pk: `LEAD#${orgId}#${leadId}`, sk: `MENTION#${eventId}` }),
  erasureJob: (orgId: string, erasureId: string): ControlKey => ({ pk: `ERASURE#${orgId}`, sk: `JOB#${erasureId}` }),
  erasureJobPart: (orgId: string, erasureId: string, list: string, contentDigest: string, n: number): ControlKey => ({
    pk: `ERASURE#${orgId}`, sk: `JOB#${erasureId}#PART#${list}#${contentDigest}#${String(n).padStart(5, '0')}`,
  }),
  erasureJobParts: (orgId: string, erasureId: string): ControlPrefix => ({ pk: `ERASURE#${orgId}`, skPrefix: `JOB#${erasureId}#PART#` }),
  erasureOfLead: (orgId: string, leadId: string): ControlKey => ({ pk: `ERASURE#${orgId}`, sk: `LEAD#${digest(leadId)}` }),
  runningErasure: (orgId: string, erasureId: string): ControlKey => ({ pk: 'ERASURES', sk: `${orgId}#${erasureId}` }),
  runningErasures: (): ControlPrefix => ({ pk: 'ERASURES', skPrefix: '' }),
  exportJob: (orgId: string, exportId: string): ControlKey => ({ pk: `EXPORT#${orgId}`, sk: `JOB#${exportId}` }),
  runningExport: (orgId: string, exportId: string): ControlKey => ({ pk: 'EXPORTS', sk: `${orgId}#${exportId}` }),
  runningExports: (): ControlPrefix => ({ pk: 'EXPORTS', skPrefix: '' }),
  replayJob: (orgId: string, replayId: string): ControlKey => ({ pk: `REPLAY#${orgId}`, sk: `JOB#${replayId}` }),
  runningReplay: (orgId: string, replayId: string): ControlKey => ({ pk: 'REPLAYS', sk: `${orgId}#${replayId}` }),
  runningReplays: (): ControlPrefix => ({ pk: 'REPLAYS', skPrefix: '' }),
  exportSchedule: (orgId: string, id: string): ControlKey => ({ pk: 'EXPORT_SCHEDULES', sk: `${orgId}#${id}` }),
  exportSchedulesOf: (orgId?: string): ControlPrefix => ({ pk: 'EXPORT_SCHEDULES', skPrefix: orgId ? `${orgId}#` : '' }),
  leadconduitPull: (orgId: string): ControlKey => ({ pk: 'LEADCONDUIT_PULLS', sk: orgId }),
  leadconduitPulls: (): ControlPrefix => ({ pk: 'LEADCONDUIT_PULLS', skPrefix: '' }),
  /** One shard of a bucket's counters: its batches' marks and its running total live under one partition key. */
  alertCounterPartition: (orgId: string, rule: string, dimension: string, bucketStart: number, shard: number): string =>
    `CNT#${orgId}#${rule}#${digest(dimension, 16)}#${bucketStart}#${shard}`,
  /** A batch's mark, in the shard its lowest sequence number picks (alertShardOf): a replayed batch finds it there. */
  alertCounter: (orgId: string, rule: string, dimension: string, bucketStart: number, firstSequence: string): ControlKey => ({
    pk: controlKeys.alertCounterPartition(orgId, rule, dimension, bucketStart, alertShardOf(firstSequence)), sk: firstSequence,
  }),
  alertTotal: (orgId: string, rule: string, dimension: string, bucketStart: number, shard: number): ControlKey => ({
    pk: controlKeys.alertCounterPartition(orgId, rule, dimension, bucketStart, shard), sk: 'TOTAL',
  }),
  alertRaised: (orgId: string, rule: string, dimension: string, windowStart: string): ControlKey => ({
    // The sort key is a page position like any other (<ISO time>#<uuid>): the uuid names the rule and dimension.
    // UTF-8 bytes, not the string: uuid's own encoding throws on a lone surrogate (same bytes for any other string).
    pk: controlKeys.alertsOfOrg(orgId), sk: `${windowStart}#${uuidv5(utf8.encode(`${rule}\u0000${dimension}`), ALERT_ID_NAMESPACE)}`,
  }),
  alertsOfOrg: (orgId: string): string => `ALERTS#${orgId}`,
};

/**
 * The log table (proof of record, section 14; shared/adapters/dynamo-proof-log.ts). Org ids never hold '#', event
 * ids are UUIDs; every org's items are under its own partition keys:
 *   LOGQ#<org>[~<shard>]          / <event id>         a leaf waiting for the integrator, in its event's index shard
 *   LOGMARK#<p>                   / <org>              the org has queued work (16 partitions p by the org's hash)
 *   LOGHEAD#<org>                 / H                  size, root, lease, last checkpoint
 *   LOGTILE#<org>#<level>#<index> / T                  one tile of height 8 (shared/domain/tiles.ts)
 *   LOGLEAF#<org>#<event id>      / L | E              the event's leaf (index, hash) | its erasure mark
 *   LOGCP#<org>                   / <size, 16 digits>  a signed checkpoint, by size
 *   LOGCPT#<org>                  / <issued_at>#<size> the same, by time
 */
export const logKeys = {
  queue: (orgId: string, shard: number) => (shard === 0 ? `LOGQ#${orgId}` : `LOGQ#${orgId}~${shard}`),
  queued: (orgId: string, shard: number, id: string): ControlKey => ({ pk: logKeys.queue(orgId, shard), sk: id }),
  marks: (partition: number) => `LOGMARK#${partition}`,
  mark: (partition: number, orgId: string): ControlKey => ({ pk: `LOGMARK#${partition}`, sk: orgId }),
  head: (orgId: string): ControlKey => ({ pk: `LOGHEAD#${orgId}`, sk: 'H' }),
  tile: (orgId: string, level: number, index: number): ControlKey => ({ pk: `LOGTILE#${orgId}#${level}#${index}`, sk: 'T' }),
  leaf: (orgId: string, id: string): ControlKey => ({ pk: `LOGLEAF#${orgId}#${id}`, sk: 'L' }),
  erased: (orgId: string, id: string): ControlKey => ({ pk: `LOGLEAF#${orgId}#${id}`, sk: 'E' }),
  checkpointsBySize: (orgId: string) => `LOGCP#${orgId}`,
  checkpointBySize: (orgId: string, paddedSize: string): ControlKey => ({ pk: `LOGCP#${orgId}`, sk: paddedSize }),
  checkpointsByTime: (orgId: string) => `LOGCPT#${orgId}`,
  checkpointByTime: (orgId: string, sk: string): ControlKey => ({ pk: `LOGCPT#${orgId}`, sk }),
};
