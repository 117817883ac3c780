import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from './dynamo-batch.js';
import type { BuiltEvent, LeadEvent, RawBody } from '../domain/event.js';
import type { BlobStore, ErasableEvent, EventStore, Page, RangeQuery, ShardPlanStore, StoredRecord, WriteResult } from '../domain/ports.js';
import type { ShardPlan } from '../domain/shards.js';
import { eventKeysFor } from '../domain/keys.js';
import { toIso } from '../domain/time.js';
import { decodeEventItem, decodeRawBody, decodeStoredEvent, encodeEventItem, storedRecordOf, type EventItem } from './event-item.js';
import { mapWithConcurrency } from '../domain/concurrency.js';

/** How many partitions of a group (a family's leads, a day's shards) are read at once. */
const PARTITION_READ_CONCURRENCY = 16;

/** The most index entries one Query reads (each well under 1 KB: a page stays under DynamoDB's 1 MB). */
const MAX_QUERY_PAGE = 1000;

/** Sorts after every character of a UUID: `${iso}#~` bounds all ids at that instant. */
const TIME_KEY_MAX_SUFFIX = '#~';

/** An item and the index of the partition group it was read from. */
interface Positioned {
  partition: number;
  item: EventItem;
}

/** One partition of a group being merged: what it has read and not yet handed out, and where its next page starts. */
interface PartitionReader {
  input: QueryCommandInput;
  buffered: EventItem[];
  next?: Record<string, unknown>;
  done: boolean;
}

