import { leafHashOf, treeHashOf, type Hash, type LeafRecord } from './merkle.js';
import type { EventStore } from './ports.js';
import type { ProofLogStore } from './proof-log.js';
import {
  checkpointVerifies, entrySealVerifies, erasureSealVerifies, hashFromBase64, hashToBase64, leafRecordOf, sealVerifies, type Checkpoint, type CheckpointArchive,
} from './proofs.js';

/**
 * `npm run verify -- --org <id>`'s judgement, pure: the org's log as stored (leaf hashes in index order, the latest
 * signed checkpoint) against its events as stored now (each recomputed with `recordOf` from the item and its raw
 * bytes). `auditOrg` (below) makes the reads through the ports; `auditLog` decides what they mean:
 *  - the leaves [0, checkpoint.tree_size) must hash (RFC 9162, from scratch: `treeHashOf`) to the signed root, and
 *    the signature must verify — else the log itself was rewritten, and nothing below can be trusted;
 *  - a leaf whose event exists but no longer gives the leaf hash → edited (which field: see `whyEdited`);
 *  - a leaf whose event is gone → erased (an erasure recorded), expired (its TTL passed) or removed; `auditOrg`
 *    passes an erasure mark or a TTL only when its seal verifies (`erasureSealVerifies`, `entrySealVerifies`);
 *  - an event with no leaf and no valid seal → inserted behind leadlog's back (the stream path refuses it: it never
 *    will have a leaf); with a seal → pending while the integrator and the next checkpoint may still take it (received
 *    under two checkpoint intervals ago, or after the latest checkpoint was issued), else inserted (the log lost it).
 */

export interface AuditLeaf {
  index: number;
  id: string;
  /** Base64 of the leaf hash, as the log keeps it. */
  leaf_hash: string;
  /** The event's TTL (epoch seconds) the leaf item keeps: after it, a missing event expired rather than vanished. */
  event_expires_at?: number;
  /**
   * The leaf's fields, when the caller has them (bound by `leaf_hash`: used only when they hash to it). They let an
   * edit be named exactly (lead_id changed, received_at changed); without them the record hash decides.
   */
  leaf?: LeafRecord;
}

export interface AuditEvent {
  id: string;
  org_id: string;
  lead_id: string;
  received_at: string;
  /** ISO 8601, the event's own expires_at. */
  expires_at: string;
  /** The content hash written beside the event at ingest (`record_hash`), as stored now; undefined when absent. */
  record_hash: string | undefined;
  /** `recordOf(stored event, raw bytes).contentHash`, recomputed now. */
  recomputed_content_hash: string;
  /** Whether the item's seal verifies (`sealVerifies`): false for an item written without leadlog's key. */
  sealed: boolean;
}

export interface AuditInput {
  leaves: readonly AuditLeaf[];
  checkpoint: Checkpoint | undefined;
  publicKeyPem: string;
  erased: ReadonlySet<string>;
  events: readonly AuditEvent[];
  nowMs: number;
  /** The checkpoint interval (300 s in AWS, 10 s locally); an event younger than two of them may be pending. */
  checkpointIntervalMs?: number;
}

