-- Rejection reasons: source.rejected, filter.failed and recipient.failed grouped by reason.
-- Parameters: org_id, from dt, to dt (yyyy-MM-dd, inclusive). Runs on Athena (Trino) and DuckDB.
SELECT
  COALESCE(reason, '(none)') AS reason,
  COUNT(*) AS rejections,
  ROUND(CAST(COUNT(*) AS DOUBLE) * 100 / SUM(COUNT(*)) OVER (), 2) AS percentage
FROM events
WHERE org_id = ? AND dt BETWEEN ? AND ? AND event_type IN ('source.rejected', 'filter.failed', 'recipient.failed')
GROUP BY COALESCE(reason, '(none)')
ORDER BY rejections DESC, reason