const INDEX_PARTITION_KEY = { by_lead: 'lead_key', by_day: 'day_key', by_flow: 'flow_key' } as const;

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly blobs: BlobStore,
    private readonly plans: ShardPlanStore,
  ) {}

  shardPlan(orgId: string, nowMs: number): Promise<ShardPlan> {
    return this.plans.of(orgId, nowMs);
  }

  async put(built: BuiltEvent, nowMs: number): Promise<WriteResult> {
    const item = await this.toItem(built, (await this.plans.of(built.event.org_id, nowMs)).write);
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
      return { status: 'created' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException && error.Item)) throw error;
      return { status: 'exists', stored: await decodeStoredEvent(unmarshall(error.Item) as EventItem, this.blobs) };
    }
  }

  async get(orgId: string, id: string, nowMs: number): Promise<LeadEvent | undefined> {
    const item = await this.liveItem(orgId, id, nowMs);
    return item && decodeEventItem(item, { leadSnapshot: true, rawPayload: true }, this.blobs);
  }

  async getRaw(orgId: string, id: string, nowMs: number): Promise<RawBody | undefined> {
    const item = await this.liveItem(orgId, id, nowMs);
    return item && decodeRawBody(item, this.blobs);
  }

  async records(orgId: string, ids: readonly string[], nowMs: number): Promise<StoredRecord[]> {
    const items = (await batchGetAll(this.client, this.tableName, [...new Set(ids)].map((id) => ({ pk: eventKeysFor.pk(orgId, id) }))) as unknown as EventItem[])
      .filter((item) => item.org_id === orgId && item.expires_at * 1000 > nowMs);
    const byId = new Map(items.map((item) => [item.id, item]));
    const found = ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
    return mapWithConcurrency(found, 8, (item) => storedRecordOf(item, this.blobs));
  }

  async *scanRecords(orgId: string): AsyncIterable<StoredRecord> {
    let start: Record<string, unknown> | undefined;
    do {
      // Every item whose key is the org's, whatever else it holds: an item put by hand may have odd index keys.
      const page = await this.client.send(new ScanCommand({
        TableName: this.tableName, FilterExpression: 'begins_with(pk, :org)', ExpressionAttributeValues: { ':org': `${orgId}#` },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }));
      for (const item of (page.Items ?? []) as unknown as EventItem[]) yield storedRecordOf(item, this.blobs, { tolerant: true });
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async liveItem(orgId: string, id: string, nowMs: number): Promise<EventItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: eventKeysFor.pk(orgId, id) } }));
    const item = result.Item as EventItem | undefined;
    // TTL deletion lags by up to days: an expired item is already gone as far as readers know.
    return !item || item.org_id !== orgId || item.expires_at * 1000 <= nowMs ? undefined : item;
  }

  async erasable(orgId: string, leadId: string, after?: Record<string, unknown>, limit = 100): Promise<{ items: ErasableEvent[]; next?: Record<string, unknown> }> {
    const page = await this.client.send(new QueryCommand({
      TableName: this.tableName, IndexName: 'by_lead', Limit: limit, ExclusiveStartKey: after,
      KeyConditionExpression: 'lead_key = :lead', ExpressionAttributeValues: { ':lead': eventKeysFor.lead(orgId, leadId) },
      ProjectionExpression: 'pk, id, org_id, raw_ref, raw_body_ref, identity_digests, lead_key, time_key',
    }));
    const items = ((page.Items ?? []) as EventItem[]).filter((item) => item.org_id === orgId).map((item) => ({
      id: item.id,
      blobKeys: [item.raw_ref, item.raw_body_ref].filter((key): key is string => key !== undefined),
      identityDigests: [...(item.identity_digests ?? [])],
    }));
    return { items, ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  }

  async remove(orgId: string, ids: string[]): Promise<void> {
    await batchWriteAll(this.client, this.tableName, ids.map((id) => ({ DeleteRequest: { Key: { pk: eventKeysFor.pk(orgId, id) } } })));
  }

  /**
   * Groups one after another (a range's days), the partitions of a group side by side (a day's shards, a family's
   * leads), merged by (occurred_at, id). The position is the group and the last time_key returned, valid in every
   * partition of the group (ids are unique), so a page starts at that key in each (inclusive, the key itself
   * dropped) and a group may gain partitions between pages (a raised shard plan, a merge) without losing any item.
   */
  async query(query: RangeQuery): Promise<Page> {
    const want = query.limit + 1; // one extra tells whether a next page exists
    const collected: Positioned[] = [];
    const start = query.after?.partition ?? 0;
    for (let group = start; group < query.partitions.length && collected.length < want; group++) {
      const after = group === start ? query.after?.timeKey : undefined;
      for (const item of await this.merged(query, query.partitions[group]!, want - collected.length, after)) collected.push({ partition: group, item });
    }
    return this.toPage(collected, query);
  }

  /**
   * Up to `want` items of a group's partitions in (occurred_at, id) order: a k-way merge that reads each partition
   * a page at a time, so a page over many shards reads about `want` items in all, not `want` from each.
   */
  private async merged(query: RangeQuery, partitions: string[], want: number, after?: string): Promise<EventItem[]> {
    const partitionKey = INDEX_PARTITION_KEY[query.index];
    const readers: PartitionReader[] = partitions.map((partition) => ({ input: this.queryInput(query, partitionKey, partition, after), buffered: [], done: false }));
    // The first page of each partition is its share of the page (at least 10 items); a partition that runs dry
    // while still ahead of the others is read again, a larger page each time.
    let pageSize = Math.max(10, Math.ceil(want / partitions.length) + 1);
    const direction = query.order === 'asc' ? 1 : -1;
    const out: EventItem[] = [];
    while (out.length < want) {
      const empty = readers.filter((reader) => reader.buffered.length === 0 && !reader.done);
      if (empty.length > 0) {
        const size = pageSize;
        await mapWithConcurrency(empty, PARTITION_READ_CONCURRENCY, (reader) => this.fill(reader, size, after, query.signal));
        pageSize = Math.min(MAX_QUERY_PAGE, pageSize * 2);
        continue;
      }
      let best: PartitionReader | undefined;
      for (const reader of readers) {
        const head = reader.buffered[0];
        if (head && (!best || direction * (head.time_key < best.buffered[0]!.time_key ? -1 : 1) < 0)) best = reader;
      }
      if (!best) break; // every partition is done
      out.push(best.buffered.shift()!);
    }
    return out;
  }

  /**
   * Reads pages of one partition until it has an item or is done, each page twice the last (at most 1,000 items) while
   * the filters keep everything out: a partition where a selective filter matches little costs about log2(n / size)
   * round trips, not n / size (DynamoDB's Limit counts the items read before the filter). Once `signal` fires (the
   * request's deadline), no further page is read and the read in flight is abandoned: its reason (the domain's
   * RequestTimeoutError) is thrown.
   */
  private async fill(reader: PartitionReader, size: number, skip: string | undefined, signal?: AbortSignal): Promise<void> {
    for (let limit = size; reader.buffered.length === 0 && !reader.done; limit = Math.min(MAX_QUERY_PAGE, limit * 2)) {
      signal?.throwIfAborted();
      const result = await this.client.send(
        new QueryCommand({ ...reader.input, Limit: limit, ExclusiveStartKey: reader.next }),
        ...(signal ? [{ abortSignal: signal }] : []),
      ).catch((error: unknown) => {
        signal?.throwIfAborted();
        throw error;
      });
      for (const item of (result.Items ?? []) as EventItem[]) if (item.time_key !== skip) reader.buffered.push(item);
      reader.next = result.LastEvaluatedKey;
      reader.done = reader.next === undefined;
    }
  }

  /** A page of `limit` decoded events; one more collected than the limit means there is a next page, after the last. */
  private async toPage(collected: Positioned[], query: RangeQuery): Promise<Page> {
    const page = collected.slice(0, query.limit);
    // The indexes hold only what queries filter on: the page's items are read by key, with what `include` asks for.
    const full = await this.itemsByKey(page.map(({ item }) => item.pk), query.include);
    const held = page.filter(({ item }) => full.has(item.pk)); // the others are gone meanwhile (an erasure)
    const items = await Promise.all(held.map(({ item }) => decodeEventItem(full.get(item.pk)!, query.include, this.blobs)));
    const positions = held.map(({ partition, item }) => ({ partition, timeKey: item.time_key }));
    const last = page.at(-1);
    return { items, positions, ...(collected.length > query.limit && last ? { next: { partition: last.partition, timeKey: last.item.time_key } } : {}) };
  }

  /** Base items by pk (BatchGetItem), with only the attributes decoding needs. */
  private async itemsByKey(pks: string[], include: RangeQuery['include']): Promise<Map<string, EventItem>> {
    const attributes = ['pk', 'body', 'body_z', 'expires_at', 'org_id'];
    if (include.leadSnapshot) attributes.push('snapshot', 'snapshot_z');
    if (include.rawPayload) attributes.push('raw', 'raw_z', 'raw_ref', 'raw_body', 'raw_body_z', 'raw_body_ref');
    const items = await batchGetAll(this.client, this.tableName, pks.map((pk) => ({ pk })), { attributes }) as unknown as EventItem[];
    return new Map(items.map((item) => [item.pk, item]));
  }

  /** `from` a position (inclusive; the caller drops the item at it): the lower bound ascending, the upper descending. */
  private queryInput(query: RangeQuery, partitionKey: string, partitionValue: string, from?: string): QueryCommandInput {
    const names: Record<string, string> = { '#pk': partitionKey, '#exp': 'expires_at' };
    const values: Record<string, unknown> = { ':p': partitionValue, ':now': Math.floor(query.nowMs / 1000) };
    let keyCondition = '#pk = :p';
    let lower = query.fromMs !== undefined ? toIso(query.fromMs) : undefined;
    let upper = query.toMs !== undefined ? toIso(query.toMs - 1) + TIME_KEY_MAX_SUFFIX : undefined;
    if (from !== undefined && query.order === 'asc') lower = from;
    if (from !== undefined && query.order === 'desc') upper = from;
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
    const projected = ['pk', 'id', 'org_id', 'time_key', 'expires_at'];
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

  /** The item `put` writes for this event (public for the benchmark's bare-PutItem baseline). */
  toItem(built: BuiltEvent, indexShards = 1): Promise<EventItem> {
    return encodeEventItem(built, this.blobs, indexShards);
  }
}
