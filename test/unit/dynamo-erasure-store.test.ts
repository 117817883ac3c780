import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoErasureStore, INLINE_LIST_BYTES } from '../../shared/adapters/dynamo-erasure-store.js';
import { controlKeys } from '../../shared/domain/keys.js';
import type { ErasureJob } from '../../shared/domain/ports.js';
import { queryPartition } from '../../shared/adapters/control-table.js';

/**
 * The real erasure store on the run's DynamoDB Local: a job's lists of any length (members, mentioned, the step under
 * way) round-trip whole, while no item of the org passes 350 KB (DynamoDB refuses 400 KB); parts a list no longer
 * uses are removed; an unchanged list is not written again.
 */
const client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
const table = inject('tableNames').control!;

/** Counts the part writes (BatchWriteItem puts) the store makes. */
function countingStore() {
  const counts = { partPuts: 0 };
  const counted = new Proxy(client, {
    get(target, name, receiver) {
      if (name !== 'send') return Reflect.get(target, name, receiver);
      return (command: unknown) => {
        if (command instanceof BatchWriteCommand) {
          const requests = Object.values(command.input.RequestItems ?? {}).flat();
          counts.partPuts += requests.filter((request) => request.PutRequest && String(request.PutRequest.Item?.sk).includes('#PART#')).length;
        }
        return target.send(command as never);
      };
    },
  });
  return { store: new DynamoErasureStore(counted, table), counts };
}

/** 765 UTF-8 bytes: 255 three-byte characters. */
const wideId = (i: number) => '€'.repeat(253) + String.fromCharCode(0x4e00 + Math.floor(i / 256), 0x4e00 + (i % 256));

const newJob = (members: string[]): ErasureJob => ({
  orgId: `org_${randomUUID().slice(0, 8)}`, id: `er_${randomUUID().replace(/-/g, '')}`, leadId: members[0]!, members, phase: 'hot',
  counts: { leads: members.length, events: 0, raw_blobs: 0, identities: 0, profiles: 0, archive_rows: 0, archive_files: 0, export_files: 0, audit_entries: 0 },
  requestedAt: new Date().toISOString(), keyId: 'key', requestId: 'req',
});

/** Every item the store keeps for an org's erasures (its partition; the running marks are a few bytes each). */
const itemsOf = (orgId: string) => queryPartition(client, table, `ERASURE#${orgId}`, undefined, { consistent: true });
const biggestItem = async (orgId: string) => Math.max(...(await itemsOf(orgId)).map((item) => Buffer.byteLength(JSON.stringify(item))));
const partsOf = async (orgId: string) => (await itemsOf(orgId)).filter((item) => String(item.sk).includes('#PART#'));

