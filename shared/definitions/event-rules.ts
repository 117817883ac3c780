/**
 * The event bus and its rules, defined once: CDK deploys them as EventBridge rules (infra/constructs/
 * fanout.ts) and the local bus matches the same patterns in process (infra/local/local-bus.ts).
 */
export const BUS_SOURCE = 'leadlog';
/** The contract's bus name; a stage other than the default gets `leadlog-<stage>`. */
export const DEFAULT_BUS_NAME = 'leadlog';
export const ALERT_DETAIL_TYPE = 'Alert Raised';
/** Put on the bus when an erasure completes (section 9): subscribers erase the lead too. */
export const LEAD_ERASED_DETAIL_TYPE = 'Lead Erased';

/** An EventBridge event pattern (JSON); matched locally by shared/domain/event-pattern.ts. */
export type EventPattern = { [key: string]: unknown };

export interface EventRuleDefinition {
  id: string;
  description: string;
  pattern: EventPattern;
}

export const eventRules: readonly EventRuleDefinition[] = [
  {
    id: 'objection-raised',
    description: 'A lead raised an objection.',
    pattern: { source: [BUS_SOURCE], 'detail-type': ['objection_raised'] },
  },
  {
    id: 'large-cart-abandoned',
    description: 'A cart worth 500 or more was abandoned.',
    pattern: { source: [BUS_SOURCE], 'detail-type': ['purchase_abandoned'], detail: { payload: { cart_value: [{ numeric: ['>=', 500] }] } } },
  },
  {
    id: 'negative-sentiment',
    description: 'Sentiment score of -0.5 or below.',
    pattern: { source: [BUS_SOURCE], 'detail-type': ['sentiment_detected'], detail: { payload: { score: [{ numeric: ['<=', -0.5] }] } } },
  },
  {
    id: 'alert-raised',
    description: 'A windowed alert rule fired.',
    pattern: { source: [BUS_SOURCE], 'detail-type': [ALERT_DETAIL_TYPE] },
  },
];
