import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendLeaves, consistencyProof, inclusionProof, MemoryMerkleLog, rootHash, treeHashOf, type Hash, type Subtree, type SubtreeHashReader,
} from '../../shared/domain/merkle.js';
import { hashFromTiles, partialTilesOf, tileKey, tilesAfterAppend, tilesFor, tileSpanOf, TILE_WIDTH, type Tile } from '../../shared/domain/tiles.js';

/**
 * The log's storage layout (tiles of height 8) against the plain subtree layout (MemoryMerkleLog, itself checked
 * against CT's vectors and Go's tlog in merkle.test.ts): the same roots and proofs at every size, appended in batches
 * of any shape across tile boundaries of levels 0 and 1, reading only the partial tiles before an append.
 */
const leaf = (i: number): Hash => new Uint8Array(createHash('sha256').update(`leaf ${i}`).digest());

/** Tiles in memory, as the DynamoDB store keeps them (one entry per tile key, rewritten whole). */
class MemoryTiles implements SubtreeHashReader {
  readonly tiles = new Map<string, Tile>();
  reads = 0;
  async hashesOf(subtrees: readonly Subtree[]): Promise<readonly Hash[]> {
    this.reads += tilesFor(subtrees).length;
    return subtrees.map((s) => hashFromTiles(s, this.tiles));
  }
}

async function appendTo(store: MemoryTiles, size: number, count: number): Promise<number> {
  // Only the partial tiles are handed to the append, as the integrator loads them: a full tile is never rewritten.
  const loaded = new Map([...store.tiles].filter(([key]) => partialTilesOf(size).some((t) => tileKey(t) === key)));
  const view: SubtreeHashReader = { hashesOf: async (subtrees) => subtrees.map((s) => hashFromTiles(s, loaded)) };
  const hashes = Array.from({ length: count }, (_, i) => leaf(size + i));
  const added = await appendLeaves(view, size, hashes);
  const ids = hashes.map((_, i) => `id-${size + i}`);
  for (const tile of tilesAfterAppend(loaded, size, added, ids)) {
    const old = store.tiles.get(tileKey(tile));
    if (old) expect(tile.hashes.slice(0, old.hashes.length)).toEqual(old.hashes); // a tile only grows
    expect(tile.hashes.length).toBeLessThanOrEqual(TILE_WIDTH);
    store.tiles.set(tileKey(tile), tile);
  }
  return size + count;
}

describe('tiles of height 8', () => {
  it('locate every subtree in one tile of its level', () => {
    expect(tileSpanOf({ level: 0, index: 300 })).toEqual({ level: 0, index: 1, first: 44, count: 1 });
    expect(tileSpanOf({ level: 3, index: 33 })).toEqual({ level: 0, index: 1, first: 8, count: 8 });
    expect(tileSpanOf({ level: 8, index: 5 })).toEqual({ level: 1, index: 0, first: 5, count: 1 });
    expect(tileSpanOf({ level: 15, index: 1 })).toEqual({ level: 1, index: 0, first: 128, count: 128 });
    expect(tileSpanOf({ level: 15, index: 2 })).toEqual({ level: 1, index: 1, first: 0, count: 128 });
    expect(tileSpanOf({ level: 16, index: 0 })).toEqual({ level: 2, index: 0, first: 0, count: 1 });
    expect(partialTilesOf(0)).toEqual([]);
    expect(partialTilesOf(256)).toEqual([{ level: 1, index: 0, width: 1 }]);
    expect(partialTilesOf(65_536 + 257)).toEqual([{ level: 0, index: 257, width: 1 }, { level: 1, index: 1, width: 1 }, { level: 2, index: 0, width: 1 }]);
  });

  it('give the roots, inclusion and consistency proofs of the subtree layout at every size, whatever the batches (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }), async (batches) => {
      const tiles = new MemoryTiles();
      const plain = new MemoryMerkleLog();
      let size = 0;
      for (const count of batches) {
        size = await appendTo(tiles, size, count);
        await plain.append(Array.from({ length: count }, (_, i) => leaf(size - count + i)));
        expect(await rootHash(tiles, size)).toEqual(await rootHash(plain, size));
      }
      for (const index of [0, Math.floor(size / 2), size - 1]) expect(await inclusionProof(tiles, index, size)).toEqual(await inclusionProof(plain, index, size));
      for (const from of [1, Math.floor(size / 3), size]) expect(await consistencyProof(tiles, from, size)).toEqual(await consistencyProof(plain, from, size));
      // Level-0 tiles hold each leaf's id, in order.
      const ids = [...tiles.tiles.values()].filter((t) => t.level === 0).sort((a, b) => a.index - b.index).flatMap((t) => t.ids ?? []);
      expect(ids).toEqual(Array.from({ length: size }, (_, i) => `id-${i}`));
    }), { numRuns: 40 });
  });

  it('past level 2 (70,000 leaves in uneven batches): the root is the RFC 9162 root, and a proof reads a handful of tiles', async () => {
    const tiles = new MemoryTiles();
    let size = 0;
    for (const count of [1, 255, 65_280, 1, 3_463]) size = await appendTo(tiles, size, count);
    expect(size).toBe(69_000);
    const all = Array.from({ length: size }, (_, i) => leaf(i));
    expect(await rootHash(tiles, size)).toEqual(treeHashOf(all));
    tiles.reads = 0;
    await inclusionProof(tiles, 12_345, size);
    expect(tiles.reads).toBeLessThanOrEqual(6); // ≤ 2 tiles per tile level
  });

  it('refuse an append without the partial tiles loaded, and a missing entry on read', async () => {
    const tiles = new MemoryTiles();
    await appendTo(tiles, 0, 10);
    const added = await appendLeaves(tiles, 10, [leaf(10)]);
    expect(() => tilesAfterAppend(new Map(), 10, added, ['id-10'])).toThrow(/must be loaded/);
    expect(() => hashFromTiles({ level: 0, index: 10 }, tiles.tiles)).toThrow(/lacks entries/);
  });
});
