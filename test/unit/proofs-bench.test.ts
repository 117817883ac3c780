import { LOG_MAX_LEAVES_PER_RUN } from '../../shared/definitions/scale.js';
import { describe, expect, it } from 'vitest';
import { logKeys } from '../../shared/domain/keys.js';
import { dollarsPerMillion, logItemKindOf, perEvent, phased, unitsOfCall, UnitMeter, type ScenarioMeasure } from '../bench/proofs-bench.js';
import type { ProofLogStore } from '../../shared/domain/proof-log.js';

describe('proofs bench: what a call costs', () => {
  it('names each log item kind from the keys the store writes, and anything else as other', () => {
    expect(logItemKindOf(logKeys.queued('org_a', 3, 'id').pk)).toBe('queue');
    expect(logItemKindOf(logKeys.queued('org_a', 0, 'id').pk)).toBe('queue');
    expect(logItemKindOf(logKeys.mark(4, 'org_a').pk)).toBe('mark');
    expect(logItemKindOf(logKeys.head('org_a').pk)).toBe('head');
    expect(logItemKindOf(logKeys.tile('org_a', 1, 7).pk)).toBe('tile');
    expect(logItemKindOf(logKeys.leaf('org_a', 'id').pk)).toBe('leaf');
    expect(logItemKindOf(logKeys.erased('org_a', 'id').pk)).toBe('leaf');
    expect(logItemKindOf(logKeys.checkpointBySize('org_a', '0001').pk)).toBe('checkpoint');
    expect(logItemKindOf(logKeys.checkpointByTime('org_a', 'x').pk)).toBe('checkpoint');
    for (const pk of ['EVT#org_a#id', 'LOGTILEX', '', undefined, 42, 'logq#org']) expect(logItemKindOf(pk)).toBe('other');
  });

  it('charges a missing BatchGetItem key and an empty Query DynamoDB\'s minimum, which DynamoDB Local reports as 0', () => {
    const keys = [logKeys.leaf('o', 'a'), logKeys.erased('o', 'a'), logKeys.leaf('o', 'b')];
    const consistent = unitsOfCall('BatchGetItemCommand', { RequestItems: { t: { Keys: keys, ConsistentRead: true } } }, { Responses: { t: [{}] }, ConsumedCapacity: [{ CapacityUnits: 1 }] });
    expect(consistent).toEqual({ kind: 'leaf', read: 3, write: 0, items: 3 });
    const eventual = unitsOfCall('BatchGetItemCommand', { RequestItems: { t: { Keys: keys } } }, { Responses: { t: [] }, ConsumedCapacity: [{ CapacityUnits: 0 }] });
    expect(eventual.read).toBe(1.5);
    // Unprocessed keys are asked again later: not charged in this call.
    const throttled = unitsOfCall('BatchGetItemCommand', { RequestItems: { t: { Keys: keys, ConsistentRead: true } } }, { Responses: { t: [{}] }, UnprocessedKeys: { t: { Keys: [keys[2]] } }, ConsumedCapacity: [{ CapacityUnits: 1 }] });
    expect(throttled).toMatchObject({ read: 2, items: 2 });
    expect(unitsOfCall('QueryCommand', { ConsistentRead: true, ExpressionAttributeValues: { ':pk': logKeys.queue('o', 0) } }, { Count: 0, ConsumedCapacity: { CapacityUnits: 0 } })).toEqual({ kind: 'queue', read: 1, write: 0, items: 0 });
    expect(unitsOfCall('QueryCommand', { ExpressionAttributeValues: { ':pk': logKeys.checkpointsBySize('o') } }, { Count: 0 }).read).toBe(0.5);
    expect(unitsOfCall('QueryCommand', { ConsistentRead: true, ExpressionAttributeValues: { ':pk': logKeys.queue('o', 0) } }, { Count: 40, ConsumedCapacity: { CapacityUnits: 2 } }).read).toBe(2);
  });

  it('counts writes as reported, a write refused by its condition as one unit, and batch writes by their first item\'s kind', () => {
    expect(unitsOfCall('PutItemCommand', { Item: logKeys.tile('o', 0, 0) }, { ConsumedCapacity: { CapacityUnits: 18 } })).toEqual({ kind: 'tile', read: 0, write: 18, items: 1 });
    expect(unitsOfCall('UpdateItemCommand', { Key: logKeys.head('o') }, undefined, true)).toEqual({ kind: 'head', read: 0, write: 1, items: 1 });
    expect(unitsOfCall('DeleteItemCommand', { Key: logKeys.mark(1, 'o') }, undefined, false).write).toBe(0);
    const batch = unitsOfCall('BatchWriteItemCommand', { RequestItems: { t: [{ DeleteRequest: { Key: logKeys.queued('o', 1, 'a') } }, { DeleteRequest: { Key: logKeys.queued('o', 1, 'b') } }] } }, { ConsumedCapacity: [{ CapacityUnits: 2 }] });
    expect(batch).toEqual({ kind: 'queue', read: 0, write: 2, items: 2 });
  });
});

