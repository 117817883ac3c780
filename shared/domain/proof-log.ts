import * as z from 'zod/mini';
import { NotFoundError, ProofPendingError, ValidationError } from './errors.js';
import { isoParam, limitParam, param, parseOrThrow } from './schema.js';
import type { LeadEvent } from './event.js';
import { appendLeaves, consistencyProof, inclusionProof, rootHash, verifyConsistency, type Hash, type SubtreeHashReader } from './merkle.js';
import { CheckpointArchiveConflict } from './checkpoint-archive.js';
import {
  checkpointVerifies, entrySealOf, entrySealVerifies, hashFromBase64, hasSealKey, hashToBase64, leafRecordOf, sealVerifies, signCheckpoint,
  type Checkpoint, type CheckpointArchive, type CheckpointSigner,
} from './proofs.js';
import { leafHashOf } from './merkle.js';
import { partialTilesOf, tilesAfterAppend, type Tile } from './tiles.js';

/**
 * An org's log (contract section 14), over a store:
 *  1. The stream path queues a leaf for each new event whose seal verifies (`queueLeaves`): one idempotent item per
 *     event id in a queue partition of its index shard, and a mark that the org has work. Retried batches write the
 *     same items again; an item put into the events table by hand has no valid seal and never gets a leaf.
 *  2. The integrator (`integrateOrg`, scheduled: every minute in AWS, every 10 s locally) is the only writer of an
 *     org's tree, by a lease on the org's head. It takes the queued leaves, drops those that already have a leaf below
 *     the committed size (a queue item re-put by a retried batch after its integration), orders the rest by
 *     (received_at, id) — the order across stream shards is the integrator's, recorded by the index it assigns —
 *     writes the tiles and the leaf items, then commits the head (size, root) conditioned on the size it read and its
 *     lease, then deletes the queue items. A crash before the commit leaves only writes above the committed size,
 *     which the next run overwrites; after it, queue items whose leaf is committed, which the next run drops.
 *  3. When the committed size grew and the last checkpoint is at least the interval old, it proves the new tree
 *     consistent with the last checkpoint's (from the stored tiles), signs {org_id, tree_size, root_hash, issued_at},
 *     writes it to the write-once archive and then to the store.
 * Proofs are read against the latest checkpoint's size only: never a size a caller names.
 */

export interface QueuedLeaf {
  id: string;
  leafHash: Hash;
  receivedAt: string;
  /** The event's TTL (epoch seconds): after it, a missing event expired rather than vanished. */
  expiresAt: number;
  /** The event's index shard (its queue partition). */
  shard: number;
  /** `entrySealOf(org, this)`, made by the stream path: the integrator appends no queue item without it. */
  seal?: string;
}

export interface StoredLeaf {
  id: string;
  index: number;
  leafHash: Hash;
  receivedAt: string;
  expiresAt: number;
  /** The queue item's seal, kept: it binds the TTL the audit reads to this leaf. */
  seal?: string;
}

export interface LogHead {
  size: number;
  root: Hash;
  /** The size and time (ms) of the last checkpoint; 0 and 0 before the first. */
  checkpointSize: number;
  checkpointAtMs: number;
}

