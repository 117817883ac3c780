/**
 * The archive, defined once: the Parquet columns (Glue table for Athena in AWS, DuckDB files locally),
 * the partition layout, and the named queries (queries/*.sql, run by Athena and by `npm run athena`).
 */
import { createHash } from 'node:crypto';
import { REPORTS, type ReportName } from './reports.js';

export type ColumnType = 'string' | 'timestamp' | 'double' | 'bigint';

export interface ArchiveColumn {
  name: string;
  type: ColumnType;
  comment: string;
}

/** Flat columns for what analysts filter on, JSON strings for the rest; every value masked as reads without pii:read. */
export const archiveColumns: readonly ArchiveColumn[] = [
  { name: 'id', type: 'string', comment: 'event id (UUID)' },
  { name: 'lead_id', type: 'string', comment: 'the lead' },
  { name: 'source_type', type: 'string', comment: 'external | internal | direct' },
  { name: 'source', type: 'string', comment: 'stripe, leadconduit, web, …' },
  { name: 'event_type', type: 'string', comment: 'catalogue type' },
  { name: 'outcome', type: 'string', comment: 'success | failure | error' },
  { name: 'reason', type: 'string', comment: 'why, when not a success' },
  { name: 'flow_id', type: 'string', comment: 'LeadConduit flow' },
  { name: 'step_id', type: 'string', comment: 'LeadConduit step' },
  { name: 'entity_id', type: 'string', comment: 'recipient / buyer' },
  { name: 'object_id', type: 'string', comment: 'internal object id' },
  { name: 'object_id_ref', type: 'string', comment: 'provider object id' },
  { name: 'external_event_id', type: 'string', comment: 'provider event id' },
  { name: 'occurred_at', type: 'timestamp', comment: 'when it happened (UTC)' },
  { name: 'received_at', type: 'timestamp', comment: 'when leadlog stored it (UTC)' },
  { name: 'duration_ms', type: 'double', comment: 'timing.duration_ms' },
  { name: 'amount', type: 'double', comment: 'payload.amount (major units)' },
  { name: 'currency', type: 'string', comment: 'payload.currency (ISO 4217)' },
  { name: 'price', type: 'double', comment: 'payload.price (buyer revenue)' },
  { name: 'cost', type: 'double', comment: 'payload.cost' },
  { name: 'payload', type: 'string', comment: 'JSON' },
  { name: 'timing', type: 'string', comment: 'JSON' },
  { name: 'appended', type: 'string', comment: 'JSON' },
  { name: 'lead_snapshot', type: 'string', comment: 'JSON' },
  { name: 'raw_payload', type: 'string', comment: 'JSON' },
];

/** Hive-style partitions: org_id (injected in Athena: every query must name its org), then dt (UTC date of occurred_at). */
export const partitionColumns = [
  { name: 'org_id', type: 'string' as const, comment: 'the org (injected partition)' },
  { name: 'dt', type: 'string' as const, comment: 'UTC date of occurred_at, yyyy-MM-dd' },
];

/**
 * The `dt` range Athena's partition projection covers: every `occurred_at` the API accepts (from the epoch, which
 * shared/domain/time.ts enforces, up to 5 minutes ahead, which may be tomorrow in UTC).
 */
export const PROJECTION_DT_RANGE = '1970-01-01,NOW+1DAYS';

/**
 * How Firehose parses the rows' timestamps (Joda-Time): `2026-11-23T14:30:45.123Z`, the zone read from the text
 * (`ZZ` accepts `Z` as UTC) rather than a quoted literal 'Z' that leaves the zone to the SerDe's default.
 */
export const ARCHIVE_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSZZ";

/** The table Firehose writes (each row at least once) and the view everyone queries (each event once). */
export const RAW_TABLE = 'events_raw';
export const EVENTS_VIEW = 'events';

/**
 * The `events` view, one text for Athena (a Glue view over `events_raw`) and DuckDB (over the local files):
 * Firehose and the fan-out's retries deliver at least once, so each (org, day, id) keeps its first received copy.
 * The window is partitioned by org_id and dt too (copies of an event share both), so filters on the partition
 * columns reach the table through the view and Athena still prunes partitions.
 */
export function eventsViewSql(source: string): string {
  const columns = [...archiveColumns, ...partitionColumns].map((c) => c.name).join(', ');
  return `SELECT ${columns} FROM (SELECT *, row_number() OVER (PARTITION BY org_id, dt, id ORDER BY received_at) AS copy_no FROM ${source}) AS copies WHERE copy_no = 1`;
}

