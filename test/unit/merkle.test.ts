import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EMPTY_ROOT, HASH_SIZE, MemoryMerkleLog, appendLeaves, consistencyProof, decodeLeaf, encodeLeaf, inclusionProof,
  leafHash, leafHashOf, rootFromInclusionProof, rootHash, subtreesOf, treeHashOf, verifyConsistency, verifyInclusion,
  type Hash, type LeafRecord,
} from '../../shared/domain/merkle.js';

interface Vectors {
  leaves: string[];
  roots: string[]; // roots[i]: the tree of i + 1 leaves
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { from: number; to: number; proof: string[] }[];
}
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/merkle/${name}`, import.meta.url), 'utf8')) as T;
const ct = fixture<Vectors & { empty_root: string; node_hashes: string[][] }>('ct-vectors.json');
const tlog = fixture<Vectors>('tlog-vectors.json');

const hex = (hash: Uint8Array): string => Buffer.from(hash).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const hexes = (hashes: readonly Uint8Array[]): string[] => hashes.map(hex);

async function logOf(leaves: readonly string[]): Promise<MemoryMerkleLog> {
  const log = new MemoryMerkleLog();
  await log.append(leaves.map((leaf) => leafHash(unhex(leaf))));
  return log;
}

function flipped(hash: Hash, bit: number): Hash {
  const copy = Uint8Array.from(hash);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('RFC 6962/9162 test vectors (transparency-dev/merkle, ex-Trillian)', () => {
  it('hashes the empty tree, every leaf and every complete subtree as the vectors do', async () => {
    expect(hex(EMPTY_ROOT)).toBe(ct.empty_root);
    const log = await logOf(ct.leaves);
    for (const [level, row] of ct.node_hashes.entries()) {
      const stored = await log.hashesOf(row.map((_, index) => ({ level, index })));
      expect(hexes(stored)).toEqual(row);
    }
  });

  it('gives the known root of every size 1..8, from stored subtrees and from the recursive definition', async () => {
    const log = await logOf(ct.leaves);
    const hashes = ct.leaves.map((leaf) => leafHash(unhex(leaf)));
    for (let size = 1; size <= 8; size++) {
      expect(hex(await rootHash(log, size))).toBe(ct.roots[size - 1]);
      expect(hex(treeHashOf(hashes.slice(0, size)))).toBe(ct.roots[size - 1]);
    }
    expect(hex(treeHashOf([]))).toBe(ct.empty_root);
    expect(hex(await rootHash(log, 0))).toBe(ct.empty_root);
  });

  it('builds and accepts the known inclusion proofs', async () => {
    const log = await logOf(ct.leaves);
    for (const { index, size, proof } of ct.inclusion) {
      expect(hexes(await inclusionProof(log, index, size))).toEqual(proof);
      expect(verifyInclusion(leafHash(unhex(ct.leaves[index]!)), index, size, proof.map(unhex), unhex(ct.roots[size - 1]!))).toBe(true);
    }
  });

  it('builds and accepts the known consistency proofs', async () => {
    const log = await logOf(ct.leaves);
    for (const { from, to, proof } of ct.consistency) {
      expect(hexes(await consistencyProof(log, from, to))).toEqual(proof);
      expect(verifyConsistency(from, to, proof.map(unhex), unhex(ct.roots[from - 1]!), unhex(ct.roots[to - 1]!))).toBe(true);
    }
  });
});

describe("against Go's golang.org/x/mod/sumdb/tlog (test/fixtures/merkle/tlog-vectors.json)", () => {
  it('gives tlog\'s root for every size 1..1100', async () => {
    const log = await logOf(tlog.leaves);
    expect(tlog.roots).toHaveLength(1100);
    for (let size = 1; size <= tlog.roots.length; size++) expect(hex(await rootHash(log, size))).toBe(tlog.roots[size - 1]);
    expect(hex(treeHashOf(tlog.leaves.map((leaf) => leafHash(unhex(leaf)))))).toBe(tlog.roots.at(-1));
  });

  it('builds byte for byte the inclusion proofs tlog builds (and tlog checked), and accepts them', async () => {
    const log = await logOf(tlog.leaves);
    expect(tlog.inclusion.length).toBeGreaterThan(300);
    for (const { index, size, proof } of tlog.inclusion) {
      expect(hexes(await inclusionProof(log, index, size)), `leaf ${index} of ${size}`).toEqual(proof);
      expect(verifyInclusion(leafHash(unhex(tlog.leaves[index]!)), index, size, proof.map(unhex), unhex(tlog.roots[size - 1]!))).toBe(true);
    }
  });

  it('builds byte for byte the consistency proofs tlog builds (and tlog checked), and accepts them', async () => {
    const log = await logOf(tlog.leaves);
    expect(tlog.consistency.length).toBeGreaterThan(300);
    for (const { from, to, proof } of tlog.consistency) {
      expect(hexes(await consistencyProof(log, from, to)), `${from} → ${to}`).toEqual(proof);
      expect(verifyConsistency(from, to, proof.map(unhex), unhex(tlog.roots[from - 1]!), unhex(tlog.roots[to - 1]!))).toBe(true);
    }
  });
});

describe('proofs from stored subtrees: O(log n) reads in one call', () => {
  it('reads at most 2·(⌊log₂ n⌋ + 1) subtree hashes, in one call, for any root, inclusion or consistency proof', async () => {
    const log = await logOf(tlog.leaves);
    const bound = (n: number) => 2 * (Math.floor(Math.log2(n)) + 1);
    const measure = async (work: () => Promise<unknown>) => {
      const before = { ...log.reads };
      await work();
      return { calls: log.reads.calls - before.calls, hashes: log.reads.hashes - before.hashes };
    };
    for (const size of [1, 2, 3, 7, 8, 9, 255, 256, 257, 1023, 1024, 1025, 1099, 1100]) {
      const root = await measure(() => rootHash(log, size));
      expect(root.calls).toBe(1);
      expect(root.hashes).toBeLessThanOrEqual(Math.floor(Math.log2(size)) + 1);
      for (const index of [0, Math.floor(size / 2), size - 1]) {
        const proof = await measure(() => inclusionProof(log, index, size));
        expect(proof.calls).toBeLessThanOrEqual(1);
        expect(proof.hashes).toBeLessThanOrEqual(bound(size));
      }
      for (const from of [1, Math.ceil(size / 3), size - 1].filter((m) => m >= 1 && m < size)) {
        const proof = await measure(() => consistencyProof(log, from, size));
        expect(proof.calls).toBe(1);
        expect(proof.hashes).toBeLessThanOrEqual(bound(size));
      }
    }
  });

  it('appending reads only the right edge: one call of at most ⌊log₂ size⌋ + 1 hashes, whatever the batch', async () => {
    const log = await logOf(tlog.leaves.slice(0, 1000));
    const before = { ...log.reads };
    const written = await appendLeaves(log, 1000, tlog.leaves.slice(1000).map((leaf) => leafHash(unhex(leaf))));
    expect(log.reads.calls - before.calls).toBe(1);
    expect(log.reads.hashes - before.hashes).toBe(subtreesOf(0, 1000).length);
    expect(written.filter((subtree) => subtree.level === 0)).toHaveLength(100);
  });

  it('gives the same tree whatever the batches the leaves arrive in', async () => {
    const hashes = tlog.leaves.slice(0, 300).map((leaf) => leafHash(unhex(leaf)));
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), async (chunks) => {
      const log = new MemoryMerkleLog();
      let at = 0;
      for (const chunk of chunks) {
        await log.append(hashes.slice(at, at + chunk));
        at = Math.min(hashes.length, at + chunk);
        expect(hex(await rootHash(log, log.size))).toBe(tlog.roots[log.size - 1]);
      }
    }), { numRuns: 40 });
  });

  it('refuses a range that is no node of the tree, and proofs outside the tree', async () => {
    const log = await logOf(ct.leaves);
    expect(() => subtreesOf(1, 3)).toThrow(RangeError);
    expect(() => subtreesOf(3, 3)).toThrow(RangeError);
    expect(subtreesOf(4, 7)).toEqual([{ level: 1, index: 2 }, { level: 0, index: 6 }]);
    await expect(inclusionProof(log, 8, 8)).rejects.toThrow(RangeError);
    await expect(inclusionProof(log, -1, 8)).rejects.toThrow(RangeError);
    await expect(inclusionProof(log, 0.5, 8)).rejects.toThrow(RangeError);
    await expect(consistencyProof(log, 5, 4)).rejects.toThrow(RangeError);
    await expect(rootHash(log, 9)).rejects.toThrow(/not in a log of 8/);
    await expect(appendLeaves(log, 8, [new Uint8Array(31)])).rejects.toThrow(RangeError);
  });
});

describe('every proof the module builds verifies, and no altered one does (property)', () => {
  const leaves = Array.from({ length: 300 }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
  const logPromise = (async () => {
    const log = new MemoryMerkleLog();
    await log.append(leaves);
    return log;
  })();
  const sizeAndIndex = fc.integer({ min: 1, max: 300 }).chain((size) => fc.tuple(fc.constant(size), fc.nat(size - 1)));

  it('inclusion: the proof verifies; any flipped bit, other index, other size, shorter or longer proof does not', async () => {
    const log = await logPromise;
    await fc.assert(fc.asyncProperty(sizeAndIndex, fc.nat(), async ([size, index], pick) => {
      const proof = await inclusionProof(log, index, size);
      const root = await rootHash(log, size);
      const leaf = leaves[index]!;
      expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
      expect(hex(rootFromInclusionProof(leaf, index, size, proof)!)).toBe(hex(root));
      for (let i = 0; i < proof.length; i++) {
        const bit = pick % (HASH_SIZE * 8);
        expect(verifyInclusion(leaf, index, size, proof.map((h, j) => (j === i ? flipped(h, bit) : h)), root)).toBe(false);
      }
      expect(verifyInclusion(flipped(leaf, pick % 256), index, size, proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, proof, flipped(root, pick % 256))).toBe(false);
      if (size > 1) expect(verifyInclusion(leaf, (index + 1 + (pick % (size - 1))) % size, size, proof, root)).toBe(false);
      // Another size with the same path shape verifies too (RFC 9162's algorithm binds the size only through the
      // proof's shape): the signed checkpoint, not the proof, fixes the size. A size a level off must fail.
      expect(verifyInclusion(leaf, index, size * 2, proof, root)).toBe(false);
      if (index < Math.floor(size / 2)) expect(verifyInclusion(leaf, index, Math.floor(size / 2), proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [...proof, root], root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [root, ...proof], root)).toBe(false);
      if (proof.length > 0) expect(verifyInclusion(leaf, index, size, proof.slice(0, -1), root)).toBe(false);
    }), { numRuns: 300 });
  });

  it('every bit of every element of one proof matters', async () => {
    const log = await logPromise;
    const proof = await inclusionProof(log, 137, 300);
    const root = await rootHash(log, 300);
    for (let i = 0; i < proof.length; i++) {
      for (let bit = 0; bit < HASH_SIZE * 8; bit++) {
        expect(verifyInclusion(leaves[137]!, 137, 300, proof.map((h, j) => (j === i ? flipped(h, bit) : h)), root)).toBe(false);
      }
    }
    const consistency = await consistencyProof(log, 137, 300);
    const old = await rootHash(log, 137);
    for (let i = 0; i < consistency.length; i++) {
      for (let bit = 0; bit < HASH_SIZE * 8; bit++) {
        expect(verifyConsistency(137, 300, consistency.map((h, j) => (j === i ? flipped(h, bit) : h)), old, root)).toBe(false);
      }
    }
  });

  it('consistency: the proof verifies; any flipped bit, other size, swapped roots, shorter or longer proof does not', async () => {
    const log = await logPromise;
    const sizes = fc.integer({ min: 2, max: 300 }).chain((to) => fc.tuple(fc.integer({ min: 1, max: to - 1 }), fc.constant(to)));
    await fc.assert(fc.asyncProperty(sizes, fc.nat(), async ([from, to], pick) => {
      const proof = await consistencyProof(log, from, to);
      const fromRoot = await rootHash(log, from);
      const toRoot = await rootHash(log, to);
      expect(verifyConsistency(from, to, proof, fromRoot, toRoot)).toBe(true);
      const bit = pick % (HASH_SIZE * 8);
      for (let i = 0; i < proof.length; i++) {
        expect(verifyConsistency(from, to, proof.map((h, j) => (j === i ? flipped(h, bit) : h)), fromRoot, toRoot)).toBe(false);
      }
      expect(verifyConsistency(from, to, proof, flipped(fromRoot, bit), toRoot)).toBe(false);
      expect(verifyConsistency(from, to, proof, fromRoot, flipped(toRoot, bit))).toBe(false);
      expect(verifyConsistency(from, to, proof, toRoot, fromRoot)).toBe(false);
      expect(verifyConsistency(from - 1, to, proof, fromRoot, toRoot)).toBe(false);
      if (from + 1 < to) expect(verifyConsistency(from + 1, to, proof, fromRoot, toRoot)).toBe(false);
      expect(verifyConsistency(from, to * 2, proof, fromRoot, toRoot)).toBe(false); // a level off (see inclusion above)
      if (from < Math.floor(to / 2)) expect(verifyConsistency(from, Math.floor(to / 2), proof, fromRoot, toRoot)).toBe(false);
      expect(verifyConsistency(from, to, [], fromRoot, toRoot)).toBe(false);
      expect(verifyConsistency(from, to, proof.slice(0, -1), fromRoot, toRoot)).toBe(false);
      expect(verifyConsistency(from, to, [...proof, toRoot], fromRoot, toRoot)).toBe(false);
      expect(verifyConsistency(from, to, [fromRoot, ...proof], fromRoot, toRoot)).toBe(false);
    }), { numRuns: 300 });
  });

  it('decides the edges the RFC leaves out: equal sizes, the empty tree, sizes backwards, garbage arguments', async () => {
    const log = await logPromise;
    const root = await rootHash(log, 10);
    expect(verifyConsistency(10, 10, [], root, root)).toBe(true);
    expect(verifyConsistency(10, 10, [root], root, root)).toBe(false);
    expect(verifyConsistency(10, 10, [], root, flipped(root, 0))).toBe(false);
    expect(verifyConsistency(0, 10, [], EMPTY_ROOT, root)).toBe(true);
    expect(verifyConsistency(0, 10, [], root, root)).toBe(false);
    expect(await consistencyProof(log, 0, 10)).toEqual([]);
    expect(await consistencyProof(log, 10, 10)).toEqual([]);
    expect(verifyConsistency(11, 10, [], root, root)).toBe(false);
    for (const bad of [NaN, Infinity, -1, 1.5, 2 ** 53]) {
      expect(verifyInclusion(leaves[0]!, bad, 10, [], root)).toBe(false);
      expect(verifyInclusion(leaves[0]!, 0, bad, [], root)).toBe(false);
      expect(verifyConsistency(bad, 10, [root], root, root)).toBe(false);
    }
    const proof = await inclusionProof(log, 3, 10);
    expect(verifyInclusion(leaves[3]!, 3, 10, [...proof.slice(0, -1), proof.at(-1)!.subarray(0, 31)], root)).toBe(false);
    expect(verifyInclusion(leaves[3]!, 3, 10, [...proof, new Uint8Array(0)], root)).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 1, [], leaves[0]!)).toBe(true); // a one-leaf tree's root is its leaf
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 0, [], EMPTY_ROOT)).toBe(false);
  });
});

describe('the leaf encoding', () => {
  const record: LeafRecord = {
    id: 'evt-1', org_id: 'org', lead_id: 'lead-é', received_at: '2025-01-02T03:04:05.678Z', content_hash: 'ab',
  };

  it('is the version byte, then each field as a 4-byte big-endian UTF-8 length and its bytes', () => {
    const expected = [
      '01',
      '00000005', Buffer.from('evt-1').toString('hex'),
      '00000003', Buffer.from('org').toString('hex'),
      '00000007', '6c6561642dc3a9', // 'lead-é': é is two UTF-8 bytes
      '00000018', Buffer.from('2025-01-02T03:04:05.678Z').toString('hex'),
      '00000002', '6162',
    ].join('');
    expect(hex(encodeLeaf(record))).toBe(expected);
    expect(hex(leafHashOf(record))).toBe(hex(leafHash(unhex(expected))));
  });

  it('reads back to the same record, so no two records encode alike (property, any Unicode)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const records = fc.record({ id: text, org_id: text, lead_id: text, received_at: text, content_hash: text });
    fc.assert(fc.property(records, records, (a, b) => {
      expect(decodeLeaf(encodeLeaf(a))).toEqual(a);
      const same = JSON.stringify(a) === JSON.stringify(b);
      expect(hex(encodeLeaf(a)) === hex(encodeLeaf(b))).toBe(same);
    }), { numRuns: 500 });
  });

  it('keeps field boundaries: moving characters between fields changes the bytes', () => {
    const a = encodeLeaf({ ...record, id: 'ab', org_id: 'c' });
    const b = encodeLeaf({ ...record, id: 'a', org_id: 'bc' });
    const c = encodeLeaf({ ...record, id: 'a\u0000', org_id: 'c' });
    expect(new Set([hex(a), hex(b), hex(c)]).size).toBe(3);
  });

  it('commits to the exact characters: no normalization, a leading BOM kept, empty strings allowed', () => {
    const composed = encodeLeaf({ ...record, lead_id: '\u00e9' });
    const decomposed = encodeLeaf({ ...record, lead_id: 'e\u0301' });
    expect(hex(composed)).not.toBe(hex(decomposed));
    const bom = { ...record, id: '\ufeffevt' };
    expect(decodeLeaf(encodeLeaf(bom))).toEqual(bom);
    const empty = { id: '', org_id: '', lead_id: '', received_at: '', content_hash: '' };
    expect(hex(encodeLeaf(empty))).toBe(`01${'00000000'.repeat(5)}`);
  });

  it('refuses lone surrogates (UTF-8 would merge them into U+FFFD), missing and non-string fields', () => {
    expect(() => encodeLeaf({ ...record, lead_id: 'x\ud800' })).toThrow(/well-formed/);
    expect(() => encodeLeaf({ ...record, id: '\udc00' })).toThrow(/well-formed/);
    expect(encodeLeaf({ ...record, id: '\ufffd' })).toBeInstanceOf(Uint8Array); // the replacement character itself is fine
    const { lead_id: _dropped, ...missing } = record;
    expect(() => encodeLeaf(missing as unknown as LeafRecord)).toThrow(/lead_id must be a string/);
    expect(() => encodeLeaf({ ...record, received_at: 1 } as unknown as LeafRecord)).toThrow(/received_at must be a string/);
    expect(() => encodeLeaf({ ...record, content_hash: null } as unknown as LeafRecord)).toThrow(RangeError);
  });

  it('encodes a 1 MB field with its exact length', () => {
    const big = 'ü'.repeat(512 * 1024); // 1 MiB of UTF-8
    const bytes = encodeLeaf({ ...record, content_hash: big });
    expect(decodeLeaf(bytes).content_hash).toBe(big);
    expect(bytes.length).toBe(1 + 5 * 4 + 5 + 3 + 7 + 24 + 1024 * 1024);
  });

  it('refuses to read bytes encodeLeaf cannot have written', () => {
    const good = encodeLeaf(record);
    expect(() => decodeLeaf(new Uint8Array(0))).toThrow(/version/);
    expect(() => decodeLeaf(Uint8Array.of(2, ...good.subarray(1)))).toThrow(/version/);
    expect(() => decodeLeaf(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decodeLeaf(good.subarray(0, 3))).toThrow(/truncated/);
    expect(() => decodeLeaf(Uint8Array.of(...good, 0))).toThrow(/trailing/);
    const badUtf8 = Uint8Array.of(...good);
    badUtf8[5] = 0xff; // inside id's bytes
    expect(() => decodeLeaf(badUtf8)).toThrow(/not UTF-8/);
    const huge = Uint8Array.of(...good);
    new DataView(huge.buffer).setUint32(1, 0xffffffff, false);
    expect(() => decodeLeaf(huge)).toThrow(/truncated/);
  });
});
