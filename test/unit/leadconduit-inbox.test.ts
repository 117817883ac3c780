import type { SQSEvent } from 'aws-lambda';
import { lstat, mkdir, mkdtemp, readFile, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeadConduitInboxWatcher } from '../../infra/local/leadconduit-inbox-watcher.js';
import { FileInboxObjects, S3InboxObjects } from '../../shared/adapters/inbox-objects.js';
import { INBOX_MAX_OBJECT_BYTES } from '../../shared/definitions/leadconduit-inbox.js';
import { ServiceUnavailableError, ValidationError } from '../../shared/domain/errors.js';
import type { LeadConduitItemResult } from '../../shared/domain/leadconduit/ingest.js';
import { INCOMPLETE_GRACE_MS, parseInboxKey, processInboxObject, type InboxMark, type InboxPorts } from '../../shared/domain/leadconduit/inbox.js';
import type { InboxObject, InboxObjects } from '../../shared/domain/ports.js';
import { createInboxHandler, decodeNotificationKey, parseNotification } from '../../shared/stream/inbox-handler.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const KEY = 'leadconduit/org_1/5f0c1a2b3c4d5e6f7a8b9c0d/5f0c1a2b3c4d5e6f7a8b9c0e.json';

/** The inbox in memory: what is there, what was set aside (with its reason) and what was marked. */
class MemoryInbox implements InboxObjects {
  readonly objects = new Map<string, { body: Uint8Array; modifiedMs: number }>();
  readonly aside = new Map<string, string>();
  readonly marked: string[] = [];
  readonly reads: string[] = [];
  constructor(readonly atomic = true) {}
  put(key: string, body: string | Uint8Array, modifiedMs = NOW - 60_000) {
    this.objects.set(key, { body: typeof body === 'string' ? new TextEncoder().encode(body) : body, modifiedMs });
  }
  async get(key: string, maxBytes: number): Promise<InboxObject | undefined> {
    this.reads.push(key);
    const object = this.objects.get(key);
    if (!object) return undefined;
    return object.body.byteLength > maxBytes ? { tooLarge: true, size: object.body.byteLength, modifiedMs: object.modifiedMs } : object;
  }
  async moveAside(key: string, reason: string) {
    this.aside.set(key, reason);
    this.objects.delete(key);
  }
  async markIngested(key: string) {
    this.marked.push(key);
  }
  async listOrg(orgId: string, after: string | undefined, limit: number) {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(`leadconduit/${orgId}/`) && (after === undefined || key > after)).sort();
    return keys.length > limit ? { keys: keys.slice(0, limit), next: keys[limit - 1]! } : { keys };
  }
  async remove(keys: readonly string[]) {
    for (const key of keys) this.objects.delete(key);
  }
}

function portsWith(inbox: InboxObjects, ingest: (objects: unknown[]) => LeadConduitItemResult[] | Promise<LeadConduitItemResult[]>) {
  const marks: { orgId: string; mark: InboxMark; uncounted: boolean }[] = [];
  const ingested: { orgId: string; objects: unknown[] }[] = [];
  const ports: InboxPorts = {
    objects: inbox,
    ingest: async (orgId, objects) => {
      ingested.push({ orgId, objects });
      return ingest(objects);
    },
    recordInbox: async (orgId, mark, uncounted = false) => void marks.push({ orgId, mark, uncounted }),
  };
  return { ports, marks, ingested };
}

const created = (): LeadConduitItemResult[] => [{ index: 0, status: 'created', id: 'ev-1' }];

