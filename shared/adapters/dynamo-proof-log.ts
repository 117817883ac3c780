import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../domain/concurrency.js';
import { sha256Hex } from '../domain/canonical.js';
import { logKeys } from '../domain/keys.js';
import { EMPTY_ROOT, HASH_SIZE as HASH_BYTES, type Hash, type Subtree } from '../domain/merkle.js';
import type { LogHead, ProofLogStore, QueuedLeaf, StoredLeaf, TileReader } from '../domain/proof-log.js';
import { erasureSealOf, type Checkpoint } from '../domain/proofs.js';
import { hashFromTiles, tileKey, tilesFor, TILE_WIDTH, type Tile, type TileAddress } from '../domain/tiles.js';
import { batchGetAll, batchWriteAll } from './dynamo-batch.js';
import { queryPartition } from './control-table.js';

/**
 * An org's log in the `log` table (keys: logKeys in shared/domain/keys.ts). No item grows with the log and none
 * takes every write: queue items spread over the org's index shards, one item per tile (each its own partition key,
 * 8 KiB of hashes when full, plus the ids on level 0), one per leaf, one head per org written about once a minute
 * by its single integrator, two per checkpoint (by time and by size).
 */
/** Batch writes in flight per call: an org's minute at 10,000 events/s is ~1.2M leaf puts and queue deletes. */
const WRITE_CONCURRENCY = 64;
/** Batch reads in flight per call (the integrator's leaf lookups). */
const READ_CONCURRENCY = 32;
const bytes = (value: unknown): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array(0));
const hashesFrom = (packed: Uint8Array): Hash[] => {
  const out: Hash[] = [];
  for (let at = 0; at + HASH_BYTES <= packed.length; at += HASH_BYTES) out.push(packed.slice(at, at + HASH_BYTES));
  return out;
};
const pack = (hashes: readonly Hash[]): Uint8Array => {
  const out = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((hash, i) => out.set(hash, i * HASH_BYTES));
  return out;
};
const pad = (n: number) => String(n).padStart(16, '0');
/** The mark partition an org's work mark goes to: 16 partitions, so no single key takes every org's marks. */
export const MARK_PARTITIONS = 16;
const markPartitionOf = (orgId: string) => parseInt(sha256Hex(orgId).slice(0, 8), 16) % MARK_PARTITIONS;

async function writeAll(client: DynamoDBDocumentClient, table: string, requests: Parameters<typeof batchWriteAll>[2]): Promise<void> {
  const groups: (typeof requests)[] = [];
  for (let i = 0; i < requests.length; i += 25) groups.push(requests.slice(i, i + 25));
  await mapWithConcurrency(groups, WRITE_CONCURRENCY, (group) => batchWriteAll(client, table, group));
}

function checkpointOf(item: Record<string, unknown>): Checkpoint {
  return JSON.parse(item.checkpoint as string) as Checkpoint;
}

