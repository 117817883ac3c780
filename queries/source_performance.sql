-- Source performance: per source, submitted, accepted, delivered, acceptance and delivery rates, costs, revenue, profit.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT source AS group_key, event_type, TRY_CAST(TRY_CAST(CAST(cost AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS cost, TRY_CAST(TRY_CAST(CAST(price AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS price
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
), per_group AS (
  SELECT
    group_key,
    SUM(CASE WHEN event_type = 'source.submitted' THEN 1 ELSE 0 END) AS submitted,
    SUM(CASE WHEN event_type = 'source.accepted' THEN 1 ELSE 0 END) AS accepted,
    SUM(CASE WHEN event_type = 'recipient.delivered' THEN 1 ELSE 0 END) AS delivered,
    COALESCE(SUM(cost), 0) AS costs,
    COALESCE(SUM(CASE WHEN event_type = 'recipient.delivered' THEN price END), 0) AS revenue
  FROM scoped
  GROUP BY group_key
)
SELECT /* group column */ group_key AS source,
  submitted,
  accepted,
  delivered,
  CAST(accepted AS DOUBLE) / NULLIF(submitted, 0) AS acceptance_rate,
  CAST(delivered AS DOUBLE) / NULLIF(accepted, 0) AS delivery_rate,
  costs,
  revenue,
  revenue - costs AS profit
FROM per_group
WHERE submitted > 0 OR delivered > 0
ORDER BY revenue DESC, group_key