describe('parseInboxKey: leadconduit/<org_id>/<anything>/<event id>.json', () => {
  it('takes the org from the key', () => {
    expect(parseInboxKey(KEY)).toEqual({ kind: 'event', orgId: 'org_1' });
    expect(parseInboxKey('leadconduit/org-2/a/b/c/d.JSON')).toEqual({ kind: 'event', orgId: 'org-2' });
  });

  it("skips LeadConduit's credential checks (.txt), wherever under the org", () => {
    expect(parseInboxKey('leadconduit/org_1/leadconduit_verification_1700000000.txt')).toMatchObject({ kind: 'skip', orgId: 'org_1' });
    expect(parseInboxKey('leadconduit/org_1/x/CHECK.TXT')).toMatchObject({ kind: 'skip' });
  });

  it('rejects keys without a valid org, with too few parts, or not .json', () => {
    for (const key of ['leadconduit/org 1/a/b.json', 'leadconduit//a/b.json', 'leadconduit/org.1/a/b.json', `leadconduit/${'o'.repeat(65)}/a/b.json`, 'leadconduit/ørg/a/b.json']) {
      const parsed = parseInboxKey(key);
      expect(parsed, key).toMatchObject({ kind: 'reject' });
      expect(parsed.orgId, key).toBeUndefined();
    }
    expect(parseInboxKey('leadconduit/org_1/b.json')).toMatchObject({ kind: 'reject', orgId: 'org_1', reason: expect.stringContaining('<anything>') });
    expect(parseInboxKey('leadconduit/org_1/a/')).toMatchObject({ kind: 'reject', orgId: 'org_1' });
    expect(parseInboxKey('leadconduit/org_1/a/b.csv')).toMatchObject({ kind: 'reject', orgId: 'org_1', reason: expect.stringContaining('.json') });
    expect(parseInboxKey('other/org_1/a/b.json')).toMatchObject({ kind: 'reject' });
    expect(parseInboxKey('leadconduit/org_1')).toMatchObject({ kind: 'reject' });
  });
});

describe('S3 notification keys', () => {
  it('decodes keys as S3 encodes them in notifications (form encoding: + is a space)', () => {
    expect(decodeNotificationKey('leadconduit/org_1/lead+one/a%2Bb.json')).toBe('leadconduit/org_1/lead one/a+b.json');
    expect(decodeNotificationKey('leadconduit/org_1/Jos%C3%A9/%F0%9F%98%80.json')).toBe('leadconduit/org_1/José/😀.json');
    expect(decodeNotificationKey('leadconduit/org_1/a%25b/x.json')).toBe('leadconduit/org_1/a%b/x.json');
    expect(() => decodeNotificationKey('leadconduit/org_1/%E0%A4%A/x.json')).toThrow(URIError);
    expect(() => decodeNotificationKey('leadconduit/org_1/%ED%A0%80/x.json')).toThrow(URIError); // a lone surrogate's UTF-8
  });

  it('parses a notification: ObjectCreated records with their decoded keys; the test event; anything else throws', () => {
    const body = JSON.stringify({ Records: [
      { eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'inbox' }, object: { key: 'leadconduit/org_1/l+1/e.json', size: 10 } } },
      { eventSource: 'aws:s3', eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'inbox' }, object: { key: 'leadconduit/org_1/l/gone.json' } } },
    ] });
    expect(parseNotification(body)).toEqual({ kind: 'objects', objects: [{ bucket: 'inbox', key: 'leadconduit/org_1/l 1/e.json' }] });
    expect(parseNotification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-03-01T12:00:00Z', Bucket: 'inbox' }))).toEqual({ kind: 'test' });
    expect(() => parseNotification('not json')).toThrow();
    expect(() => parseNotification('{"Records":"x"}')).toThrow(/Records/);
    expect(() => parseNotification(JSON.stringify({ Records: [{ eventSource: 'aws:sqs' }] }))).toThrow(/not an S3 record/);
    expect(() => parseNotification(JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' } } }] }))).toThrow(/key/);
  });
});