export class DynamoProofLogStore implements ProofLogStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async enqueue(orgId: string, leaves: readonly QueuedLeaf[], nowMs: number): Promise<void> {
    if (leaves.length === 0) return;
    // One item per key: a batch may carry an id twice (an event erased and written again under the same id, a
    // retried record), and DynamoDB refuses a BatchWriteItem whose keys repeat (the whole batch, every time).
    const byKey = new Map(leaves.map((leaf) => [`${leaf.shard}/${leaf.id}`, leaf]));
    await writeAll(this.client, this.tableName, [...byKey.values()].map((leaf) => ({
      PutRequest: { Item: { ...logKeys.queued(orgId, leaf.shard, leaf.id), hash: leaf.leafHash, received_at: leaf.receivedAt, event_expires_at: leaf.expiresAt, ...(leaf.seal ? { seal: leaf.seal } : {}) } },
    })));
    // After the queue items: a mark seen means its items are there (the integrator reads the queue strongly).
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: logKeys.mark(markPartitionOf(orgId), orgId),
      UpdateExpression: 'SET mark = if_not_exists(mark, :zero) + :one, marked_at = :now',
      ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':now': nowMs },
    }));
  }

  async markedOrgs(): Promise<{ orgId: string; mark: number }[]> {
    const lists = await Promise.all(Array.from({ length: MARK_PARTITIONS }, (_, p) => queryPartition(this.client, this.tableName, logKeys.marks(p), undefined, { consistent: true })));
    return lists.flat().flatMap((item) => (typeof item.mark === 'number' ? [{ orgId: item.sk as string, mark: item.mark }] : []));
  }

  async clearMark(orgId: string, mark: number): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({
        TableName: this.tableName, Key: logKeys.mark(markPartitionOf(orgId), orgId),
        // Deleted only when no enqueue counted since it was read (the count only grows).
        ConditionExpression: 'mark = :mark', ExpressionAttributeValues: { ':mark': mark },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async lease(orgId: string, owner: string, nowMs: number, leaseMs: number): Promise<LogHead | undefined> {
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({
        TableName: this.tableName, Key: logKeys.head(orgId),
        UpdateExpression: 'SET lease_owner = :owner, lease_until = :until, size = if_not_exists(size, :zero), root = if_not_exists(root, :empty), '
          + 'cp_size = if_not_exists(cp_size, :zero), cp_at = if_not_exists(cp_at, :zero), genesis_at = if_not_exists(genesis_at, :now)',
        ConditionExpression: 'attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner',
        ExpressionAttributeValues: { ':owner': owner, ':until': nowMs + leaseMs, ':now': nowMs, ':zero': 0, ':empty': EMPTY_ROOT },
        ReturnValues: 'ALL_NEW',
      }));
      return headOf(Attributes!);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async release(orgId: string, owner: string): Promise<void> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName, Key: logKeys.head(orgId),
        UpdateExpression: 'REMOVE lease_owner, lease_until', ConditionExpression: 'lease_owner = :owner', ExpressionAttributeValues: { ':owner': owner },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async queued(orgId: string, shards: number, limit: number): Promise<QueuedLeaf[]> {
    const out: QueuedLeaf[] = [];
    for (let shard = 0; shard < Math.max(1, shards) && out.length < limit; shard++) {
      const items = await queryPartition(this.client, this.tableName, logKeys.queue(orgId, shard), undefined, { consistent: true, limit: limit - out.length });
      for (const item of items) {
        out.push({ id: item.sk as string, leafHash: bytes(item.hash), receivedAt: item.received_at as string, expiresAt: Number(item.event_expires_at), shard, ...(typeof item.seal === 'string' ? { seal: item.seal } : {}) });
      }
    }
    return out;
  }

  async leavesOf(orgId: string, ids: readonly string[], options: { marks?: boolean } = {}): Promise<Map<string, StoredLeaf & { erasedAt?: string; erasedSeal?: string }>> {
    const keys = ids.flatMap((id) => (options.marks ?? true ? [logKeys.leaf(orgId, id), logKeys.erased(orgId, id)] : [logKeys.leaf(orgId, id)]));
    // BatchGetItem takes 100 keys: a run of 500,000 leaves asks 5,000 of them, READ_CONCURRENCY at a time.
    const chunks: (typeof keys)[] = [];
    for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
    const items = (await mapWithConcurrency(chunks, READ_CONCURRENCY, (chunk) => batchGetAll(this.client, this.tableName, chunk, { consistent: true }))).flat();
    const leaves = new Map<string, StoredLeaf & { erasedAt?: string; erasedSeal?: string }>();
    const erased = new Map<string, { at: string; seal: unknown }>();
    for (const item of items) {
      const id = item.id as string;
      if (item.sk === logKeys.erased(orgId, id).sk) erased.set(id, { at: item.erased_at as string, seal: item.seal });
      else {
        leaves.set(id, {
          id, index: Number(item.leaf_index), leafHash: bytes(item.hash), receivedAt: item.received_at as string, expiresAt: Number(item.event_expires_at),
          ...(typeof item.seal === 'string' ? { seal: item.seal } : {}),
        });
      }
    }
    for (const [id, { at, seal }] of erased) {
      const leaf = leaves.get(id);
      if (leaf) {
        leaf.erasedAt = at;
        if (typeof seal === 'string') leaf.erasedSeal = seal;
      }
    }
    return leaves;
  }

  tiles(orgId: string): TileReader {
    const loaded = new Map<string, Tile>();
    const load = async (addresses: readonly TileAddress[]) => {
      const wanted = addresses.filter((a) => !loaded.has(tileKey(a)));
      if (wanted.length === 0) return;
      const items = await batchGetAll(this.client, this.tableName, wanted.map((a) => logKeys.tile(orgId, a.level, a.index)), { consistent: true });
      for (const item of items) {
        const level = Number(item.level);
        const index = Number(item.tile_index);
        const ids = typeof item.ids === 'string' ? (item.ids === '' ? [] : item.ids.split('\n')) : undefined;
        loaded.set(tileKey({ level, index }), { level, index, hashes: hashesFrom(bytes(item.hashes)), ...(ids ? { ids } : {}) });
      }
    };
    return {
      loaded,
      load,
      remember: (tiles) => { for (const tile of tiles) loaded.set(tileKey(tile), tile); },
      hashesOf: async (subtrees: readonly Subtree[]) => {
        await load(tilesFor(subtrees));
        return subtrees.map((subtree) => hashFromTiles(subtree, loaded));
      },
    };
  }

  async writeTiles(orgId: string, tiles: readonly Tile[]): Promise<void> {
    await writeAll(this.client, this.tableName, tiles.map((tile) => ({
      PutRequest: {
        Item: {
          ...logKeys.tile(orgId, tile.level, tile.index), level: tile.level, tile_index: tile.index, width: tile.hashes.length,
          hashes: pack(tile.hashes), ...(tile.ids ? { ids: tile.ids.join('\n') } : {}),
        },
      },
    })));
  }

  async writeLeaves(orgId: string, leaves: readonly StoredLeaf[]): Promise<void> {
    await writeAll(this.client, this.tableName, leaves.map((leaf) => ({
      PutRequest: { Item: { ...logKeys.leaf(orgId, leaf.id), id: leaf.id, leaf_index: leaf.index, hash: leaf.leafHash, received_at: leaf.receivedAt, event_expires_at: leaf.expiresAt, ...(leaf.seal ? { seal: leaf.seal } : {}) } },
    })));
  }

  async commit(orgId: string, owner: string, fromSize: number, toSize: number, root: Hash): Promise<void> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName, Key: logKeys.head(orgId),
        UpdateExpression: 'SET size = :to, root = :root', ConditionExpression: 'lease_owner = :owner AND size = :from',
        ExpressionAttributeValues: { ':to': toSize, ':root': root, ':owner': owner, ':from': fromSize },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Error(`log of ${orgId}: the lease was lost or the size moved before the commit of ${toSize}`, { cause: error });
      throw error;
    }
  }

  async dequeue(orgId: string, leaves: readonly Pick<QueuedLeaf, 'id' | 'shard'>[]): Promise<void> {
    const byKey = new Map(leaves.map((leaf) => [`${leaf.shard}/${leaf.id}`, leaf]));
    await writeAll(this.client, this.tableName, [...byKey.values()].map((leaf) => ({ DeleteRequest: { Key: logKeys.queued(orgId, leaf.shard, leaf.id) } })));
  }

  async recordCheckpoint(checkpoint: Checkpoint, owner: string): Promise<void> {
    const text = JSON.stringify(checkpoint);
    const orgId = checkpoint.org_id;
    await Promise.all([
      this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...logKeys.checkpointBySize(orgId, pad(checkpoint.tree_size)), checkpoint: text } })),
      this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...logKeys.checkpointByTime(orgId, `${checkpoint.issued_at}#${pad(checkpoint.tree_size)}`), checkpoint: text } })),
    ]);
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: logKeys.head(orgId),
      UpdateExpression: 'SET cp_size = :size, cp_at = :at', ConditionExpression: 'lease_owner = :owner AND cp_size < :size',
      ExpressionAttributeValues: { ':size': checkpoint.tree_size, ':at': Date.parse(checkpoint.issued_at), ':owner': owner },
    }));
  }

  async head(orgId: string): Promise<LogHead | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: logKeys.head(orgId), ConsistentRead: true }));
    return Item ? headOf(Item) : undefined;
  }

  async latestCheckpoint(orgId: string): Promise<Checkpoint | undefined> {
    const { Items } = await this.client.send(new QueryCommand({
      TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': logKeys.checkpointsBySize(orgId) },
      ScanIndexForward: false, Limit: 1,
    }));
    return Items?.[0] ? checkpointOf(Items[0]) : undefined;
  }

  async firstCheckpointCovering(orgId: string, index: number): Promise<Checkpoint | undefined> {
    const { Items } = await this.client.send(new QueryCommand({
      TableName: this.tableName, KeyConditionExpression: 'pk = :pk AND sk > :size',
      ExpressionAttributeValues: { ':pk': logKeys.checkpointsBySize(orgId), ':size': pad(index) }, Limit: 1,
    }));
    return Items?.[0] ? checkpointOf(Items[0]) : undefined;
  }

  async checkpoints(orgId: string, fromIso: string, toIso: string, limit: number, after?: string): Promise<{ checkpoints: Checkpoint[]; next?: string }> {
    // Sort keys `<issued_at>#<size>` with issued_at in one fixed ISO form (24 characters): sk ≥ from holds exactly when
    // issued_at ≥ from, and sk ≤ to exactly when issued_at < to (an sk with issued_at = to is longer, so greater).
    const start = after !== undefined && after >= fromIso ? `${after}\u0000` : fromIso;
    // An empty range (a `from` past the default `to`, a cursor past `to`) is an empty page: DynamoDB refuses a
    // BETWEEN whose lower bound is above its upper one (ValidationException, which would be a 500).
    if (start > toIso) return { checkpoints: [] };
    const { Items, LastEvaluatedKey } = await this.client.send(new QueryCommand({
      TableName: this.tableName, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': logKeys.checkpointsByTime(orgId), ':from': start, ':to': toIso },
      Limit: limit,
    }));
    const checkpoints = (Items ?? []).map(checkpointOf);
    const last = Items?.[Items.length - 1];
    return { checkpoints, ...(LastEvaluatedKey && last ? { next: last.sk as string } : {}) };
  }

  async markErased(orgId: string, ids: readonly string[], atIso: string): Promise<void> {
    await writeAll(this.client, this.tableName, [...new Set(ids)].map((id) => {
      const seal = erasureSealOf(orgId, id, atIso); // the audit believes an erasure only with it (the erasure job holds the key)
      return { PutRequest: { Item: { ...logKeys.erased(orgId, id), id, erased_at: atIso, ...(seal ? { seal } : {}) } } };
    }));
  }

  async leavesInOrder(orgId: string, size: number): Promise<{ id: string; leafHash: Hash }[]> {
    const count = Math.ceil(size / TILE_WIDTH);
    const reader = this.tiles(orgId);
    const out: { id: string; leafHash: Hash }[] = [];
    for (let first = 0; first < count; first += 100) {
      const addresses = Array.from({ length: Math.min(100, count - first) }, (_, i) => ({ level: 0, index: first + i }));
      await reader.load(addresses);
      for (const address of addresses) {
        const tile = reader.loaded.get(tileKey(address));
        const width = Math.min(TILE_WIDTH, size - address.index * TILE_WIDTH);
        if (!tile || tile.hashes.length < width || !tile.ids || tile.ids.length < width) throw new Error(`log of ${orgId}: tile 0/${address.index} lacks leaves below ${size}`);
        for (let i = 0; i < width; i++) out.push({ id: tile.ids[i]!, leafHash: tile.hashes[i]! });
        (reader.loaded as Map<string, Tile>).delete(tileKey(address)); // bounded memory: a tile is read once
      }
    }
    return out;
  }
}

function headOf(item: Record<string, unknown>): LogHead {
  return { size: Number(item.size ?? 0), root: bytes(item.root).length ? bytes(item.root) : EMPTY_ROOT, checkpointSize: Number(item.cp_size ?? 0), checkpointAtMs: Number(item.cp_at ?? 0) };
}
