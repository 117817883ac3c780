import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErasureRunner } from '../../infra/local/job-runner.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { createErasureDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { verifyBundle } from '../../shared/domain/evidence.js';
import { eventKeysFor } from '../../shared/domain/keys.js';
import { treeHashOf, verifyConsistency, verifyInclusion } from '../../shared/domain/merkle.js';
import { type IntegratorPorts, type ProofLogStore } from '../../shared/domain/proof-log.js';
import { checkpointVerifies, hashFromBase64, type Checkpoint } from '../../shared/domain/proofs.js';
import type { TestApi } from '../support/api.js';
import { useProofLog } from '../support/proof-log.js';

/**
 * Proof of record end to end (contract section 14, issue #25): events posted through the API, the real stream and
 * fan-out queueing their leaves, the integrator appending and signing, the routes answering proofs that verify
 * against the signed checkpoint (and under OpenSSL), retried stream batches adding no leaf, an item put into the table
 * by hand never entering the log, a crash before the commit healed by the next run, erasure keeping the leaf, tenants
 * kept apart, and an evidence bundle that fails once an item is edited behind leadlog's back.
 */
const bench = useProofLog('leadlog-proofs-');
const { dir, documents, eventsTable, drain, integrate } = bench;
let api: TestApi;
let ports: IntegratorPorts;
beforeAll(() => {
  api = bench.api;
  ports = bench.ports;
});

const post = async (key: string, lead: string, n: number) => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const response = await api.request('POST', '/v1/events', { key, body: { lead_id: lead, source_type: 'direct', source: 'web', event_type: 'custom.seen', payload: { n: i, note: `héllo ${i}` }, external_event_id: randomUUID() } });
    expect(response.status, response.text).toBe(201);
    ids.push(response.body.event.id as string);
  }
  return ids;
};

const proofOf = (key: string, id: string) => api.request('GET', `/v1/events/${id}/proof`, { key });

