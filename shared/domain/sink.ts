import type { LeadEvent } from './event.js';
import type { MaskOptions } from './masking.js';

/** A destination of the fan-out (the bus, the archive): how to turn an event into an entry, batch entries, and send a batch. */
export interface Sink<Entry> {
  name: string;
  /** The entry of an event, masked with its org's options. */
  toEntry(event: LeadEvent, mask: MaskOptions): Entry;
  chunk(entries: Entry[]): Entry[][];
  /** Sends one chunk; returns the indexes (within the chunk) that failed. Throwing fails the whole chunk. */
  put(entries: Entry[]): Promise<number[]>;
}

/** Splits items, in order, into groups of at most `maxCount` items and `maxBytes` (by `sizeOf`). */
export function chunkBy<T>(items: T[], maxCount: number, maxBytes: number, sizeOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length === maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Sends every item's entry to the sink in chunks, retrying the entries it refused (with a short backoff),
 * and returns the keys of the items still refused after `attempts` tries.
 */
export async function sendAll<Entry>(sink: Sink<Entry>, items: { key: string; event: LeadEvent; mask: MaskOptions }[], attempts: number): Promise<string[]> {
  let pending = items.map((item) => ({ key: item.key, entry: sink.toEntry(item.event, item.mask) }));
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** (attempt - 1)));
    const failed: typeof pending = [];
    let offset = 0;
    for (const chunk of sink.chunk(pending.map((p) => p.entry))) {
      const slice = pending.slice(offset, offset + chunk.length);
      offset += chunk.length;
      let failedIndexes: number[];
      try {
        failedIndexes = await sink.put(chunk);
      } catch {
        failedIndexes = chunk.map((_, i) => i);
      }
      for (const i of failedIndexes) failed.push(slice[i]!);
    }
    pending = failed;
  }
  return pending.map((p) => p.key);
}
