/**
 * Sharded hot keys (contract section 15, issue #22 point 2): the latency of the same reads of the same events
 * stored unsharded (one by_day / by_flow key per org day / flow) and spread over a large org's shard plan, on the same
 * DynamoDB Local, in the same run. A page over N shards merges N partitions (reading about a page in all), so a read
 * costs at least N queries: what that adds is printed as a ratio to the unsharded read.
 */
import { randomUUID } from 'node:crypto';
import { SHARD_PLAN_WRITE_DELAY_MS, indexShardsFor } from '../../shared/definitions/scale.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import type { EventStore, RangeQuery, ShardPlanStore } from '../../shared/domain/ports.js';
import { dayPartitions, flowPartitions } from '../../shared/domain/shards.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

export async function shardingBenchmark(report: (line: string) => void, store: EventStore, plans: ShardPlanStore, events = Number(process.env.BENCH_SHARD_EVENTS ?? 3000)): Promise<void> {
  const shards = indexShardsFor(10_000); // the plan of an org at section 15's 10,000 events a second
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const orgs = { unsharded: `org_shard_bench_1_${randomUUID().slice(0, 6)}`, sharded: `org_shard_bench_${shards}_${randomUUID().slice(0, 6)}` };
  await plans.raise(orgs.sharded, shards, Date.now() - SHARD_PLAN_WRITE_DELAY_MS);
  const now = Date.now();
  for (const orgId of Object.values(orgs)) {
    for (let i = 0; i < events; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, events - i) }, async (_, k) => {
        const n = i + k;
        const input = validateEventInput({
          lead_id: `lead_${n % 700}`, source_type: 'internal', source: 'leadconduit', event_type: n % 5 === 0 ? 'source.rejected' : 'source.submitted',
          outcome: n % 5 === 0 ? 'failure' : 'success', ...(n % 5 === 0 ? { reason: 'Duplicate' } : {}), flow_id: 'flow_main',
          occurred_at: new Date(Date.parse(`${day}T00:00:00Z`) + Math.floor((n * 86_400_000) / events)).toISOString(), payload: { n },
        }, { now });
        if (!input.ok) throw new Error('sharding bench: invalid event');
        await store.put(buildEvent(input.value, { orgId, now }), now);
      }));
    }
  }
  const query = async (orgId: string, index: 'by_day' | 'by_flow', limit: number, after?: RangeQuery['after']) => {
    const plan = await store.shardPlan(orgId, Date.now());
    return store.query({
      index, partitions: [index === 'by_day' ? dayPartitions(orgId, day, plan) : flowPartitions(orgId, 'flow_main', plan)],
      order: 'asc', limit, filters: {}, include: { leadSnapshot: false, rawPayload: false }, nowMs: Date.now(), ...(after ? { after } : {}),
    });
  };
  const timed = async (work: () => Promise<unknown>, runs: number) => {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      await work();
      times.push(performance.now() - started);
    }
    return times;
  };
  const results: Record<string, Record<string, number[]>> = {};
  for (const [name, orgId] of Object.entries(orgs)) {
    await query(orgId, 'by_day', 100); // warm the plan cache and the sockets
    results[name] = {
      'day, first page of 100': await timed(() => query(orgId, 'by_day', 100), 40),
      'day, one page of 1000': await timed(() => query(orgId, 'by_day', 1000), 10),
      'flow, first page of 100': await timed(() => query(orgId, 'by_flow', 100), 40),
      [`day, all ${events} in pages of 500`]: await timed(async () => {
        let after: RangeQuery['after'];
        let read = 0;
        do {
          const page = await query(orgId, 'by_day', 500, after);
          read += page.items.length;
          after = page.next;
        } while (after);
        if (read !== events) throw new Error(`sharding bench: read ${read} of ${events}`);
      }, 3),
    };
  }
  report(`\n## Sharded hot keys: reads of ${events} events of one org day, unsharded vs ${shards} shards (the plan for 10,000 events/s)`);
  for (const read of Object.keys(results.unsharded!)) {
    const before = results.unsharded![read]!;
    const after = results.sharded![read]!;
    report(`${read.padEnd(34)} unsharded p50 ${median(before).toFixed(1)} ms (p95 ${percentile(before, 0.95).toFixed(1)}), ${shards} shards p50 ${median(after).toFixed(1)} ms (p95 ${percentile(after, 0.95).toFixed(1)}): ratio ${(median(after) / median(before)).toFixed(2)}`);
  }
}