/** The log's storage (the `log` table in AWS and DynamoDB Local). */
export interface ProofLogStore {
  /** Queue items (idempotent per id) and the org's work mark. */
  enqueue(orgId: string, leaves: readonly QueuedLeaf[], nowMs: number): Promise<void>;
  /** The orgs with work marked, and each mark (a time, ms). */
  markedOrgs(): Promise<{ orgId: string; mark: number }[]>;
  /** Clears an org's mark unless a newer one was set meanwhile. */
  clearMark(orgId: string, mark: number): Promise<void>;
  /** Takes the org's lease (creating the head of an empty log); undefined when another writer holds it. */
  lease(orgId: string, owner: string, nowMs: number, leaseMs: number): Promise<LogHead | undefined>;
  release(orgId: string, owner: string): Promise<void>;
  /** Up to `limit` queued leaves from shards [0, shards). */
  queued(orgId: string, shards: number, limit: number): Promise<QueuedLeaf[]>;
  /** Leaf items by event id (those that exist). */
  /** Leaf items by event id (those that exist), with their erasure marks unless `marks` is false (the integrator's read). */
  leavesOf(orgId: string, ids: readonly string[], options?: { marks?: boolean }): Promise<Map<string, StoredLeaf & { erasedAt?: string; erasedSeal?: string }>>;
  /** A reader of the org's tree through its tiles (cached per reader); `load` fetches tiles into the cache. */
  tiles(orgId: string): TileReader;
  writeTiles(orgId: string, tiles: readonly Tile[]): Promise<void>;
  writeLeaves(orgId: string, leaves: readonly StoredLeaf[]): Promise<void>;
  /** Moves the head from `fromSize` to `toSize`; throws when the lease was lost or the size moved. */
  commit(orgId: string, owner: string, fromSize: number, toSize: number, root: Hash): Promise<void>;
  dequeue(orgId: string, leaves: readonly Pick<QueuedLeaf, 'id' | 'shard'>[]): Promise<void>;
  /** Records a signed checkpoint (idempotent per size) and moves the head's checkpoint fields. */
  recordCheckpoint(checkpoint: Checkpoint, owner: string): Promise<void>;
  head(orgId: string): Promise<LogHead | undefined>;
  latestCheckpoint(orgId: string): Promise<Checkpoint | undefined>;
  /** The earliest checkpoint whose tree holds leaf `index`. */
  firstCheckpointCovering(orgId: string, index: number): Promise<Checkpoint | undefined>;
  /** Checkpoints issued in [fromIso, toIso), oldest first, a page after `after` (an opaque position). */
  checkpoints(orgId: string, fromIso: string, toIso: string, limit: number, after?: string): Promise<{ checkpoints: Checkpoint[]; next?: string }>;
  /** Marks leaves erased (the event's content is gone; its leaf stays). Idempotent; works before integration too. */
  markErased(orgId: string, ids: readonly string[], atIso: string): Promise<void>;
  /** Every leaf of the first `size`, in index order, from the level-0 tiles: (id, leaf hash). */
  leavesInOrder(orgId: string, size: number): Promise<{ id: string; leafHash: Hash }[]>;
}

export interface TileReader extends SubtreeHashReader {
  /** Fetches these tiles into the cache (one batch read). */
  load(addresses: readonly { level: number; index: number }[]): Promise<void>;
  /** The cache. */
  readonly loaded: ReadonlyMap<string, Tile>;
  /** Puts written tiles into the cache. */
  remember(tiles: readonly Tile[]): void;
}

// ── 1. The stream path ────────────────────────────────────────────────────────────────────────────────────────

export interface LoggableRecord {
  event: LeadEvent;
  proof: { contentHash: string; seal?: string; expiresAt: number; shard: number };
}

/**
 * Queues the leaves of new events. Returns the ids refused: events with no valid seal (not written by leadlog:
 * an item put into the table by hand), which never enter the log.
 */
export async function queueLeaves(store: ProofLogStore, records: readonly LoggableRecord[], nowMs: number): Promise<{ refused: LeadEvent[] }> {
  const byOrg = new Map<string, QueuedLeaf[]>();
  const refused: LeadEvent[] = [];
  for (const { event, proof } of records) {
    const leaf = leafRecordOf(event, proof.contentHash);
    if (!sealVerifies(leaf, proof.seal)) {
      refused.push(event);
      continue;
    }
    const list = byOrg.get(event.org_id) ?? [];
    const entry = { id: event.id, leafHash: leafHashOf(leaf), receivedAt: event.received_at, expiresAt: proof.expiresAt };
    list.push({ ...entry, shard: proof.shard, seal: entrySealOf(event.org_id, entry)! }); // a verified seal means a key
    byOrg.set(event.org_id, list);
  }
  await Promise.all([...byOrg].map(([orgId, leaves]) => store.enqueue(orgId, leaves, nowMs)));
  return { refused };
}

// ── 2–3. The integrator ───────────────────────────────────────────────────────────────────────────────────────

export interface IntegratorPorts {
  store: ProofLogStore;
  signer: CheckpointSigner;
  archive: CheckpointArchive;
  /** The org's index shards readers must look at (its queue partitions). */
  shardsOf: (orgId: string) => Promise<number>;
}

export interface IntegrateOptions {
  owner: string;
  nowMs: () => number;
  leaseMs: number;
  /** Seconds between an org's checkpoints (300 in AWS, 10 locally). */
  checkpointIntervalSeconds: number;
  /** Most leaves integrated per org and run (the rest stay queued for the next run). */
  maxLeaves: number;
}

export type IntegrateResult =
  | { status: 'busy' }
  | { status: 'done'; appended: number; dropped: number; refused: number; size: number; checkpoint?: Checkpoint; more: boolean };

