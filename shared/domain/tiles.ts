import { nodeHash, type Hash, type Subtree, type SubtreeHash } from './merkle.js';

/**
 * The storage layout of an org's log: tiles of height 8, as Go's sumdb/tlog and C2SP tlog-tiles lay a log out.
 * Tile (t, i) holds the hashes of the complete subtrees of level 8t numbered [256i, 256i + 256) in order: a tile of
 * level 0 holds 256 leaf hashes, a tile of level 1 the hashes of 256 subtrees of 256 leaves each, and so on. A
 * tile's `width` is how many of its entries exist (256 once full); only the last tile of a level is ever partial,
 * and its first entries never change when it grows. Any complete subtree (level 8t + r, r < 8) is the perfect
 * binary tree over 2^r consecutive entries of ONE tile of level t, so a proof of a log of 1,000,000 leaves touches at
 * most two tiles per tile level (3 levels): a handful of items in one batch read, each its own partition key.
 * Pure: the store reads and writes the tiles (shared/adapters/dynamo-proof-log.ts).
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;

export interface TileAddress {
  /** The tile level t: its entries are subtrees of level 8t. */
  readonly level: number;
  readonly index: number;
}

export interface Tile extends TileAddress {
  /** The entries that exist, in order (at most TILE_WIDTH). */
  readonly hashes: readonly Hash[];
  /** Level-0 tiles only: the event id of each leaf, in the same order. */
  readonly ids?: readonly string[];
}

export const tileKey = (tile: TileAddress): string => `${tile.level}/${tile.index}`;

/** Where a subtree's hash lies: a tile and the run of its entries [first, first + count) that fold into it. */
export function tileSpanOf(subtree: Subtree): TileAddress & { first: number; count: number } {
  const level = Math.floor(subtree.level / TILE_HEIGHT);
  const r = subtree.level - level * TILE_HEIGHT;
  const firstEntry = subtree.index * 2 ** r; // the entry index at tile level `level`, across tiles
  return { level, index: Math.floor(firstEntry / TILE_WIDTH), first: firstEntry % TILE_WIDTH, count: 2 ** r };
}

/** The perfect binary tree's hash over 2^r entries (RFC 9162 interior nodes). */
export function foldEntries(entries: readonly Hash[]): Hash {
  let level = [...entries];
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** The tiles a log of `size` leaves has at each tile level that are partial (width 1..255), with their widths. */
export function partialTilesOf(size: number): (TileAddress & { width: number })[] {
  const out: (TileAddress & { width: number })[] = [];
  for (let level = 0, span = 1; span <= size; level += 1, span *= TILE_WIDTH) {
    const entries = Math.floor(size / span); // complete subtrees of level 8·level
    const width = entries % TILE_WIDTH;
    if (width > 0) out.push({ level, index: Math.floor(entries / TILE_WIDTH), width });
  }
  return out;
}

/** The tiles a set of subtrees needs (deduplicated, in first-asked order). */
export function tilesFor(subtrees: readonly Subtree[]): TileAddress[] {
  const seen = new Map<string, TileAddress>();
  for (const subtree of subtrees) {
    const { level, index } = tileSpanOf(subtree);
    const key = tileKey({ level, index });
    if (!seen.has(key)) seen.set(key, { level, index });
  }
  return [...seen.values()];
}

/** A subtree's hash from loaded tiles; throws when a needed entry is missing (the store is corrupt or behind). */
export function hashFromTiles(subtree: Subtree, tiles: ReadonlyMap<string, Tile>): Hash {
  const span = tileSpanOf(subtree);
  const tile = tiles.get(tileKey(span));
  if (!tile || tile.hashes.length < span.first + span.count) {
    throw new Error(`log tile ${tileKey(span)} lacks entries [${span.first}, ${span.first + span.count}) for subtree ${subtree.level}/${subtree.index}`);
  }
  return span.count === 1 ? tile.hashes[span.first]! : foldEntries(tile.hashes.slice(span.first, span.first + span.count));
}

/**
 * The tiles to write after an append: `loaded` holds (at least) the partial tiles of the log before it; `added`
 * are the complete subtrees `appendLeaves` returned; `ids` the new leaves' event ids in order, from leaf `fromSize`.
 * Each touched tile comes back whole (its old entries, then the new ones), ready to be written over the old one.
 */
export function tilesAfterAppend(loaded: ReadonlyMap<string, Tile>, fromSize: number, added: readonly SubtreeHash[], ids: readonly string[]): Tile[] {
  const touched = new Map<string, { level: number; index: number; hashes: Hash[]; ids?: string[] }>();
  const partial = new Map(partialTilesOf(fromSize).map((t) => [tileKey(t), t.width]));
  const tileOf = (level: number, index: number) => {
    const key = tileKey({ level, index });
    let tile = touched.get(key);
    if (!tile) {
      const width = partial.get(key) ?? 0;
      const old = loaded.get(key);
      if (width > 0 && (!old || old.hashes.length < width)) throw new Error(`log tile ${key} must be loaded with its ${width} entries before an append`);
      tile = { level, index, hashes: old ? old.hashes.slice(0, width) : [], ...(level === 0 ? { ids: old?.ids ? old.ids.slice(0, width) : [] } : {}) };
      touched.set(key, tile);
    }
    return tile;
  };
  const sorted = added.filter((s) => s.level % TILE_HEIGHT === 0).sort((a, b) => a.level - b.level || a.index - b.index);
  for (const subtree of sorted) {
    const level = subtree.level / TILE_HEIGHT;
    const tile = tileOf(level, Math.floor(subtree.index / TILE_WIDTH));
    const position = subtree.index % TILE_WIDTH;
    if (position !== tile.hashes.length) throw new Error(`log tile ${level}/${tile.index}: entry ${position} arrives after ${tile.hashes.length}`);
    tile.hashes.push(subtree.hash);
    if (level === 0) {
      const id = ids[subtree.index - fromSize];
      if (id === undefined) throw new Error(`no event id for leaf ${subtree.index}`);
      tile.ids!.push(id);
    }
  }
  return [...touched.values()];
}
