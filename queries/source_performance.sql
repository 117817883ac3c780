-- Source performance: submitted, acceptance rate, costs, delivery rate, revenue and profit per source.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
WITH per_source AS (
  SELECT
    source,
    SUM(CASE WHEN event_type = 'source.submitted' THEN 1 ELSE 0 END) AS submitted,
    SUM(CASE WHEN event_type = 'source.accepted' THEN 1 ELSE 0 END) AS accepted,
    SUM(CASE WHEN event_type = 'recipient.delivered' THEN 1 ELSE 0 END) AS delivered,
    COALESCE(SUM(cost), 0) AS costs,
    COALESCE(SUM(CASE WHEN event_type = 'recipient.delivered' THEN price END), 0) AS revenue
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ?
  GROUP BY source
)
SELECT
  source,
  submitted,
  ROUND(CAST(accepted AS DOUBLE) / NULLIF(submitted, 0), 4) AS acceptance_rate,
  ROUND(costs, 2) AS costs,
  ROUND(CAST(delivered AS DOUBLE) / NULLIF(accepted, 0), 4) AS delivery_rate,
  ROUND(revenue, 2) AS revenue,
  ROUND(revenue - costs, 2) AS profit
FROM per_source
WHERE submitted > 0 OR delivered > 0
ORDER BY revenue DESC, source
