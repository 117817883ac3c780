import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalCheckpointSigner } from '../../infra/local/local-checkpoint-signer.js';
import { eventKeysFor, logKeys } from '../../shared/domain/keys.js';
import type { TestApi } from '../support/api.js';
import { useProofLog } from '../support/proof-log.js';

/**
 * `npm run verify -- --org` against DynamoDB Local (issue #25, Done when): events posted through the API, their
 * leaves queued by the real stream path and appended and signed by the integrator; then items edited, deleted and
 * put into the events table by hand, and the log's own leaves rewritten. auditOrg (through the real stores) and the
 * command (scripts/verify.ts, as a user runs it) must name each one, and nothing on an untouched org.
 */
const bench = useProofLog('leadlog-verify-org-');
const { dir, signer, documents, eventsTable, logTable, drain, integrate, audit } = bench;
let api: TestApi;
let pemFile: string;
beforeAll(async () => {
  api = bench.api;
  pemFile = join(dir, 'pub.pem');
  writeFileSync(pemFile, await signer.publicKeyPem());
});

async function orgWithLog(n: number): Promise<{ orgId: string; ids: string[] }> {
  const { orgId, key } = await api.newOrg();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const response = await api.request('POST', '/v1/events', { key, body: { lead_id: `lead_${i % 2}`, source_type: 'direct', source: 'web', event_type: 'custom.seen', payload: { n: i, note: `héllo ${i}` }, external_event_id: randomUUID() } });
    expect(response.status, response.text).toBe(201);
    ids.push(response.body.event.id as string);
  }
  await drain();
  await integrate(orgId);
  return { orgId, ids };
}

function verifyCli(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', ...args], { env: process.env, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

const item = async (orgId: string, id: string) =>
  (await documents.send(new GetCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, id) } }))).Item!;

/** The stored event JSON of an item, plain (`body`) or zstd-compressed (`body_z`, from 256 bytes). */
const bodyOf = (stored: Record<string, unknown>): string =>
  typeof stored.body === 'string' ? stored.body : zstdDecompressSync(stored.body_z as Uint8Array).toString('utf8');

/** Edits an item's stored event as someone with write access to the table would, its record_hash and seal left as they were. */
async function editBody(orgId: string, id: string, edit: (event: { payload: Record<string, unknown> }) => void): Promise<void> {
  const event = JSON.parse(bodyOf(await item(orgId, id))) as { payload: Record<string, unknown> };
  edit(event);
  await documents.send(new UpdateCommand({
    TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, id) }, UpdateExpression: 'SET body = :b REMOVE body_z', ExpressionAttributeValues: { ':b': JSON.stringify(event) },
  }));
}

/** A copy of an item under a new id (its body says the new id too), without the attributes named in `drop`. */
async function copyItem(orgId: string, id: string, drop: string[] = []): Promise<string> {
  const original = await item(orgId, id);
  const copyId = randomUUID();
  const copy: Record<string, unknown> = { ...original, pk: eventKeysFor.pk(orgId, copyId), id: copyId, body: bodyOf(original).replace(id, copyId) };
  delete copy.body_z;
  for (const name of drop) delete copy[name];
  await documents.send(new PutCommand({ TableName: eventsTable, Item: copy }));
  return copyId;
}

