import { createHash } from 'node:crypto';

/**
 * The Merkle tree of an org's log, exactly as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines it, with
 * SHA-256: a leaf hashes as SHA-256(0x00 || leaf), a node as SHA-256(0x01 || left || right), the tree of n > 1 leaves
 * splits at k, the largest power of two smaller than n (MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))), and the
 * empty tree's hash is SHA-256 of nothing. Inclusion proofs (PATH, 2.1.3) and consistency proofs (PROOF, 2.1.4) are
 * built as the RFC builds them and verified by the RFC's own algorithms (2.1.3.2, 2.1.4.2).
 *
 * Storage shape: a store keeps only the hashes of complete subtrees (`Subtree`: 2^level leaves starting at leaf
 * index·2^level), written once when their last leaf arrives and never changed (the layout of Go's sumdb/tlog and of
 * tiles). Any hash the RFC needs is the hash of a range [lo, hi) that starts at a multiple of the largest power of two
 * within it, so it is a fold of at most ⌊log₂(hi - lo)⌋ + 1 complete subtrees (`subtreesOf`). A root, an inclusion
 * proof or a consistency proof therefore needs O(log n) subtree hashes, asked for in ONE `hashesOf` call (a store
 * answers it with one batch read). Pure: no I/O of its own, no AWS SDK.
 */

export type Hash = Uint8Array;
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

function sha256(...parts: Uint8Array[]): Hash {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** RFC 9162: MTH({}) = SHA-256() — the hash of an empty string. */
export const EMPTY_ROOT: Hash = sha256();

/** RFC 9162: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(leaf: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, leaf);
}

/** RFC 9162: an interior node, SHA-256(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

/** The complete subtree of 2^level leaves [index·2^level, (index+1)·2^level); level 0 is one leaf's hash. */
export interface Subtree {
  readonly level: number;
  readonly index: number;
}

/** Where complete subtree hashes come from (a table, tiles, memory). */
export interface SubtreeHashReader {
  /**
   * The hashes of `subtrees`, in the order asked. Every subtree asked for lies inside a tree the store holds (the
   * callers below never ask for anything else); a missing one is the store's corruption, and it must throw.
   */
  hashesOf(subtrees: readonly Subtree[]): Promise<readonly Hash[]>;
}

/** A complete subtree's hash, as `appendLeaves` returns it for the store to write. */
export interface SubtreeHash extends Subtree {
  readonly hash: Hash;
}

/** A leaf index range [lo, hi) of the tree. */
type Range = readonly [lo: number, hi: number];

function assertSize(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, not ${value}`);
}

/** The largest power of two ≤ n (n ≥ 1); arithmetic, not bit operators, so sizes past 2^31 stay exact. */
function powerOfTwoAtMost(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** RFC 9162's k: the largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  return powerOfTwoAtMost(n - 1);
}

function log2(power: number): number {
  let level = 0;
  for (let p = power; p > 1; p /= 2) level++;
  return level;
}

/**
 * The complete subtrees whose fold is MTH(D[lo:hi]), left to right, largest first. Invariant: lo is a multiple of the
 * largest power of two ≤ hi - lo — true of every range the RFC's recursion produces (each split point of a subtree
 * that starts at a multiple of 2^j is itself a multiple of the next power down), so each piece is a stored subtree.
 */
export function subtreesOf(lo: number, hi: number): Subtree[] {
  assertSize(lo, 'lo');
  assertSize(hi, 'hi');
  if (hi <= lo) throw new RangeError(`empty range [${lo}, ${hi})`);
  if (lo % powerOfTwoAtMost(hi - lo) !== 0) throw new RangeError(`[${lo}, ${hi}) is not a range of the tree`);
  const pieces: Subtree[] = [];
  for (let start = lo; start < hi;) {
    const width = powerOfTwoAtMost(hi - start);
    pieces.push({ level: log2(width), index: start / width });
    start += width;
  }
  return pieces;
}

/** MTH of a range from its pieces' hashes (as `subtreesOf` orders them): the right edge folds into its left sibling. */
function foldPieces(hashes: readonly Hash[]): Hash {
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** RFC 9162 2.1.3.1, PATH(m, D[n]): the sibling ranges from the leaf up to the root. */
function inclusionRanges(index: number, size: number): Range[] {
  const topDown: Range[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const mid = lo + splitPoint(hi - lo);
    if (index < mid) {
      topDown.push([mid, hi]);
      hi = mid;
    } else {
      topDown.push([lo, mid]);
      lo = mid;
    }
  }
  return topDown.reverse();
}

/** RFC 9162 2.1.4.1, PROOF(m, D[n]) = SUBPROOF(m, D[n], true), as ranges in the proof's order. */
function consistencyRanges(from: number, to: number): Range[] {
  const topDown: Range[] = [];
  let lo = 0;
  let hi = to;
  let whole = true; // SUBPROOF's b: the subtree reached is the old tree itself, whose hash the verifier already has
  while (from !== hi) {
    const mid = lo + splitPoint(hi - lo);
    if (from <= mid) {
      topDown.push([mid, hi]);
      hi = mid;
    } else {
      topDown.push([lo, mid]);
      lo = mid;
      whole = false;
    }
  }
  const head: Range[] = whole ? [] : [[lo, hi]];
  return [...head, ...topDown.reverse()];
}

/** The hashes of `ranges` with ONE read of every complete subtree they need (each read once). */
async function hashRanges(reader: SubtreeHashReader, ranges: readonly Range[]): Promise<Hash[]> {
  const plans = ranges.map(([lo, hi]) => subtreesOf(lo, hi));
  const unique = new Map<string, Subtree>();
  for (const plan of plans) for (const subtree of plan) unique.set(`${subtree.level}/${subtree.index}`, subtree);
  if (unique.size === 0) return [];
  const asked = [...unique.values()];
  const hashes = await reader.hashesOf(asked);
  if (hashes.length !== asked.length) throw new Error(`the store answered ${hashes.length} hashes for ${asked.length} subtrees`);
  const byKey = new Map<string, Hash>();
  asked.forEach((subtree, i) => {
    const hash = hashes[i]!;
    if (hash.length !== HASH_SIZE) throw new Error(`the store's hash of subtree ${subtree.level}/${subtree.index} is ${hash.length} bytes`);
    byKey.set(`${subtree.level}/${subtree.index}`, hash);
  });
  return plans.map((plan) => foldPieces(plan.map((subtree) => byKey.get(`${subtree.level}/${subtree.index}`)!)));
}

