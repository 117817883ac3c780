import type { AlertRuleId } from '../definitions/alert-rules.js';
import type { Scope } from '../definitions/routes.js';
import type { AlertRaised, CounterDelta, CounterTotals, RuleSettings } from './alerts.js';
import type { ErasureCounts, ErasurePhase } from './erasure.js';
import type { BuiltEvent, LeadEvent, RawBody } from './event.js';
import type { Provider } from './webhooks/signatures.js';
import type { ShardPlan } from './shards.js';

/**
 * Ports: every interface the domain talks to, in one place. Adapters (shared/adapters/, infra/local/)
 * implement them over DynamoDB, S3, EventBridge, Firehose and files; tests may wrap them to inject faults.
 * An adapter throws a LeadlogError (e.g. ServiceUnavailableError) for a dependency's transient failure:
 * shared/adapters/aws-clients.ts translates AWS SDK errors once, for every client.
 */

// ── Events ───────────────────────────────────────────────────────────────────────────────────────────

/** What an event's conditional write found under its id: nothing (so it wrote), or the event stored there. */
export type WriteResult = { status: 'created' } | { status: 'exists'; stored: StoredEvent };

/** An event as stored, with the hash of the content it was written with (shared/domain/ingest.ts compares it). */
export interface StoredEvent {
  event: LeadEvent;
  contentHash: string;
}

export type TypeMatch = { equals: string } | { prefix: string };

export type IndexName = 'by_lead' | 'by_day' | 'by_flow';

export interface RangeQuery {
  index: IndexName;
  /**
   * Groups of partition key values, read one group after another (one group per UTC day for by_day, else one);
   * the partitions of a group (a day's shards, a flow's shards, the leads of a family) are read side by side and
   * merged by (occurred_at, id).
   */
  partitions: string[][];
  /** Inclusive lower and exclusive upper bound on occurred_at (epoch ms). */
  fromMs?: number;
  toMs?: number;
  order: 'asc' | 'desc';
  limit: number;
  filters: {
    /** Any of these: an exact type, or a prefix (from `source.*`). */
    eventTypes?: TypeMatch[];
    outcome?: string;
    source?: string;
    leadId?: string;
  };
  include: { leadSnapshot: boolean; rawPayload: boolean };
  /** Continue after this position (decoded from a cursor). */
  after?: PagePosition;
  nowMs: number;
  /** The request's deadline: when it fires, the store stops between reads (and abandons the read in flight). */
  signal?: AbortSignal;
}

/** Where a page ended: the index of the partition group and the sort key of the last item returned. */
export interface PagePosition {
  partition: number;
  timeKey: string;
}

export interface Page {
  items: LeadEvent[];
  /** Each item's own position (positions[i] is items[i]'s): a reader that ends a page early continues after it. */
  positions: PagePosition[];
  next?: PagePosition;
}

export interface EventStore {
  /** One conditional write: no decision about duplicates or conflicts here, only what was found. */
  put(built: BuiltEvent, nowMs: number): Promise<WriteResult>;
  get(orgId: string, id: string, nowMs: number): Promise<LeadEvent | undefined>;
  /** The bytes an event arrived with (a webhook's body as delivered; an API event's raw_payload as JSON), if any. */
  getRaw(orgId: string, id: string, nowMs: number): Promise<RawBody | undefined>;
  query(query: RangeQuery): Promise<Page>;
  /** The org's index shard plan now (shared/domain/shards.ts): writers spread by `write`, readers merge `read`. */
  shardPlan(orgId: string, nowMs: number): Promise<ShardPlan>;
  /**
   * A page of a lead's stored events (any day), with what an erasure must remove beside them; `next` continues
   * after the page (a position, so deleting what was read does not disturb paging).
   */
  erasable(orgId: string, leadId: string, after?: Record<string, unknown>, limit?: number): Promise<{ items: ErasableEvent[]; next?: Record<string, unknown> }>;
  /** Deletes events by id (idempotent: an id already gone is no error). */
  remove(orgId: string, ids: string[]): Promise<void>;
  /** Proof of record: the stored records of these ids (live ones; missing ids are absent), in the order asked. */
  records(orgId: string, ids: readonly string[], nowMs: number): Promise<StoredRecord[]>;
  /** Proof of record's audit: every item of the org whatever its keys say (a full scan), expired ones included. */
  scanRecords(orgId: string): AsyncIterable<StoredRecord>;
}

