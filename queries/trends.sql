-- Trends: events per interval (the start of each UTC day; the API also takes hours) by event type and outcome.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT date_trunc('day', occurred_at) AS group_key, event_type, outcome
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
)
SELECT /* group column */ group_key AS bucket,
  event_type,
  outcome,
  COUNT(*) AS events
FROM scoped
GROUP BY group_key, event_type, outcome
ORDER BY group_key, event_type, outcome
