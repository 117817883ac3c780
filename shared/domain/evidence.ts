import { createPublicKey } from 'node:crypto';
import { sha256Hex } from './canonical.js';
import { leafHashOf, verifyConsistency, verifyInclusion, type Hash, type LeafRecord } from './merkle.js';
import {
  RECORD_FORMAT, checkpointVerifies, hashFromBase64, type Checkpoint,
} from './proofs.js';

/**
 * The evidence bundle of a lead (contract section 14, GET /v1/leads/{lead_id}/evidence) and its offline check,
 * `verifyBundle`: what `npm run verify -- <bundle.json>` runs and what docs/proof-of-record.md tells a third party to
 * do by hand. Pure (node:crypto only), and total: any JSON at all (wrong types, lone surrogates, NaN or negative
 * sizes, base64 of the wrong length, huge arrays) gives failures, never an exception.
 *
 * Invariant the checks keep: every tree size and root a proof is checked against comes from a checkpoint whose
 * signature verified, never from a loose field of the bundle (RFC 9162's verification binds the size only through
 * the proof's shape: docs/decisions.md, "a verifier must take the size from the signed checkpoint").
 */

export const EVIDENCE_FORMAT = 'leadlog-evidence/1';

/** One stored event of the lead, with everything needed to tie it to the latest checkpoint. */
export interface EvidenceEvent {
  id: string;
  /** The exact record text (`recordOf`): SHA-256 of its UTF-8 bytes is `leaf.content_hash`. */
  record: string;
  /** Base64 of the raw bytes the event arrived with, or null when it has none (then the record's raw_sha256 is null). */
  raw: string | null;
  leaf: LeafRecord;
  leaf_index: number;
  /** Base64 of SHA-256(0x00 || encodeLeaf(leaf)). */
  leaf_hash: string;
  /** RFC 9162 inclusion proof (base64 hashes, leaf to root) against the bundle's latest checkpoint. */
  inclusion_proof: string[];
  /** The tree size of the earliest checkpoint that includes the event (one of `checkpoints`). */
  first_checkpoint_size: number;
}

export interface EvidenceConsistency {
  from_size: number;
  to_size: number;
  proof: string[];
}

export interface EvidenceBundle {
  format: typeof EVIDENCE_FORMAT;
  org_id: string;
  lead_id: string;
  generated_at: string;
  /** SubjectPublicKeyInfo PEM of the checkpoint key (a verifier pins its own copy with --key). */
  public_key: string;
  key_id: string;
  /** The latest checkpoint: every inclusion proof is against its tree_size and root_hash. */
  checkpoint: Checkpoint;
  /** Each event's first checkpoint, oldest first, then the latest. */
  checkpoints: Checkpoint[];
  /** From each earlier checkpoint of `checkpoints` to the latest. */
  consistency: EvidenceConsistency[];
  events: EvidenceEvent[];
  /** Ids of the lead's events stored but not yet in a checkpoint. */
  pending: string[];
}

export type CheckGroup = 'bundle' | 'checkpoints' | 'consistency' | 'events';

export interface BundleVerification {
  ok: boolean;
  /** One line per failure, naming the checkpoint size or the event id and the check. */
  failures: string[];
  checked: { checkpoints: number; events: number; pending: number };
  /** 'pinned': signatures were checked under the caller's key; 'bundle': under the key the bundle itself carries. */
  keySource: 'pinned' | 'bundle';
  /** The same failures by check group (bundle: its own fields and the key), for a one-line-per-group summary. */
  groups: Record<CheckGroup, string[]>;
  /**
   * The lead ids the events' leaves name (the signed fact, whatever the bundle's own `lead_id` field says: that field
   * is a label, and a family's bundle holds the events of every lead merged with it).
   */
  leads: string[];
}