/** An event item as proof of record sees it (shared/adapters/event-item.ts `storedRecordOf`). */
export interface StoredRecord {
  /** The event as stored, without raw_payload. */
  event: LeadEvent;
  /** The bytes it arrived with, if any. */
  raw: Uint8Array | undefined;
  /** The record recomputed from the item (`recordOf`), and its SHA-256. */
  record: string;
  contentHash: string;
  /** What the item says: the record hash and seal written with it (absent on items written before proof of record). */
  storedHash?: string;
  seal?: string;
  /** The item's TTL, epoch seconds. */
  expiresAt: number;
}

/** What an erasure removes for one event: the event, its claim-checked blobs, the claims of the identities it named. */
export interface ErasableEvent {
  id: string;
  blobKeys: string[];
  identityDigests: string[];
}

/** Where an org's index shard plans are kept (the control table), cached for at most SHARD_PLAN_CACHE_MS. */
export interface ShardPlanStore {
  of(orgId: string, nowMs: number): Promise<ShardPlan>;
  /** Raises the plan to `shards` (never lowers it); answers the plan now. */
  raise(orgId: string, shards: number, nowMs: number): Promise<ShardPlan>;
}

/** Claim-check storage for raw payloads and bodies too big for an item (S3 in AWS, files under .data/s3 locally). */
export interface BlobStore {
  put(key: string, body: string | Buffer): Promise<void>;
  get(key: string): Promise<string>;
  getBytes(key: string): Promise<Buffer>;
  /** Idempotent: deleting a key that is not there is no error. */
  delete(key: string): Promise<void>;
}

// ── Control data: keys, identities, webhook secrets ─────────────────────────────────────────────────

export interface ApiKeyRecord {
  keyId: string;
  orgId: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt?: string;
  label?: string;
}

export interface ApiKeyStore {
  create(record: ApiKeyRecord, keyHash: string): Promise<void>;
  findByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined>;
  list(orgId: string): Promise<ApiKeyRecord[]>;
  revoke(orgId: string, keyId: string, atIso: string): Promise<boolean>;
}

/** Person identities of each kind (e-mails, phones, provider customer refs): what the family limits count. */
export interface IdentityCounts {
  email: number;
  phone: number;
  ref: number;
}

/** What leadlog knows of a lead besides its events: one small item, whatever the size of its family. */
export interface LeadProfile {
  /** When the lead first claimed an identity: merges keep the lead seen first. */
  firstSeenAt?: string;
  /** Set when this lead was merged into another (removed again by an unmerge), with the identity that tied them and when. */
  mergedInto?: string;
  mergedVia?: string;
  mergedAt?: string;
  /**
   * Person identities claimed by this lead and every lead merged into it, directly or through a chain (invariant kept
   * by every link, merge and unmerge transaction). For a live lead these are its family's counts, which the limits cap.
   */
  counts: IdentityCounts;
  /** How many split items (an unmerge's marks) this lead and every lead merged into it hold: a merge checks them when any. */
  splits: number;
  /**
   * The last unmerge that split this lead from the one it was merged into: that lead by digest (keys.leadDigest: it
   * may be erased before this one, and nothing here may then name it) and when.
   */
  unmerged?: { fromDigest: string; at: string };
}

/** A lead's whole record: its profile and its own items (identities it claimed, merges into it), each its own item. */
export interface LeadRecord {
  profile: LeadProfile | undefined;
  /** The person identity keys this lead claimed (not those of the leads merged into it). */
  identities: string[];
  /** The leads merged directly into this one, with the identity that tied each. */
  mergedFrom: { lead: string; identity?: string; mergedAt?: string }[];
  /** The leads (by digest) split from this one by an unmerge: a delivery never ties their families again. */
  splits: string[];
  /** Events stored on another lead (by digest: keys.leadDigest) that name this one (an erasure of this lead removes them too). */
  mentions: { eventId: string; leadDigest: string }[];
}

