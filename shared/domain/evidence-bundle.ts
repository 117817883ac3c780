import { ForbiddenError, NotFoundError, ProofPendingError } from './errors.js';
import { EVIDENCE_FORMAT, type EvidenceBundle, type EvidenceEvent } from './evidence.js';
import { consistencyProof, inclusionProof } from './merkle.js';
import type { EventStore, IdentityStore, StoredRecord } from './ports.js';
import { retryAfterSeconds, type ProofLogStore } from './proof-log.js';
import { hashToBase64, leafRecordOf, type Checkpoint } from './proofs.js';
import { leadTimeline, type ReadPorts, type Viewer } from './queries.js';
import type { ErasureStore } from './ports.js';

/**
 * GET /v1/leads/{lead_id}/evidence (contract section 14): one page of the lead's timeline (its whole family, as the
 * timeline reads it) as an evidence bundle that `npm run verify` and a third party check offline (shared/domain/
 * evidence.ts, docs/proof-of-record.md). Every inclusion proof is against the org's latest checkpoint; each event
 * also names its first checkpoint (the earliest that holds it: logged no later than that), proven consistent with the
 * latest. The records are rebuilt from the stored items: an item edited behind leadlog's back gives a record whose
 * hash is not its leaf's, and the bundle fails verification, as it should.
 */
export interface EvidencePorts {
  reads: ReadPorts;
  events: EventStore;
  identities: IdentityStore;
  erasures?: Pick<ErasureStore, 'ofLead'>;
  store: ProofLogStore;
  publicKeyPem: () => Promise<string>;
  keyId: () => Promise<string>;
  checkpointIntervalSeconds: number;
}

/** A bundle's byte budget (its JSON), under Lambda's 6 MB response with API Gateway's envelope (as MAX_PAGE_BYTES). */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_BUNDLE_EVENTS = 50;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export async function evidenceOf(ports: EvidencePorts, viewer: Viewer, leadId: string, params: Record<string, string | undefined>, nowMs: number): Promise<EvidenceBundle & { next_cursor: string | null }> {
  if (!viewer.canSeePii) throw new ForbiddenError('The evidence bundle holds the events unmasked and their raw bytes: the key needs pii:read.');
  const latest = await ports.store.latestCheckpoint(viewer.orgId);
  const limit = params.limit ?? String(DEFAULT_BUNDLE_EVENTS);
  const page = async (n: string) => leadTimeline(ports.reads, ports.identities, viewer, leadId, { ...params, limit: n, include: undefined }, nowMs, ports.erasures);
  let timeline = await page(limit);
  let built = await buildEvents(ports, viewer.orgId, timeline.items.map((e) => e.id), latest, nowMs);
  // Over the budget: the same page cut to what fits (at least one event), so its cursor follows the last one sent.
  let bytes = 0;
  let fits = 0;
  for (const size of built.sizes) {
    if (fits > 0 && bytes + size > MAX_BUNDLE_BYTES) break;
    bytes += size;
    fits += 1;
  }
  if (fits < built.sizes.length) {
    timeline = await page(String(fits));
    built = await buildEvents(ports, viewer.orgId, timeline.items.map((e) => e.id), latest, nowMs);
  }
  if (!latest && built.events.length === 0 && built.pending.length === 0) throw new NotFoundError(`No events of lead ${leadId.slice(0, 100)} to prove.`);
  if (!latest) throw new ProofPendingError('No checkpoint of this org\'s log yet.', retryAfterSeconds(ports.checkpointIntervalSeconds));

  const reader = ports.store.tiles(viewer.orgId);
  const earlier = [...built.firsts.values()].filter((c) => c.tree_size < latest.tree_size).sort((a, b) => a.tree_size - b.tree_size);
  const consistency = await Promise.all(earlier.map(async (c) => ({
    from_size: c.tree_size, to_size: latest.tree_size, proof: (await consistencyProof(reader, c.tree_size, latest.tree_size)).map(hashToBase64),
  })));
  const events = await Promise.all(built.events.map(async (e) => ({ ...e, inclusion_proof: (await inclusionProof(reader, e.leaf_index, latest.tree_size)).map(hashToBase64) })));
  const [publicKey, keyId] = await Promise.all([ports.publicKeyPem(), ports.keyId()]);
  return {
    format: EVIDENCE_FORMAT, org_id: viewer.orgId, lead_id: leadId, generated_at: new Date(nowMs).toISOString(),
    public_key: publicKey, key_id: keyId, checkpoint: latest, checkpoints: [...earlier, latest], consistency, events,
    pending: built.pending, next_cursor: timeline.next_cursor,
  };
}

async function buildEvents(ports: EvidencePorts, orgId: string, ids: string[], latest: Checkpoint | undefined, nowMs: number) {
  const [records, leaves] = await Promise.all([ports.events.records(orgId, ids, nowMs), ports.store.leavesOf(orgId, ids)]);
  const events: EvidenceEvent[] = [];
  const pending: string[] = [];
  const sizes: number[] = [];
  const firsts = await firstCheckpoints(ports.store, orgId, [...leaves.values()].map((leaf) => leaf.index).filter((i) => latest !== undefined && i < latest.tree_size));
  for (const stored of records as StoredRecord[]) {
    const leaf = leaves.get(stored.event.id);
    if (!leaf || !latest || leaf.index >= latest.tree_size) {
      pending.push(stored.event.id);
      sizes.push(64);
      continue;
    }
    const first = firsts.byIndex.get(leaf.index);
    const event: EvidenceEvent = {
      id: stored.event.id,
      record: stored.record,
      raw: stored.raw === undefined ? null : b64(stored.raw),
      leaf: leafRecordOf(stored.event, stored.contentHash),
      leaf_index: leaf.index,
      leaf_hash: hashToBase64(leaf.leafHash),
      inclusion_proof: [],
      first_checkpoint_size: first?.tree_size ?? latest.tree_size,
    };
    events.push(event);
    // The proof adds ≤ 64 hashes of 46 characters.
    sizes.push(Buffer.byteLength(event.record) + (event.raw?.length ?? 0) + 3_500);
  }
  return { events, pending, sizes, firsts: firsts.checkpoints };
}

/**
 * Each leaf's first checkpoint (the smallest tree_size above its index), with one read per distinct answer: sizes only
 * grow, so for indexes in ascending order the answer for one holds for every next index below its size.
 */
async function firstCheckpoints(store: ProofLogStore, orgId: string, indexes: number[]): Promise<{ byIndex: Map<number, Checkpoint>; checkpoints: Map<number, Checkpoint> }> {
  const byIndex = new Map<number, Checkpoint>();
  const checkpoints = new Map<number, Checkpoint>();
  let current: Checkpoint | undefined;
  for (const index of [...new Set(indexes)].sort((a, b) => a - b)) {
    if (!current || index >= current.tree_size) current = await store.firstCheckpointCovering(orgId, index);
    if (!current) break;
    byIndex.set(index, current);
    checkpoints.set(current.tree_size, current);
  }
  return { byIndex, checkpoints };
}
