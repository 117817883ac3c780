import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileInboxObjects, S3InboxObjects } from '../../shared/adapters/inbox-objects.js';
import { inboxKeyOrder, leadIdOfInboxKey } from '../../shared/domain/leadconduit/inbox.js';

/** What erasure's inbox phase stands on (section 9 over section 12): which lead a key names, and listing and deleting an org's objects. */
const L = '5f0c1a2b3c4d5e6f7a8b9c0d';

describe('leadIdOfInboxKey: the second-to-last segment of `<prefix>/<lead id>/<event id>.json`', () => {
  it('in every place an object can be, in AWS and locally', () => {
    for (const key of [
      `leadconduit/org_1/${L}/e1.json`, // waiting or ingested (tagged) in the bucket
      `leadconduit/org_1/flows/a/${L}/e1.json`, // a longer prefix pasted into LeadConduit
      `rejected/leadconduit/org_1/${L}/e1.json`, // a set-aside copy
      `rejected/leadconduit/org_1/${L}/e1.json.error.json`, // its reason
      `leadconduit/org_1/_ingested/${L}/e1.json`, // locally
      `leadconduit/org_1/_rejected/${L}/e1.json.error.json`,
      `leadconduit/org_1/${L}/.e1.json.swp`, // a writer's hidden partial file
    ]) expect(leadIdOfInboxKey(key), key).toBe(L);
  });

  it('as stored: no decoding, no case folding; nothing for keys without a lead segment or outside the inbox', () => {
    expect(leadIdOfInboxKey('leadconduit/org_1/ana%40example.com/e.json')).toBe('ana%40example.com');
    expect(leadIdOfInboxKey(`leadconduit/org_1/${L.toUpperCase()}/e.json`)).toBe(L.toUpperCase());
    for (const key of [
      'leadconduit/org_1/e1.json', 'leadconduit/org_1/leadconduit_verification_1.txt', 'leadconduit/org_1/_ingested/e1.json', 'leadconduit/org_1',
      `rejected/other/org_1/${L}/e.json`, `elsewhere/org_1/${L}/e.json`, `leadconduit/org_1//e.json`,
    ]) expect(leadIdOfInboxKey(key) || undefined, key).toBeUndefined();
  });

  it("orders keys as S3 lists them (UTF-8 bytes, not UTF-16 units)", () => {
    // U+FF5E sorts before U+1F600 in UTF-8 (EF … < F0 …) but after it in UTF-16 (FF5E > D83D).
    expect(inboxKeyOrder('a/\uff5e', 'a/\u{1f600}')).toBeLessThan(0);
    expect(['b', 'a/_x', 'a/0', 'a/z'].sort(inboxKeyOrder)).toEqual(['a/0', 'a/_x', 'a/z', 'b']);
  });
});

/** A bucket in memory that answers ListObjectsV2 (Prefix, MaxKeys, StartAfter, ContinuationToken) and DeleteObjects as S3 does. */
function fakeBucket(keys: string[], options: { failDeleteOf?: string; maxPerCall?: number } = {}) {
  const objects = new Set(keys);
  const calls: { name: string; input: Record<string, any> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, any> }) => {
      const { input } = command;
      calls.push({ name: command.constructor.name, input });
      if (command.constructor.name === 'ListObjectsV2Command') {
        const from = input.ContinuationToken ?? input.StartAfter;
        const all = [...objects].filter((key) => key.startsWith(input.Prefix) && (from === undefined || inboxKeyOrder(key, from) > 0)).sort(inboxKeyOrder);
        const max = Math.min(input.MaxKeys ?? 1000, options.maxPerCall ?? 1000);
        const page = all.slice(0, max);
        const truncated = all.length > max;
        return { Contents: page.map((Key) => ({ Key })), IsTruncated: truncated, ...(truncated ? { NextContinuationToken: page.at(-1) } : {}) };
      }
      if (command.constructor.name === 'DeleteObjectsCommand') {
        const asked = (input.Delete.Objects as { Key: string }[]).map((o) => o.Key);
        expect(asked.length).toBeLessThanOrEqual(1000);
        const errors = asked.filter((key) => key === options.failDeleteOf).map((Key) => ({ Key, Code: 'AccessDenied' }));
        for (const key of asked) if (key !== options.failDeleteOf) objects.delete(key);
        return errors.length > 0 ? { Errors: errors } : {};
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  };
  return { client: client as never, objects, calls };
}