/** A claim of new identities for `chain[0]`, counted on every lead of `chain` (chain[i] merged into chain[i + 1]; the last is live). */
export interface LinkRequest {
  chain: string[];
  /** Person identity keys: claimed, listed on chain[0] and counted. */
  keys: string[];
  /** Provider objects (orders, sessions, …): claimed only. */
  objects: string[];
  /** Per kind being added: the most the live lead's count may be before this link (the limit less what is added). */
  caps: Partial<IdentityCounts>;
  nowIso: string;
}

/** A merge of live `from` into live `into`, decided on counts and split marks as read. */
export interface MergeRequest {
  from: string;
  into: string;
  identity: string;
  fromCounts: IdentityCounts;
  /** Per kind: the most `into`'s count may be (its limit less fromCounts). */
  caps: IdentityCounts;
  fromSplits: number;
  intoSplits: number;
  nowIso: string;
}

/** How a link or merge transaction ended: done; a limit stood in the way; the leads were split by an unmerge; or the state moved (re-read, retry). */
export type MergeOutcome = 'merged' | 'limit' | 'unmerged' | 'retry';

export interface IdentityStore {
  /** identity key → the lead that claimed it, for the keys already claimed. */
  find(orgId: string, keys: string[]): Promise<Map<string, string>>;
  /** Claims a provider object for the lead unless already claimed (uncounted); returns the lead that claimed it. */
  claim(orgId: string, key: string, leadId: string, nowIso: string): Promise<string>;
  /**
   * All or nothing, in one transaction: claims every key and object for chain[0], lists the keys on it and counts them
   * on every lead of the chain, while the chain still stands, the last lead is live and within its caps. false when
   * any of that no longer held (a key claimed meanwhile, a merge, a count that grew): the caller re-reads and retries.
   */
  link(orgId: string, request: LinkRequest): Promise<boolean>;
  /** The lead's profile alone (one consistent read). */
  profile(orgId: string, leadId: string): Promise<LeadProfile | undefined>;
  /** The lead's profile, identities and the leads merged into it (one consistent query of its own items). */
  lead(orgId: string, leadId: string): Promise<LeadRecord>;
  /**
   * Merges live `from` into live `into` in one transaction: only while both are live, `from` still counts
   * `fromCounts`, `into` is within `caps` (each limit less fromCounts), neither family's split marks changed, and the
   * two were not split by an unmerge.
   */
  merge(orgId: string, merge: MergeRequest): Promise<MergeOutcome>;
  /**
   * Undoes the merge of `lead` into chain[0] in one transaction: only while `lead` is merged into chain[0], still counts
   * `counts` and `splits`, and the chain up to its live lead stands; subtracts them from every lead of the chain and
   * marks `lead` and chain[0] as split (their families are never tied again by a delivery). false when any of that no longer held.
   */
  unmerge(orgId: string, unmerge: { lead: string; chain: string[]; counts: IdentityCounts; splits: number; nowIso: string }): Promise<boolean>;
  /** Notes that event `eventId`, stored on lead `on`, names lead `leadId` (idempotent): erasing `leadId` removes it too. */
  mention(orgId: string, leadId: string, mention: { eventId: string; lead: string }): Promise<void>;
  /** identity digest → the lead holding its claim, for the digests claimed. */
  owners(orgId: string, identityDigests: string[]): Promise<Map<string, string>>;
  /** Deletes the claim of an identity (by its digest) while `owner` still holds it (idempotent). */
  release(orgId: string, identityDigest: string, owner: string): Promise<void>;
  /** Deletes a lead's profile and every item of its own (idempotent). */
  removeProfile(orgId: string, leadId: string): Promise<void>;
}

/** An org's secrets per provider: the current one first, and the previous one during a rotation. */
export interface WebhookSecretStore {
  get(orgId: string, provider: Provider): Promise<string[]>;
  put(orgId: string, provider: Provider, secrets: string[], nowIso: string): Promise<void>;
  providers(orgId: string): Promise<{ provider: Provider; count: number; updatedAt: string }[]>;
}

/** An org's privacy settings (section 9): key names masked as names besides the built-in ones. */
export interface PrivacySettings {
  pii_keys: string[];
  updated_at?: string;
}