describe('processInboxObject', () => {
  it('ingests an event object with the org from its key, marks it ingested and records the key', async () => {
    const inbox = new MemoryInbox();
    inbox.put(KEY, '\uFEFF{"id":"5f0c1a2b3c4d5e6f7a8b9c0e","type":"source","big":12345678901234567890}');
    const { ports, marks, ingested } = portsWith(inbox, created);
    expect(await processInboxObject(ports, KEY, NOW)).toEqual({ outcome: 'created', orgId: 'org_1', id: 'ev-1' });
    expect(ingested).toHaveLength(1);
    expect(ingested[0]!.orgId).toBe('org_1');
    // Digits kept as written (lossless JSON, as the API route parses); the BOM dropped.
    expect(JSON.stringify(ingested[0]!.objects[0])).toBe('{"id":"5f0c1a2b3c4d5e6f7a8b9c0e","type":"source","big":12345678901234567890}');
    expect(inbox.marked).toEqual([KEY]);
    expect(inbox.aside.size).toBe(0);
    expect(marks).toEqual([{ orgId: 'org_1', mark: { last_key: KEY, last_error: null }, uncounted: false }]);
  });

  it('a duplicate (a redelivered notification, the same event by the pull) is marked ingested too', async () => {
    const inbox = new MemoryInbox();
    inbox.put(KEY, '{}');
    const { ports } = portsWith(inbox, () => [{ index: 0, status: 'duplicate', id: 'ev-1' }]);
    expect(await processInboxObject(ports, KEY, NOW)).toMatchObject({ outcome: 'duplicate', id: 'ev-1' });
    expect(inbox.marked).toEqual([KEY]);
  });

  it('sets an object that is not an event aside with the ingest\'s reason (the ingest counted it)', async () => {
    const inbox = new MemoryInbox();
    inbox.put(KEY, '{"hello":"world"}');
    const { ports, marks } = portsWith(inbox, () => [{ index: 0, status: 'invalid', problem: new ValidationError([{ path: 'id', message: 'is required' }]) }]);
    const outcome = await processInboxObject(ports, KEY, NOW);
    expect(outcome).toMatchObject({ outcome: 'rejected', orgId: 'org_1' });
    expect(inbox.aside.get(KEY)).toBe('not a LeadConduit event: 1 invalid field: id: is required');
    expect(inbox.objects.has(KEY)).toBe(false);
    expect(marks).toEqual([{ orgId: 'org_1', mark: { last_key: KEY, last_error: inbox.aside.get(KEY) }, uncounted: false }]);
  });

  it('sets aside what is not JSON, not UTF-8, empty or too deep, never reaching the ingest, and counts it', async () => {
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['a', '{"id": "5f0c", "email": "ana@example.com"', /^not valid JSON/],
      ['b', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), /^not valid UTF-8$/],
      ['c', '   \n', /^empty/],
      ['d', '['.repeat(300) + ']'.repeat(300), /deeper/],
      ['e', 'ana@example.com', /^not valid JSON/],
    ];
    for (const [name, body, reason] of cases) {
      const inbox = new MemoryInbox();
      const key = `leadconduit/org_1/l/${name}.json`;
      inbox.put(key, body);
      const { ports, marks, ingested } = portsWith(inbox, created);
      expect(await processInboxObject(ports, key, NOW), name).toMatchObject({ outcome: 'rejected', orgId: 'org_1' });
      expect(inbox.aside.get(key), name).toMatch(reason);
      // The reason never quotes the object (it is shown by the status route without pii:read).
      expect(inbox.aside.get(key), name).not.toMatch(/ana|example/);
      expect(ingested, name).toHaveLength(0);
      expect(marks[0]!.uncounted, name).toBe(true);
    }
  });

  it('sets an object over 1 MB aside unread', async () => {
    const inbox = new MemoryInbox();
    inbox.put(KEY, `{"id":"${'x'.repeat(INBOX_MAX_OBJECT_BYTES)}"}`);
    const { ports, ingested } = portsWith(inbox, created);
    expect(await processInboxObject(ports, KEY, NOW)).toMatchObject({ outcome: 'rejected' });
    expect(inbox.aside.get(KEY)).toMatch(/larger than 1048576 bytes/);
    expect(ingested).toHaveLength(0);
    // Exactly 1 MB is still read.
    const exact = new MemoryInbox();
    const body = `{"a":"${'x'.repeat(INBOX_MAX_OBJECT_BYTES - 8)}"}`;
    expect(Buffer.byteLength(body)).toBe(INBOX_MAX_OBJECT_BYTES);
    exact.put(KEY, body);
    expect(await processInboxObject(portsWith(exact, created).ports, KEY, NOW)).toMatchObject({ outcome: 'created' });
  });

  it('skips .txt (never read, marked so it expires) and sets bad keys aside without an org to record', async () => {
    const inbox = new MemoryInbox();
    const txt = 'leadconduit/org_1/leadconduit_verification_1.txt';
    inbox.put(txt, 'ok');
    inbox.put('leadconduit/bad org/l/e.json', '{}');
    const { ports, marks, ingested } = portsWith(inbox, created);
    expect(await processInboxObject(ports, txt, NOW)).toMatchObject({ outcome: 'skipped' });
    expect(inbox.reads).toEqual([]);
    expect(inbox.marked).toEqual([txt]);
    expect(await processInboxObject(ports, 'leadconduit/bad org/l/e.json', NOW)).toMatchObject({ outcome: 'rejected' });
    expect(inbox.aside.get('leadconduit/bad org/l/e.json')).toMatch(/no org id/);
    expect(marks).toEqual([]);
    expect(ingested).toEqual([]);
  });

  it('an object already handled (gone) is nothing to do', async () => {
    const { ports, ingested } = portsWith(new MemoryInbox(), created);
    expect(await processInboxObject(ports, KEY, NOW)).toEqual({ outcome: 'gone' });
    expect(ingested).toEqual([]);
  });

  it("a store fault propagates and leaves the object where it is (retried; never lost)", async () => {
    const inbox = new MemoryInbox();
    inbox.put(KEY, '{"id":"x"}');
    const fault = new ServiceUnavailableError('DynamoDB throttled');
    const { ports } = portsWith(inbox, () => [{ index: 0, status: 'error', fault }]);
    await expect(processInboxObject(ports, KEY, NOW)).rejects.toBe(fault);
    expect(inbox.objects.has(KEY)).toBe(true);
    expect(inbox.marked).toEqual([]);
    expect(inbox.aside.size).toBe(0);
    const throwing = portsWith(inbox, () => Promise.reject(new Error('connection reset'))).ports;
    await expect(processInboxObject(throwing, KEY, NOW)).rejects.toThrow('connection reset');
    expect(inbox.objects.has(KEY)).toBe(true);
  });

  it('a local file that does not parse yet and changed moments ago is pending; once quiet, it is judged', async () => {
    const inbox = new MemoryInbox(false);
    inbox.put(KEY, '{"id":"5f0c1a2b3c4d5e6f7a8b9c0e","ty', NOW - 2_000);
    const { ports } = portsWith(inbox, created);
    expect(await processInboxObject(ports, KEY, NOW)).toEqual({ outcome: 'pending' });
    expect(inbox.objects.has(KEY)).toBe(true);
    expect(await processInboxObject(ports, KEY, NOW + INCOMPLETE_GRACE_MS)).toMatchObject({ outcome: 'rejected' });
    // An S3 object is whole when it exists: judged at once.
    const s3 = new MemoryInbox(true);
    s3.put(KEY, '{"id":', NOW - 10);
    expect(await processInboxObject(portsWith(s3, created).ports, KEY, NOW)).toMatchObject({ outcome: 'rejected' });
  });
});

