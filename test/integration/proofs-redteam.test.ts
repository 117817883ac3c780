import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { sha256Hex } from '../../shared/domain/canonical.js';
import { eventKeysFor, logKeys } from '../../shared/domain/keys.js';
import { auditOrg } from '../../shared/domain/log-audit.js';
import { leafHashOf, treeHashOf } from '../../shared/domain/merkle.js';
import { leafRecordOf } from '../../shared/domain/proofs.js';
import type { TestApi } from '../support/api.js';
import { useProofLog } from '../support/proof-log.js';

/**
 * Issue #25 red team (docs/security.md): a hostile insider with write access to the log table (not to the seal key).
 * A queue item put by hand must never become a signed leaf (a fabricated event, another org's sealed item copied in,
 * a TTL edited on the way); a deletion must not pass for an expiry or an erasure by editing the leaf item's TTL or
 * putting an erasure mark, while a real expiry and a real erasure are still named as such.
 */
const bench = useProofLog('leadlog-proofs-redteam-');
const { dir, signer, documents, eventsTable, logTable, drain, integrate, audit } = bench;
let api: TestApi;
beforeAll(() => {
  api = bench.api;
});

async function post(key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const response = await api.request('POST', '/v1/events', { key, body: { lead_id: `lead_${i}`, source_type: 'direct', source: 'web', event_type: 'custom.seen', payload: { n: i }, external_event_id: randomUUID() } });
    expect(response.status, response.text).toBe(201);
    ids.push(response.body.event.id as string);
  }
  return ids;
}