/** An org's identity settings (section 8, v1.2): its own junk values (normalized e-mails and E.164 phones), never linked. */
export interface IdentitySettings {
  ignore: string[];
  /** Per-family limits of person identities (defaults: IDENTITY_LIMITS). */
  limits?: Partial<IdentityCounts>;
  updated_at?: string;
  /** Moved on by every unmerge (never shown): identity caches drop what they learned before it. */
  epoch?: string;
}

export interface SettingsStore {
  privacy(orgId: string): Promise<PrivacySettings>;
  setPrivacy(orgId: string, settings: PrivacySettings): Promise<void>;
  identity(orgId: string): Promise<IdentitySettings>;
  setIdentity(orgId: string, settings: IdentitySettings): Promise<void>;
  /** Moves the org's identity epoch on (IdentitySettings.epoch), keeping the rest of its settings. */
  newIdentityEpoch(orgId: string, epoch: string): Promise<void>;
}

/** An org's own rate limit (PUT /v1/settings/limits); a field left out follows RATE_LIMIT_DEFAULTS. */
export interface RateLimitSettings {
  requests_per_second?: number;
  burst?: number;
  updated_at?: string;
}

/** What a conditional change of an org's bucket saw: done (the new state), or refused (the state as it is; undefined: none yet). */
export type BucketChange = { ok: true; tatMs: number } | { ok: false; tatMs: number | undefined };

/**
 * An org's rate-limit bucket, kept as GCRA's theoretical arrival time (`tat`, epoch ms: the bucket is full at any
 * time ≥ tat), and the org's override. Each change is one conditional write, never a read first
 * (shared/domain/rate-limit.ts decides which to make; shared/adapters/dynamo-rate-limiter.ts makes it).
 */
export interface RateLimitStore {
  /** tat += addMs, only if nowMs ≤ tat ≤ atMostMs (the bucket is not full and still holds the tokens asked for). */
  advance(orgId: string, change: { nowMs: number; addMs: number; atMostMs: number }): Promise<BucketChange>;
  /** tat = nowMs + addMs, only if there is no state or tat < nowMs (the bucket is full). */
  restart(orgId: string, change: { nowMs: number; addMs: number }): Promise<BucketChange>;
  limits(orgId: string): Promise<RateLimitSettings | undefined>;
  setLimits(orgId: string, settings: RateLimitSettings): Promise<void>;
}

/** One audit record (section 9): who (the API key), what, on which resource, in which request. No PII. */
export interface AuditEntry {
  at: string;
  key_id: string;
  action: string;
  resource: string;
  request_id: string;
  /** Figures of the action (an erasure's counts); never PII. */
  detail?: Record<string, number>;
}

export interface AuditLog {
  record(orgId: string, entry: AuditEntry): Promise<void>;
  /**
   * Erasure (section 9): in the entries of [fromMs, toMs), every part of a resource that names one of `names` (a
   * path segment or a query value equal to it, percent-decoded) is replaced by `replacement` (the erasure id).
   * Returns how many entries `replacement` has renamed, those of an earlier interrupted run included, each once.
   */
  renameResource(orgId: string, request: { fromMs: number; toMs: number; names: readonly string[]; replacement: string }): Promise<number>;
  /** Newest first, from `toMs` back to `fromMs`, one partition per UTC day. */
  list(orgId: string, query: { days: string[]; fromMs: number; toMs: number; limit: number; after?: PagePosition }): Promise<{ items: AuditEntry[]; next?: PagePosition }>;
}

// ── After the write: bus, archive, alert counters ───────────────────────────────────────────────────

/** One PutEvents entry (the bus adds its own name). */
export interface BusEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Time?: Date;
}

/** Where bus entries go (EventBridge in AWS, the local bus on a laptop). Returns the indexes that failed. */
export interface EventBus {
  putEvents(entries: BusEntry[]): Promise<number[]>;
}

/** One archive row: the archive columns plus the partition keys (org_id, dt). Masked. */
export type ArchiveRow = Record<string, string | number | null>;

