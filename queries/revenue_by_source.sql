-- Revenue by source: completed purchases and their revenue per source and currency.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
SELECT
  source,
  currency,
  COUNT(*) AS purchases,
  ROUND(SUM(amount), 2) AS revenue,
  ROUND(AVG(amount), 2) AS average_order
FROM events
WHERE org_id = ? AND dt BETWEEN ? AND ? AND event_type = 'purchase_completed' AND amount IS NOT NULL
GROUP BY source, currency
ORDER BY revenue DESC, source, currency
