-- Step duration: per step, executions and duration_ms (mean, min, max, total) of the events that carry one.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow) — converted once per
-- distinct duration and weighted by each group's count of it (a conversion per row cost microseconds), every ratio
-- divides a DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT COALESCE('@' || NULLIF(regexp_extract(regexp_replace(step_id, '~[0-9a-f]{12}$', ''), '^[^@]*@([^@]+)$', 1), ''), NULLIF(regexp_extract(regexp_replace(step_id, '~[0-9a-f]{12}$', ''), '^(\+?[0-9]+)\*+$', 1), ''), regexp_replace(step_id, '~[0-9a-f]{12}$', '')) AS group_key,
    duration_ms AS duration_double
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND duration_ms IS NOT NULL
), per_value AS (
  SELECT group_key, duration_double, COUNT(*) AS n
  FROM scoped
  GROUP BY group_key, duration_double
), exact_value AS (
  -- One exact conversion per distinct duration of the range (durations in ms repeat: a month of a million events holds
  -- a few thousand; converting every row cost microseconds each), joined back to each group's count of it.
  SELECT duration_double, TRY_CAST(TRY_CAST(CAST(duration_double AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS duration_ms
  FROM (SELECT DISTINCT duration_double FROM per_value) AS distinct_durations
), per_group AS (
  SELECT v.group_key, CAST(SUM(v.n) AS BIGINT) AS executions, SUM(e.duration_ms * v.n) AS total, MIN(v.duration_double) AS shortest, MAX(v.duration_double) AS longest
  FROM per_value AS v
  JOIN exact_value AS e ON e.duration_double = v.duration_double
  WHERE e.duration_ms IS NOT NULL -- the exact value: a duration of 10^14 ms or more is left out of every column alike
  GROUP BY v.group_key
)
SELECT /* group column */ group_key AS step_id,
  executions,
  CAST(total AS DOUBLE) / executions AS avg_duration_ms,
  shortest AS min_duration_ms,
  longest AS max_duration_ms,
  CAST(total AS DOUBLE) AS total_duration_ms
FROM per_group
ORDER BY avg_duration_ms DESC, group_key
