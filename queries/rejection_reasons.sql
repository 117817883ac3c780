-- Rejection reasons: source.rejected, filter.failed and recipient.failed by reason, with each reason's share (0–1).
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT COALESCE('@' || NULLIF(regexp_extract(regexp_replace(reason, '~[0-9a-f]{12}$', ''), '^[^@]*@([^@]+)$', 1), ''), NULLIF(regexp_extract(regexp_replace(reason, '~[0-9a-f]{12}$', ''), '^(\+?[0-9]+)\*+$', 1), ''), regexp_replace(reason, '~[0-9a-f]{12}$', '')) AS group_key
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND event_type IN ('source.rejected', 'filter.failed', 'recipient.failed')
), per_group AS (
  SELECT group_key, COUNT(*) AS rejections
  FROM scoped
  GROUP BY group_key
)
SELECT /* group column */ group_key AS reason,
  rejections,
  CAST(rejections AS DOUBLE) / SUM(rejections) OVER () AS share
FROM per_group
ORDER BY rejections DESC, group_key
