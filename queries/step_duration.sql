-- Step duration: average and maximum duration_ms per step (step_id, else the event type).
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
SELECT
  COALESCE(step_id, event_type) AS step,
  event_type,
  COUNT(*) AS executions,
  ROUND(AVG(duration_ms), 1) AS avg_duration_ms,
  MAX(duration_ms) AS max_duration_ms
FROM events
WHERE org_id = ? AND dt BETWEEN ? AND ? AND duration_ms IS NOT NULL
GROUP BY COALESCE(step_id, event_type), event_type
ORDER BY avg_duration_ms DESC, step, event_type