/** Key prefix of the archive, in S3 and under .data/archive/. */
export const ARCHIVE_PREFIX = 'events';

/**
 * Where what cannot be archived goes, in S3 (Firehose's `errorOutputPrefix`, infra/constructs/analytics.ts) and under
 * .data/archive/ (the local archive's quarantine): `errors/<error output type>/dt=<day>/`, re-fed by
 * `npm run archive -- redeliver` (shared/adapters/archive-redelivery.ts).
 */
export const ARCHIVE_ERROR_PREFIX = 'errors/';

/** Athena's named queries: the reports of section 13 (shared/definitions/reports.ts), one queries/<name>.sql each. */
export const namedQueries: readonly { name: ReportName; description: string }[] = REPORTS.map(({ name, description }) => ({ name, description }));

export type NamedQueryName = ReportName;

/** A SQL string literal (Athena and DuckDB quote alike). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The archive side of an erasure (section 9), as one text for Athena and DuckDB: the rows of these leads in one org,
 * and the rows of these events (events on other leads that name an erased one: a `lead.merged` or `lead.unmerged`
 * left on the family it was split from, a `lead.merge_refused` naming it). Its negation is what a rewritten file keeps.
 */
export function erasedRowsPredicate(orgId: string, leadIds: readonly string[], eventIds: readonly string[] = []): { org: string; leads: string } {
  const parts = [
    ...(leadIds.length > 0 ? [`lead_id IN (${leadIds.map(sqlLiteral).join(', ')})`] : []),
    ...(eventIds.length > 0 ? [`id IN (${eventIds.map(sqlLiteral).join(', ')})`] : []),
  ];
  return { org: `org_id = ${sqlLiteral(orgId)}`, leads: parts.length === 0 ? 'FALSE' : parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})` };
}

/*
 * Archive delivery at scale (contract section 15, issue #22 point 4): Firehose's quotas per delivery stream, and the
 * plan that keeps every stream under half of them by spreading orgs over K streams, each writing the contract's
 * `org_id=/dt=` layout into the same bucket (docs/decisions.md, "Archive partitions at 10,000 orgs").
 *
 * Quotas (https://docs.aws.amazon.com/firehose/latest/dev/limits.html and
 * https://docs.aws.amazon.com/firehose/latest/dev/buffering.html): with dynamic partitioning a stream holds at most 500
 * active partitions (distinct prefixes in its buffer), raisable on request to 5,000 per stream; "if you need more
 * partitions, you can create more delivery streams and distribute the active partitions across them". Direct PUT
 * takes, per stream, 5 MiB/s, 2,000 requests/s and 500,000 records/s in us-east-1, us-west-2 and eu-west-1 (1 MiB/s
 * and 1,000 requests/s in the other Regions); an account has 50 streams per Region by default.
 */

export const FIREHOSE_ACTIVE_PARTITIONS_DEFAULT = 500;
/** The most a quota request can raise one stream's active partitions to. */
export const FIREHOSE_ACTIVE_PARTITIONS_MAX = 5_000;
export const FIREHOSE_STREAM_BYTES_PER_SECOND = 5 * 1024 ** 2;
export const FIREHOSE_STREAM_REQUESTS_PER_SECOND = 2_000;
export const FIREHOSE_STREAM_RECORDS_PER_SECOND = 500_000;
export const FIREHOSE_STREAMS_PER_REGION_DEFAULT = 50;
/** The share of each quota leadlog plans to use (as for DynamoDB keys: a burst or an uneven hash never hits the quota). */
export const ARCHIVE_HEADROOM = 0.5;
/**
 * Days an active org writes within one buffer window: its `dt` of today and, around midnight UTC, yesterday's
 * (late events). A backfill writes more: at r events/s of an org with e events per day of history, r × 900 / e days.
 */
export const ARCHIVE_ACTIVE_DAYS = 2;
/** An archive row as Firehose receives it, for planning: the bench's realistic lead event is about 2 KB. */
export const ARCHIVE_ROW_BYTES = 2_048;

export interface ArchivePlanOptions {
  /** Active partitions one stream may hold: FIREHOSE_ACTIVE_PARTITIONS_MAX once the increase is granted (the default). */
  partitionQuota?: number;
  bytesPerSecond?: number;
  rowBytes?: number;
  activeDays?: number;
}

const planned = (options: ArchivePlanOptions) => ({
  partitionQuota: options.partitionQuota ?? FIREHOSE_ACTIVE_PARTITIONS_MAX,
  bytesPerSecond: options.bytesPerSecond ?? FIREHOSE_STREAM_BYTES_PER_SECOND,
  rowBytes: options.rowBytes ?? ARCHIVE_ROW_BYTES,
  activeDays: options.activeDays ?? ARCHIVE_ACTIVE_DAYS,
});

/** Streams one org's rows spread over (by event id) so that none takes more than half of a stream's bytes a second. */
export function archiveStreamsForOrg(eventsPerSecond: number, options: ArchivePlanOptions = {}): number {
  const { bytesPerSecond, rowBytes } = planned(options);
  return Math.max(1, Math.ceil((eventsPerSecond * rowBytes) / (bytesPerSecond * ARCHIVE_HEADROOM)));
}

/**
 * The orgs on the fullest of `streams` streams when `orgs` orgs, each on `orgStreams` consecutive streams, are placed
 * by a uniform hash: a binomial count's mean + 4 standard deviations (a stream exceeds it about once in 30,000), never
 * more than every org.
 */
export function orgsOnFullestStream(orgs: number, streams: number, orgStreams = 1): number {
  const p = Math.min(1, orgStreams / Math.max(1, streams));
  const mean = orgs * p;
  return Math.min(orgs, Math.ceil(mean + 4 * Math.sqrt(mean * (1 - p))));
}

/** Active partitions of the fullest stream: its orgs × the days each writes within one buffer window. */
export function activePartitionsPerStream(orgs: number, streams: number, options: ArchivePlanOptions & { orgStreams?: number } = {}): number {
  return orgsOnFullestStream(orgs, streams, options.orgStreams ?? 1) * planned(options).activeDays;
}

/**
 * The delivery streams `orgs` orgs at `eventsPerSecondPerOrg` each need: the fewest K such that the fullest stream
 * holds at most half its active-partition quota and half its bytes a second (an org over half a stream's bytes is
 * spread over archiveStreamsForOrg streams, and so counts on each of them).
 */
export function archiveStreamsFor(orgs: number, eventsPerSecondPerOrg: number, options: ArchivePlanOptions = {}): number {
  const { partitionQuota, bytesPerSecond, rowBytes } = planned(options);
  const orgStreams = archiveStreamsForOrg(eventsPerSecondPerOrg, options);
  const byBytes = Math.ceil((orgs * eventsPerSecondPerOrg * rowBytes) / (bytesPerSecond * ARCHIVE_HEADROOM));
  for (let streams = Math.max(1, orgStreams, byBytes); ; streams++) {
    if (activePartitionsPerStream(orgs, streams, { ...options, orgStreams }) <= partitionQuota * ARCHIVE_HEADROOM) return streams;
    if (streams >= orgs * orgStreams * 2) return streams; // one org per stream is as far as spreading helps
  }
}

/**
 * The delivery streams the stack creates (infra/constructs/analytics.ts): the plan for the section 15 targets, 10,000
 * orgs at 1 event/s and one org at 10,000 events/s (bursts of 10× ride on Firehose's buffer and the fan-out's retries),
 * with the active-partition increase to 5,000 per stream requested.
 */
export const ARCHIVE_STREAMS = Math.max(archiveStreamsFor(10_000, 1), archiveStreamsFor(1, 10_000));

const hash32 = (text: string) => parseInt(createHash('sha256').update(text).digest('hex').slice(0, 8), 16);

/**
 * Which of `streams` delivery streams archives an event: its org's home stream (a hash of the org id), or, for an org
 * spread over `orgStreams` streams, one of the `orgStreams` streams from its home on (a hash of the event id).
 * Invariants: each event goes to exactly one stream, the same one every time it is retried; an org occupies at most
 * `orgStreams` streams, so a stream's active partitions are bounded by the orgs placed on it.
 */
export function archiveStreamOf(orgId: string, eventId: string, streams: number, orgStreams = 1): number {
  if (streams <= 1) return 0;
  const home = hash32(`org\u0000${orgId}`) % streams;
  const spread = Math.min(streams, Math.max(1, Math.floor(orgStreams)));
  return spread === 1 ? home : (home + (hash32(`event\u0000${eventId}`) % spread)) % streams;
}