/** One run for one org; throws on a store failure or a log that no longer proves consistent (the caller alarms). */
export async function integrateOrg(ports: IntegratorPorts, orgId: string, options: IntegrateOptions): Promise<IntegrateResult> {
  const { store } = ports;
  // Fail closed: without the key a queue item put into the log table by hand could not be told from leadlog's.
  if (!hasSealKey()) throw new Error(`log of ${orgId}: no seal key configured, so queue items cannot be checked (the integrator needs the pseudonym secret)`);
  const head = await store.lease(orgId, options.owner, options.nowMs(), options.leaseMs);
  if (!head) return { status: 'busy' };
  try {
    const queued = await store.queued(orgId, await ports.shardsOf(orgId), options.maxLeaves);
    const unique = new Map<string, QueuedLeaf>();
    let refused = 0;
    // Only queue items the stream path sealed for this org: one put by hand (a fabricated leaf, another org's item
    // copied in, a TTL or received_at edited) is never appended, and is dequeued with the rest.
    for (const leaf of queued) {
      if (!entrySealVerifies(orgId, leaf, leaf.seal)) refused += 1;
      else if (!unique.has(leaf.id)) unique.set(leaf.id, leaf);
    }
    const existing = await store.leavesOf(orgId, [...unique.keys()], { marks: false }); // one read per leaf: marks are not its business
    const todo = [...unique.values()]
      .filter((leaf) => !(existing.get(leaf.id)?.index !== undefined && existing.get(leaf.id)!.index < head.size))
      .sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let size = head.size;
    let root = head.root;
    const reader = store.tiles(orgId);
    if (todo.length > 0) {
      await reader.load(partialTilesOf(head.size));
      const added = await appendLeaves(reader, head.size, todo.map((leaf) => leaf.leafHash));
      const tiles = tilesAfterAppend(reader.loaded, head.size, added, todo.map((leaf) => leaf.id));
      await store.writeTiles(orgId, tiles);
      reader.remember(tiles);
      await store.writeLeaves(orgId, todo.map((leaf, i) => ({ id: leaf.id, index: head.size + i, leafHash: leaf.leafHash, receivedAt: leaf.receivedAt, expiresAt: leaf.expiresAt, seal: leaf.seal! })));
      size = head.size + todo.length;
      root = await rootHash(reader, size);
      await store.commit(orgId, options.owner, head.size, size, root);
    }
    await store.dequeue(orgId, queued);
    let checkpoint: Checkpoint | undefined;
    const due = options.nowMs() - head.checkpointAtMs >= options.checkpointIntervalSeconds * 1000;
    if (size > head.checkpointSize && due) {
      // What was signed is what the write-once archive holds, not what the log table says: the largest archived
      // checkpoint from the head's own on (normally exactly it: one LIST and one GET). A head rewound or a checkpoint
      // item deleted or forged in the table cannot hide a signed checkpoint, so a rewritten history is never signed.
      const publicKeyPem = await ports.signer.publicKeyPem();
      const archived = await ports.archive.latestAbove(orgId, head.checkpointSize - 1);
      const stored = head.checkpointSize > 0 ? await store.latestCheckpoint(orgId) : undefined;
      if (head.checkpointSize > 0 && !(stored && stored.tree_size === head.checkpointSize && checkpointVerifies(stored, publicKeyPem))) {
        throw new Error(`log of ${orgId}: the head names checkpoint ${head.checkpointSize}, which is not stored or does not verify under the key`);
      }
      // Normally the same checkpoint twice (the table's is the archive's): proven once.
      const signed = stored && archived && stored.tree_size === archived.tree_size && stored.root_hash === archived.root_hash ? [archived] : [archived, stored];
      for (const last of signed) {
        if (!last) continue;
        const lastRoot = hashFromBase64(last.root_hash);
        if (last.org_id !== orgId || !lastRoot || !checkpointVerifies(last, publicKeyPem)) throw new Error(`log of ${orgId}: checkpoint ${last.tree_size} does not verify under the key`);
        if (last.tree_size > size) throw new Error(`log of ${orgId}: checkpoint ${last.tree_size} was signed but the log holds ${size} leaves: the log table was rewound`);
        const proof = await consistencyProof(reader, last.tree_size, size);
        if (!verifyConsistency(last.tree_size, size, proof, lastRoot, root)) {
          throw new Error(`log of ${orgId}: the tree of ${size} leaves is not consistent with the signed checkpoint of ${last.tree_size}: its tiles were changed`);
        }
      }
      checkpoint = await signCheckpoint({ org_id: orgId, tree_size: size, root_hash: hashToBase64(root), issued_at: new Date(options.nowMs()).toISOString() }, ports.signer);
      checkpoint = await archiveOnce(ports, checkpoint); // write-once first: a checkpoint the store names is always in the archive
      await store.recordCheckpoint(checkpoint, options.owner);
    }
    return { status: 'done', appended: todo.length, dropped: unique.size - todo.length, refused, size, ...(checkpoint ? { checkpoint } : {}), more: queued.length >= options.maxLeaves };
  } finally {
    await store.release(orgId, options.owner).catch(() => undefined); // the lease runs out by itself
  }
}