describe('proof of record', () => {
  it('proves each stored event in its org\'s signed log: 404 proof-pending first, then a proof that verifies under the public key, also by OpenSSL', async () => {
    const { orgId, key } = await api.newOrg();
    const ids = await post(key, 'lead_a', 5);
    const pending = await proofOf(key, ids[0]!);
    expect(pending.status, pending.text).toBe(404);
    expect(pending.body.type).toMatch(/proof-pending$/);
    expect(Number(pending.headers.get('retry-after'))).toBeGreaterThan(0);
    await drain();
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 5, size: 5 });

    const publicKey = (await api.request('GET', '/v1/proofs/public-key')).text;
    expect(publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const seen = new Set<number>();
    for (const id of ids) {
      const proof = await proofOf(key, id);
      expect(proof.status, proof.text).toBe(200);
      const checkpoint = proof.body.checkpoint as Checkpoint;
      expect(checkpoint).toMatchObject({ org_id: orgId, tree_size: 5 });
      expect(checkpointVerifies(checkpoint, publicKey)).toBe(true);
      const path = (proof.body.inclusion_proof as string[]).map((h) => hashFromBase64(h)!);
      expect(verifyInclusion(hashFromBase64(proof.body.leaf_hash)!, proof.body.leaf_index, checkpoint.tree_size, path, hashFromBase64(checkpoint.root_hash)!)).toBe(true);
      expect(proof.body.leaf).toMatchObject({ id, org_id: orgId, lead_id: 'lead_a' });
      seen.add(proof.body.leaf_index as number);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]); // one leaf each

    // OpenSSL's command line checks the checkpoint's signature over its exact body.
    const checkpoint = (await proofOf(key, ids[0]!)).body.checkpoint as Checkpoint;
    writeFileSync(join(dir, 'pub.pem'), publicKey);
    writeFileSync(join(dir, 'body.txt'), checkpoint.body);
    writeFileSync(join(dir, 'sig.der'), Buffer.from(checkpoint.signature, 'base64'));
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'body.txt')]).toString()).toMatch(/Verified OK/);

    // A key without pii:read gets the proof but not the leaf's fields (the lead id).
    const reader = await api.keyFor(orgId, ['events:read']);
    const masked = await proofOf(reader, ids[0]!);
    expect(masked.status).toBe(200);
    expect(masked.body.leaf).toBeNull();
  });

  it('adds no leaf for retried stream batches, re-put queue items or concurrent integrators, and never one for an item put into the table by hand', async () => {
    const { orgId, key } = await api.newOrg();
    const ids = await post(key, 'lead_r', 4);
    // The same records queued three times (a retried batch), integrated by two runs at once.
    const loggable = [];
    for (const id of ids) {
      const { Item } = await documents.send(new GetCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, id) } }));
      loggable.push(Item!);
    }
    await drain();
    const { decodeRecord } = await import('../../shared/adapters/event-item.js');
    const { queueLeaves } = await import('../../shared/domain/proof-log.js');
    const records = loggable.map((image, i) => decodeRecord({ eventName: 'INSERT', sequenceNumber: String(i), newImage: image }));
    const batch = records.map((r) => ({ event: r.event!, proof: r.proof! }));
    // One batch holding each record twice (an id written, erased and written again; a retried record): keys repeat.
    await queueLeaves(api.deps.proofLog, [...batch, ...batch], Date.now());
    const [a, b] = await Promise.all([integrate(orgId), integrate(orgId)]);
    expect([a.status, b.status].sort()).toEqual(['busy', 'done']);
    await queueLeaves(api.deps.proofLog, batch, Date.now()); // after the integration: dropped, not appended
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 0, dropped: 4, size: 4 });

    // An item copied from a real one under another id, put straight into the table: no valid seal, no leaf.
    const forged = { ...loggable[0]!, pk: eventKeysFor.pk(orgId, randomUUID()), id: randomUUID() };
    await documents.send(new PutCommand({ TableName: eventsTable, Item: forged }));
    const { seal: _seal, record_hash: _hash, ...unsealed } = loggable[1]!;
    const bare = { ...unsealed, pk: eventKeysFor.pk(orgId, randomUUID()), id: randomUUID() };
    await documents.send(new PutCommand({ TableName: eventsTable, Item: bare }));
    // Odd values where numbers and strings belong ride in the same batch as a real event: refused alone.
    const odd = { ...loggable[2]!, pk: eventKeysFor.pk(orgId, randomUUID()), id: randomUUID(), expires_at: 'soon', received_at: 42, day_key: `${orgId}~x#` };
    await documents.send(new PutCommand({ TableName: eventsTable, Item: odd }));
    const [late] = await post(key, 'lead_r', 1);
    await drain();
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 1, size: 5 });
    ids.push(late!);
    expect(await integrate(orgId)).toMatchObject({ status: 'done', appended: 0, size: 5 });
    expect((await api.deps.proofLog.leavesInOrder(orgId, 5)).map((l) => l.id).sort()).toEqual([...ids].sort());
  });

  it('heals a run that died before its commit: the next run appends each leaf once and the root is the RFC 9162 root of the leaves in order', async () => {
    const { orgId, key } = await api.newOrg();
    await post(key, 'lead_c', 3);
    await drain();
    await integrate(orgId);
    await post(key, 'lead_c', 300); // crosses a tile boundary (256)
    await drain();
    // Fault injection: the store dies at the commit, after its tiles and leaf items were written.
    const dying: ProofLogStore = Object.create(api.deps.proofLog, { commit: { value: async () => { throw new Error('killed before the commit'); } } });
    await expect(integrate(orgId, {}, { ...ports, store: dying })).rejects.toThrow(/killed/);
    expect((await api.deps.proofLog.head(orgId))!.size).toBe(3);
    // Leases: the dead run's lease is its owner's; after it lapses (here: a run told it is later) the next run heals.
    const healed = await integrate(orgId, { nowMs: () => Date.now() + 60_000 });
    expect(healed).toMatchObject({ status: 'done', appended: 300, size: 303 });
    const leaves = await api.deps.proofLog.leavesInOrder(orgId, 303);
    expect(new Set(leaves.map((l) => l.id)).size).toBe(303);
    const head = (await api.deps.proofLog.head(orgId))!;
    expect(Buffer.from(head.root).toString('hex')).toBe(Buffer.from(treeHashOf(leaves.map((l) => l.leafHash))).toString('hex'));
    // Every checkpoint is consistent with the next one (the integrator proved it before signing; check it again here).
    const { items } = (await api.request('GET', '/v1/proofs/checkpoints', { key })).body as { items: Checkpoint[] };
    expect(items.map((c) => c.tree_size)).toEqual([3, 303]);
    const consistency = await api.request('GET', '/v1/proofs/consistency?from_size=3&to_size=303', { key });
    expect(consistency.status, consistency.text).toBe(200);
    expect(verifyConsistency(3, 303, (consistency.body.consistency_proof as string[]).map((h) => hashFromBase64(h)!), hashFromBase64(items[0]!.root_hash)!, hashFromBase64(items[1]!.root_hash)!)).toBe(true);
  });

  it('adopts the archived checkpoint when a run died between the write-once archive and the store (ECDSA signs anew each time)', async () => {
    const { orgId, key } = await api.newOrg();
    await post(key, 'lead_k', 2);
    await drain();
    const dying: ProofLogStore = Object.create(api.deps.proofLog, { recordCheckpoint: { value: async () => { throw new Error('killed after the archive'); } } });
    await expect(integrate(orgId, {}, { ...ports, store: dying })).rejects.toThrow(/killed/);
    const archived = JSON.parse(readFileSync(join(dir, 'checkpoints', orgId, `${'2'.padStart(16, '0')}.json`), 'utf8')) as Checkpoint;
    expect(await integrate(orgId, { nowMs: () => Date.now() + 60_000 })).toMatchObject({ status: 'done', size: 2, checkpoint: { signature: archived.signature } });
    const { items } = (await api.request('GET', '/v1/proofs/checkpoints', { key })).body as { items: Checkpoint[] };
    expect(items.map((c) => c.signature)).toEqual([archived.signature]);
  });

  it('answers 400 naming each bad parameter, and 404 for another org\'s events, leads and proofs', async () => {
    const a = await api.newOrg();
    const b = await api.newOrg();
    const [id] = await post(a.key, 'lead_t', 1);
    await drain();
    await integrate(a.orgId);
    expect((await proofOf(b.key, id!)).status).toBe(404);
    expect((await proofOf(b.key, id!)).body.type).toMatch(/not-found$/);
    expect((await api.request('GET', '/v1/leads/lead_t/evidence', { key: b.key })).status).toBe(404);
    const bad = await api.request('GET', '/v1/proofs/consistency?from_size=2&to_size=x', { key: a.key });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['to_size']);
    const tooFar = await api.request('GET', '/v1/proofs/consistency?from_size=0&to_size=2', { key: a.key });
    expect(tooFar.status).toBe(400);
    expect(tooFar.text).toMatch(/latest checkpoint/);
    expect((await api.request('GET', '/v1/proofs/consistency', { key: a.key })).body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['from_size', 'to_size']);
    expect((await api.request('GET', '/v1/proofs/checkpoints?from=yesterday&limit=0', { key: a.key })).body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['from', 'limit']);
    expect((await api.request('GET', '/v1/proofs/checkpoints?cursor=%F0%9F%92%A9', { key: a.key })).status).toBe(400);
    expect((await proofOf(a.key, 'not-a-uuid')).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/lead_t/evidence`, { key: await api.keyFor(a.orgId, ['events:read']) })).status).toBe(403);
  });

  it('keeps an erased event\'s leaf: its proof says erased and still verifies, the other lead\'s bundle verifies, and a bundle fails once an item is edited by hand', async () => {
    const { orgId, key } = await api.newOrg();
    const erasedIds = await post(key, 'lead_gone', 2);
    const keptIds = await post(key, 'lead_kept', 3);
    await drain();
    await integrate(orgId);

    const bundle = await api.request('GET', '/v1/leads/lead_kept/evidence', { key });
    expect(bundle.status, bundle.text).toBe(200);
    const publicKey = (await api.request('GET', '/v1/proofs/public-key')).text;
    expect(verifyBundle(bundle.body, { trustedKeyPem: publicKey })).toMatchObject({ ok: true, failures: [] });
    expect(bundle.body.events.map((e: { id: string }) => e.id).sort()).toEqual([...keptIds].sort());

    // Erasure: the lead's events go, their leaves stay, marked.
    const archiveDir = join(dir, `archive-${orgId}`);
    const archive = new LocalArchive({ dir: archiveDir });
    await archive.start();
    try {
      expect((await api.request('DELETE', '/v1/leads/lead_gone', { key })).status).toBe(202);
      const runner = new ErasureRunner(createErasureDependencies(loadConfig(), {
        bus: new LocalBus({ rules: [] }), archive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox: new FileInboxObjects(join(archiveDir, 'inbox')),
      }), { only: (org) => org === orgId });
      for (let i = 0; i < 100 && (await api.request('GET', `/v1/events/${erasedIds[0]}`, { key })).status !== 404; i++) {
        await runner.tick();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await archive.stop();
    }
    const erased = await proofOf(key, erasedIds[0]!);
    expect(erased.status, erased.text).toBe(200);
    expect(erased.body).toMatchObject({ erased: true, leaf: null });
    const checkpoint = erased.body.checkpoint as Checkpoint;
    expect(verifyInclusion(hashFromBase64(erased.body.leaf_hash)!, erased.body.leaf_index, checkpoint.tree_size, (erased.body.inclusion_proof as string[]).map((h) => hashFromBase64(h)!), hashFromBase64(checkpoint.root_hash)!)).toBe(true);
    expect(verifyBundle((await api.request('GET', '/v1/leads/lead_kept/evidence', { key })).body, { trustedKeyPem: publicKey }).ok).toBe(true);

    // Behind leadlog's back: one kept event's body edited in DynamoDB. Its record no longer hashes to its leaf.
    await documents.send(new UpdateCommand({
      TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, keptIds[1]!) },
      UpdateExpression: 'SET body = :body REMOVE body_z',
      ExpressionAttributeValues: { ':body': JSON.stringify({ ...(await api.request('GET', `/v1/events/${keptIds[1]}`, { key })).body, payload: { n: 999 } }) },
    }));
    const tampered = verifyBundle((await api.request('GET', '/v1/leads/lead_kept/evidence', { key })).body, { trustedKeyPem: publicKey });
    expect(tampered.ok).toBe(false);
    expect(tampered.failures.join('\n')).toContain(keptIds[1]!);
    expect(tampered.failures.join('\n')).not.toContain(keptIds[0]!);
  });
});
