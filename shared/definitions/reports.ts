/**
 * The reports of contract section 13, defined once: their names, columns (with types), the `group_by` values each
 * accepts and its default grouping. The SQL of each is `queries/<name>.sql` (read by infra/queries.ts), which is
 * also Athena's named query of that name and `npm run athena -- --query <name>`; the API's report
 * (`GET /v1/reports/{name}`, shared/domain/reports.ts) is the same text with its group expression replaced from
 * REPORT_GROUPS (a fixed whitelist, never the caller's text) and its filters added as bound parameters.
 *
 * Column types: `integer` (counts), `number` (rates as 0–1 fractions, durations in ms, amounts in major units,
 * all unrounded), `string`, `date` (yyyy-MM-dd, UTC) and `timestamp` (ISO 8601 UTC, the start of an hour or a day).
 */

export type ReportColumnType = 'string' | 'integer' | 'number' | 'date' | 'timestamp';

export interface ReportColumn {
  name: string;
  type: ReportColumnType;
  description: string;
}

/** Every `group_by` value of section 13; each report accepts the ones that fit it (ReportDefinition.groupBy). */
export const GROUP_BYS = ['source', 'entity_id', 'flow_id', 'step_id', 'event_type', 'outcome', 'reason', 'hour', 'day'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const INTERVALS = ['hour', 'day'] as const;
export type Interval = (typeof INTERVALS)[number];

/** The archive columns of string groups: their values pass through piiSafeGroup (no e-mail or phone as a group). */
export const GROUP_COLUMN_TYPES: Record<GroupBy, ReportColumnType> = {
  source: 'string', entity_id: 'string', flow_id: 'string', step_id: 'string', event_type: 'string', outcome: 'string', reason: 'string',
  hour: 'timestamp', day: 'date',
};

export const GROUP_DESCRIPTIONS: Record<GroupBy, string> = {
  source: 'the source', entity_id: 'the recipient / buyer (an e-mail as its domain, a phone as its area code)',
  flow_id: 'the flow (an e-mail as its domain, a phone as its area code)', step_id: 'the step (an e-mail as its domain, a phone as its area code)',
  event_type: 'the event type', outcome: 'the outcome', reason: 'the reason (an e-mail as its domain, a phone as its area code)',
  hour: 'the hour (UTC) the events occurred in, its start', day: 'the UTC date the events occurred on',
};

export const REPORT_NAMES = [
  'source_performance', 'buyer_behaviour', 'rejection_reasons', 'step_duration', 'success_rates', 'lead_funnel', 'revenue_by_source', 'trends',
] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

export interface ReportDefinition {
  name: ReportName;
  description: string;
  /** The `group_by` values accepted; the first column of a grouped answer is named after the value. */
  groupBy: readonly GroupBy[];
  /** Used when the request names none; undefined: one row over everything (lead_funnel) or the interval (trends). */
  defaultGroup?: GroupBy;
  /** trends only: the bucket column's interval. */
  intervals?: readonly Interval[];
  /** The columns after the group column, in order. */
  columns: readonly ReportColumn[];
}

const count = (name: string, description: string): ReportColumn => ({ name, type: 'integer', description });
const number = (name: string, description: string): ReportColumn => ({ name, type: 'number', description });
const text = (name: string, description: string): ReportColumn => ({ name, type: 'string', description });

const DIMENSIONS: readonly GroupBy[] = ['source', 'flow_id', 'entity_id', 'step_id', 'event_type', 'outcome', 'reason', 'hour', 'day'];

export const REPORTS: readonly ReportDefinition[] = [
  {
    name: 'source_performance', description: 'Per source: submitted, accepted, delivered, acceptance and delivery rates, costs, revenue and profit',
    groupBy: ['source', 'flow_id', 'entity_id', 'hour', 'day'], defaultGroup: 'source',
    columns: [
      count('submitted', 'source.submitted events'), count('accepted', 'source.accepted events'), count('delivered', 'recipient.delivered events'),
      number('acceptance_rate', 'accepted / submitted (0–1; null without submissions)'), number('delivery_rate', 'delivered / accepted (0–1; null without acceptances)'),
      number('costs', 'sum of payload.cost'), number('revenue', 'sum of payload.price of recipient.delivered'), number('profit', 'revenue − costs'),
    ],
  },
  {
    name: 'buyer_behaviour', description: 'Per buyer (entity_id): deliveries accepted and rejected, acceptance rate, response time, revenue per lead',
    groupBy: ['entity_id', 'source', 'flow_id', 'hour', 'day'], defaultGroup: 'entity_id',
    columns: [
      count('accepted', 'recipient.delivered events'), count('rejected', 'recipient.failed events'), number('acceptance_rate', 'accepted / (accepted + rejected), 0–1'),
      number('avg_response_ms', 'mean timing.duration_ms of those events'), number('revenue', 'sum of payload.price'),
      count('leads', 'distinct leads'), number('revenue_per_lead', 'revenue / leads'),
    ],
  },
  {
    name: 'rejection_reasons', description: 'Rejections (source.rejected, filter.failed, recipient.failed) by reason',
    groupBy: ['reason', 'source', 'flow_id', 'entity_id', 'step_id', 'event_type', 'hour', 'day'], defaultGroup: 'reason',
    columns: [count('rejections', 'rejection events'), number('share', 'rejections / all rejections in the answer, 0–1')],
  },
  {
    name: 'step_duration', description: 'Per step: executions and timing.duration_ms (mean, min, max, total) of events that carry one',
    groupBy: ['step_id', 'event_type', 'source', 'flow_id', 'entity_id', 'outcome', 'hour', 'day'], defaultGroup: 'step_id',
    columns: [
      count('executions', 'events with a duration'), number('avg_duration_ms', 'mean duration (ms)'), number('min_duration_ms', 'shortest (ms)'),
      number('max_duration_ms', 'longest (ms)'), number('total_duration_ms', 'sum (ms)'),
    ],
  },
  {
    name: 'success_rates', description: 'Per event type: events with an outcome and the share of each outcome',
    groupBy: DIMENSIONS.filter((g) => g !== 'outcome'), defaultGroup: 'event_type',
    columns: [
      count('events', 'events with an outcome'), count('success', 'outcome success'), count('failure', 'outcome failure'), count('error', 'outcome error'),
      count('skip', 'outcome skip'), number('success_rate', 'success / events, 0–1'), number('failure_rate', 'failure / events, 0–1'),
      number('error_rate', 'error / events, 0–1'), number('skip_rate', 'skip / events, 0–1'),
    ],
  },
  {
    name: 'lead_funnel', description: 'Leads that viewed a product, then also asked about one, then also purchased (per group when grouped)',
    groupBy: ['source', 'flow_id', 'hour', 'day'],
    columns: [
      count('leads', 'distinct leads'), count('viewed', 'leads with product_viewed'), count('viewed_then_asked', '… and product_asked'),
      count('viewed_asked_purchased', '… and purchase_completed'), count('purchased_total', 'leads with purchase_completed'),
      number('conversion_from_view', 'viewed_asked_purchased / viewed, 0–1'),
    ],
  },
  {
    name: 'revenue_by_source', description: 'Completed purchases and their revenue per source and currency',
    groupBy: ['source', 'flow_id', 'entity_id', 'hour', 'day'], defaultGroup: 'source',
    columns: [
      text('currency', 'ISO 4217 (amounts of different currencies are never added)'), count('purchases', 'purchase_completed events with an amount'),
      number('revenue', 'sum of payload.amount (major units)'), number('average_order', 'revenue / purchases'),
    ],
  },
  {
    name: 'trends', description: 'Events per interval (hour or day) by event type and outcome',
    groupBy: [], intervals: INTERVALS,
    columns: [
      { name: 'bucket', type: 'timestamp', description: 'the start of the interval (UTC)' }, text('event_type', 'the event type'),
      text('outcome', 'the outcome (null when the event has none)'), count('events', 'events'),
    ],
  },
];

export function reportDefinition(name: string): ReportDefinition | undefined {
  return REPORTS.find((r) => r.name === name);
}
