import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { BuiltEvent, LeadEvent } from '../domain/event.js';
import type { BlobStore, EventStore, Page, PutResult, RangeQuery } from '../domain/ports.js';
import { sha256Hex } from '../domain/canonical.js';
import { eventKeysFor } from '../domain/keys.js';
import { toIso, utcDay } from '../domain/time.js';
import { translateAwsError } from './aws-errors.js';

/** raw_payload above this size goes to the blob store (claim check); items must stay under 400 KB. */
export const RAW_PAYLOAD_INLINE_LIMIT = 64 * 1024;

/** Sorts after every character of a UUID: `${iso}#~` bounds all ids at that instant. */
const TIME_KEY_MAX_SUFFIX = '#~';

export interface EventItem {
  pk: string;
  id: string;
  org_id: string;
  lead_id: string;
  event_type: string;
  source: string;
  outcome?: string;
  flow_id?: string;
  occurred_at: string;
  received_at: string;
  /** Epoch seconds: the table's TTL attribute. */
  expires_at: number;
  content_hash: string;
  /** The event without raw_payload and lead_snapshot, as JSON. */
  body: string;
  snapshot?: string;
  raw?: string;
  raw_ref?: string;
  lead_key: string;
  day_key: string;
  time_key: string;
  flow_key?: string;
}