/** The archive's entrance (Firehose in AWS, the local Parquet writer on a laptop). Returns failed indexes. */
export interface Archive {
  putRows(rows: ArchiveRow[]): Promise<number[]>;
}

/**
 * The archive's erasure (section 9): removes every archived row of the given leads by rewriting the files that hold
 * them (DuckDB over .data/archive locally; Athena UNLOAD and S3 in AWS). Idempotent and safe to run again after a
 * crash at any point; returns what this call removed.
 */
export interface ArchiveEraser {
  /** The rows of these leads, and of these events (on other leads, naming one of them). */
  eraseLeads(orgId: string, leadIds: readonly string[], erasureId: string, eventIds?: readonly string[]): Promise<{ rows: number; files: number }>;
}

/** An erasure job as stored (shared/domain/erasure.ts): lead ids, phase and counts, never PII. */
export interface ErasureJob {
  orgId: string;
  id: string;
  /** The lead the DELETE named. */
  leadId: string;
  /** Its family: every lead erased with it. */
  members: string[];
  phase: ErasurePhase;
  counts: ErasureCounts;
  requestedAt: string;
  settleUntil?: string;
  /** The step under way (ids already counted): a run resumed after a crash does not count them again. */
  pending?: { events: string[]; claims: string[]; profiles: string[] };
  /** Events on other leads that named a member (their ids): removed from DynamoDB with the members, then from the archive. */
  mentioned?: string[];
  /**
   * The inbox phase's position (LeadConduit's Event Streaming inbox): the last key done (`after`), and the page under
   * way (`to`, its last key, and `counted`, digests of the family's keys in it already counted) so a rerun after a
   * crash finishes that page without counting its objects twice. Digests, not keys: a key holds the lead id.
   */
  inbox?: { after?: string; to?: string; counted?: string[] };
  completedAt?: string;
  keyId: string;
  requestId: string;
}

export interface ErasureStore {
  /**
   * Stores a new job, marks it running and makes it the erasure of each member lead, unless the named lead's
   * erasure is no longer `previous` (a concurrent DELETE won): then returns the job that stands.
   */
  create(job: ErasureJob, previous: string | undefined): Promise<ErasureJob>;
  get(orgId: string, erasureId: string): Promise<ErasureJob | undefined>;
  /** The id of the lead's latest erasure, if any. */
  ofLead(orgId: string, leadId: string): Promise<string | undefined>;
  /** Saves phase and counts; a completed job is no longer marked running. */
  save(job: ErasureJob): Promise<void>;
  /** Every job still running, in every org (the local runner resumes them after a restart). */
  running(): Promise<{ orgId: string; id: string }[]>;
}

/** Starts running a job (Step Functions in AWS, the local runner on a laptop); idempotent. */
export interface ErasureScheduler {
  start(orgId: string, erasureId: string): Promise<void>;
}

/** Counters, overrides and the once-per-window marks of the windowed alerts. */
export interface AlertStore {
  /**
   * Records a batch's delta for one counter as one write keyed by the delta's lowest stream sequence
   * number (and that record's event id): a replay of the batch writes the same key and changes nothing.
   */
  apply(delta: CounterDelta): Promise<void>;
  /**
   * The buckets' running totals (a bounded read whatever the window holds); `reasons` empty: see reasons(). With
   * `nowMs` (the fan-out's clock), buckets closed well before it may come from the store's short-lived cache.
   */
  totals(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[], nowMs?: number): Promise<CounterTotals>;
  /** The buckets' failure reasons with counts (reads every batch's mark: asked only when a window first crosses). */
  reasons(orgId: string, rule: AlertRuleId, dimension: string, buckets: number[]): Promise<Record<string, number>>;
  /** Whether this alert (org, rule, dimension, window) was raised already. */
  raised(alert: AlertRaised): Promise<boolean>;
  overrides(orgId: string): Promise<Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined>;
  setOverrides(orgId: string, rules: Partial<Record<AlertRuleId, Partial<RuleSettings>>>): Promise<void>;
  /** True the first time for this (org, rule, dimension, window); false after. The mark is also the alert history. */
  markRaised(alert: AlertRaised): Promise<boolean>;
  unmarkRaised(alert: AlertRaised): Promise<void>;
  /** The org's raised alerts whose window starts in [fromIso, toIso), newest first, after `after` (a sort key). */
  recent(orgId: string, query: { fromIso: string; toIso: string; limit: number; after?: string }): Promise<{ items: AlertRaised[]; next?: string }>;
}