describe('proofs bench: per event', () => {
  const measure: ScenarioMeasure = { stream: { read: 0, write: 1 }, run: { fixed: { read: 30, write: 18 }, perLeaf: { read: 2, write: 2 } }, checkpoint: { read: 6, write: 4 } };

  it('spreads a run over a minute of an org\'s events and a checkpoint over five minutes\'', () => {
    const u = perEvent(measure, 100);
    expect(u.read).toBeCloseTo(0 + 30 / 6000 + 2 + 6 / 30_000, 12);
    expect(u.write).toBeCloseTo(1 + 18 / 6000 + 2 + 4 / 30_000, 12);
    expect(u.signs).toBeCloseTo(1 / 30_000, 15);
    expect(u.behind).toBe(false);
    const slow = perEvent(measure, 1);
    expect(slow.read).toBeCloseTo(30 / 60 + 2 + 6 / 300, 12);
  });

  it('caps a run at the integrator\'s leaves per run and says the org falls behind', () => {
    // The cap (LOG_MAX_LEAVES_PER_RUN) is passed at 10,000 events a second (600,000 a minute).
    const u = perEvent(measure, 20_000);
    expect(u.behind).toBe(true);
    expect(u.read).toBeCloseTo(30 / LOG_MAX_LEAVES_PER_RUN + 2 + 6 / (20_000 * 300), 12);
    expect(perEvent(measure, Math.floor(LOG_MAX_LEAVES_PER_RUN / 60)).behind).toBe(false);
    expect(perEvent(measure, 10_000).behind).toBe(true);
  });

  it('prices units and requests per million events', () => {
    const d = dollarsPerMillion({ read: 2, write: 3, signs: 1 / 300, puts: 1 / 300 });
    expect(d.dynamo).toBeCloseTo(2 * 0.125 + 3 * 0.625, 12);
    expect(d.kms).toBeCloseTo((1e6 / 300) * (0.15 / 10_000), 12);
    expect(d.s3).toBeCloseTo((1e6 / 300) * (0.005 / 1000), 12);
    expect(d.total).toBeCloseTo(d.dynamo + d.kms + d.s3, 12);
  });
});

describe('proofs bench: phases', () => {
  it('puts the calls after the dequeue (until the release) and clearing the mark under the checkpoint', async () => {
    const meter = new UnitMeter();
    const seen: string[] = [];
    const fake = new Proxy({}, {
      get: (_t, property) => async () => {
        seen.push(`${String(property)}:${meter.phase}`);
        meter.add('GetItemCommand', { kind: 'head', read: 1, write: 0, items: 1 });
      },
    }) as ProofLogStore;
    const store = phased(fake, meter);
    await store.enqueue('o', [], 0);
    await store.lease('o', 'x', 0, 1);
    await store.dequeue('o', []);
    await store.latestCheckpoint('o');
    await store.recordCheckpoint({} as never, 'x');
    await store.release('o', 'x');
    await store.head('o');
    await store.clearMark('o', 1);
    expect(seen).toEqual(['enqueue:stream', 'lease:integrate', 'dequeue:integrate', 'latestCheckpoint:checkpoint', 'recordCheckpoint:checkpoint', 'release:integrate', 'head:integrate', 'clearMark:checkpoint']);
    expect(meter.of('stream').read).toBe(1);
    expect(meter.of('integrate').read).toBe(4);
    expect(meter.of('checkpoint').read).toBe(3);
    expect(meter.total().read).toBe(8);
  });
});