const INDEX_PARTITION_KEY = { by_lead: 'lead_key', by_day: 'day_key', by_flow: 'flow_key' } as const;

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly blobs: BlobStore,
  ) {}

  async put(built: BuiltEvent, nowMs: number): Promise<PutResult> {
    const item = await this.toItem(built);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // Idempotency: the id is name-based, so a retry targets the same item. An item past its
          // expires_at is gone from the API and may be replaced even before the TTL sweep deletes it.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'created', event: built.event };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) {
        const existing = unmarshall(error.Item) as EventItem;
        if (existing.content_hash !== built.contentHash) return { status: 'conflict', id: existing.id };
        return { status: 'duplicate', event: await this.toEvent(existing, { leadSnapshot: true, rawPayload: true }) };
      }
      return translateAwsError(error, 'store the event');
    }
  }

  async get(orgId: string, id: string, nowMs: number): Promise<LeadEvent | undefined> {
    let item: EventItem | undefined;
    try {
      const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: eventKeysFor.pk(orgId, id) } }));
      item = result.Item as EventItem | undefined;
    } catch (error) {
      return translateAwsError(error, 'read the event');
    }
    // TTL deletion lags by up to days: an expired item is already gone as far as readers know.
    if (!item || item.org_id !== orgId || item.expires_at * 1000 <= nowMs) return undefined;
    return this.toEvent(item, { leadSnapshot: true, rawPayload: true });
  }

  async query(query: RangeQuery): Promise<Page> {
    const partitionKey = INDEX_PARTITION_KEY[query.index];
    const want = query.limit + 1; // one extra tells whether a next page exists
    const collected: { partition: number; item: EventItem }[] = [];
    const start = query.after?.partition ?? 0;

    for (let partition = start; partition < query.partitions.length && collected.length < want; partition++) {
      const input = this.queryInput(query, partitionKey, query.partitions[partition]!);
      let exclusiveStartKey: Record<string, unknown> | undefined =
        query.after && partition === start ? this.startKey(query, partitionKey, partition) : undefined;
      do {
        let result;
        try {
          result = await this.client.send(
            new QueryCommand({ ...input, Limit: Math.min(Math.max(want - collected.length, 10), 1000), ExclusiveStartKey: exclusiveStartKey }),
          );
        } catch (error) {
          return translateAwsError(error, 'read events');
        }
        for (const item of (result.Items ?? []) as EventItem[]) {
          collected.push({ partition, item });
          if (collected.length >= want) break;
        }
        exclusiveStartKey = result.LastEvaluatedKey;
      } while (exclusiveStartKey && collected.length < want);
    }

    const page = collected.slice(0, query.limit);
    const items = await Promise.all(page.map(({ item }) => this.toEvent(item, query.include)));
    const last = page.at(-1);
    return {
      items,
      ...(collected.length > query.limit && last ? { next: { partition: last.partition, timeKey: last.item.time_key } } : {}),
    };
  }

  private queryInput(query: RangeQuery, partitionKey: string, partitionValue: string): QueryCommandInput {
    const names: Record<string, string> = { '#pk': partitionKey, '#exp': 'expires_at' };
    const values: Record<string, unknown> = { ':p': partitionValue, ':now': Math.floor(query.nowMs / 1000) };
    let keyCondition = '#pk = :p';
    const lower = query.fromMs !== undefined ? toIso(query.fromMs) : undefined;
    const upper = query.toMs !== undefined ? toIso(query.toMs - 1) + TIME_KEY_MAX_SUFFIX : undefined;
    if (lower || upper) names['#tk'] = 'time_key';
    if (lower && upper) {
      keyCondition += ' AND #tk BETWEEN :lo AND :hi';
      values[':lo'] = lower;
      values[':hi'] = upper;
    } else if (lower) {
      keyCondition += ' AND #tk >= :lo';
      values[':lo'] = lower;
    } else if (upper) {
      keyCondition += ' AND #tk <= :hi';
      values[':hi'] = upper;
    }
    const filters = ['#exp > :now'];
    const { eventTypes, outcome, source, leadId } = query.filters;
    if (eventTypes && eventTypes.length > 0) {
      names['#type'] = 'event_type';
      const alternatives = eventTypes.map((match, i) => {
        if ('equals' in match) {
          values[`:type${i}`] = match.equals;
          return `#type = :type${i}`;
        }
        values[`:type${i}`] = match.prefix;
        return `begins_with(#type, :type${i})`;
      });
      filters.push(`(${alternatives.join(' OR ')})`);
    }
    if (outcome) {
      names['#outcome'] = 'outcome';
      filters.push('#outcome = :outcome');
      values[':outcome'] = outcome;
    }
    if (source) {
      names['#source'] = 'source';
      filters.push('#source = :source');
      values[':source'] = source;
    }
    if (leadId) {
      names['#lead'] = 'lead_id';
      filters.push('#lead = :lead');
      values[':lead'] = leadId;
    }
    const projected = ['pk', 'id', 'org_id', 'time_key', 'body', 'expires_at'];
    if (query.index === 'by_lead') {
      if (query.include.leadSnapshot) projected.push('snapshot');
      if (query.include.rawPayload) projected.push('raw', 'raw_ref');
    }
    projected.forEach((attr, i) => (names[`#a${i}`] = attr));
    return {
      TableName: this.tableName,
      IndexName: query.index,
      KeyConditionExpression: keyCondition,
      FilterExpression: filters.join(' AND '),
      ProjectionExpression: projected.map((_, i) => `#a${i}`).join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: query.order === 'asc',
    };
  }

  /** Rebuilds the index key of the last item returned: partition value, time_key, and the base pk (org#id). */
  private startKey(query: RangeQuery, partitionKey: string, partition: number): Record<string, unknown> {
    const after = query.after!;
    const id = after.timeKey.slice(after.timeKey.lastIndexOf('#') + 1);
    const orgId = query.partitions[partition]!.slice(0, query.partitions[partition]!.indexOf('#'));
    return { pk: eventKeysFor.pk(orgId, id), [partitionKey]: query.partitions[partition], time_key: after.timeKey };
  }

  /** The item `put` writes for this event (public for the benchmark's bare-PutItem baseline). */
  async toItem(built: BuiltEvent): Promise<EventItem> {
    const { raw_payload: rawPayload, lead_snapshot: leadSnapshot, ...summary } = built.event;
    const e = built.event;
    const item: EventItem = {
      pk: eventKeysFor.pk(e.org_id, e.id),
      id: e.id,
      org_id: e.org_id,
      lead_id: e.lead_id,
      event_type: e.event_type,
      source: e.source,
      ...(e.outcome ? { outcome: e.outcome } : {}),
      ...(e.flow_id ? { flow_id: e.flow_id, flow_key: eventKeysFor.flow(e.org_id, e.flow_id) } : {}),
      occurred_at: e.occurred_at,
      received_at: e.received_at,
      expires_at: Math.floor(Date.parse(e.expires_at) / 1000),
      content_hash: built.contentHash,
      body: JSON.stringify(summary),
      lead_key: eventKeysFor.lead(e.org_id, e.lead_id),
      day_key: eventKeysFor.day(e.org_id, utcDay(e.occurred_at)),
      time_key: eventKeysFor.time(e.occurred_at, e.id),
    };
    if (leadSnapshot !== undefined) item.snapshot = JSON.stringify(leadSnapshot);
    if (rawPayload !== undefined) {
      const raw = JSON.stringify(rawPayload);
      if (Buffer.byteLength(raw) > RAW_PAYLOAD_INLINE_LIMIT) {
        // Keyed by content hash too: a conflicting write under the same id never overwrites the original's payload.
        const key = `raw/${e.org_id}/${e.id}/${sha256Hex(raw).slice(0, 16)}.json`;
        await this.blobs.put(key, raw);
        item.raw_ref = key;
      } else {
        item.raw = raw;
      }
    }
    return item;
  }

  private async toEvent(item: EventItem, include: RangeQuery['include']): Promise<LeadEvent> {
    const event = JSON.parse(item.body) as LeadEvent;
    if (include.leadSnapshot && item.snapshot !== undefined) event.lead_snapshot = JSON.parse(item.snapshot);
    if (include.rawPayload) {
      if (item.raw !== undefined) event.raw_payload = JSON.parse(item.raw);
      else if (item.raw_ref !== undefined) event.raw_payload = JSON.parse(await this.blobs.get(item.raw_ref));
    }
    return event;
  }
}