describe('npm run verify -- --org', () => {
  it('finds nothing on an untouched org, in process and as the command', async () => {
    const { orgId, ids } = await orgWithLog(4);
    const report = await audit(orgId);
    expect(report).toMatchObject({ size: 4, root_matches: true, edited: [], removed: [], inserted: [], pending: [], problems: [], scanned: 4 });
    expect(report.checkpoint?.tree_size).toBe(4);
    const { status, out, err } = verifyCli('--org', orgId, '--key', pemFile);
    expect(err).toBe('');
    expect(status).toBe(0);
    expect(out).toContain(`log: org ${orgId}, 4 leaves committed, 4 event items scanned`);
    expect(out).toContain('leaves recomputed to its signed root: ok');
    expect(out.trim().split('\n').at(-1)).toBe('verified: the log and the stored events agree');
    expect(ids).toHaveLength(4);
  });

  it('names an item edited, one deleted and one put in by hand (unsealed, and a sealed copy under a new id)', async () => {
    const { orgId, ids } = await orgWithLog(5);
    // Edited: the payload inside the stored body, the record_hash left as ingest wrote it.
    await editBody(orgId, ids[1]!, (event) => { event.payload.note = 'forged'; });
    await editBody(orgId, ids[2]!, (event) => { event.payload.n = 99; });
    // Deleted.
    await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, ids[3]!) } }));
    // Inserted: a copy of a real item under a new id with its seal and record hash kept (the seal covers the id: it
    // no longer verifies), and one without either.
    const copyId = await copyItem(orgId, ids[0]!);
    const bareId = await copyItem(orgId, ids[0]!, ['seal', 'record_hash']);

    const report = await audit(orgId);
    expect(report.root_matches).toBe(true);
    expect(report.edited.map((e) => [e.id, e.index >= 0])).toEqual(expect.arrayContaining([[ids[1], true], [ids[2], true]]));
    expect(report.edited).toHaveLength(2);
    expect(report.edited.find((e) => e.id === ids[1])!.why).toBe('content changed (the stored event or its raw bytes no longer hash to the record the leaf commits to)');
    expect(report.removed.map((e) => e.id)).toEqual([ids[3]]);
    expect(report.inserted.map((e) => e.id).sort()).toEqual([copyId, bareId].sort());
    expect(new Set(report.inserted.map((e) => e.why))).toEqual(new Set(["inserted behind leadlog's back (no valid seal)"]));

    const { status, out } = verifyCli('--org', orgId, '--key', pemFile);
    expect(status).toBe(1);
    expect(out).toContain('edited: 2 FAILED');
    expect(out).toContain(`  FAIL event ${ids[1]} (leaf `);
    expect(out).toContain(`removed: 1 FAILED\n  FAIL event ${ids[3]} (leaf `);
    expect(out).toContain('inserted: 2 FAILED');
    expect(out).toContain(`  FAIL event ${bareId} (received_at `);
    expect(out.trim().split('\n').at(-1)).toBe('NOT verified: 5 findings');
  });

  it('names an item no reader can decode (no body, a claim check to nothing) instead of stopping at it', async () => {
    const { orgId, ids } = await orgWithLog(2);
    const junkId = randomUUID();
    await documents.send(new PutCommand({ TableName: eventsTable, Item: { pk: eventKeysFor.pk(orgId, junkId), org_id: orgId, id: junkId, received_at: new Date(Date.now() - 3_600_000).toISOString(), expires_at: 4_102_444_800 } }));
    await documents.send(new UpdateCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, ids[0]!) }, UpdateExpression: 'SET raw_ref = :ref REMOVE #raw, raw_z', ExpressionAttributeNames: { '#raw': 'raw' }, ExpressionAttributeValues: { ':ref': `raw/${orgId}/nothing.json` } }));
    const report = await audit(orgId);
    expect(report.inserted.map((e) => e.id)).toEqual([junkId]);
    expect(report.edited.map((e) => e.id)).toEqual([ids[0]]);
  });

  it('names a log whose leaves were rewritten under the checkpoint, and an erased event as erased', async () => {
    const { orgId, ids } = await orgWithLog(3);
    await api.deps.proofLog.markErased(orgId, [ids[0]!], new Date().toISOString());
    await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { pk: eventKeysFor.pk(orgId, ids[0]!) } }));
    const erased = await audit(orgId);
    expect(erased.erased.map((e) => e.id)).toEqual([ids[0]]);
    expect(erased.removed).toEqual([]);
    expect(erased.root_matches).toBe(true);
    // The level-0 tile's first leaf hash changed: the log itself no longer hashes to the signed root.
    const key = logKeys.tile(orgId, 0, 0);
    const { Item } = await documents.send(new GetCommand({ TableName: logTable, Key: key }));
    const hashes = Uint8Array.from(Item!.hashes as Uint8Array);
    hashes[0]! ^= 1;
    await documents.send(new UpdateCommand({ TableName: logTable, Key: key, UpdateExpression: 'SET hashes = :h', ExpressionAttributeValues: { ':h': hashes } }));
    const rewritten = await audit(orgId);
    expect(rewritten.root_matches).toBe(false);
    expect(rewritten.problems).toContain('checkpoint 3: the stored leaves do not hash to its signed root (the log itself was rewritten)');
    const { status, out } = verifyCli('--org', orgId, '--key', pemFile);
    expect(status).toBe(1);
    expect(out).toContain('leaves recomputed to its signed root: FAILED');
  });

  it('exits 2 on a bad org id, and 1 naming an unpinned key that signed nothing of the org', async () => {
    expect(verifyCli('--org', 'not an org!').status).toBe(2);
    const { orgId } = await orgWithLog(1);
    const other = join(dir, 'other.pem');
    writeFileSync(other, await new LocalCheckpointSigner(join(dir, 'other-key.pem')).publicKeyPem());
    const { status, out } = verifyCli('--org', orgId, '--key', other);
    expect(status).toBe(1);
    expect(out).toContain('its body or signature does not verify under the public key');
  });
});
