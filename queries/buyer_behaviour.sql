-- Buyer behaviour: per buyer (entity_id) and hour of day, acceptance rate, average response time and revenue per lead.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
SELECT
  entity_id AS buyer,
  hour(occurred_at) AS hour_utc,
  SUM(CASE WHEN event_type = 'recipient.delivered' THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN event_type = 'recipient.failed' THEN 1 ELSE 0 END) AS rejected,
  ROUND(CAST(SUM(CASE WHEN event_type = 'recipient.delivered' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*), 4) AS acceptance_rate,
  ROUND(AVG(duration_ms), 1) AS avg_response_ms,
  ROUND(COALESCE(SUM(price), 0) / COUNT(DISTINCT lead_id), 2) AS revenue_per_lead
FROM events
WHERE org_id = ? AND dt BETWEEN ? AND ? AND entity_id IS NOT NULL AND event_type IN ('recipient.delivered', 'recipient.failed')
GROUP BY entity_id, hour(occurred_at)
ORDER BY buyer, hour_utc
