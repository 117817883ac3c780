-- Step duration: per step, executions and duration_ms (mean, min, max, total) of the events that carry one.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT COALESCE('@' || NULLIF(regexp_extract(regexp_replace(step_id, '~[0-9a-f]{12}$', ''), '^[^@]*@([^@]+)$', 1), ''), NULLIF(regexp_extract(regexp_replace(step_id, '~[0-9a-f]{12}$', ''), '^(\+?[0-9]+)\*+$', 1), ''), regexp_replace(step_id, '~[0-9a-f]{12}$', '')) AS group_key,
    duration_ms AS duration_double, TRY_CAST(TRY_CAST(CAST(duration_ms AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS duration_ms
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND duration_ms IS NOT NULL
), per_group AS (
  SELECT group_key, COUNT(*) AS executions, SUM(duration_ms) AS total, MIN(duration_double) AS shortest, MAX(duration_double) AS longest
  FROM scoped
  WHERE duration_ms IS NOT NULL -- the exact value: a duration of 10^14 ms or more is left out of every column alike
  GROUP BY group_key
)
SELECT /* group column */ group_key AS step_id,
  executions,
  CAST(total AS DOUBLE) / executions AS avg_duration_ms,
  shortest AS min_duration_ms,
  longest AS max_duration_ms,
  CAST(total AS DOUBLE) AS total_duration_ms
FROM per_group
ORDER BY avg_duration_ms DESC, group_key
