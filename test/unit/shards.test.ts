import { describe, expect, it } from 'vitest';
import { indexShardsFor, MAX_INDEX_SHARDS, SHARD_PLAN_CACHE_MS, SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import { eventKeysFor, shardOf } from '../../shared/domain/keys.js';
import { planAt, plannedPeakEventsPerSecond, raisedPlan } from '../../shared/domain/shards.js';
import { archiveStreamsForOrg } from '../../shared/definitions/archive.js';

describe('index shard plans (section 15)', () => {
  it('size a plan from the peak rate: the fullest shard (mean + 4 sd of a hash spread) at most half of a key\'s 1,000 write units', () => {
    expect(indexShardsFor(10)).toBe(1);
    expect(indexShardsFor(400)).toBe(1);
    for (const rate of [501, 1_000, 10_000, 100_000]) {
      const shards = indexShardsFor(rate);
      expect(shards).toBeGreaterThan(Math.ceil(rate / 500) - 1);
      const mean = rate / shards;
      expect(mean + 4 * Math.sqrt(mean)).toBeLessThanOrEqual(500 * 1.01);
    }
    expect(indexShardsFor(1e9)).toBe(MAX_INDEX_SHARDS);
  });

  it('only grow, and writers use a raised count only after every reader\'s cache has it', () => {
    const raised = raisedPlan(undefined, 8, 1_000)!;
    expect(SHARD_PLAN_WRITE_DELAY_MS).toBeGreaterThan(SHARD_PLAN_CACHE_MS);
    expect(planAt(raised, 1_000)).toEqual({ write: 1, read: 8 });
    expect(planAt(raised, 1_000 + SHARD_PLAN_WRITE_DELAY_MS)).toEqual({ write: 8, read: 8 });
    expect(raisedPlan(raised, 4, 2_000)).toBeUndefined(); // never lowered
    // Raised again before writers moved to 8: writers still spread over 1 (a reader's cache from before the first
    // raise may still read only 1 shard); raised again after that, writers may spread over 8.
    expect(raisedPlan(raised, 16, 2_000)!.previous).toBe(1);
    expect(raisedPlan(raised, 16, 1_000 + SHARD_PLAN_WRITE_DELAY_MS)!.previous).toBe(8);
    expect(() => raisedPlan(undefined, 0, 0)).toThrow(RangeError);
    expect(() => raisedPlan(undefined, MAX_INDEX_SHARDS + 1, 0)).toThrow(RangeError);
  });

  it('never let a writer use a shard some reader\'s cached plan does not read, however close together raises come (red team #22)', () => {
    // Raises at 0 s and `second` s; an instance's plan is the record as it was when it last fetched it (at most
    // SHARD_PLAN_CACHE_MS ago). A raise made while the previous one's writers were still waiting once let writers
    // jump to the previous raise's count at once, past readers still caching the plan before it.
    const step = 1_000;
    for (const second of [1_000, 30_000, 59_000, 61_000, 119_000, 121_000, 200_000]) {
      const history: { at: number; record: ReturnType<typeof raisedPlan> }[] = [{ at: -Infinity, record: undefined }];
      const first = raisedPlan(undefined, 4, 0)!;
      history.push({ at: 0, record: first });
      history.push({ at: second, record: raisedPlan(first, 16, second)! });
      const recordAt = (t: number) => [...history].reverse().find((h) => h.at <= t)!.record;
      for (let now = 0; now <= second + 2 * SHARD_PLAN_WRITE_DELAY_MS; now += step) {
        let widestWrite = 0;
        let narrowestRead = Infinity;
        for (let fetched = now - SHARD_PLAN_CACHE_MS + step; fetched <= now; fetched += step) {
          const plan = planAt(recordAt(fetched) ?? undefined, now);
          widestWrite = Math.max(widestWrite, plan.write);
          narrowestRead = Math.min(narrowestRead, plan.read);
        }
        expect({ second, now, widestWrite }).toEqual({ second, now, widestWrite: Math.min(widestWrite, narrowestRead) });
      }
    }
  });

  it('size an org\'s other spreads (the archive\'s streams) at least for the peak its plan was sized for', () => {
    for (const rate of [600, 2_000, 10_000, 100_000]) {
      const shards = indexShardsFor(rate);
      expect(plannedPeakEventsPerSecond({ write: shards, read: shards })).toBeGreaterThanOrEqual(rate);
      expect(archiveStreamsForOrg(plannedPeakEventsPerSecond({ write: shards, read: shards }))).toBeGreaterThanOrEqual(archiveStreamsForOrg(rate));
    }
    expect(archiveStreamsForOrg(plannedPeakEventsPerSecond({ write: 1, read: 1 }))).toBe(1);
  });

  it('put an event in one shard of every larger plan that a reader merges', () => {
    for (let i = 0; i < 500; i++) {
      const id = `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`;
      for (const n of [1, 2, 7, 20, 256]) expect(shardOf(id, n)).toBeLessThan(n);
      expect(eventKeysFor.dayShards('org', '2026-01-01', 20)).toContain(eventKeysFor.day('org', '2026-01-01', shardOf(id, 20)));
    }
  });

  it('keep shard keys apart from every flow id, whatever it holds', () => {
    // Shard 0 is the unsharded key; shard k of flow "a" is never the key of another flow at another shard.
    expect(eventKeysFor.flow('org', 'a', 0)).toBe('org#a');
    const keys = new Set<string>();
    for (const flow of ['a', 'a#1', '1#a', 'a#~1', '~1#a', 'org~1#a']) for (let k = 0; k < 3; k++) keys.add(eventKeysFor.flow('org', flow, k));
    expect(keys.size).toBe(18);
  });
});