// ── LeadConduit (contract section 12) ────────────────────────────────────────────────────────────────

/** The three ways LeadConduit events come in: POST /v1/integrations/leadconduit/events, the Event Streaming inbox, the pull. */
export type LeadConduitChannel = 'api' | 'inbox' | 'pull';

/** What a channel came to, cumulative per org (GET /v1/integrations/leadconduit/status). */
export interface LeadConduitCounts {
  created: number;
  duplicate: number;
  invalid: number;
}

/** The channel's own position and last failure: `last_key` (inbox), `after_id` and `last_run_at` (pull), `last_error` (both). */
export interface LeadConduitMarks {
  last_key?: string;
  after_id?: string;
  last_run_at?: string;
  /** null clears it (a run that went well after one that failed). */
  last_error?: string | null;
}

export interface LeadConduitChannelStatus extends LeadConduitCounts, LeadConduitMarks {}

/** Per-org, per-channel counters and marks in the control table (controlKeys.leadconduitStatus). */
export interface LeadConduitStatusStore {
  /** Adds to the channel's counters (DynamoDB ADD: concurrent writers never lose a count); zero deltas write nothing. */
  count(orgId: string, channel: LeadConduitChannel, delta: Partial<LeadConduitCounts>): Promise<void>;
  /** Sets the channel's marks (only the fields given). */
  mark(orgId: string, channel: LeadConduitChannel, marks: LeadConduitMarks): Promise<void>;
  /** Every channel's status; a channel never used reads as zeros. */
  status(orgId: string): Promise<Record<LeadConduitChannel, LeadConduitChannelStatus>>;
}

// ── LeadConduit's pull (contract section 12) ────────────────────────────────────────────────────────

/** One `GET /events` query of LeadConduit's API (its OpenAPI document, paths./events). */
export interface LeadConduitPageQuery {
  /** Events created after this 24-hex id (exclusive). */
  after_id?: string;
  /** Events created at or after this time (ISO). */
  start?: string;
  /** 1..1000. */
  limit: number;
  sort: 'asc' | 'desc';
}

/**
 * LeadConduit's `GET /events` (shared/adapters/leadconduit-api-client.ts): a page of event objects as LeadConduit
 * sent them (unchecked: the ingest judges each). Throws LeadConduitRefusedError when the key is refused (401/403),
 * ServiceUnavailableError when LeadConduit stays unavailable after retries.
 */
export interface LeadConduitApi {
  page(query: LeadConduitPageQuery, signal?: AbortSignal): Promise<unknown[]>;
}

/** An org's pull as kept in the control table (controlKeys.leadconduitPull): its position and whether AWS pulls it. */
export interface LeadConduitPullRecord {
  orgId: string;
  /** The highest LeadConduit id stored so far (lower-case hex); absent before the first stored page. */
  afterId?: string;
  /** Set by `npm run keys -- leadconduit --api-key … --aws`: the scheduled puller pulls this org. */
  scheduled?: boolean;
  lastRunAt?: string;
}

/**
 * Where each org's pull position and its lease live (shared/adapters/dynamo-leadconduit-pull-store.ts). A position
 * only moves forward, and only for the lease's holder: one pull per org at a time, and a pull that lost its lease
 * (it ran past it) can no longer move anything.
 */
export interface LeadConduitPullStore {
  get(orgId: string): Promise<LeadConduitPullRecord | undefined>;
  /** Takes the org's lease for `owner` until `untilMs` unless another owner holds an unexpired one; true when taken. */
  lease(orgId: string, owner: string, untilMs: number, nowMs: number): Promise<boolean>;
  /** Moves the position to `afterId` (never backwards) and extends the lease, while `owner` holds it; false when it does not. */
  advance(orgId: string, owner: string, afterId: string, untilMs: number): Promise<boolean>;
  /** Ends `owner`'s lease (if it still holds it) and notes when the run ended. */
  release(orgId: string, owner: string, lastRunAt: string): Promise<void>;
  /** Marks the org as pulled on schedule in AWS (its API key is in Secrets Manager). */
  schedule(orgId: string, nowIso: string): Promise<void>;
  /** Every org pulled on schedule, with its record (a page at a time, all of them). */
  scheduled(): Promise<LeadConduitPullRecord[]>;
}