describe('the inbox function (SQS batch of S3 notifications)', () => {
  const notification = (key: string, bucket = 'inbox') =>
    JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+') } } }] });
  const batch = (...bodies: string[]): SQSEvent => ({ Records: bodies.map((body, i) => ({ messageId: `m${i}`, body }) as SQSEvent['Records'][number]) });

  it('reports only the message that failed; the test event and the others succeed', async () => {
    const inbox = new MemoryInbox();
    const keys = ['leadconduit/org_1/l/good.json', 'leadconduit/org_1/l/flaky.json', 'leadconduit/org_1/lead one/spaced.json', 'leadconduit/org_1/l/bad.json'];
    inbox.put(keys[0]!, '{"id":"good"}');
    inbox.put(keys[1]!, '{"id":"flaky"}');
    inbox.put(keys[2]!, '{"id":"spaced"}');
    inbox.put(keys[3]!, 'not json');
    const { ports } = portsWith(inbox, (objects) => {
      if ((objects[0] as { id: string }).id === 'flaky') return [{ index: 0, status: 'error', fault: new ServiceUnavailableError('throttled') }];
      return created();
    });
    const handler = createInboxHandler({ ports, bucket: 'inbox', now: () => NOW });
    const response = await handler(batch(
      notification(keys[0]!), notification(keys[1]!), JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }), notification(keys[2]!), notification(keys[3]!),
      'garbage', notification('leadconduit/org_1/l/other.json', 'someone-elses-bucket'),
    ));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm5', 'm6']);
    expect(inbox.marked.sort()).toEqual([keys[0]!, keys[2]!].sort());
    expect([...inbox.aside.keys()]).toEqual([keys[3]!]);
    expect(inbox.objects.has(keys[1]!)).toBe(true); // the failed one stays for its retry
  });
});