describe('DynamoErasureStore: lists of any length', () => {
  it('a family of 10,000 ids of 765 bytes (7.6 MB), long mentioned and pending lists: read back whole, no item over 350 KB', async () => {
    const { store } = countingStore();
    const job = newJob(Array.from({ length: 10_000 }, (_, i) => wideId(i)));
    expect(await store.create(job, undefined)).toBe(job);
    job.mentioned = Array.from({ length: 5_000 }, () => randomUUID());
    job.pending = { events: Array.from({ length: 3_000 }, () => randomUUID()), claims: Array.from({ length: 3_000 }, () => 'd'.repeat(64)), profiles: [wideId(1)] };
    job.phase = 'sweep';
    await store.save(job);
    // A new instance (a new process) reads from the table alone.
    expect(await new DynamoErasureStore(client, table).get(job.orgId, job.id)).toEqual(job);
    expect(await biggestItem(job.orgId)).toBeLessThan(350 * 1024);
    expect(await store.ofLead(job.orgId, wideId(9_999))).toBe(job.id);
  }, 120_000);

  it('a short list stays in the job item; a save that changes no long list writes no part again', async () => {
    const { store, counts } = countingStore();
    const small = newJob(['lead_a', 'lead_b']);
    await store.create(small, undefined);
    expect(await partsOf(small.orgId)).toEqual([]);
    expect(await store.get(small.orgId, small.id)).toEqual(small);

    const job = newJob(Array.from({ length: 400 }, (_, i) => wideId(i)));
    await store.create(job, undefined);
    const written = counts.partPuts;
    expect(written).toBeGreaterThan(1);
    job.counts.events += 5;
    job.phase = 'settle';
    await store.save(job);
    await store.save({ ...job, members: [...job.members] });
    expect(counts.partPuts).toBe(written);
    expect(await store.get(job.orgId, job.id)).toEqual(job);
  });

  it('parts a list no longer uses are removed: members replaced by shorter pseudonyms, mentioned grown then dropped', async () => {
    const { store } = countingStore();
    const job = newJob(Array.from({ length: 400 }, (_, i) => wideId(i)));
    await store.create(job, undefined);
    const plainParts = (await partsOf(job.orgId)).map((part) => part.sk);
    job.mentioned = Array.from({ length: 1_000 }, () => randomUUID());
    await store.save(job);
    job.mentioned = [...job.mentioned, randomUUID()];
    await store.save(job);
    expect((await partsOf(job.orgId)).filter((part) => String(part.sk).includes('#PART#mentioned#'))).toHaveLength(1);
    // Completed: the pseudonyms in place of the plain ids (here short enough for the item), nothing left of the plain ids.
    await store.save({ ...job, phase: 'completed', leadId: 'p0', members: job.members.map((_, i) => `p${i}`), mentioned: [] });
    const left = await partsOf(job.orgId);
    expect(left.filter((part) => plainParts.includes(part.sk))).toEqual([]);
    expect(left).toEqual([]);
    expect(JSON.stringify(await itemsOf(job.orgId))).not.toContain(wideId(0));
    expect((await store.get(job.orgId, job.id))?.members).toHaveLength(400);
  });

  it('a completed job read again removes parts an interrupted completion left behind', async () => {
    const { store } = countingStore();
    const job = newJob(Array.from({ length: 400 }, (_, i) => wideId(i)));
    await store.create(job, undefined);
    const { store: other } = countingStore();
    // Another process completed it, and stopped before removing the plain ids' parts: its own view of the job.
    await other.save({ ...job, phase: 'completed', members: job.members.map((_, i) => `p${i}`) });
    await client.send(new BatchWriteCommand({ RequestItems: { [table]: [{ PutRequest: { Item: { ...controlKeys.erasureJobPart(job.orgId, job.id, 'members', 'feedfacefeedface', 0), org_id: job.orgId, list_values: [wideId(0)] } } }] } }));
    expect((await new DynamoErasureStore(client, table).get(job.orgId, job.id))?.phase).toBe('completed');
    expect(await partsOf(job.orgId)).toEqual([]);
  });

  it('a concurrent second create answers the standing job and leaves no part of its own', async () => {
    const { store } = countingStore();
    const members = Array.from({ length: 400 }, (_, i) => wideId(i));
    const first = newJob(members);
    const second = { ...newJob(members), orgId: first.orgId };
    await store.create(first, undefined);
    const standing = await new DynamoErasureStore(client, table).create(second, undefined);
    expect(standing).toEqual(first);
    expect((await partsOf(first.orgId)).filter((part) => String(part.sk).startsWith(`JOB#${second.id}`))).toEqual([]);
    expect(await store.get(first.orgId, second.id)).toBeUndefined();
  });

  it('an id naming a part is no job', async () => {
    const { store } = countingStore();
    const job = newJob(Array.from({ length: 400 }, (_, i) => wideId(i)));
    await store.create(job, undefined);
    const [part] = await partsOf(job.orgId);
    expect(await store.get(job.orgId, String(part!.sk).slice('JOB#'.length))).toBeUndefined();
    expect(INLINE_LIST_BYTES).toBeLessThan(400 * 765);
  });
});
