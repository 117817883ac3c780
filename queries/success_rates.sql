-- Success rates: per event type, the events with an outcome and the share (0–1) of each outcome.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT event_type AS group_key, outcome
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND outcome IS NOT NULL
), per_group AS (
  SELECT
    group_key,
    COUNT(*) AS events,
    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS success,
    SUM(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failure,
    SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END) AS error,
    SUM(CASE WHEN outcome = 'skip' THEN 1 ELSE 0 END) AS skip
  FROM scoped
  GROUP BY group_key
)
SELECT /* group column */ group_key AS event_type,
  events,
  success,
  failure,
  error,
  skip,
  CAST(success AS DOUBLE) / events AS success_rate,
  CAST(failure AS DOUBLE) / events AS failure_rate,
  CAST(error AS DOUBLE) / events AS error_rate,
  CAST(skip AS DOUBLE) / events AS skip_rate
FROM per_group
ORDER BY group_key
