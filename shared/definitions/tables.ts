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
  /** DynamoDB's table class (default STANDARD); DynamoDB Local ignores it. */
  tableClass?: 'STANDARD' | 'STANDARD_INFREQUENT_ACCESS';
}

/**
 * What the indexes copy of an event item: the attributes queries filter on and page by, nothing more. Each index
 * entry then costs one write unit; a page of results reads the items themselves by key (BatchGetItem), which
 * DynamoDB charges far less for than copying every event's body into three indexes on every write.
 */
const FILTER_ATTRIBUTES = ['id', 'org_id', 'lead_id', 'event_type', 'source', 'outcome', 'flow_id', 'occurred_at', 'expires_at'];
/** by_lead also carries what an erasure removes beside an event (claim-checked blobs, the identities it named). */
const ERASURE_ATTRIBUTES = ['raw_ref', 'raw_body_ref', 'identity_digests'];

/**
 * Events: one item per event, keyed `${org_id}#${id}` so the idempotent write is one conditional PutItem
 * with no read first, and a GetItem for another org's id simply finds nothing.
 *  - by_lead: the timeline, `${org}#${lead}` → `${occurred_at}#${id}`
 *  - by_day:  org-wide listing, `${org}#${YYYY-MM-DD}` → `${occurred_at}#${id}`
 *  - by_flow: sparse, `${org}#${flow_id}` → `${occurred_at}#${id}`
 * All three project only FILTER_ATTRIBUTES (by_lead also ERASURE_ATTRIBUTES). Changing a deployed index's
 * projection means a new index (CloudFormation cannot update it in place): version the name when that happens.
 */
export const eventsTable: TableDefinition = {
  id: 'events',
  partitionKey: 'pk',
  attributes: { pk: 'S', lead_key: 'S', day_key: 'S', flow_key: 'S', time_key: 'S' },
  indexes: [
    { name: 'by_lead', partitionKey: 'lead_key', sortKey: 'time_key', projection: { type: 'INCLUDE', nonKeyAttributes: [...FILTER_ATTRIBUTES, ...ERASURE_ATTRIBUTES] } },
    { name: 'by_day', partitionKey: 'day_key', sortKey: 'time_key', projection: { type: 'INCLUDE', nonKeyAttributes: FILTER_ATTRIBUTES } },
    { name: 'by_flow', partitionKey: 'flow_key', sortKey: 'time_key', projection: { type: 'INCLUDE', nonKeyAttributes: FILTER_ATTRIBUTES } },
  ],
  ttlAttribute: 'expires_at',
  stream: 'NEW_IMAGE',
  // An event recorder writes every event once and reads few of them again, and keeps each 90 days: storage is the
  // larger share of its bill, and Standard-IA stores for 60 % less while writes and reads cost 25 % more.
  tableClass: 'STANDARD_INFREQUENT_ACCESS',
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

/**
 * Log: proof of record (contract section 14), each org's append-only Merkle log: tiles, leaves, the head, the
 * checkpoints (layout: `logKeys` in shared/domain/keys.ts; store shared/adapters/dynamo-proof-log.ts). Its own table so
 * its items never expire (no TTL: a leaf outlives its event, and an erased event keeps its leaf) and its writes never
 * reach the events stream (no stream).
 */
export const logTable: TableDefinition = {
  id: 'log',
  partitionKey: 'pk',
  sortKey: 'sk',
  attributes: { pk: 'S', sk: 'S' },
  indexes: [],
};

export const tables = [eventsTable, controlTable, logTable] as const;

export function physicalTableName(prefix: string, table: TableDefinition): string {
  return `${prefix}-${table.id}`;
}