const queueItems = async (orgId: string) =>
  (await documents.send(new QueryCommand({ TableName: logTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': logKeys.queue(orgId, 0) }, ConsistentRead: true }))).Items ?? [];

describe('issue #25 red team: the log table written by hand', () => {
  it('never signs a queue item put by hand: a fabricated leaf, another org\'s sealed item copied in, a TTL edited in the queue', async () => {
    const { orgId, key } = await api.newOrg();
    const other = await api.newOrg();
    const ids = await post(key, 2);
    const theirs = await post(other.key, 1);
    await drain();
    const [mine, copied] = [await queueItems(orgId), await queueItems(other.orgId)];
    expect(mine.map((item) => item.sk).sort()).toEqual([...ids].sort());
    expect(copied.map((item) => item.sk)).toEqual(theirs);

    // A fabricated event: its leaf computed by the insider, backdated, with a TTL already passed (to explain its absence).
    const fakeId = randomUUID();
    const fake = leafRecordOf({ id: fakeId, org_id: orgId, lead_id: 'lead_0', received_at: '2020-01-01T00:00:00.000Z' }, sha256Hex('{"a fabricated record"}'));
    await documents.send(new PutCommand({ TableName: logTable, Item: { ...logKeys.queued(orgId, 0, fakeId), hash: leafHashOf(fake), received_at: fake.received_at, event_expires_at: 1 } }));
    // The other org's queue item, seal and all, copied into this org's queue.
    await documents.send(new PutCommand({ TableName: logTable, Item: { ...copied[0]!, pk: logKeys.queue(orgId, 0) } }));
    // One of this org's own items, its TTL moved to the past (so a later deletion would read as an expiry).
    await documents.send(new UpdateCommand({ TableName: logTable, Key: logKeys.queued(orgId, 0, ids[1]!), UpdateExpression: 'SET event_expires_at = :one', ExpressionAttributeValues: { ':one': 1 } }));

    const result = await integrate(orgId);
    expect(result).toMatchObject({ status: 'done', appended: 1, refused: 3, size: 1 });
    expect((await api.deps.proofLog.leavesInOrder(orgId, 1)).map((leaf) => leaf.id)).toEqual([ids[0]]);
    expect(await queueItems(orgId)).toEqual([]); // refused items are dequeued, not retried forever
    // The edited one is still sealed in the events table: the audit keeps it pending, then calls it lost, never hides it.
    const report = await audit(orgId);
    expect(report.root_matches).toBe(true);
    expect(report.pending.map((p) => p.id)).toEqual([ids[1]]);
    expect(report.inserted.map((p) => p.id)).not.toContain(fakeId);
    // The other org's log is untouched by the copy and takes its own item.
    expect(await integrate(other.orgId)).toMatchObject({ status: 'done', appended: 1, refused: 0, size: 1 });
  });

  it('names a deletion disguised as an expiry (the leaf item\'s TTL edited) or as an erasure (a mark put by hand) removed; a real TTL still reads expired', async () => {
    const { orgId, key } = await api.newOrg();
    const ids = await post(key, 3);
    await drain();
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 3, refused: 0 });
    const leafItem = async (id: string) => (await documents.send(new GetCommand({ TableName: logTable, Key: logKeys.leaf(orgId, id), ConsistentRead: true }))).Item!;
    const realTtl = Number((await leafItem(ids[2]!)).event_expires_at);
    for (const id of ids) await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, id) } }));
    // ids[0]: its TTL moved to the past in the leaf item. ids[1]: an erasure mark put by hand (with a made-up seal).
    await documents.send(new UpdateCommand({ TableName: logTable, Key: logKeys.leaf(orgId, ids[0]!), UpdateExpression: 'SET event_expires_at = :one', ExpressionAttributeValues: { ':one': 1 } }));
    await documents.send(new PutCommand({ TableName: logTable, Item: { ...logKeys.erased(orgId, ids[1]!), id: ids[1], erased_at: new Date().toISOString(), seal: 'ab'.repeat(32) } }));
    // Judged now, before any real TTL: all three are removals (neither the edited TTL nor the mark counts).
    const now = await audit(orgId);
    expect(now.root_matches).toBe(true);
    expect(now.removed.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect([now.erased, now.expired]).toEqual([[], []]);
    // Judged after the real TTL (the one leadlog sealed): ids[1] and ids[2] expired; ids[0]'s edited TTL still does not count.
    const later = await audit(orgId, (realTtl + 60) * 1000);
    expect(later.removed.map((r) => r.id)).toEqual([ids[0]]);
    expect(later.expired.map((r) => r.id).sort()).toEqual([ids[1]!, ids[2]!].sort());
    expect(later.erased).toEqual([]);
  });

  it('refuses to sign a history rewound under a signed checkpoint (the head, tiles and checkpoint items rewritten to drop a deleted event\'s leaf)', async () => {
    const { orgId, key } = await api.newOrg();
    await post(key, 3);
    await drain();
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 3, size: 3, checkpoint: { tree_size: 3 } });
    const leaves = await api.deps.proofLog.leavesInOrder(orgId, 3);
    // The insider deletes the last event and every trace of its leaf: the tile, the head (back to 2 leaves, no
    // checkpoint yet), the checkpoint items of size 3, its leaf item.
    const gone = leaves[2]!.id;
    await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, gone) } }));
    const kept = leaves.slice(0, 2);
    const packed = new Uint8Array(64);
    kept.forEach((leaf, i) => packed.set(leaf.leafHash, i * 32));
    await documents.send(new PutCommand({ TableName: logTable, Item: { ...logKeys.tile(orgId, 0, 0), level: 0, tile_index: 0, width: 2, hashes: packed, ids: kept.map((l) => l.id).join('\n') } }));
    await documents.send(new UpdateCommand({
      TableName: logTable, Key: logKeys.head(orgId), UpdateExpression: 'SET size = :two, root = :root, cp_size = :zero, cp_at = :zero',
      ExpressionAttributeValues: { ':two': 2, ':root': treeHashOf(kept.map((l) => l.leafHash)), ':zero': 0 },
    }));
    for (const pk of [logKeys.checkpointsBySize(orgId), logKeys.checkpointsByTime(orgId)]) {
      const { Items } = await documents.send(new QueryCommand({ TableName: logTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }));
      for (const item of Items ?? []) await documents.send(new DeleteCommand({ TableName: logTable, Key: { pk: item.pk, sk: item.sk } }));
    }
    await documents.send(new DeleteCommand({ TableName: logTable, Key: logKeys.leaf(orgId, gone) }));

    await expect(integrate(orgId)).rejects.toThrow(/checkpoint 3 was signed but the log holds 2 leaves/);
    // Nothing new was signed: the write-once archive still holds checkpoint 3 only.
    expect(readdirSync(join(dir, 'checkpoints', orgId))).toEqual([`${'3'.padStart(16, '0')}.json`]);
    // The audit judges by the archive's checkpoint, not the table's (which now has none: "nothing signed yet").
    const report = await auditOrg({ store: api.deps.proofLog, events: api.deps.events, archive: new LocalCheckpointArchive(dir) }, orgId, {
      publicKeyPem: await signer.publicKeyPem(), nowMs: Date.now(), checkpointIntervalMs: 10_000,
    });
    expect(report.root_matches).toBe(false);
    expect(report.checkpoint?.tree_size).toBe(3);
    expect(report.problems).toEqual([
      'the checkpoint archive holds checkpoint 3 but the log table\'s latest is none (checkpoint items were deleted from the table)',
      'checkpoint 3: the log holds only 2 leaves (leaves were removed from the log itself)',
    ]);
  });

  it('still names a real erasure erased (the mark the erasure path writes carries its seal)', async () => {
    const { orgId, key } = await api.newOrg();
    const ids = await post(key, 2);
    await drain();
    await integrate(orgId);
    await api.deps.proofLog.markErased(orgId, [ids[0]!], new Date().toISOString());
    await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, ids[0]!) } }));
    const report = await audit(orgId);
    expect(report.erased.map((r) => r.id)).toEqual([ids[0]]);
    expect(report.removed).toEqual([]);
  });
});

describe('issue #25 red team: the routes\' parameters', () => {
  it('answers an empty page, not a 500, for a checkpoint range that is empty: from past the default to, a well-formed cursor past to', async () => {
    const { orgId, key } = await api.newOrg();
    await post(key, 1);
    await drain();
    await integrate(orgId);
    const cursorAt = (position: string) => Buffer.from(position).toString('base64url');
    for (const query of [
      'from=2999-01-01T00:00:00Z',
      `cursor=${cursorAt('2999-01-01T00:00:00.000Z#0000000000000001')}`,
      `to=2000-01-02T00:00:00Z&cursor=${cursorAt('2001-01-01T00:00:00.000Z#0000000000000001')}`,
    ]) {
      const response = await api.request('GET', `/v1/proofs/checkpoints?${query}`, { key });
      expect(response.status, `${query}: ${response.text}`).toBe(200);
      expect(response.body).toEqual({ items: [], next_cursor: null });
    }
    expect((await api.request('GET', '/v1/proofs/checkpoints', { key })).body.items).toHaveLength(1);
  });
});
