/**
 * The tables, defined once: CDK builds them from this (infra/constructs/tables.ts) and the local
 * runtime creates them in DynamoDB Local from it (infra/local/dynamo.ts). Plain data, no AWS imports.
 */
export type KeyType = 'S' | 'N';

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** ALL, or INCLUDE with the listed non-key attributes (keeps big attributes out of the index). */
  projection: { type: 'ALL' } | { type: 'INCLUDE'; nonKeyAttributes: string[] };
}

export interface TableDefinition {
  /** Logical id and the suffix of the physical name: `${prefix}-${id}`. */
  id: string;
  partitionKey: string;
  sortKey?: string;
  attributes: Record<string, KeyType>;
  indexes: IndexDefinition[];
  /** Epoch-seconds attribute that DynamoDB's TTL sweep deletes by (lags by up to days: reads filter too). */
  ttlAttribute?: string;
  stream?: 'NEW_IMAGE';
}

/** Attributes of an event item small enough to copy into the narrow indexes (everything but snapshot and raw payload). */
const SUMMARY_ATTRIBUTES = [
  'id', 'org_id', 'lead_id', 'event_type', 'source', 'outcome', 'flow_id', 'occurred_at', 'expires_at', 'body',
];

/**
 * Events: one item per event, keyed `${org_id}#${id}` so the idempotent write is one conditional PutItem
 * with no read first, and a GetItem for another org's id simply finds nothing.
 *  - by_lead: the timeline, `${org}#${lead}` → `${occurred_at}#${id}` (ALL: include= may ask for snapshot/raw)
 *  - by_day:  org-wide listing, `${org}#${YYYY-MM-DD}` → `${occurred_at}#${id}` (summary only)
 *  - by_flow: sparse, `${org}#${flow_id}` → `${occurred_at}#${id}` (summary only)
 */
export const eventsTable: TableDefinition = {
  id: 'events',
  partitionKey: 'pk',
  attributes: { pk: 'S', lead_key: 'S', day_key: 'S', flow_key: 'S', time_key: 'S' },
  indexes: [
    { name: 'by_lead', partitionKey: 'lead_key', sortKey: 'time_key', projection: { type: 'ALL' } },
    { name: 'by_day', partitionKey: 'day_key', sortKey: 'time_key', projection: { type: 'INCLUDE', nonKeyAttributes: SUMMARY_ATTRIBUTES } },
    { name: 'by_flow', partitionKey: 'flow_key', sortKey: 'time_key', projection: { type: 'INCLUDE', nonKeyAttributes: SUMMARY_ATTRIBUTES } },
  ],
  ttlAttribute: 'expires_at',
  stream: 'NEW_IMAGE',
};

/**
 * Control: API keys, and later identities, webhook secrets and alert counters. Kept apart from events so
 * the events stream carries nothing but events.
 */
export const controlTable: TableDefinition = {
  id: 'control',
  partitionKey: 'pk',
  sortKey: 'sk',
  attributes: { pk: 'S', sk: 'S' },
  indexes: [],
  ttlAttribute: 'expires_at',
};

export const tables = [eventsTable, controlTable] as const;

export function physicalTableName(prefix: string, table: TableDefinition): string {
  return `${prefix}-${table.id}`;
}
