/**
 * Proof of record in the browser (contract section 14), with WebCrypto only: an event's inclusion proof and the
 * signed checkpoint it leads to are checked here, not taken on the API's word. A port of shared/domain/merkle.ts
 * (RFC 9162 hashing, `rootFromInclusionProof` as 2.1.3.2, `encodeLeaf`) and of shared/domain/proofs.ts
 * (`checkpointBody`, `parseCheckpointBody`, `checkpointVerifies`), checked against them in
 * test/unit/console-proofs.test.ts. Pure: no fetch, no DOM; every function is async only because crypto.subtle is.
 */

export interface LeafRecord {
  id: string;
  org_id: string;
  lead_id: string;
  received_at: string;
  content_hash: string;
}

export interface Checkpoint {
  org_id: string;
  tree_size: number;
  /** Base64 (padded) of the 32-byte RFC 9162 root hash. */
  root_hash: string;
  issued_at: string;
  /** The exact signed text. */
  body: string;
  /** Base64 of the DER ECDSA P-256 signature over SHA-256(body). */
  signature: string;
  key_id: string;
}

/** `GET /v1/events/{id}/proof`'s answer. */
export interface EventProof {
  event_id: string;
  leaf_index: number;
  leaf_hash: string;
  /** Null once the event is erased: the leaf's hash stays in the log, its fields are gone. */
  leaf: LeafRecord | null;
  inclusion_proof: string[];
  checkpoint: Checkpoint;
  erased: boolean;
  erased_at?: string;
}

/**
 * What the browser concluded: `reason` names the first check that did not hold. `leafChecked` false: the answer
 * carried no leaf (the event is erased, or the key lacks pii:read: the leaf names the lead unmasked), so only the
 * leaf hash's inclusion under the signed root was checked, not that the leaf names this event.
 */
export type ProofVerdict = { ok: true; erased: boolean; leafChecked: boolean } | { ok: false; reason: string };

const HASH_SIZE = 32;
const bytes = (n: number): Uint8Array<ArrayBuffer> => new Uint8Array(new ArrayBuffer(n));

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const whole = bytes(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', whole));
}

