/**
 * The archive, defined once: the Parquet columns (Glue table for Athena in AWS, DuckDB files locally),
 * the partition layout, and the named queries (queries/*.sql, run by Athena and by `npm run athena`).
 */
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

export const namedQueries = [
  { name: 'step_duration', description: 'Average and max duration_ms per step and type' },
  { name: 'success_rates', description: 'Share of each outcome per event type' },
  { name: 'rejection_reasons', description: 'Rejections (source.rejected, filter.failed, recipient.failed) by reason' },
  { name: 'source_performance', description: 'Per source: submitted, acceptance rate, costs, delivery rate, revenue' },
  { name: 'buyer_behaviour', description: 'Per buyer and hour: acceptance, response time, revenue per lead' },
  { name: 'lead_funnel', description: 'Leads that viewed, asked about, and purchased a product' },
  { name: 'revenue_by_source', description: 'Purchase revenue per source and currency' },
] as const;

export type NamedQueryName = (typeof namedQueries)[number]['name'];

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