export interface AuditReport {
  edited: { id: string; index: number; why: string }[];
  removed: { id: string; index: number }[];
  inserted: { id: string; received_at: string; why: string }[];
  expired: { id: string; index: number }[];
  erased: { id: string; index: number }[];
  pending: { id: string; received_at: string }[];
  /** The leaves under the checkpoint hash to its root, and its signature verifies. */
  root_matches: boolean;
  problems: string[];
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 300_000;

function leafHashOrUndefined(leaf: LeafRecord): Hash | undefined {
  try {
    return leafHashOf(leaf);
  } catch {
    return undefined; // a field that is not well-formed Unicode: no leaf leadlog wrote can be it
  }
}

const equal = (a: Hash | undefined, b: Hash): boolean => a !== undefined && Buffer.compare(a, b) === 0;

/**
 * Why an event no longer gives its leaf. With the leaf's fields (bound by the leaf hash) each changed field is
 * named. Without them: if the stored record_hash still gives the leaf, only the content (event or raw bytes)
 * changed; otherwise lead_id or received_at changed, or the content did and its record_hash was rewritten to match.
 */
function whyEdited(event: AuditEvent, leafHash: Hash, leaf: LeafRecord | undefined): string {
  const contentChanged = event.record_hash !== event.recomputed_content_hash;
  if (leaf && equal(leafHashOrUndefined(leaf), leafHash)) {
    const changed: string[] = [];
    if (leaf.content_hash !== event.recomputed_content_hash) changed.push('content changed');
    for (const key of ['lead_id', 'received_at', 'org_id'] as const) if (leaf[key] !== event[key]) changed.push(`${key} changed`);
    if (changed.length > 0) return changed.join(', ');
  }
  const fields = { id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at };
  if (event.record_hash !== undefined && equal(leafHashOrUndefined({ ...fields, content_hash: event.record_hash }), leafHash)) {
    return 'content changed (the stored event or its raw bytes no longer hash to the record the leaf commits to)';
  }
  return contentChanged
    ? 'content changed, and lead_id, received_at or the stored record_hash too'
    : 'lead_id or received_at changed, or the content changed and its record_hash was rewritten to match';
}

export function auditLog(input: AuditInput): AuditReport {
  const report: AuditReport = { edited: [], removed: [], inserted: [], expired: [], erased: [], pending: [], root_matches: false, problems: [] };
  const { checkpoint } = input;
  const interval = input.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;

  // The leaves, in index order and each a hash; a gap or a duplicate is the log's own damage.
  const hashes: Hash[] = [];
  const leafById = new Map<string, AuditLeaf & { hash: Hash }>();
  input.leaves.forEach((leaf, position) => {
    const hash = hashFromBase64(leaf.leaf_hash);
    if (leaf.index !== position) report.problems.push(`leaf ${position}: the log holds index ${leaf.index} there (a leaf is missing or out of order)`);
    if (!hash) {
      report.problems.push(`leaf ${leaf.index} (${leaf.id}): its hash is not base64 of 32 bytes`);
      return;
    }
    hashes.push(hash);
    if (leafById.has(leaf.id)) report.problems.push(`event ${leaf.id} has two leaves (${leafById.get(leaf.id)!.index} and ${leaf.index})`);
    else leafById.set(leaf.id, { ...leaf, hash });
  });

  // The root under the signature.
  if (!checkpoint) report.problems.push('no checkpoint yet: the leaves cannot be checked against a signed root');
  else if (!checkpointVerifies(checkpoint, input.publicKeyPem)) {
    report.problems.push(`checkpoint ${checkpoint.tree_size}: its body or signature does not verify under the public key`);
  } else if (checkpoint.tree_size > hashes.length) {
    report.problems.push(`checkpoint ${checkpoint.tree_size}: the log holds only ${hashes.length} leaves (leaves were removed from the log itself)`);
  } else if (!equal(treeHashOf(hashes.slice(0, checkpoint.tree_size)), hashFromBase64(checkpoint.root_hash)!)) {
    report.problems.push(`checkpoint ${checkpoint.tree_size}: the stored leaves do not hash to its signed root (the log itself was rewritten)`);
  } else if (report.problems.length === 0) {
    report.root_matches = true;
  }

  // Leaves against events.
  const events = new Map(input.events.map((event) => [event.id, event]));
  for (const leaf of leafById.values()) {
    const event = events.get(leaf.id);
    if (event) {
      const now = leafHashOrUndefined({ id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at, content_hash: event.recomputed_content_hash });
      if (!equal(now, leaf.hash)) report.edited.push({ id: leaf.id, index: leaf.index, why: whyEdited(event, leaf.hash, leaf.leaf) });
    } else if (input.erased.has(leaf.id)) report.erased.push({ id: leaf.id, index: leaf.index });
    else if (leaf.event_expires_at !== undefined && leaf.event_expires_at * 1_000 <= input.nowMs) report.expired.push({ id: leaf.id, index: leaf.index });
    else report.removed.push({ id: leaf.id, index: leaf.index });
  }

  // Events with no leaf. Unsealed: the stream path refuses it, so it never will have one — inserted at once.
  // Sealed: pending while the integrator (a minute) and the next checkpoint (the interval) may still take it.
  const coveredUntil = checkpoint ? Date.parse(checkpoint.issued_at) : Number.NEGATIVE_INFINITY; // none yet: nothing is covered
  for (const event of input.events) {
    if (leafById.has(event.id)) continue;
    const received = Date.parse(event.received_at);
    if (!event.sealed) {
      report.inserted.push({ id: event.id, received_at: event.received_at, why: "inserted behind leadlog's back (no valid seal)" });
    } else if (!Number.isNaN(received) && (input.nowMs - received < 2 * interval || received >= coveredUntil)) {
      report.pending.push({ id: event.id, received_at: event.received_at });
    } else {
      report.inserted.push({ id: event.id, received_at: event.received_at, why: 'sealed by leadlog but not in the log two checkpoint intervals on (the integrator lost it)' });
    }
  }
  report.edited.sort((a, b) => a.index - b.index);
  report.removed.sort((a, b) => a.index - b.index);
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// The reads `npm run verify -- --org` makes, through the ports (the log's store and the events' full scan).

export interface AuditPorts {
  store: Pick<ProofLogStore, 'head' | 'latestCheckpoint' | 'leavesInOrder' | 'leavesOf'>;
  events: Pick<EventStore, 'scanRecords'>;
  /**
   * The write-once checkpoint archive: what was signed, whatever the log table says now. Without it the audit trusts
   * the table's latest checkpoint, and a table whose checkpoint items were deleted (with the head and tiles rewound
   * under them) reads as a log never checkpointed that far.
   */
  archive?: Pick<CheckpointArchive, 'latestAbove'>;
}

/** Leaves looked up per batch (the store splits them into BatchGetItem calls itself). */
const LEAF_LOOKUP_BATCH = 1_000;

/**
 * Reads an org's whole log (the committed size, from the level-0 tiles, with each leaf item's TTL and erasure mark)
 * and every event item of the org (a full scan: an item put by hand may have odd index keys), then judges them with
 * `auditLog`. The seal is checked over the leaf the item's own record_hash names, so a copied seal or record hash
 * does not pass for another id. Memory grows with the org's events (one AuditEvent each, no payloads).
 */
export async function auditOrg(
  ports: AuditPorts, orgId: string, options: { publicKeyPem: string; nowMs: number; checkpointIntervalMs: number },
): Promise<AuditReport & { size: number; checkpoint: Checkpoint | undefined; scanned: number }> {
  const [head, stored] = await Promise.all([ports.store.head(orgId), ports.store.latestCheckpoint(orgId)]);
  let checkpoint = stored;
  const archiveProblems: string[] = [];
  // The archive's largest checkpoint at or above the table's (normally the same one): when larger, it is the one to
  // judge the log by, and the table lost checkpoint items.
  const archived = await ports.archive?.latestAbove(orgId, (stored?.tree_size ?? 0) - 1);
  if (archived && (!stored || archived.tree_size > stored.tree_size)) {
    archiveProblems.push(`the checkpoint archive holds checkpoint ${archived.tree_size} but the log table's latest is ${stored ? stored.tree_size : 'none'} (checkpoint items were deleted from the table)`);
    checkpoint = archived;
  }
  const size = head?.size ?? 0;
  const ordered = await ports.store.leavesInOrder(orgId, size);
  const leaves: AuditLeaf[] = [];
  const erased = new Set<string>();
  for (let at = 0; at < ordered.length; at += LEAF_LOOKUP_BATCH) {
    const slice = ordered.slice(at, at + LEAF_LOOKUP_BATCH);
    const items = await ports.store.leavesOf(orgId, slice.map((leaf) => leaf.id));
    slice.forEach((leaf, offset) => {
      const item = items.get(leaf.id);
      // The log table's unsigned facts count only under leadlog's seal: an erasure mark or a TTL edited or put by
      // hand (to make a deletion look like an erasure or an expiry) is ignored, and the missing event is removed.
      if (item?.erasedAt !== undefined && erasureSealVerifies(orgId, leaf.id, item.erasedAt, item.erasedSeal)) erased.add(leaf.id);
      const ttlSealed = item !== undefined && Number.isFinite(item.expiresAt)
        && entrySealVerifies(orgId, { id: leaf.id, leafHash: leaf.leafHash, receivedAt: item.receivedAt, expiresAt: item.expiresAt }, item.seal);
      leaves.push({
        index: at + offset, id: leaf.id, leaf_hash: hashToBase64(leaf.leafHash),
        ...(ttlSealed ? { event_expires_at: item.expiresAt } : {}),
      });
    });
  }
  const events: AuditEvent[] = [];
  for await (const stored of ports.events.scanRecords(orgId)) {
    const { event } = stored;
    let sealed = false;
    if (stored.storedHash !== undefined) {
      try {
        sealed = sealVerifies(leafRecordOf(event, stored.storedHash), stored.seal);
      } catch {
        sealed = false;
      }
    }
    events.push({
      id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at, expires_at: event.expires_at,
      record_hash: stored.storedHash, recomputed_content_hash: stored.contentHash, sealed,
    });
  }
  const report = auditLog({ leaves, checkpoint, publicKeyPem: options.publicKeyPem, erased, events, nowMs: options.nowMs, checkpointIntervalMs: options.checkpointIntervalMs });
  if (archiveProblems.length > 0) report.root_matches = false;
  return { ...report, problems: [...archiveProblems, ...report.problems], size, checkpoint, scanned: events.length };
}
