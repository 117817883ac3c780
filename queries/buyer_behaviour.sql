-- Buyer behaviour: per buyer (entity_id), deliveries accepted and rejected, acceptance rate, mean response time, revenue per lead.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB alike: counts are BIGINT,
-- sums of DOUBLE columns are taken as DECIMAL(20, 6) (exact, whatever the order rows are added in; via the value's
-- shortest text, as Trino's cast reads a DOUBLE; 10^14 or more is NULL, never an overflow), every ratio divides a
-- DOUBLE, nothing is rounded. The API (GET /v1/reports/<name>, shared/domain/reports.ts) runs this text
-- with the expression before "AS group_key" taken from its whitelist and its filters bound at "report filters".
WITH scoped AS (
  SELECT COALESCE('@' || NULLIF(regexp_extract(regexp_replace(entity_id, '~[0-9a-f]{12}$', ''), '^[^@]*@([^@]+)$', 1), ''), NULLIF(regexp_extract(regexp_replace(entity_id, '~[0-9a-f]{12}$', ''), '^(\+?[0-9]+)\*+$', 1), ''), regexp_replace(entity_id, '~[0-9a-f]{12}$', '')) AS group_key,
    event_type, lead_id, TRY_CAST(TRY_CAST(CAST(duration_ms AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS duration_ms, TRY_CAST(TRY_CAST(CAST(price AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6)) AS price
  FROM events
  WHERE org_id = ? AND dt BETWEEN ? AND ? /* report filters */
    AND entity_id IS NOT NULL AND event_type IN ('recipient.delivered', 'recipient.failed')
), per_group AS (
  SELECT
    group_key,
    SUM(CASE WHEN event_type = 'recipient.delivered' THEN 1 ELSE 0 END) AS accepted,
    SUM(CASE WHEN event_type = 'recipient.failed' THEN 1 ELSE 0 END) AS rejected,
    SUM(duration_ms) AS duration_total,
    COUNT(duration_ms) AS timed,
    COALESCE(SUM(price), 0) AS revenue,
    COUNT(DISTINCT lead_id) AS leads
  FROM scoped
  GROUP BY group_key
)
SELECT /* group column */ group_key AS entity_id,
  accepted,
  rejected,
  CAST(accepted AS DOUBLE) / NULLIF(accepted + rejected, 0) AS acceptance_rate,
  CAST(duration_total AS DOUBLE) / NULLIF(timed, 0) AS avg_response_ms,
  revenue,
  leads,
  CAST(revenue AS DOUBLE) / NULLIF(leads, 0) AS revenue_per_lead
FROM per_group
ORDER BY accepted + rejected DESC, group_key
