/**
 * The windowed alert rules (the seeds' four), defined once: the fan-out evaluates them on the stream in
 * AWS and locally alike. Thresholds and minimum samples are defaults; an org may override them
 * (control table item ORG#<org> / ALERTCFG).
 */
export type AlertRuleId = 'rejection_rate' | 'step_duration' | 'source_rejection_rate' | 'buyer_acceptance';

export interface AlertRuleDefinition {
  id: AlertRuleId;
  description: string;
  /** Fires when the value is above (gt) or below (lt) the threshold. */
  comparison: 'gt' | 'lt';
  threshold: number;
  minSamples: number;
}

export const WINDOW_MS = 3_600_000;
/** Counters are kept per 5 minutes; a window's value sums the last twelve buckets. */
export const BUCKET_MS = 300_000;
/** Running-total items per (org, rule, dimension, bucket): batches spread over them (a hot dimension's writes are shared). */
export const ALERT_TOTAL_SHARDS = 4;

export const alertRules: readonly AlertRuleDefinition[] = [
  { id: 'rejection_rate', description: '(source.rejected + filter.failed) / source.submitted over the last hour', comparison: 'gt', threshold: 0.3, minSamples: 20 },
  { id: 'step_duration', description: 'average timing.duration_ms of a step over the last hour', comparison: 'gt', threshold: 2000, minSamples: 10 },
  { id: 'source_rejection_rate', description: "a source's rejection rate over the last hour", comparison: 'gt', threshold: 0.5, minSamples: 20 },
  { id: 'buyer_acceptance', description: "a buyer's recipient.delivered / (delivered + failed) over the last hour", comparison: 'lt', threshold: 0.7, minSamples: 20 },
];
