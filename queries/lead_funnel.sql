-- Lead funnel: leads that viewed a product, then also asked about one, then also purchased.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
WITH per_lead AS (
  SELECT
    lead_id,
    MAX(CASE WHEN event_type = 'product_viewed' THEN 1 ELSE 0 END) AS viewed,
    MAX(CASE WHEN event_type = 'product_asked' THEN 1 ELSE 0 END) AS asked,
    MAX(CASE WHEN event_type = 'purchase_completed' THEN 1 ELSE 0 END) AS purchased
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ?
  GROUP BY lead_id
)
SELECT
  SUM(viewed) AS viewed,
  SUM(viewed * asked) AS viewed_then_asked,
  SUM(viewed * asked * purchased) AS viewed_asked_purchased,
  SUM(purchased) AS purchased_total,
  ROUND(CAST(SUM(viewed * asked * purchased) AS DOUBLE) / NULLIF(SUM(viewed), 0), 4) AS conversion_from_view
FROM per_lead