describe('FileInboxObjects (the local inbox)', () => {
  it('moves set-aside files to <org>/_rejected/ with the reason beside, ingested ones to <org>/_ingested/', async () => {
    const root = await mkdtemp(join(tmpdir(), 'inbox-unit-'));
    const files = new FileInboxObjects(root, () => NOW);
    const dir = join(root, 'leadconduit', 'org_1', 'lead');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.json'), '{"a":1}');
    await writeFile(join(dir, 'b.json'), '{"b":1}');
    const got = await files.get('leadconduit/org_1/lead/a.json', 100);
    expect(got && 'body' in got && Buffer.from(got.body).toString()).toBe('{"a":1}');
    expect(await files.get('leadconduit/org_1/lead/a.json', 3)).toMatchObject({ tooLarge: true, size: 7 });
    await files.moveAside('leadconduit/org_1/lead/a.json', 'not a LeadConduit event');
    expect(await readFile(join(root, 'leadconduit/org_1/_rejected/lead/a.json'), 'utf8')).toBe('{"a":1}');
    expect(JSON.parse(await readFile(join(root, 'leadconduit/org_1/_rejected/lead/a.json.error.json'), 'utf8'))).toEqual({
      key: 'leadconduit/org_1/lead/a.json', reason: 'not a LeadConduit event', rejected_at: new Date(NOW).toISOString(),
    });
    await files.markIngested('leadconduit/org_1/lead/b.json');
    expect(await readdir(join(root, 'leadconduit/org_1/_ingested/lead'))).toEqual(['b.json']);
    expect(await readdir(dir)).toEqual([]);
    // Repeats are harmless; a missing file is gone.
    await files.markIngested('leadconduit/org_1/lead/b.json');
    await files.moveAside('leadconduit/org_1/lead/a.json', 'again');
    expect(await files.get('leadconduit/org_1/lead/a.json', 100)).toBeUndefined();
  });

  it('never follows a link out of the inbox, and refuses keys that climb out', async () => {
    const root = await mkdtemp(join(tmpdir(), 'inbox-unit-'));
    const files = new FileInboxObjects(root);
    await mkdir(join(root, 'leadconduit/org_1/l'), { recursive: true });
    const secret = join(root, '..', `secret-${process.pid}.json`);
    await writeFile(secret, '{"secret":1}');
    await symlink(secret, join(root, 'leadconduit/org_1/l/link.json'));
    await expect(files.get('leadconduit/org_1/l/link.json', 100)).rejects.toThrow();
    expect((await lstat(join(root, 'leadconduit/org_1/l/link.json'))).isSymbolicLink()).toBe(true);
    expect(() => files.pathOf('leadconduit/../../etc/passwd')).toThrow(/escapes/);
    expect(() => files.pathOf('leadconduit/org_1/./x.json')).toThrow(/escapes/);
  });
});

