import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { S3CheckpointArchive, type CheckpointObjectClient } from '../../shared/adapters/s3-checkpoint-archive.js';
import { checkpointBody, type Checkpoint, type CheckpointArchive } from '../../shared/domain/proofs.js';

/**
 * CheckpointArchive.latestAbove (issue #25 red team): the integrator's source of truth for what was signed. Both
 * stand-ins must find the largest archived size above the one asked (lexical order of 16-digit keys), across S3's
 * pages, ignoring foreign objects in the folder and other orgs' folders, and refuse an object leadlog did not write.
 */
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const checkpointOf = (org: string, size: number): Checkpoint => {
  const statement = { org_id: org, tree_size: size, root_hash: `${'A'.repeat(42)}${'ABCD'[size % 4]}=`, issued_at: '2026-01-01T00:00:00.000Z' };
  const body = checkpointBody(statement);
  return { ...statement, body, signature: sign('sha256', Buffer.from(body), privateKey).toString('base64'), key_id: 'local:0123456789abcdef' };
};

/** An S3 bucket in memory: PutObject (If-None-Match), GetObject, ListObjectsV2 in key order, `pageSize` keys a page. */
function fakeBucket(pageSize: number) {
  const objects = new Map<string, string>();
  const lists: ListObjectsV2Command['input'][] = [];
  const client = {
    async send(command: PutObjectCommand | GetObjectCommand | ListObjectsV2Command) {
      if (command instanceof PutObjectCommand) {
        objects.set(command.input.Key!, Buffer.from(command.input.Body as Uint8Array).toString('utf8'));
        return {};
      }
      if (command instanceof GetObjectCommand) {
        const text = objects.get(command.input.Key!);
        if (text === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
        return { Body: { transformToString: async () => text } };
      }
      lists.push(command.input);
      const { Prefix = '', StartAfter, ContinuationToken } = command.input;
      const keys = [...objects.keys()].filter((k) => k.startsWith(Prefix) && (!StartAfter || k > StartAfter)).sort();
      const from = ContinuationToken ? Number(ContinuationToken) : 0;
      const page = keys.slice(from, from + pageSize);
      const more = from + pageSize < keys.length;
      return { Contents: page.map((Key) => ({ Key })), IsTruncated: more, ...(more ? { NextContinuationToken: String(from + pageSize) } : {}) };
    },
  };
  return { client: client as unknown as CheckpointObjectClient, objects, lists };
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const archives: [string, () => { archive: CheckpointArchive; putRaw: (key: string, text: string) => void }][] = [
  ['S3 (2 keys a page)', () => {
    const bucket = fakeBucket(2);
    return { archive: new S3CheckpointArchive('b', bucket.client), putRaw: (key, text) => bucket.objects.set(key, text) };
  }],
  ['local files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-cp-latest-'));
    dirs.push(dir);
    return { archive: new LocalCheckpointArchive(dir), putRaw: (key, text) => writeFileSync(join(dir, key), text) };
  }],
];

describe.each(archives)('CheckpointArchive.latestAbove, %s', (_name, make) => {
  it('finds the largest archived size above the one asked, only in the org\'s own folder', async () => {
    const { archive, putRaw } = make();
    expect(await archive.latestAbove('org_a', -1)).toBeUndefined(); // nothing archived yet
    for (const size of [1, 2, 9, 10, 100, 255]) await archive.put(checkpointOf('org_a', size));
    await archive.put(checkpointOf('org_a2', 999)); // a folder whose name starts with the org's
    await archive.put(checkpointOf('org_b', 5000));
    putRaw(`checkpoints/org_a/notes.txt`, 'not a checkpoint'); // a foreign object in the folder is not one of ours
    expect((await archive.latestAbove('org_a', -1))?.tree_size).toBe(255);
    expect((await archive.latestAbove('org_a', 99))?.tree_size).toBe(255);
    expect((await archive.latestAbove('org_a', 254))?.tree_size).toBe(255);
    expect(await archive.latestAbove('org_a', 255)).toBeUndefined();
    expect(await archive.latestAbove('org_a', 10 ** 15)).toBeUndefined();
    expect(await archive.latestAbove('org_c', -1)).toBeUndefined();
    // An org id no checkpoint can carry (not one path segment) has none, and never reaches the store.
    for (const odd of ['', '../org_a', 'org_a/..', 'x'.repeat(65), 'org a']) expect(await archive.latestAbove(odd, -1)).toBeUndefined();
    expect(await archive.latestAbove('org_a', 254)).toMatchObject({ org_id: 'org_a', tree_size: 255, body: checkpointBody(checkpointOf('org_a', 255)) });
  });

  it('refuses an object under a checkpoint\'s key that leadlog did not write (or that names another size)', async () => {
    const { archive, putRaw } = make();
    await archive.put(checkpointOf('org_x', 3));
    const moved = JSON.stringify(checkpointOf('org_x', 3));
    putRaw(`checkpoints/org_x/${'7'.padStart(16, '0')}.json`, moved); // size 3's checkpoint under size 7's key
    await expect(archive.latestAbove('org_x', 0)).rejects.toThrow(/not a checkpoint leadlog wrote/);
    putRaw(`checkpoints/org_x/${'8'.padStart(16, '0')}.json`, '{"org_id":');
    await expect(archive.latestAbove('org_x', 7)).rejects.toThrow(/not a checkpoint leadlog wrote/);
  });
});

describe('S3CheckpointArchive.latestAbove, cost', () => {
  it('lists after the asked size: one page when the integrator asks from its last checkpoint', async () => {
    const bucket = fakeBucket(1000);
    const archive = new S3CheckpointArchive('b', bucket.client);
    for (let size = 1; size <= 50; size++) await archive.put(checkpointOf('org_a', size));
    expect((await archive.latestAbove('org_a', 49))?.tree_size).toBe(50);
    expect(bucket.lists).toEqual([{ Bucket: 'b', Prefix: 'checkpoints/org_a/', StartAfter: `checkpoints/org_a/${'49'.padStart(16, '0')}.json` }]);
  });
});