// ── LeadConduit's Event Streaming inbox (contract section 12) ──────────────────────────────────────

/** An inbox object as read: its bytes, or only its size when it is over the cap; when it last changed (epoch ms). */
export type InboxObject = { body: Uint8Array; modifiedMs: number } | { tooLarge: true; size: number; modifiedMs: number };

/**
 * Where LeadConduit's objects land (shared/adapters/inbox-objects.ts: the S3 inbox bucket in AWS, `.data/inbox/`
 * locally). Keys are whole (`leadconduit/<org_id>/…`); every method is safe to repeat.
 */
export interface InboxObjects {
  /** Whether an object is whole as soon as it can be read (S3: yes; a local file may still be being written). */
  readonly atomic: boolean;
  /** The object (read up to maxBytes), or undefined when it is gone (handled by an earlier delivery). */
  get(key: string, maxBytes: number): Promise<InboxObject | undefined>;
  /** Copies the object aside with `<key>.error.json` (the reason) beside it, then removes it from the inbox. */
  moveAside(key: string, reason: string): Promise<void>;
  /** Ingested or skipped: kept a while (7 days in AWS), then it expires. */
  markIngested(key: string): Promise<void>;
  /**
   * One page of an org's objects, in key order after `after` (a key this method gave; none: from the start), at most
   * `limit`: everything held for the org, whatever became of it (in AWS `leadconduit/<org>/…` then its set-aside copies
   * and reasons `rejected/leadconduit/<org>/…`; locally the org's folder with `_ingested/` and `_rejected/`). `next`:
   * more may follow (list again after it). Used by erasure (section 9).
   */
  listOrg(orgId: string, after: string | undefined, limit: number): Promise<{ keys: string[]; next?: string }>;
  /** Deletes these objects (keys as listOrg gave them); one already gone is no error, any other failure throws. */
  remove(keys: readonly string[]): Promise<void>;
}

// ── Reports (section 13) ─────────────────────────────────────────────────────────────────────────────

/** A report's SQL, built by shared/domain/reports.ts: `?` placeholders and their values, in order (every value bound). */
export interface ReportQuery {
  sql: string;
  params: string[];
}

/** Where a report run stands; `rows` as the engine read them (numbers may be text: the domain types them by column). */
export type ReportRunState =
  | { status: 'running' }
  | { status: 'succeeded'; rows: Record<string, unknown>[] }
  | { status: 'failed'; error: string };

/**
 * Runs report SQL over the archive's `events` view: DuckDB locally (infra/local/local-report-engine.ts), Athena in
 * AWS (shared/adapters/athena-report-engine.ts). A run outlives the request that started it: `wait` gives up when
 * its signal fires, the run goes on, and `state` (by the handle `start` returned) tells how it ended. A handle is
 * the engine's own id; the domain never shows it unsigned (shared/domain/reports.ts binds it to the org).
 */
export interface ReportEngine {
  start(query: ReportQuery): Promise<string>;
  /** Resolves when the run has ended (succeeded or failed); rejects with the signal's reason when it fires first. */
  wait(handle: string, signal: AbortSignal): Promise<ReportRunState>;
  /** The run's state now; undefined when the engine knows no such run (expired, or never made here). */
  state(handle: string): Promise<ReportRunState | undefined>;
}

// ── Time and logs ────────────────────────────────────────────────────────────────────────────────────

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A secret of the deployment (Secrets Manager in AWS, a file under .data/ locally), e.g. the one cursors are signed with. */
export type SecretSource = () => Promise<string>;

/** Structured logging as the domain needs it (Powertools' Logger satisfies it). */
export interface Log {
  info(message: string, attributes: { [key: string]: any }): void;
  warn(message: string, attributes: { [key: string]: any }): void;
  error(message: string, attributes: { [key: string]: any }): void;
}