/** Longer than any RFC 9162 proof over a tree of at most 2^53 leaves (inclusion ≤ 53 hashes, consistency ≤ 2·53). */
const MAX_PROOF_HASHES = 128;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isSize = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value.isWellFormed();

/** A short, printable rendering of an untrusted value for a failure line (no control characters, bounded). */
function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return typeof value === 'string' ? JSON.stringify(text) : text;
}

/** A checkpoint's fields have the types a checkpoint has (checkpointVerifies then decides whether it is one). */
function checkpointShape(value: unknown): value is Checkpoint {
  return isObject(value) && isText(value.org_id) && isSize(value.tree_size) && isText(value.root_hash)
    && isText(value.issued_at) && isText(value.body) && isText(value.signature) && isText(value.key_id);
}

/** Base64 hashes of a proof, or undefined when any is not a 32-byte hash or the proof is longer than any can be. */
function proofHashes(value: unknown): Hash[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_PROOF_HASHES) return undefined;
  const hashes: Hash[] = [];
  for (const item of value) {
    const hash = hashFromBase64(item);
    if (!hash) return undefined;
    hashes.push(hash);
  }
  return hashes;
}

/** Strict base64 (RFC 4648, padded, no whitespace): Buffer.from would silently skip what is not. */
function strictBase64(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

function sameKey(a: string, b: string): boolean | undefined {
  try {
    const der = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
    return der(a).equals(der(b));
  } catch {
    return undefined;
  }
}

const checkpointName = (checkpoint: Checkpoint): string => `checkpoint ${checkpoint.tree_size} (${checkpoint.issued_at})`;
const sameCheckpoint = (a: Checkpoint, b: Checkpoint): boolean => a.body === b.body && a.signature === b.signature;

/**
 * The bundle checks of docs/proof-of-record.md, in order:
 * 1. every checkpoint's body is exactly checkpointBody of its fields and its signature verifies under the key (the
 *    pinned one when given, else the bundle's own — `keySource` says which); all are of the bundle's org; the latest
 *    is `checkpoint`, the last and largest of `checkpoints`;
 * 2. every earlier checkpoint is consistent with the latest (RFC 9162 2.1.4.2, sizes and roots from the signed
 *    checkpoints);
 * 3. every event: SHA-256(record) = leaf.content_hash; the record's event names the leaf's id, org_id, lead_id and
 *    received_at; raw null ⇔ raw_sha256 null, else SHA-256(raw) = raw_sha256; the leaf hashes to leaf_hash; the
 *    inclusion proof holds in the latest checkpoint; the leaf is inside its first checkpoint (the earliest of the
 *    bundle that includes it), which was issued after the event was received.
 */
export function verifyBundle(bundle: unknown, options: { trustedKeyPem?: string } = {}): BundleVerification {
  const failures: string[] = [];
  const groups: Record<CheckGroup, string[]> = { bundle: [], checkpoints: [], consistency: [], events: [] };
  const fail = (group: CheckGroup, line: string): void => {
    groups[group].push(line);
    failures.push(line);
  };
  const keySource = options.trustedKeyPem !== undefined ? 'pinned' : 'bundle';
  const checked = { checkpoints: 0, events: 0, pending: 0 };
  const leads = new Set<string>();
  const done = (): BundleVerification => ({ ok: failures.length === 0, failures, checked, keySource, groups, leads: [...leads] });

  if (!isObject(bundle)) {
    fail('bundle', 'bundle: not a JSON object');
    return done();
  }
  if (bundle.format !== EVIDENCE_FORMAT) fail('bundle', `bundle: format is ${shown(bundle.format)}, not "${EVIDENCE_FORMAT}"`);
  const orgId = isText(bundle.org_id) ? bundle.org_id : undefined;
  if (orgId === undefined) fail('bundle', 'bundle: org_id is not a string');
  if (!isText(bundle.lead_id)) fail('bundle', 'bundle: lead_id is not a string');

  // The key: the pinned one when given; the bundle's must then be the same key.
  let keyPem: string | undefined = options.trustedKeyPem;
  if (keyPem !== undefined) {
    if (sameKey(keyPem, keyPem) === undefined) {
      fail('bundle', 'key: the pinned key is not a public key PEM');
      keyPem = undefined;
    } else if (!isText(bundle.public_key) || sameKey(keyPem, bundle.public_key) !== true) {
      fail('bundle', "key: the bundle's public_key is not the pinned key");
    }
  } else if (isText(bundle.public_key) && sameKey(bundle.public_key, bundle.public_key) !== undefined) {
    keyPem = bundle.public_key;
  } else {
    fail('bundle', 'key: the bundle carries no readable public_key (and none was pinned)');
  }

  // 1. Checkpoints: signed, of this org, the latest last and largest.
  const verified: Checkpoint[] = [];
  const checkOne = (value: unknown, where: string): Checkpoint | undefined => {
    checked.checkpoints += 1;
    if (!checkpointShape(value)) {
      fail('checkpoints', `${where}: not a checkpoint (org_id, tree_size, root_hash, issued_at, body, signature, key_id)`);
      return undefined;
    }
    let good = true;
    if (keyPem === undefined || !checkpointVerifies(value, keyPem)) {
      fail('checkpoints', `${checkpointName(value)}: body or signature does not verify under the ${keySource === 'pinned' ? 'pinned' : "bundle's"} key`);
      good = false;
    }
    if (orgId !== undefined && value.org_id !== orgId) {
      fail('checkpoints', `${checkpointName(value)}: of org ${shown(value.org_id)}, not the bundle's ${shown(orgId)}`);
      good = false;
    }
    if (isText(bundle.key_id) && value.key_id !== bundle.key_id) {
      fail('checkpoints', `${checkpointName(value)}: key_id ${shown(value.key_id)} is not the bundle's ${shown(bundle.key_id)}`);
    }
    if (good) verified.push(value);
    return good ? value : undefined;
  };
  const latest = checkOne(bundle.checkpoint, 'checkpoint (the latest)');
  const earlier: Checkpoint[] = [];
  if (!Array.isArray(bundle.checkpoints) || bundle.checkpoints.length === 0) {
    fail('checkpoints', 'checkpoints: not a non-empty list ending with the latest checkpoint');
  } else {
    const list = bundle.checkpoints as unknown[];
    const last = list.at(-1);
    if (!checkpointShape(last) || !checkpointShape(bundle.checkpoint) || !sameCheckpoint(last, bundle.checkpoint)) {
      fail('checkpoints', 'checkpoints: the list does not end with the latest checkpoint');
    }
    let previous: Checkpoint | undefined;
    list.forEach((value, i) => {
      if (i === list.length - 1 && checkpointShape(value) && checkpointShape(bundle.checkpoint) && sameCheckpoint(value, bundle.checkpoint)) return;
      const checkpoint = checkOne(value, `checkpoints[${i}]`);
      if (!checkpoint) return;
      if (latest && (checkpoint.tree_size > latest.tree_size || checkpoint.issued_at > latest.issued_at)) {
        fail('checkpoints', `${checkpointName(checkpoint)}: later or larger than the latest, ${checkpointName(latest)}`);
      }
      if (previous && (checkpoint.tree_size < previous.tree_size || checkpoint.issued_at < previous.issued_at)) {
        fail('checkpoints', `${checkpointName(checkpoint)}: listed after ${checkpointName(previous)} (not oldest first)`);
      }
      previous = checkpoint;
      earlier.push(checkpoint);
    });
  }

  // 2. Consistency of each earlier signed checkpoint with the latest, sizes and roots from the signatures.
  const proofs = Array.isArray(bundle.consistency) ? (bundle.consistency as unknown[]) : undefined;
  if (!proofs) fail('consistency', 'consistency: not a list');
  if (latest) {
    const latestRoot = hashFromBase64(latest.root_hash)!;
    const bySize = new Map<number, Json>(); // the first proof given for each size, so a huge list costs one pass
    for (const item of proofs ?? []) {
      if (isObject(item) && isSize(item.from_size) && item.to_size === latest.tree_size && !bySize.has(item.from_size)) bySize.set(item.from_size, item);
    }
    for (const checkpoint of earlier) {
      const name = `consistency ${checkpoint.tree_size} → ${latest.tree_size}`;
      const entry = bySize.get(checkpoint.tree_size);
      if (!isObject(entry)) {
        fail('consistency', `${name}: no proof in the bundle`);
        continue;
      }
      const proof = proofHashes(entry.proof);
      if (!proof || !verifyConsistency(checkpoint.tree_size, latest.tree_size, proof, hashFromBase64(checkpoint.root_hash)!, latestRoot)) {
        fail('consistency', `${name}: ${checkpointName(checkpoint)} is not a prefix of the latest (the proof does not verify)`);
      }
    }
  }

  // 3. Events.
  const signedSizes = new Map(verified.map((checkpoint) => [checkpoint.tree_size, checkpoint]));
  const sortedSizes = [...signedSizes.keys()].sort((a, b) => a - b);
  const seenIds = new Set<string>();
  const seenIndexes = new Map<number, string>();
  if (!Array.isArray(bundle.events)) fail('events', 'events: not a list');
  else {
    (bundle.events as unknown[]).forEach((value, i) => {
      checked.events += 1;
      const name = isObject(value) && isText(value.id) ? `event ${shown(value.id)}` : `events[${i}]`;
      const eventFail = (line: string) => fail('events', `${name}: ${line}`);
      if (!isObject(value) || !isText(value.id)) return eventFail('no id, or not an object');
      if (seenIds.has(value.id)) return eventFail('listed twice');
      seenIds.add(value.id);
      for (const failure of eventFailures(value as Json, orgId, latest, signedSizes, sortedSizes, seenIndexes)) eventFail(failure);
      if (isObject(value.leaf) && isText(value.leaf.lead_id)) leads.add(value.leaf.lead_id);
    });
  }

  if (!Array.isArray(bundle.pending) || !(bundle.pending as unknown[]).every(isText)) fail('bundle', 'pending: not a list of event ids');
  else {
    checked.pending = bundle.pending.length;
    for (const id of bundle.pending as string[]) if (seenIds.has(id)) fail('events', `event ${shown(id)}: both pending and in the log`);
  }
  return done();
}

/** The smallest of the ascending `sizes` that holds leaf `index` (is greater than it), by binary search. */
function earliestCovering(sizes: readonly number[], index: number): number | undefined {
  let lo = 0;
  let hi = sizes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sizes[mid]! > index) hi = mid;
    else lo = mid + 1;
  }
  return sizes[lo];
}

