import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../shared/domain/canonical.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { EVIDENCE_FORMAT, type EvidenceBundle, type EvidenceEvent } from '../../shared/domain/evidence.js';
import { MemoryMerkleLog, consistencyProof, inclusionProof, leafHashOf, rootHash, type LeafRecord } from '../../shared/domain/merkle.js';
import {
  hashToBase64, leafRecordOf, recordOf, signCheckpoint, type Checkpoint, type CheckpointSigner,
} from '../../shared/domain/proofs.js';

/**
 * Builds a correct evidence bundle the way the route must: real events through `recordOf`, their leaves appended to
 * a `MemoryMerkleLog` (with other leads' events between them), checkpoints signed by a fresh node:crypto P-256 key
 * at the given sizes, inclusion proofs against the latest, consistency proofs from each event's first checkpoint.
 * Tests then tamper with a copy and expect the verifier to name what they changed.
 */

export const TEST_ORG = 'org_evidence';
export const TEST_LEAD = 'lead_evidence';

export interface BuiltBundle {
  bundle: EvidenceBundle;
  publicKeyPem: string;
  privateKey: KeyObject;
  signer: CheckpointSigner;
  /** Every leaf of the log, in index order (the lead's and others'). */
  leaves: LeafRecord[];
  events: LeadEvent[];
  log: MemoryMerkleLog;
}

export function p256Signer(): { signer: CheckpointSigner; publicKeyPem: string; privateKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const signer: CheckpointSigner = {
    keyId: async () => `local:${sha256Hex(der).slice(0, 16)}`,
    sign: async (message) => new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'der' })),
    publicKeyPem: async () => publicKeyPem,
  };
  return { signer, publicKeyPem, privateKey };
}

const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');

/** A stored event as leadlog keeps it; `n` varies everything a record covers. */
export function testEvent(n: number, leadId: string, orgId = TEST_ORG): LeadEvent {
  const at = new Date(BASE_MS + n * 1_000).toISOString();
  return {
    id: `00000000-0000-5000-8000-${String(n).padStart(12, '0')}`,
    org_id: orgId,
    lead_id: leadId,
    source_type: 'external',
    source: 'webform',
    event_type: n % 2 === 0 ? 'lead.created' : 'lead.updated',
    outcome: 'success',
    payload: { n, name: n === 3 ? 'Zoë 🦊 \u00e9' : `lead ${n}`, price: 12.5 },
    occurred_at: at,
    received_at: at,
    expires_at: new Date(BASE_MS + n * 1_000 + 400 * 86_400_000).toISOString(),
    schema_version: '1',
  };
}

export interface BundleOptions {
  /** How many events the log holds; every `leadEvery`-th is the bundle's lead's. */
  size?: number;
  leadEvery?: number;
  /** Tree sizes at which a checkpoint is signed; the last one is the latest (≤ size). */
  checkpointSizes?: number[];
  /** Events of the lead stored after the latest checkpoint (listed as pending). */
  pendingCount?: number;
}

/** Raw bytes of every third event (a webhook's body as delivered); others have none. */
export const rawOf = (n: number): Uint8Array | undefined => (n % 3 === 0 ? new TextEncoder().encode(`{"n":${n},"raw":"body ${n} \u00e9"}\n`) : undefined);

export async function buildBundle(options: BundleOptions = {}): Promise<BuiltBundle> {
  const size = options.size ?? 23;
  const leadEvery = options.leadEvery ?? 4;
  const sizes = options.checkpointSizes ?? [5, 12, 17, size];
  const { signer, publicKeyPem, privateKey } = p256Signer();
  const log = new MemoryMerkleLog();
  const events: LeadEvent[] = [];
  const records = new Map<string, { record: string; raw: Uint8Array | undefined }>();
  const leaves: LeafRecord[] = [];
  const checkpoints: Checkpoint[] = [];
  for (let n = 0; n < size; n++) {
    const event = testEvent(n, n % leadEvery === 1 ? TEST_LEAD : `lead_other_${n}`);
    const raw = rawOf(n);
    const { record, contentHash } = recordOf(event, raw);
    const leaf = leafRecordOf(event, contentHash);
    events.push(event);
    records.set(event.id, { record, raw });
    leaves.push(leaf);
    await log.append([leafHashOf(leaf)]);
    if (sizes.includes(log.size)) {
      const root = await rootHash(log, log.size);
      // Issued a little after the last event of the checkpoint was received.
      const issuedAt = new Date(Date.parse(event.received_at) + 500).toISOString();
      checkpoints.push(await signCheckpoint({ org_id: TEST_ORG, tree_size: log.size, root_hash: hashToBase64(root), issued_at: issuedAt }, signer));
    }
  }
  const latest = checkpoints.at(-1)!;
  const bundleEvents: EvidenceEvent[] = [];
  const firstSizes = new Set<number>();
  for (const [index, leaf] of leaves.entries()) {
    if (leaf.lead_id !== TEST_LEAD || index >= latest.tree_size) continue;
    const first = checkpoints.find((checkpoint) => checkpoint.tree_size > index)!;
    firstSizes.add(first.tree_size);
    const { record, raw } = records.get(leaf.id)!;
    bundleEvents.push({
      id: leaf.id,
      record,
      raw: raw === undefined ? null : Buffer.from(raw).toString('base64'),
      leaf,
      leaf_index: index,
      leaf_hash: hashToBase64(leafHashOf(leaf)),
      inclusion_proof: (await inclusionProof(log, index, latest.tree_size)).map(hashToBase64),
      first_checkpoint_size: first.tree_size,
    });
  }
  const listed = checkpoints.filter((checkpoint) => firstSizes.has(checkpoint.tree_size) && checkpoint !== latest);
  const pending = leaves.slice(latest.tree_size).filter((leaf) => leaf.lead_id === TEST_LEAD).map((leaf) => leaf.id);
  for (let p = 0; p < (options.pendingCount ?? 0); p++) pending.push(`00000000-0000-5000-9000-${String(p).padStart(12, '0')}`);
  const bundle: EvidenceBundle = {
    format: EVIDENCE_FORMAT,
    org_id: TEST_ORG,
    lead_id: TEST_LEAD,
    generated_at: new Date(Date.parse(latest.issued_at) + 1_000).toISOString(),
    public_key: publicKeyPem,
    key_id: await signer.keyId(),
    checkpoint: latest,
    checkpoints: [...listed, latest],
    consistency: await Promise.all(listed.map(async (checkpoint) => ({
      from_size: checkpoint.tree_size,
      to_size: latest.tree_size,
      proof: (await consistencyProof(log, checkpoint.tree_size, latest.tree_size)).map(hashToBase64),
    }))),
    events: bundleEvents,
    pending,
  };
  return { bundle, publicKeyPem, privateKey, signer, leaves, events, log };
}

/** A deep copy to tamper with, as a file holds it (no shared objects: the latest is twice in the bundle). */
export const copyOf = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