describe('S3InboxObjects', () => {
  it('copies aside (CopySource URL-encoded), writes the reason, and deletes the original only after both', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const client = { send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => void sent.push({ name: command.constructor.name, input: command.input }) };
    const s3 = new S3InboxObjects(client as never, 'inbox', () => NOW);
    await s3.moveAside('leadconduit/org_1/José Silva/a+b.json', 'why');
    expect(sent.map((s) => s.name)).toEqual(['CopyObjectCommand', 'PutObjectCommand', 'DeleteObjectCommand']);
    expect(sent[0]!.input).toMatchObject({ Bucket: 'inbox', Key: 'rejected/leadconduit/org_1/José Silva/a+b.json', CopySource: 'inbox/leadconduit/org_1/Jos%C3%A9%20Silva/a%2Bb.json' });
    expect(sent[1]!.input).toMatchObject({ Key: 'rejected/leadconduit/org_1/José Silva/a+b.json.error.json' });
    expect(JSON.parse(sent[1]!.input.Body as string)).toMatchObject({ reason: 'why' });
    expect(sent[2]!.input).toEqual({ Bucket: 'inbox', Key: 'leadconduit/org_1/José Silva/a+b.json' });
  });

  it('a copy that fails leaves the original; an object already gone is nothing to move; tags mark ingested ones', async () => {
    const sent: string[] = [];
    let fail: unknown;
    const client = { send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push(command.constructor.name);
      if (fail) throw fail;
      return command.constructor.name === 'PutObjectTaggingCommand' ? {} : undefined;
    } };
    const s3 = new S3InboxObjects(client as never, 'inbox');
    fail = new ServiceUnavailableError('slow down');
    await expect(s3.moveAside(KEY, 'r')).rejects.toThrow('slow down');
    expect(sent).toEqual(['CopyObjectCommand']);
    fail = Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    sent.length = 0;
    await s3.moveAside(KEY, 'r');
    await s3.markIngested(KEY);
    expect(await s3.get(KEY, 10)).toBeUndefined();
    expect(sent).toEqual(['CopyObjectCommand', 'PutObjectTaggingCommand', 'GetObjectCommand']);
  });
});

describe('the local watcher (one pass at a time)', () => {
  it('takes only quiet regular files: never hidden ones, links or its own folders; deletes ingested files after 7 days', async () => {
    const root = await mkdtemp(join(tmpdir(), 'inbox-watch-'));
    const org = join(root, 'leadconduit', 'org_1');
    await mkdir(join(org, 'lead'), { recursive: true });
    await mkdir(join(org, '_ingested', 'old-lead'), { recursive: true });
    await mkdir(join(org, '_rejected', 'lead'), { recursive: true });
    await writeFile(join(org, 'lead', 'e.json'), '{"id":"e"}');
    await writeFile(join(org, 'lead', '.e2.json.part'), '{"id":"e2"}');
    await symlink(join(org, 'lead', 'e.json'), join(org, 'lead', 'link.json'));
    await writeFile(join(org, '_rejected', 'lead', 'r.json'), '{"id":"r"}');
    await writeFile(join(org, '_ingested', 'old-lead', 'old.json'), '{}');
    await writeFile(join(org, '_ingested', 'kept.json'), '{}');
    const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
    await utimes(join(org, '_ingested', 'old-lead', 'old.json'), eightDaysAgo, eightDaysAgo);
    const seen: string[] = [];
    const files = new FileInboxObjects(root);
    const ports: InboxPorts = {
      objects: files,
      ingest: async (_orgId, objects) => {
        seen.push((objects[0] as { id: string }).id);
        return created();
      },
      recordInbox: async () => undefined,
    };
    let now = Date.now();
    const watcher = new LeadConduitInboxWatcher({ root, ports, settleMs: 1000, now: () => now });
    await watcher.sweep(); // first sight: nothing is taken yet
    expect(seen).toEqual([]);
    now += 500;
    await watcher.sweep(); // unchanged but younger than the settle time (its mtime is the real clock's)
    now = Date.now() + 2_000;
    await watcher.sweep();
    expect(seen).toEqual(['e']);
    expect(await readdir(join(org, 'lead'))).toEqual(['.e2.json.part', 'link.json']);
    expect((await lstat(join(org, 'lead', 'link.json'))).isSymbolicLink()).toBe(true);
    expect(await readdir(join(org, '_rejected', 'lead'))).toEqual(['r.json']);
    // The expired ingested file and the folder it leaves empty are gone; the fresh ones stay.
    expect((await readdir(join(org, '_ingested'))).sort()).toEqual(['kept.json', 'lead']);
  });
});