/** Step 3 for one event: every check that fails, as a phrase. */
function eventFailures(
  event: Json, orgId: string | undefined, latest: Checkpoint | undefined,
  signedSizes: ReadonlyMap<number, Checkpoint>, sortedSizes: readonly number[], seenIndexes: Map<number, string>,
): string[] {
  const out: string[] = [];
  const { leaf } = event;
  const leafOk = isObject(leaf) && (['id', 'org_id', 'lead_id', 'received_at', 'content_hash'] as const).every((key) => isText(leaf[key]));
  if (!leafOk) out.push('leaf is not {id, org_id, lead_id, received_at, content_hash} of well-formed strings');
  const theLeaf = leafOk ? (leaf as unknown as LeafRecord) : undefined;
  if (theLeaf && theLeaf.id !== event.id) out.push(`leaf.id ${shown(theLeaf.id)} is not the event's id`);
  if (theLeaf && orgId !== undefined && theLeaf.org_id !== orgId) out.push(`leaf.org_id ${shown(theLeaf.org_id)} is not the bundle's org`);

  // The record: its hash is the leaf's content hash, and it names the leaf's fields.
  if (!isText(event.record)) out.push('record is not a well-formed string');
  else {
    if (theLeaf && sha256Hex(event.record) !== theLeaf.content_hash) out.push('SHA-256(record) is not leaf.content_hash (the record was changed)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.record);
    } catch {
      parsed = undefined;
    }
    if (!isObject(parsed) || parsed.format !== RECORD_FORMAT || !isObject(parsed.event)) {
      out.push(`record is not a ${RECORD_FORMAT} JSON object with an event`);
    } else {
      const stored = parsed.event;
      if (theLeaf) {
        for (const key of ['id', 'org_id', 'lead_id', 'received_at'] as const) {
          if (stored[key] !== theLeaf[key]) out.push(`the record's event.${key} ${shown(stored[key])} is not the leaf's ${shown(theLeaf[key])}`);
        }
      }
      const rawSha = parsed.raw_sha256;
      if (event.raw === null) {
        if (rawSha !== null) out.push('raw is null but the record names raw bytes (raw_sha256 is not null)');
      } else {
        const raw = strictBase64(event.raw);
        if (!raw) out.push('raw is neither null nor strict base64');
        else if (rawSha === null) out.push('raw bytes are given but the record says the event had none (raw_sha256 is null)');
        else if (sha256Hex(raw) !== rawSha) out.push("SHA-256(raw) is not the record's raw_sha256 (the raw bytes were changed)");
      }
    }
  }

  // The leaf hash and its inclusion in the latest signed checkpoint.
  const leafHash = hashFromBase64(event.leaf_hash);
  if (!leafHash) out.push('leaf_hash is not base64 of 32 bytes');
  else if (theLeaf) {
    let computed: Hash | undefined;
    try {
      computed = leafHashOf(theLeaf);
    } catch {
      computed = undefined;
    }
    if (!computed || Buffer.compare(computed, leafHash) !== 0) out.push('leaf_hash is not SHA-256(0x00 || encodeLeaf(leaf))');
  }
  const index = event.leaf_index;
  if (!isSize(index)) out.push(`leaf_index ${shown(index)} is not a non-negative integer`);
  else {
    const other = seenIndexes.get(index);
    if (other !== undefined) out.push(`leaf_index ${index} is also event ${shown(other)}'s`);
    else seenIndexes.set(index, String(event.id));
  }
  if (latest && isSize(index)) {
    if (index >= latest.tree_size) out.push(`leaf_index ${index} is not inside the latest checkpoint (tree_size ${latest.tree_size})`);
    else {
      const proof = proofHashes(event.inclusion_proof);
      if (!leafHash || !proof || !verifyInclusion(leafHash, index, latest.tree_size, proof, hashFromBase64(latest.root_hash)!)) {
        out.push(`inclusion proof of leaf ${index} does not verify against ${checkpointName(latest)}`);
      }
    }
  }
  const first = isSize(event.first_checkpoint_size) ? signedSizes.get(event.first_checkpoint_size) : undefined;
  if (!first) out.push(`first_checkpoint_size ${shown(event.first_checkpoint_size)} is not the size of a signed checkpoint of the bundle`);
  else {
    if (isSize(index) && index >= first.tree_size) out.push(`leaf_index ${index} is not inside its first checkpoint (tree_size ${first.tree_size})`);
    else if (isSize(index) && earliestCovering(sortedSizes, index) !== first.tree_size) {
      out.push(`first_checkpoint_size ${first.tree_size} is not the earliest checkpoint of the bundle that includes leaf ${index}`);
    }
    if (theLeaf && !(Date.parse(theLeaf.received_at) <= Date.parse(first.issued_at))) {
      out.push(`received_at ${shown(theLeaf.received_at)} is after its first checkpoint was issued (${first.issued_at})`);
    }
  }
  return out;
}