/** RFC 9162: SHA-256(0x00 || leaf). */
export const leafHash = (leaf: Uint8Array): Promise<Uint8Array> => sha256(Uint8Array.of(0x00), leaf);
/** RFC 9162: SHA-256(0x01 || left || right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Promise<Uint8Array> => sha256(Uint8Array.of(0x01), left, right);

/** Base64 (RFC 4648, padded, no whitespace) to bytes; undefined for anything else. */
export function fromBase64(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const out = bytes(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** A 32-byte hash from its base64 (exactly 43 characters and one '='), or undefined. */
export function hashFromBase64(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined;
  const hash = fromBase64(text);
  return hash?.length === HASH_SIZE ? hash : undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

// A lone surrogate (which UTF-8 would turn into U+FFFD, merging two strings) is refused, as encodeLeaf refuses it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LEAF_FIELDS = ['id', 'org_id', 'lead_id', 'received_at', 'content_hash'] as const;

/** shared/domain/merkle.ts `encodeLeaf`: 0x01, then each field as a 4-byte big-endian UTF-8 length and its bytes. */
export function encodeLeaf(record: LeafRecord): Uint8Array {
  const encoder = new TextEncoder();
  const fields = LEAF_FIELDS.map((name) => {
    const value: unknown = (record as unknown as Record<string, unknown>)[name];
    if (typeof value !== 'string') throw new RangeError(`leaf field ${name} must be a string`);
    if (LONE_SURROGATE.test(value)) throw new RangeError(`leaf field ${name} must be well-formed Unicode`);
    return encoder.encode(value);
  });
  const out = bytes(1 + fields.reduce((total, field) => total + 4 + field.length, 0));
  const view = new DataView(out.buffer);
  out[0] = 1;
  let at = 1;
  for (const field of fields) {
    view.setUint32(at, field.length, false);
    out.set(field, at + 4);
    at += 4 + field.length;
  }
  return out;
}

export const leafHashOf = (record: LeafRecord): Promise<Uint8Array> => leafHash(encodeLeaf(record));

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);
const validCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** RFC 9162 2.1.3.2 (shared/domain/merkle.ts `rootFromInclusionProof`): the root the proof gives, or undefined. */
export async function rootFromInclusionProof(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Promise<Uint8Array | undefined> {
  if (!validCount(index) || !validCount(size) || index >= size) return undefined;
  if (leaf.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (isOdd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

export async function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  const computed = await rootFromInclusionProof(leaf, index, size, proof);
  return computed !== undefined && root.length === HASH_SIZE && equalBytes(computed, root);
}

/** shared/domain/proofs.ts `checkpointBody`: a C2SP tlog-checkpoint body with one extension line. */
export function checkpointBody(c: Pick<Checkpoint, 'org_id' | 'tree_size' | 'root_hash' | 'issued_at'>): string {
  return `leadlog/${c.org_id}\n${c.tree_size}\n${c.root_hash}\nissued_at ${c.issued_at}\n`;
}

const BODY = /^leadlog\/([A-Za-z0-9_-]{1,64})\n(0|[1-9]\d{0,15})\n([A-Za-z0-9+/]{43}=)\nissued_at (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\n$/;

/** Whether the signed body is exactly the one its fields make (shared/domain/proofs.ts `parseCheckpointBody`). */
export function bodyMatches(c: Checkpoint): boolean {
  if (typeof c.body !== 'string' || !validCount(c.tree_size)) return false;
  const match = BODY.exec(c.body);
  return match !== null && match[1] === c.org_id && Number(match[2]) === c.tree_size && match[3] === c.root_hash
    && match[4] === c.issued_at && checkpointBody(c) === c.body;
}

/**
 * A DER ECDSA signature (SEQUENCE of INTEGER r, INTEGER s, as OpenSSL and AWS KMS write it) as the raw r||s that
 * WebCrypto verifies, each integer left-padded to `size` bytes. Strict DER, as OpenSSL's verify is: short-form
 * lengths, minimal integers (a 0x00 only before a byte whose top bit is set, so a 33-byte integer is one), no
 * negative or empty integer, nothing after the sequence. Undefined for anything else.
 */
export function derToRawSignature(der: Uint8Array, size = 32): Uint8Array | undefined {
  // P-256's whole sequence is at most 2 + 2·(2 + 33) = 72 bytes: a length ≥ 128 (long form) never occurs.
  if (der.length < 8 || der[0] !== 0x30 || der[1]! >= 0x80 || der[1] !== der.length - 2) return undefined;
  const out = bytes(2 * size);
  let at = 2;
  for (const half of [0, 1]) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1]!;
    if (length === 0 || length >= 0x80 || at + 2 + length > der.length) return undefined;
    let value = der.subarray(at + 2, at + 2 + length);
    if (value[0]! & 0x80) return undefined; // negative
    if (value[0] === 0x00) {
      if (length === 1 || !(value[1]! & 0x80)) return undefined; // zero, or a leading 0x00 that was not needed
      value = value.subarray(1);
    }
    if (value.length > size) return undefined;
    out.set(value, half * size + size - value.length);
    at += 2 + length;
  }
  return at === der.length ? out : undefined;
}

/** WebCrypto's CryptoKey, named so that both the DOM's and Node's typings read it. */
export type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** The SPKI PEM of `GET /v1/proofs/public-key` as a WebCrypto ECDSA P-256 verification key. */
export async function importPublicKey(pem: string): Promise<VerifyKey> {
  const match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  const der = match ? fromBase64(match[1]!.replace(/\s+/g, '')) : undefined;
  if (!der) throw new Error('The public key is not a PEM "PUBLIC KEY".');
  return crypto.subtle.importKey('spki', der as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

/** Whether a checkpoint's body is its fields' and its signature verifies under `key`. Never throws. */
export async function checkpointVerifies(checkpoint: Checkpoint, key: VerifyKey): Promise<boolean> {
  try {
    if (!bodyMatches(checkpoint)) return false;
    const der = fromBase64(checkpoint.signature);
    const raw = der && derToRawSignature(der);
    if (!raw) return false;
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw as Uint8Array<ArrayBuffer>, new TextEncoder().encode(checkpoint.body));
  } catch {
    return false;
  }
}

/** The event a row shows, as far as its leaf commits to it. */
export type ShownEvent = Pick<LeafRecord, 'id' | 'org_id' | 'lead_id' | 'received_at'>;

/**
 * Whether `proof` proves `event` is in its org's log: the checkpoint is signed by `key` and is the event's org's;
 * the leaf names this event (id, org, lead, received_at) and hashes to leaf_hash; leaf_hash is included at
 * leaf_index in the checkpoint's tree (of the signed size). Without a leaf (erased, or a key without pii:read) the
 * leaf hash's inclusion is checked and the verdict says the leaf was not.
 * The content hash is not recomputed here (that needs the record's exact text and raw bytes: the evidence bundle
 * carries them, `npm run verify` checks them). Never throws.
 */
export async function verifyEventProof(proof: EventProof, event: ShownEvent, key: VerifyKey): Promise<ProofVerdict> {
  try {
    if (!proof || typeof proof !== 'object') return { ok: false, reason: 'the answer is not a proof' };
    if (proof.event_id !== event.id) return { ok: false, reason: 'the proof is of another event' };
    const c = proof.checkpoint;
    if (!c || typeof c !== 'object' || !bodyMatches(c)) return { ok: false, reason: "the checkpoint's signed text does not match its fields" };
    if (c.org_id !== event.org_id) return { ok: false, reason: "the checkpoint is of another org's log" };
    if (!(await checkpointVerifies(c, key))) return { ok: false, reason: "the checkpoint's signature does not verify under the public key" };
    const leaf = hashFromBase64(proof.leaf_hash);
    const root = hashFromBase64(c.root_hash);
    if (!leaf || !root) return { ok: false, reason: 'a hash is not 32 bytes of base64' };
    if (proof.leaf === undefined) return { ok: false, reason: 'the answer has no leaf field' };
    if (proof.leaf !== null) {
      const l = proof.leaf;
      if (typeof l !== 'object' || l.id !== event.id || l.org_id !== event.org_id || l.lead_id !== event.lead_id || l.received_at !== event.received_at) {
        return { ok: false, reason: 'the leaf does not name this event' };
      }
      let computed: Uint8Array;
      try {
        computed = await leafHashOf(l);
      } catch {
        return { ok: false, reason: 'the leaf cannot be encoded' };
      }
      if (!equalBytes(computed, leaf)) return { ok: false, reason: 'the leaf does not hash to leaf_hash' };
    }
    if (!Array.isArray(proof.inclusion_proof)) return { ok: false, reason: 'the inclusion proof is not a list' };
    const path = proof.inclusion_proof.map(hashFromBase64);
    if (path.some((p) => p === undefined)) return { ok: false, reason: 'a hash of the inclusion proof is not 32 bytes of base64' };
    if (!(await verifyInclusion(leaf, proof.leaf_index, c.tree_size, path as Uint8Array[], root))) {
      return { ok: false, reason: "the inclusion proof does not lead to the checkpoint's root" };
    }
    return { ok: true, erased: proof.erased === true, leafChecked: proof.leaf !== null };
  } catch {
    return { ok: false, reason: 'the proof is malformed' };
  }
}
