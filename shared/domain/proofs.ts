import { createHmac, createPublicKey, createVerify, timingSafeEqual } from 'node:crypto';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { LeadEvent } from './event.js';
import { encodeLeaf, HASH_SIZE, type Hash, type LeafRecord } from './merkle.js';

/**
 * Proof of record (contract section 14): what a leaf's content hash covers, the signed checkpoint's exact bytes,
 * and the seal that tells the stream path an event item was written by leadlog and not put into the table by hand.
 * Pure (node:crypto only): the log's storage is shared/adapters/dynamo-proof-log.ts, its integration
 * shared/domain/proof-log.ts, signing the CheckpointSigner port.
 */

/** The record format's name, the first key of every record: a later format takes another name. */
export const RECORD_FORMAT = 'leadlog-record/1';

/**
 * The exact text a leaf's content_hash is the SHA-256 of: canonical JSON (keys sorted at every depth) of
 * `{format, event, raw_sha256}` where `event` is the whole stored event except raw_payload (lead_snapshot
 * included) and `raw_sha256` the hex SHA-256 of the bytes the event arrived with (a webhook's body as delivered,
 * else its raw_payload as stored), or null when it has none. A verifier never re-canonicalizes: the evidence
 * bundle carries this text, and `SHA-256(text) = content_hash` plus `JSON.parse(text).event` naming the leaf's
 * id, org_id, lead_id and received_at is the whole check (docs/proof-of-record.md).
 */
export function recordOf(event: LeadEvent, rawBytes: Uint8Array | undefined): { record: string; contentHash: string } {
  const { raw_payload: _raw, ...stored } = event;
  const record = canonicalJson({ format: RECORD_FORMAT, event: stored, raw_sha256: rawBytes === undefined ? null : sha256Hex(rawBytes) });
  return { record, contentHash: sha256Hex(record) };
}


/** The leaf of an event, from its record's content hash. */
export function leafRecordOf(event: Pick<LeadEvent, 'id' | 'org_id' | 'lead_id' | 'received_at'>, contentHash: string): LeafRecord {
  return { id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at, content_hash: contentHash };
}

// ---------------------------------------------------------------------------------------------------------------
// The seal: HMAC-SHA256 of the leaf bytes under a key only leadlog's writers hold. The stream path appends a leaf
// only for an INSERT whose seal verifies: an item put into the table by hand (by anyone without the key) never
// enters the log, and `npm run verify -- --org` names it as inserted.

let sealKey: Buffer | undefined;

/** Sets this process's seal key, derived from a secret (the pseudonym secret: one secret to hold, two keys). */
export function configureSealKey(secret: string | undefined): void {
  sealKey = secret ? createHmac('sha256', secret).update('leadlog/seal/v1').digest() : undefined;
}

export const hasSealKey = (): boolean => sealKey !== undefined;

/** The seal of a leaf, hex; undefined when this process holds no seal key (the item is then written unsealed). */
export function sealOf(leaf: LeafRecord): string | undefined {
  return sealKey ? createHmac('sha256', sealKey).update(encodeLeaf(leaf)).digest('hex') : undefined;
}

export function sealVerifies(leaf: LeafRecord, seal: unknown): boolean {
  if (typeof seal !== 'string' || !sealKey || !/^[0-9a-f]{64}$/.test(seal)) return false;
  let expected: string | undefined;
  try {
    expected = sealOf(leaf);
  } catch {
    return false; // a leaf that cannot be encoded (not well-formed Unicode) was never sealed by leadlog
  }
  return expected !== undefined && timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(seal, 'hex'));
}

/**
 * The seal of the log table's own unsigned facts (issue #25 red team): a queue item and the leaf item made from it
 * (which leaf hash an event id has, its received_at and TTL), and an erasure mark (which id was erased, when). Only
 * leadlog's writers hold the key, so a queue item put into the log table by hand is never appended (else anyone with
 * write access to that table could get a fabricated leaf signed), and `npm run verify -- --org` calls a missing
 * event expired or erased only when the leaf item's TTL or the mark carries a seal that verifies (else removed).
 * HMAC-SHA256 over a JSON array with a purpose tag, so no seal of one kind passes for another or another org's.
 */
function metaSeal(parts: readonly (string | number)[]): string | undefined {
  return sealKey ? createHmac('sha256', sealKey).update(JSON.stringify(parts)).digest('hex') : undefined;
}

function metaSealVerifies(parts: readonly (string | number)[], seal: unknown): boolean {
  if (typeof seal !== 'string' || !/^[0-9a-f]{64}$/.test(seal)) return false;
  const expected = metaSeal(parts);
  return expected !== undefined && timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(seal, 'hex'));
}

export interface LogEntryFacts {
  id: string;
  leafHash: Uint8Array;
  receivedAt: string;
  /** The event's TTL, epoch seconds. */
  expiresAt: number;
}

const entryParts = (orgId: string, entry: LogEntryFacts) =>
  ['leadlog/log-entry/v1', orgId, entry.id, Buffer.from(entry.leafHash).toString('base64'), entry.receivedAt, entry.expiresAt];

/** The seal of a queue item / leaf item of `orgId`; undefined without a seal key. */
export const entrySealOf = (orgId: string, entry: LogEntryFacts): string | undefined => metaSeal(entryParts(orgId, entry));
export const entrySealVerifies = (orgId: string, entry: LogEntryFacts, seal: unknown): boolean => metaSealVerifies(entryParts(orgId, entry), seal);

