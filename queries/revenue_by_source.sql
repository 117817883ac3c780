-- Revenue by source: completed purchases and their revenue per source and currency (amounts in major units).
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT source AS group_key, currency, TRY_CAST(TRY_CAST(CAST(amount AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS amount
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND event_type = 'purchase_completed' AND amount IS NOT NULL
), per_group AS (
  SELECT group_key, currency, COUNT(*) AS purchases, SUM(amount) AS revenue
  FROM scoped
  GROUP BY group_key, currency
)
SELECT /* group column */ group_key AS source,
  currency,
  purchases,
  revenue,
  CAST(revenue AS DOUBLE) / purchases AS average_order
FROM per_group
ORDER BY revenue DESC, group_key, currency
