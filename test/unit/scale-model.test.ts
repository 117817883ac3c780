import { describe, expect, it } from 'vitest';
import { indexShardsFor, KEY_HEADROOM, KEY_WRITE_UNITS_PER_SECOND } from '../../shared/definitions/scale.js';
import { STREAM_PROFILES } from '../../shared/definitions/stream.js';
import { controlKeys, eventKeysFor, shardOf } from '../../shared/domain/keys.js';
import { eventsPerSecondFor, modelInstancesFor, RATE_LIMIT_DEFAULTS, rateLimitStateWritesPerSecond } from '../../shared/definitions/rate-limits.js';
import { eventsPerBatch, PLAN, PLAN_BEFORE, runScenario, SCENARIOS, streamShards, syntheticSecond, type ScenarioResult } from '../../shared/domain/scale-model.js';

const targets = SCENARIOS.filter((scenario) => scenario.target);
const tenThousand = SCENARIOS.find((scenario) => scenario.orgs === 1 && scenario.eventsPerSecond === 10_000)!;
const row = (result: ScenarioResult, component: string) => result.rows.find((r) => r.component.startsWith(component))!;
const failures = (result: ScenarioResult) => result.rows.filter((r) => !r.pass).map((r) => `${r.component}: ${r.key} ${r.rate} (${Math.round(r.share * 100)} % of ${r.limit})`);

describe('the scale model (contract section 15, npm run scale-model)', () => {
  it('covers the section 15 targets: 10,000 events/s, its 10× burst, a year of backfill, 10,000 orgs at 1 event/s', () => {
    expect(targets.map((s) => [s.orgs, s.eventsPerSecond])).toEqual([[1, 10_000], [1, 100_000], [1, 5_000], [10_000, 1]]);
  });

  it.each(targets.map((s) => [s.name, s] as const))('passes under the project\'s plan: %s', (_name, scenario) => {
    const result = runScenario(scenario, PLAN);
    expect(failures(result)).toEqual([]);
    expect(result.rows.length).toBeGreaterThanOrEqual(19);
  }, 60_000);

  it('fails the same 10,000/s org with one index shard: its day and its busiest flow are over half a key\'s write limit', () => {
    const result = runScenario(tenThousand, { ...PLAN, indexShards: () => 1 });
    expect(row(result, 'by_day').pass).toBe(false);
    expect(row(result, 'by_flow').pass).toBe(false);
    expect(row(result, 'by_day').key).toBe(eventKeysFor.day('org_00000', row(result, 'by_day').key.split('#')[1]!));
  });

  it('fails before issue #22 (one shard, one alert total, 100-record batches every second), alert counters included', () => {
    const before = runScenario(tenThousand, PLAN_BEFORE);
    const failed = failures(before).map((f) => f.split(':')[0]);
    expect(failed).toEqual(expect.arrayContaining(['by_day (1 shard)', 'by_flow (1 shard)', 'alert counters (1 total shard)']));
    // The stream could not keep up either: 100-record batches on a new table's 20 shards.
    expect(row(before, 'stream shards').pass).toBe(false);
  });

  it('measures hot keys with the store\'s key functions: the by_day key under the plan is one of the org\'s day shards', () => {
    const result = runScenario(tenThousand, PLAN);
    const hot = row(result, 'by_day').key;
    const day = hot.split('#')[1]!;
    expect(eventKeysFor.dayShards('org_00000', day, indexShardsFor(tenThousand.peakEventsPerSecond))).toContain(hot);
    expect(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM).toBe(500);
  });

  it('plans index shards so the fullest, not the average, stays under half a key\'s write limit at the org\'s peak', () => {
    // Events land on shards by a hash of their id: at the mean alone, the fullest of 200 shards took 55 % in the burst.
    for (const peak of [1_000, 10_000, 100_000]) {
      const shards = indexShardsFor(peak);
      const counts = new Array<number>(shards).fill(0);
      for (const { event } of syntheticSecond({ ...tenThousand, eventsPerSecond: peak }, 7)) counts[shardOf(event.id, shards)]! += 1;
      expect(Math.max(...counts), `peak ${peak}: ${shards} shards`).toBeLessThanOrEqual(KEY_WRITE_UNITS_PER_SECOND * KEY_HEADROOM);
    }
  }, 30_000);

  it('a backfill counts into past buckets but never evaluates them: no alert reads, no raised-mark reads', () => {
    const backfill = SCENARIOS.find((s) => s.backfill)!;
    const result = runScenario(backfill, PLAN);
    expect(row(result, 'alert counters').rate).toMatch(/, 0\.00 R\/s$/);
    expect(row(result, 'raised alerts').key).toBe('(none)');
  });

  it('synthetic traffic has realistic spreads: unique UUID ids, many leads, a dominant flow', () => {
    const events = syntheticSecond(tenThousand, 0);
    expect(events).toHaveLength(10_000);
    expect(new Set(events.map((e) => e.event.id)).size).toBe(10_000);
    expect(events.every((e) => /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(e.event.id))).toBe(true);
    expect(new Set(events.map((e) => e.event.lead_id)).size).toBeGreaterThan(1_000);
    const flow0 = events.filter((e) => e.event.flow_id === 'flow_0').length;
    expect(flow0 / events.length).toBeGreaterThan(0.15);
  });

  it('a grown table invokes ~ shards × factor / window times a second: the window, not the batch size, bounds batches', () => {
    const { shardsNew, shardsGrown } = streamShards(10_000, 10_000);
    expect(shardsNew).toBe(20); // 20,000 base-table write units a second
    expect(shardsGrown).toBeGreaterThan(10_000); // 90 days of 1.7 KB items in 10 GB partitions
    const slots = shardsGrown * PLAN.stream.parallelization;
    const batches = 10_000 / eventsPerBatch(10_000 / slots, PLAN.stream);
    expect(PLAN.stream).toEqual(STREAM_PROFILES.large); // section 15's targets are judged on the large profile
    expect(batches).toBeLessThanOrEqual((slots / PLAN.stream.windowSeconds) * 1.05);
    expect(10_000 / eventsPerBatch(10_000 / slots, PLAN_BEFORE.stream)).toBeGreaterThan(5_000);
  });
  it("checks each org's event rate against its shard plan's cap, and counts the events bucket's writes in the limiter's partition", () => {
    for (const scenario of SCENARIOS) {
      const result = runScenario(scenario, PLAN);
      const cap = row(result, 'event rate cap');
      expect(cap.pass, scenario.name).toBe(true);
      expect(cap.limit).toContain(eventsPerSecondFor(indexShardsFor(scenario.peakEventsPerSecond)).toLocaleString('en-US'));
    }
    // Unsharded, the 10,000/s org is refused at 500 events/s: the cap row fails (the org is capped before a key is).
    const unsharded = runScenario(tenThousand, { ...PLAN, indexShards: () => 1 });
    expect(row(unsharded, 'event rate cap').pass).toBe(false);
    // Both buckets are items of one partition per org: its writes are the request bucket's and the events bucket's.
    const result = runScenario(tenThousand, PLAN);
    const limiter = row(result, 'rate-limiter state');
    expect(limiter.key).toBe(controlKeys.rateLimitEventsBucket('org_00000').pk);
    const requestsOnly = rateLimitStateWritesPerSecond(100, RATE_LIMIT_DEFAULTS, modelInstancesFor(100));
    expect(Number.parseFloat(limiter.rate)).toBeGreaterThan(requestsOnly);
    expect(limiter.pass).toBe(true);
  });
});