/**
 * Puts a checkpoint into the write-once archive. A run that died between the archive and the store signed this size
 * before (ECDSA is randomized: another signature), and the archive holds that one: it is adopted when it verifies
 * under the key and states the same org, size and root, since it is the statement the world can already see.
 */
async function archiveOnce(ports: IntegratorPorts, checkpoint: Checkpoint): Promise<Checkpoint> {
  try {
    await ports.archive.put(checkpoint);
    return checkpoint;
  } catch (error) {
    const existing = error instanceof CheckpointArchiveConflict ? error.existing : undefined;
    if (existing && existing.org_id === checkpoint.org_id && existing.tree_size === checkpoint.tree_size && existing.root_hash === checkpoint.root_hash
      && checkpointVerifies(existing, await ports.signer.publicKeyPem())) return existing;
    throw error;
  }
}

/**
 * One scheduled run: every org with work marked, `concurrency` at a time. An org's mark is cleared only when its
 * queue was drained and its committed size is in a checkpoint, so an org whose checkpoint is not yet due (or whose run
 * failed) is taken again by the next run.
 */
export async function integrateMarkedOrgs(ports: IntegratorPorts, options: IntegrateOptions & { concurrency: number; stopAtMs?: number }): Promise<{ orgId: string; result?: IntegrateResult; error?: unknown }[]> {
  const marked = await ports.store.markedOrgs();
  const results: { orgId: string; result?: IntegrateResult; error?: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < marked.length) {
      const { orgId, mark } = marked[next++]!;
      if (options.stopAtMs !== undefined && options.nowMs() >= options.stopAtMs) return;
      try {
        const result = await integrateOrg(ports, orgId, options);
        if (result.status === 'done' && !result.more) {
          const head = await ports.store.head(orgId);
          if (head && head.checkpointSize >= head.size) await ports.store.clearMark(orgId, mark);
        }
        results.push({ orgId, result });
      } catch (error) {
        results.push({ orgId, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return results;
}

// ── Reads: the routes of section 14 ───────────────────────────────────────────────────────────────────────────

export interface ProofReadPorts {
  store: ProofLogStore;
  /** The org's stored event of this id (unexpired, unerased) and the record hash its item holds. */
  storedEvent: (orgId: string, id: string) => Promise<{ event: LeadEvent; recordHash?: string | undefined } | undefined>;
  checkpointIntervalSeconds: number;
}

export interface EventProof {
  event_id: string;
  leaf_index: number;
  leaf_hash: string;
  leaf: { id: string; org_id: string; lead_id: string; received_at: string; content_hash: string } | null;
  inclusion_proof: string[];
  checkpoint: Checkpoint;
  erased: boolean;
  erased_at?: string;
}

/**
 * Until the next checkpoint: the checkpoint interval plus one integrator period (every minute in AWS; as often as the
 * interval when that is shorter, as under npm start).
 */
export const retryAfterSeconds = (intervalSeconds: number): number => intervalSeconds + Math.min(60, intervalSeconds);

/** The proof of one event against the latest checkpoint; 404 proof-pending until a checkpoint holds it. */
export async function proofOfEvent(ports: ProofReadPorts, orgId: string, eventId: string): Promise<EventProof> {
  const [leaves, checkpoint, stored] = await Promise.all([
    ports.store.leavesOf(orgId, [eventId]), ports.store.latestCheckpoint(orgId), ports.storedEvent(orgId, eventId),
  ]);
  const event = stored?.event;
  const leaf = leaves.get(eventId);
  if (!leaf && !event) throw new NotFoundError(`No event ${eventId} in this org.`);
  if (!leaf || leaf.index === undefined || !checkpoint || leaf.index >= checkpoint.tree_size) {
    throw new ProofPendingError(`Event ${eventId} is not in a signed checkpoint yet: its org's log is checkpointed every ${ports.checkpointIntervalSeconds} s.`, retryAfterSeconds(ports.checkpointIntervalSeconds));
  }
  const proof = await inclusionProof(ports.store.tiles(orgId), leaf.index, checkpoint.tree_size);
  const hash = stored?.recordHash;
  return {
    event_id: eventId,
    leaf_index: leaf.index,
    leaf_hash: hashToBase64(leaf.leafHash),
    leaf: event && hash ? leafRecordOf(event, hash) : null,
    inclusion_proof: proof.map(hashToBase64),
    checkpoint,
    erased: leaf.erasedAt !== undefined,
    ...(leaf.erasedAt !== undefined ? { erased_at: leaf.erasedAt } : {}),
  };
}

/** An RFC 9162 consistency proof between two sizes of the org's log, both within its latest checkpoint. */
export async function consistencyOf(store: ProofLogStore, orgId: string, fromSize: number, toSize: number): Promise<{ from_size: number; to_size: number; from_root_hash: string; to_root_hash: string; consistency_proof: string[] }> {
  const checkpoint = await store.latestCheckpoint(orgId);
  const limit = checkpoint?.tree_size ?? 0;
  const errors = [];
  if (!(Number.isSafeInteger(fromSize) && fromSize >= 0)) errors.push({ path: 'from_size', message: 'must be a whole number ≥ 0' });
  if (!(Number.isSafeInteger(toSize) && toSize >= 0)) errors.push({ path: 'to_size', message: 'must be a whole number ≥ 0' });
  else if (toSize > limit) errors.push({ path: 'to_size', message: `must be at most ${limit}, the latest checkpoint's tree_size` });
  if (errors.length === 0 && fromSize > toSize) errors.push({ path: 'from_size', message: 'must be at most to_size' });
  if (errors.length > 0) throw new ValidationError(errors);
  const reader = store.tiles(orgId);
  const [proof, fromRoot, toRoot] = await Promise.all([consistencyProof(reader, fromSize, toSize), rootHash(reader, fromSize), rootHash(reader, toSize)]);
  return { from_size: fromSize, to_size: toSize, from_root_hash: hashToBase64(fromRoot), to_root_hash: hashToBase64(toRoot), consistency_proof: proof.map(hashToBase64) };
}

// ── Query parameters of the routes (one schema: the handler parses with it, the OpenAPI document shows it) ────────

const sizeParam = param((value): number | { problem: string } => (/^(0|[1-9]\d{0,15})$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : { problem: 'must be a whole number ≥ 0' }));
export const checkpointParams = z.strictObject({ from: z.optional(isoParam), to: z.optional(isoParam), limit: z.optional(limitParam), cursor: z.optional(z.string()) });
export const consistencyParams = z.strictObject({ from_size: sizeParam, to_size: sizeParam });
/** The evidence bundle: a page of the lead's timeline (limit default 50, at most 1000; the bundle stops at 4 MB). */
export const evidenceParams = z.strictObject({ limit: z.optional(limitParam), cursor: z.optional(z.string()) });

const POSITION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#\d{16}$/;

/** The org's checkpoints issued in [from, to) (default: all), oldest first, paged. */
export async function listCheckpoints(store: ProofLogStore, orgId: string, params: Record<string, string | undefined>, nowMs: number): Promise<{ items: Checkpoint[]; next_cursor: string | null }> {
  const p = parseOrThrow(checkpointParams, params);
  const errors = [];
  if (p.from !== undefined && p.to !== undefined && p.from >= p.to) errors.push({ path: 'to', message: 'must be after from' });
  let after: string | undefined;
  if (p.cursor !== undefined) {
    after = Buffer.from(p.cursor, 'base64url').toString('utf8');
    if (!POSITION.test(after)) errors.push({ path: 'cursor', message: 'is not a cursor of this route' });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const fromIso = new Date(p.from ?? 0).toISOString();
  const toIso = new Date(p.to ?? nowMs + 86_400_000).toISOString();
  const { checkpoints, next } = await store.checkpoints(orgId, fromIso, toIso, p.limit ?? 100, after);
  return { items: checkpoints, next_cursor: next ? Buffer.from(next).toString('base64url') : null };
}

export function parseConsistencyParams(params: Record<string, string | undefined>): { fromSize: number; toSize: number } {
  const p = parseOrThrow(consistencyParams, params);
  return { fromSize: p.from_size, toSize: p.to_size };
}
