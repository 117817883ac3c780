-- Lead funnel: leads that viewed a product, then also asked about one, then also purchased (per group when grouped).
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT 'all' AS group_key, lead_id, event_type
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
), per_lead AS (
  SELECT
    group_key,
    lead_id,
    MAX(CASE WHEN event_type = 'product_viewed' THEN 1 ELSE 0 END) AS viewed,
    MAX(CASE WHEN event_type = 'product_asked' THEN 1 ELSE 0 END) AS asked,
    MAX(CASE WHEN event_type = 'purchase_completed' THEN 1 ELSE 0 END) AS purchased
  FROM scoped
  GROUP BY group_key, lead_id
)
SELECT /* group column */
  COUNT(*) AS leads,
  SUM(viewed) AS viewed,
  SUM(viewed * asked) AS viewed_then_asked,
  SUM(viewed * asked * purchased) AS viewed_asked_purchased,
  SUM(purchased) AS purchased_total,
  CAST(SUM(viewed * asked * purchased) AS DOUBLE) / NULLIF(SUM(viewed), 0) AS conversion_from_view
FROM per_lead
GROUP BY group_key
ORDER BY group_key