/** MTH of the first `size` leaves: one read of at most ⌊log₂ size⌋ + 1 subtree hashes. */
export async function rootHash(reader: SubtreeHashReader, size: number): Promise<Hash> {
  assertSize(size, 'size');
  if (size === 0) return EMPTY_ROOT;
  const [root] = await hashRanges(reader, [[0, size]]);
  return root!;
}

/** The inclusion proof of leaf `index` in the tree of `size` leaves, leaf to root (RFC 9162 PATH); O(log size) reads. */
export async function inclusionProof(reader: SubtreeHashReader, index: number, size: number): Promise<Hash[]> {
  assertSize(index, 'index');
  assertSize(size, 'size');
  if (index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  return hashRanges(reader, inclusionRanges(index, size));
}

/** The consistency proof from the tree of `from` leaves to the tree of `to` (RFC 9162 PROOF); O(log to) reads. */
export async function consistencyProof(reader: SubtreeHashReader, from: number, to: number): Promise<Hash[]> {
  assertSize(from, 'from');
  assertSize(to, 'to');
  if (from > to) throw new RangeError(`a tree of ${from} cannot precede a tree of ${to}`);
  if (from === 0 || from === to) return []; // every tree extends the empty tree and itself: nothing to prove
  return hashRanges(reader, consistencyRanges(from, to));
}

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function wellShaped(hashes: readonly Uint8Array[]): boolean {
  return hashes.every((hash) => hash instanceof Uint8Array && hash.length === HASH_SIZE);
}

function validCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * The root that `proof` gives leaf `index` (hash `leaf`) in a tree of `size` leaves, by RFC 9162 2.1.3.2's steps;
 * undefined when the proof cannot be one (wrong length, index outside the tree, a hash not 32 bytes).
 */
export function rootFromInclusionProof(leaf: Hash, index: number, size: number, proof: readonly Hash[]): Hash | undefined {
  if (!validCount(index) || !validCount(size) || index >= size) return undefined;
  if (!wellShaped([leaf]) || !wellShaped(proof)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 2.1.3.2: whether `proof` proves leaf `index` (hash `leaf`) in the tree of `size` leaves whose root is `root`. */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  return computed !== undefined && wellShaped([root]) && equalHashes(computed, root);
}

/**
 * RFC 9162 2.1.4.2: whether `proof` proves the tree of `from` leaves (root `fromRoot`) is a prefix of the tree of `to`
 * leaves (root `toRoot`). The RFC's algorithm covers 0 < from < to; the edges are decided here: from = to holds when
 * the proof is empty and the roots are equal, from = 0 when the proof is empty and `fromRoot` is the empty tree's.
 */
export function verifyConsistency(from: number, to: number, proof: readonly Hash[], fromRoot: Hash, toRoot: Hash): boolean {
  if (!validCount(from) || !validCount(to) || from > to) return false;
  if (!wellShaped([fromRoot, toRoot]) || !wellShaped(proof)) return false;
  if (from === 0) return proof.length === 0 && equalHashes(fromRoot, EMPTY_ROOT);
  if (from === to) return proof.length === 0 && equalHashes(fromRoot, toRoot);
  if (proof.length === 0) return false; // step 1
  const path = powerOfTwoAtMost(from) === from ? [fromRoot, ...proof] : [...proof]; // step 2
  let fn = from - 1; // step 3
  let sn = to - 1;
  while (isOdd(fn)) { // step 4
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!; // step 5
  let sr = path[0]!;
  for (const c of path.slice(1)) { // step 6
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return equalHashes(fr, fromRoot) && equalHashes(sr, toRoot) && sn === 0; // step 7
}

/**
 * The complete subtrees that appending `leafHashes` (already leaf-hashed) to a tree of `size` leaves completes, for the
 * store to write: every new leaf's level-0 entry and every interior node whose last leaf is among them. The only old
 * hashes needed are the tree's right edge (`subtreesOf(0, size)`, at most ⌊log₂ size⌋ + 1), read in one call: a new
 * node's left child either is a new subtree too or is that edge's piece of its level.
 */
export async function appendLeaves(reader: SubtreeHashReader, size: number, leafHashes: readonly Hash[]): Promise<SubtreeHash[]> {
  assertSize(size, 'size');
  if (!wellShaped(leafHashes)) throw new RangeError(`every leaf hash must be ${HASH_SIZE} bytes`);
  if (!Number.isSafeInteger(size + leafHashes.length)) throw new RangeError('the tree would outgrow safe integers');
  const known = new Map<string, Hash>();
  if (size > 0 && leafHashes.length > 0) {
    const edge = subtreesOf(0, size);
    const hashes = await reader.hashesOf(edge);
    edge.forEach((subtree, i) => known.set(`${subtree.level}/${subtree.index}`, hashes[i]!));
  }
  const written: SubtreeHash[] = [];
  leafHashes.forEach((hash, offset) => {
    let index = size + offset;
    let level = 0;
    let current = hash;
    written.push({ level, index, hash: current });
    known.set(`${level}/${index}`, current);
    while (isOdd(index)) { // a right child completes its parent
      const left = known.get(`${level}/${index - 1}`);
      if (left === undefined) throw new Error(`subtree ${level}/${index - 1} is missing from the tree's right edge`);
      current = nodeHash(left, current);
      level += 1;
      index = half(index);
      written.push({ level, index, hash: current });
      known.set(`${level}/${index}`, current);
    }
  });
  return written;
}

/** MTH straight from RFC 9162's recursive definition over all leaf hashes: the reference `npm run verify` recomputes with. */
export function treeHashOf(leafHashes: readonly Hash[]): Hash {
  const mth = (lo: number, hi: number): Hash => {
    if (hi - lo === 1) return leafHashes[lo]!;
    const mid = lo + splitPoint(hi - lo);
    return nodeHash(mth(lo, mid), mth(mid, hi));
  };
  return leafHashes.length === 0 ? EMPTY_ROOT : mth(0, leafHashes.length);
}

/** An in-memory log: the same subtree layout a store keeps, for tests and offline recomputation. */
export class MemoryMerkleLog implements SubtreeHashReader {
  private readonly subtrees = new Map<string, Hash>();
  private leaves = 0;
  /** How many subtree hashes have been read, and in how many calls (the store's reads). */
  readonly reads = { hashes: 0, calls: 0 };

  get size(): number {
    return this.leaves;
  }

  async append(leafHashes: readonly Hash[]): Promise<void> {
    for (const { level, index, hash } of await appendLeaves(this, this.leaves, leafHashes)) {
      this.subtrees.set(`${level}/${index}`, hash);
    }
    this.leaves += leafHashes.length;
  }

  async hashesOf(subtrees: readonly Subtree[]): Promise<readonly Hash[]> {
    this.reads.calls += 1;
    this.reads.hashes += subtrees.length;
    return subtrees.map(({ level, index }) => {
      const hash = this.subtrees.get(`${level}/${index}`);
      if (hash === undefined) throw new Error(`subtree ${level}/${index} is not in a log of ${this.leaves} leaves`);
      return hash;
    });
  }
}

/** What one leaf of an org's log commits to (contract section 14): the event as stored, by its content hash. */
export interface LeafRecord {
  readonly id: string;
  readonly org_id: string;
  readonly lead_id: string;
  readonly received_at: string;
  readonly content_hash: string;
}

/** The leaf encoding's version, its first byte: a later encoding takes another, so no two formats read alike. */
export const LEAF_FORMAT_VERSION = 1;
const LEAF_FIELDS = ['id', 'org_id', 'lead_id', 'received_at', 'content_hash'] as const;
const MAX_FIELD_BYTES = 0xffff_ffff;

/**
 * The bytes a leaf commits to: the version byte 0x01, then the five fields in the order id, org_id, lead_id,
 * received_at, content_hash, each as its UTF-8 length in 4 bytes big-endian followed by its UTF-8 bytes. Injective:
 * the lengths leave one way to read the bytes back (`decodeLeaf`), and a string that is not well-formed Unicode (a
 * lone surrogate, which UTF-8 would turn into U+FFFD and so merge with another string) is refused, as is any
 * non-string field. Values are committed exactly as stored (no trimming, no case or Unicode normalization).
 */
export function encodeLeaf(record: LeafRecord): Uint8Array {
  const encoder = new TextEncoder();
  const fields = LEAF_FIELDS.map((name) => {
    const value: unknown = (record as unknown as Record<string, unknown>)[name];
    if (typeof value !== 'string') throw new RangeError(`leaf field ${name} must be a string`);
    if (!value.isWellFormed()) throw new RangeError(`leaf field ${name} must be well-formed Unicode`);
    const bytes = encoder.encode(value);
    if (bytes.length > MAX_FIELD_BYTES) throw new RangeError(`leaf field ${name} is over ${MAX_FIELD_BYTES} bytes`);
    return bytes;
  });
  const out = new Uint8Array(1 + fields.reduce((total, bytes) => total + 4 + bytes.length, 0));
  const view = new DataView(out.buffer);
  out[0] = LEAF_FORMAT_VERSION;
  let at = 1;
  for (const bytes of fields) {
    view.setUint32(at, bytes.length, false);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return out;
}

/** `encodeLeaf`'s inverse; throws RangeError on anything `encodeLeaf` cannot have written. */
export function decodeLeaf(bytes: Uint8Array): LeafRecord {
  if (bytes.length < 1 || bytes[0] !== LEAF_FORMAT_VERSION) throw new RangeError('not a leadlog leaf (version byte)');
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: string[] = [];
  let at = 1;
  for (const name of LEAF_FIELDS) {
    if (at + 4 > bytes.length) throw new RangeError(`leaf truncated before ${name}'s length`);
    const length = view.getUint32(at, false);
    if (at + 4 + length > bytes.length) throw new RangeError(`leaf truncated inside ${name}`);
    try {
      values.push(decoder.decode(bytes.subarray(at + 4, at + 4 + length)));
    } catch {
      throw new RangeError(`leaf field ${name} is not UTF-8`);
    }
    at += 4 + length;
  }
  if (at !== bytes.length) throw new RangeError(`leaf has ${bytes.length - at} trailing bytes`);
  const [id, org_id, lead_id, received_at, content_hash] = values as [string, string, string, string, string];
  return { id, org_id, lead_id, received_at, content_hash };
}

/** The leaf hash an event's record enters its org's log with. */
export function leafHashOf(record: LeafRecord): Hash {
  return leafHash(encodeLeaf(record));
}