describe('S3InboxObjects: an org listed and deleted', () => {
  const keys = [
    `leadconduit/org_1/${L}/a.json`, `leadconduit/org_1/${L}/b.json`, 'leadconduit/org_1/m/c.json', 'leadconduit/org_1/leadconduit_verification_1.txt',
    `rejected/leadconduit/org_1/${L}/d.json`, `rejected/leadconduit/org_1/${L}/d.json.error.json`,
    `leadconduit/org_10/${L}/x.json`, `rejected/leadconduit/org_10/${L}/y.json`, `leadconduit/org_2/${L}/z.json`, 'unrelated/key.json',
  ];
  const ofOrg1 = keys.filter((key) => key.includes('/org_1/')).sort(inboxKeyOrder);

  it('pages through both areas in key order, never another org (org_10 is not org_1), each position resuming where it stopped', async () => {
    const { client } = fakeBucket(keys);
    const s3 = new S3InboxObjects(client, 'inbox');
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await s3.listOrg('org_1', after, 2);
      expect(page.keys.length).toBeLessThanOrEqual(2);
      seen.push(...page.keys);
      after = page.next;
      pages += 1;
    } while (after !== undefined && pages < 10);
    expect(seen).toEqual(ofOrg1);
    expect(await s3.listOrg('org_1', undefined, 1000)).toEqual({ keys: ofOrg1 });
    // A position in rejected/ has passed leadconduit/: only what is after it there.
    expect((await s3.listOrg('org_1', `rejected/leadconduit/org_1/${L}/d.json`, 10)).keys).toEqual([`rejected/leadconduit/org_1/${L}/d.json.error.json`]);
    expect(await s3.listOrg('org_3', undefined, 10)).toEqual({ keys: [] });
  });

  it('follows S3 pages shorter than asked (continuation tokens) without losing or repeating a key', async () => {
    const many = Array.from({ length: 25 }, (_, i) => `leadconduit/org_1/${L}/${String(i).padStart(3, '0')}.json`);
    const { client, calls } = fakeBucket([...many, ...keys], { maxPerCall: 4 });
    const page = await new S3InboxObjects(client, 'inbox').listOrg('org_1', undefined, 1000);
    expect(page.keys).toEqual([...many, ...ofOrg1].sort(inboxKeyOrder));
    expect(calls.filter((c) => c.input.ContinuationToken !== undefined).length).toBeGreaterThan(5);
  });

  it('deletes in calls of at most 1,000 keys; a key S3 refused (200 with Errors) fails the call, so the phase runs again', async () => {
    const lots = Array.from({ length: 2_500 }, (_, i) => `leadconduit/org_1/${L}/${i}.json`);
    const { client, objects, calls } = fakeBucket(lots);
    await new S3InboxObjects(client, 'inbox').remove(lots);
    expect(objects.size).toBe(0);
    expect(calls.filter((c) => c.name === 'DeleteObjectsCommand').map((c) => c.input.Delete.Objects.length)).toEqual([1000, 1000, 500]);
    await new S3InboxObjects(client, 'inbox').remove(lots); // already gone: no error
    const refusing = fakeBucket(lots, { failDeleteOf: lots[1_700] });
    await expect(new S3InboxObjects(refusing.client, 'inbox').remove(lots)).rejects.toThrow(/1 of 1000 keys not deleted \(first: AccessDenied\)/);
    expect(refusing.objects.size).toBe(501); // the refused key and the batch never sent
  });
});

describe('FileInboxObjects: an org folder listed and deleted', () => {
  async function inbox() {
    const root = await mkdtemp(join(tmpdir(), 'inbox-erase-'));
    const put = async (key: string, body = '{}') => {
      await mkdir(join(root, key, '..'), { recursive: true });
      await writeFile(join(root, key), body);
    };
    return { root, put, files: new FileInboxObjects(root) };
  }

  it('lists every file of the org, hidden ones too, in key order with a position; never another org; never through a link', async () => {
    const { root, put, files } = await inbox();
    const ofOrg = [
      `leadconduit/org_1/${L}/a.json`, `leadconduit/org_1/${L}/.b.json.tmp`, `leadconduit/org_1/_ingested/${L}/c.json`,
      `leadconduit/org_1/_rejected/${L}/d.json`, `leadconduit/org_1/_rejected/${L}/d.json.error.json`, 'leadconduit/org_1/m/e.json',
    ];
    for (const key of [...ofOrg, `leadconduit/org_10/${L}/x.json`, `leadconduit/_rejected/${L}/y.json`]) await put(key);
    const outside = await mkdtemp(join(tmpdir(), 'inbox-outside-'));
    await writeFile(join(outside, 'secret.json'), '{}');
    await symlink(outside, join(root, 'leadconduit/org_1/linked'));
    const all = await files.listOrg('org_1', undefined, 1000);
    expect(all.keys).toEqual([...ofOrg, 'leadconduit/org_1/linked'].sort(inboxKeyOrder));
    const first = await files.listOrg('org_1', undefined, 2);
    expect(first).toEqual({ keys: all.keys.slice(0, 2), next: all.keys[1] });
    expect((await files.listOrg('org_1', first.next, 1000)).keys).toEqual(all.keys.slice(2));
    expect(await files.listOrg('org_9', undefined, 10)).toEqual({ keys: [] });
  });

  it('deletes the files, the folders that leaves empty (named by the lead id), never the org folder, a non-empty folder or a link target', async () => {
    const { root, put, files } = await inbox();
    const lead = [`leadconduit/org_1/${L}/a.json`, `leadconduit/org_1/_ingested/${L}/b.json`, `leadconduit/org_1/_rejected/${L}/c.json`];
    for (const key of [...lead, 'leadconduit/org_1/_ingested/m/d.json', `leadconduit/org_1/_rejected/${L}-other/e.json`]) await put(key);
    const outside = await mkdtemp(join(tmpdir(), 'inbox-outside-'));
    await writeFile(join(outside, 'target.json'), '{}');
    await symlink(join(outside, 'target.json'), join(root, `leadconduit/org_1/_rejected/${L}/link.json`));
    await files.remove([...lead, `leadconduit/org_1/_rejected/${L}/link.json`, `leadconduit/org_1/${L}/gone.json`]);
    expect((await readdir(join(root, 'leadconduit/org_1'), { recursive: true })).map(String).sort()).toEqual(
      ['_ingested', '_ingested/m', '_ingested/m/d.json', '_rejected', `_rejected/${L}-other`, `_rejected/${L}-other/e.json`],
    );
    expect(existsSync(join(outside, 'target.json'))).toBe(true);
    await files.remove(['leadconduit/org_1/_ingested/m/d.json']);
    expect(existsSync(join(root, 'leadconduit/org_1'))).toBe(true);
    await expect(files.remove(['leadconduit/org_1/../../escape.json'])).rejects.toThrow(/escapes/);
  });
});