/** The seal of an erasure mark; undefined without a seal key. */
export const erasureSealOf = (orgId: string, id: string, atIso: string): string | undefined => metaSeal(['leadlog/erased/v1', orgId, id, atIso]);
export const erasureSealVerifies = (orgId: string, id: string, atIso: unknown, seal: unknown): boolean =>
  typeof atIso === 'string' && metaSealVerifies(['leadlog/erased/v1', orgId, id, atIso], seal);

// ---------------------------------------------------------------------------------------------------------------
// Checkpoints: the signed statement {org_id, tree_size, root_hash, issued_at}. The signed bytes are a C2SP
// tlog-checkpoint body (origin line, tree size, base64 root hash, then an extension line), so any tool that reads
// transparency-log checkpoints reads ours, and `openssl dgst -sha256 -verify key.pem -signature sig.der body.txt`
// checks the signature (ECDSA P-256 over SHA-256, DER, as AWS KMS's ECDSA_SHA_256 returns it).

/** The origin line of an org's log: names the log, so a checkpoint of one org can never pass as another's. */
export const checkpointOrigin = (orgId: string): string => `leadlog/${orgId}`;

export interface CheckpointStatement {
  org_id: string;
  tree_size: number;
  /** Base64 (RFC 4648, padded) of the 32-byte RFC 9162 root hash. */
  root_hash: string;
  /** ISO 8601 UTC, milliseconds. */
  issued_at: string;
}

export interface Checkpoint extends CheckpointStatement {
  /** The exact signed text (UTF-8), `checkpointBody(statement)`. */
  body: string;
  /** Base64 of the DER ECDSA signature over SHA-256(body). */
  signature: string;
  /** Which key signed it: the KMS key ARN in AWS, `local:<sha256 of the public key's DER, 16 hex>` locally. */
  key_id: string;
}

/** `<origin>\n<tree_size>\n<root base64>\nissued_at <ISO>\n`: C2SP tlog-checkpoint with one extension line. */
export function checkpointBody(statement: CheckpointStatement): string {
  return `${checkpointOrigin(statement.org_id)}\n${statement.tree_size}\n${statement.root_hash}\nissued_at ${statement.issued_at}\n`;
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The statement a body says, or undefined when the body is not one `checkpointBody` can have written. */
export function parseCheckpointBody(body: string): CheckpointStatement | undefined {
  const match = /^leadlog\/([A-Za-z0-9_-]{1,64})\n(0|[1-9]\d{0,15})\n([A-Za-z0-9+/]{43}=)\nissued_at (\S+)\n$/.exec(body);
  if (!match || !ISO_MS.test(match[4]!)) return undefined;
  const treeSize = Number(match[2]);
  if (!Number.isSafeInteger(treeSize)) return undefined;
  return { org_id: match[1]!, tree_size: treeSize, root_hash: match[3]!, issued_at: match[4]! };
}

/** Signs checkpoint bodies: AWS KMS (ECDSA_SHA_256 on an ECC_NIST_P256 key) in AWS, a key file under .data/ locally. */
export interface CheckpointSigner {
  /** The key's id as checkpoints name it (Checkpoint.key_id). */
  keyId(): Promise<string>;
  /** A DER ECDSA P-256 signature over SHA-256(message). */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** The public key, SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"). */
  publicKeyPem(): Promise<string>;
}

/** Where signed checkpoints are also kept, write-once: S3 with Object Lock (compliance) in AWS, files locally. */
export interface CheckpointArchive {
  put(checkpoint: Checkpoint): Promise<void>;
  /**
   * The org's archived checkpoint of the largest tree size above `size` (any size when `size` < 0), undefined when
   * there is none. The archive, not the log table, is what says which checkpoints were signed: the integrator checks
   * against it before signing, so a log table rewound under a signed checkpoint is never signed again.
   */
  latestAbove(orgId: string, size: number): Promise<Checkpoint | undefined>;
}

/** Signs a statement: the checkpoint as routes, the archive and bundles carry it. */
export async function signCheckpoint(statement: CheckpointStatement, signer: CheckpointSigner): Promise<Checkpoint> {
  const body = checkpointBody(statement);
  const signature = await signer.sign(new TextEncoder().encode(body));
  return { ...statement, body, signature: Buffer.from(signature).toString('base64'), key_id: await signer.keyId() };
}

/**
 * Whether a checkpoint is what it says: its body is exactly `checkpointBody` of its own fields, and the signature
 * verifies under `publicKeyPem` (ECDSA P-256, SHA-256, DER). Never throws: anything malformed is false.
 */
export function checkpointVerifies(checkpoint: Checkpoint, publicKeyPem: string): boolean {
  try {
    const statement = parseCheckpointBody(checkpoint.body);
    if (!statement || checkpointBody(checkpoint) !== checkpoint.body) return false;
    if (statement.org_id !== checkpoint.org_id || statement.tree_size !== checkpoint.tree_size
      || statement.root_hash !== checkpoint.root_hash || statement.issued_at !== checkpoint.issued_at) return false;
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
    return createVerify('SHA256').update(checkpoint.body, 'utf8').verify({ key, dsaEncoding: 'der' }, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A 32-byte hash from its base64, or undefined. */
export function hashFromBase64(text: unknown): Hash | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return bytes.length === HASH_SIZE ? bytes : undefined;
}

export const hashToBase64 = (hash: Hash): string => Buffer.from(hash).toString('base64');
