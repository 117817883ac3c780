-- Success rates: the share of each outcome within each event type.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
SELECT
  event_type,
  outcome,
  COUNT(*) AS events,
  ROUND(CAST(COUNT(*) AS DOUBLE) * 100 / SUM(COUNT(*)) OVER (PARTITION BY event_type), 2) AS percentage
FROM events
WHERE org_id = ? AND dt BETWEEN ? AND ? AND outcome IS NOT NULL
GROUP BY event_type, outcome
ORDER BY event_type, outcome
