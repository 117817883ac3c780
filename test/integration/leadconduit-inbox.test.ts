import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadConduitInboxPorts } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import type { InboxOutcome } from '../../shared/domain/leadconduit/inbox.js';
import { LeadConduitInboxWatcher } from '../../infra/local/leadconduit-inbox-watcher.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * The local Event Streaming inbox as `npm start` runs it: the watcher (default timings: 1 s passes, 1 s settle) over a
 * temporary `.data/inbox`, the real LeadConduit ingest over the run's DynamoDB Local, and the API to read the result.
 */
let api: TestApi;
let root: string;
let watcher: LeadConduitInboxWatcher;
const outcomes: { key: string; outcome: InboxOutcome; atMs: number }[] = [];
const errors: { key: string; error: Error }[] = [];

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/leadconduit/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const newLeadConduitId = () => randomBytes(12).toString('hex');

beforeAll(async () => {
  api = await startTestApi();
  root = await mkdtemp(join(tmpdir(), 'leadlog-inbox-'));
  watcher = new LeadConduitInboxWatcher({
    root,
    ports: leadConduitInboxPorts(api.deps, new FileInboxObjects(root)),
    onOutcome: (key, outcome) => outcomes.push({ key, outcome, atMs: Date.now() }),
    onError: (key, error) => errors.push({ key, error }),
  });
  watcher.start();
});
afterAll(async () => {
  await watcher.stop();
  await api.close();
});

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const outcomeOf = (key: string) => outcomes.find((o) => o.key === key);

describe('the local LeadConduit inbox (.data/inbox/leadconduit/<org_id>/)', () => {
  it('ingests a dropped event file within 5 s: visible through the API, moved to _ingested/, counted', async () => {
    const { orgId, key: apiKey } = await api.newOrg();
    const event: Record<string, unknown> = { ...fixture('source-success'), id: newLeadConduitId() };
    const leadId = (event.vars as { lead: { id: string } }).lead.id;
    const key = `leadconduit/${orgId}/${leadId}/${event.id}.json`;
    await mkdir(join(root, 'leadconduit', orgId, leadId), { recursive: true });
    const dropped = Date.now();
    await writeFile(join(root, key), JSON.stringify(event));

    const stored = await until('the event readable through the API', async () => {
      const id = outcomeOf(key)?.outcome;
      if (!id || !('id' in id) || !id.id) return undefined;
      const response = await api.request('GET', `/v1/events/${id.id}`, { key: apiKey });
      return response.status === 200 ? response.body : undefined;
    }, 5_000);
    expect(Date.now() - dropped).toBeLessThan(5_000);
    expect(outcomeOf(key)!.outcome).toMatchObject({ outcome: 'created', orgId });
    expect(stored).toMatchObject({ org_id: orgId, source: 'leadconduit', event_type: 'source.accepted', external_event_id: event.id, lead_id: leadId });
    expect(existsSync(join(root, key))).toBe(false);
    expect(await readFile(join(root, 'leadconduit', orgId, '_ingested', leadId, `${event.id}.json`), 'utf8')).toBe(JSON.stringify(event));
    const status = await api.deps.leadconduitStatus.status(orgId);
    expect(status.inbox).toMatchObject({ created: 1, duplicate: 0, invalid: 0, last_key: key });
    expect(status.inbox.last_error ?? null).toBeNull();

    // The same event again (a redelivery, or LeadConduit writing it twice): one stored event, a duplicate.
    const again = `leadconduit/${orgId}/${leadId}/copy-${event.id}.json`;
    await writeFile(join(root, again), JSON.stringify(event));
    await until('the copy handled', () => outcomeOf(again), 6_000);
    expect(outcomeOf(again)!.outcome).toMatchObject({ outcome: 'duplicate', id: (outcomeOf(key)!.outcome as { id: string }).id });
    expect(errors).toEqual([]);
  });

  it('moves what is not an event aside with its reason beside it and skips credential checks', async () => {
    const { orgId } = await api.newOrg();
    const dir = join(root, 'leadconduit', orgId, 'lead-x');
    await mkdir(dir, { recursive: true });
    const notEvent = `leadconduit/${orgId}/lead-x/hello.json`;
    const garbage = `leadconduit/${orgId}/lead-x/garbage.json`;
    const check = `leadconduit/${orgId}/leadconduit_verification_1764950400.txt`;
    const noLayout = `leadconduit/${orgId}/flat.json`;
    await writeFile(join(root, notEvent), JSON.stringify({ hello: 'world', email: 'ana@example.com' }));
    await writeFile(join(root, garbage), 'this is not JSON');
    // Quiet for long enough already: a file that does not parse is judged once unchanged for 10 s.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(root, garbage), old, old);
    await writeFile(join(root, check), 'LeadConduit checks it may write here');
    await writeFile(join(root, noLayout), JSON.stringify(fixture('source-success')));
    // A name that is not an event's waits 10 s of quiet too (a writer's temporary name): this one is older.
    await utimes(join(root, noLayout), old, old);

    await until('all four handled', () => ([notEvent, garbage, check, noLayout].every(outcomeOf) ? true : undefined), 6_000);
    const reasonOf = async (rest: string) => JSON.parse(await readFile(join(root, 'leadconduit', orgId, '_rejected', `${rest}.error.json`), 'utf8')) as { key: string; reason: string };
    expect(await reasonOf('lead-x/hello.json')).toMatchObject({ key: notEvent, reason: expect.stringMatching(/^not a LeadConduit event: /) });
    expect(await readFile(join(root, 'leadconduit', orgId, '_rejected', 'lead-x', 'hello.json'), 'utf8')).toContain('"hello"');
    expect((await reasonOf('lead-x/garbage.json')).reason).toMatch(/^not valid JSON/);
    expect((await reasonOf('lead-x/garbage.json')).reason).not.toContain('this'); // the reason never quotes the file
    expect((await reasonOf('flat.json')).reason).toMatch(/expected leadconduit\/<org_id>\/<anything>\/<event id>\.json/);
    expect(outcomeOf(check)!.outcome).toMatchObject({ outcome: 'skipped' });
    expect(await readdir(join(root, 'leadconduit', orgId, '_ingested'))).toEqual(['leadconduit_verification_1764950400.txt']);
    expect(await readdir(dir)).toEqual([]);
    // Counted as invalid, the last reason shown.
    const status = await api.deps.leadconduitStatus.status(orgId);
    expect(status.inbox).toMatchObject({ created: 0, invalid: 3 });
    expect(status.inbox.last_error).toBeTruthy();
  });

  it('a file written slowly in two parts (a pause longer than the settle time) is read whole, never set aside half', async () => {
    const { orgId, key: apiKey } = await api.newOrg();
    const event: Record<string, unknown> = { ...fixture('recipient-success'), id: newLeadConduitId() };
    const leadId = (event.vars as { lead: { id: string } }).lead.id;
    const key = `leadconduit/${orgId}/${leadId}/${event.id}.json`;
    await mkdir(join(root, 'leadconduit', orgId, leadId), { recursive: true });
    const text = JSON.stringify(event);
    const half = Math.floor(text.length / 2);
    const file = await open(join(root, key), 'w');
    await file.write(text.slice(0, half));
    await file.sync();
    // The watcher sees the half file quiet for 3 s: it must not be ingested nor set aside.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(outcomeOf(key)).toBeUndefined();
    expect(existsSync(join(root, key))).toBe(true);
    await file.write(text.slice(half));
    await file.close();

    await until('the whole file ingested', () => outcomeOf(key), 5_000);
    const outcome = outcomeOf(key)!.outcome as { outcome: string; id: string };
    expect(outcome.outcome).toBe('created');
    const raw = await api.request('GET', `/v1/events/${outcome.id}`, { key: apiKey });
    expect(raw.status).toBe(200);
    expect(raw.body.external_event_id).toBe(event.id);
    expect(existsSync(join(root, 'leadconduit', orgId, '_rejected'))).toBe(false);
  });
  it('an event posted to the API first and then streamed to the inbox is stored once; the status route shows the inbox', async () => {
    const { orgId, key: apiKey } = await api.newOrg();
    const event: Record<string, unknown> = { ...fixture('filter-stop'), id: newLeadConduitId() };
    const posted = await api.request('POST', '/v1/integrations/leadconduit/events', { key: apiKey, body: event });
    expect(posted.status).toBe(200);
    expect(posted.body.results[0]).toMatchObject({ status: 'created' });
    const key = `leadconduit/${orgId}/some-lead/${event.id}.json`;
    await mkdir(join(root, 'leadconduit', orgId, 'some-lead'), { recursive: true });
    await writeFile(join(root, key), JSON.stringify(event));
    await until('the streamed copy handled', () => outcomeOf(key), 6_000);
    expect(outcomeOf(key)!.outcome).toEqual({ outcome: 'duplicate', orgId, id: posted.body.results[0].id });
    const status = await api.request('GET', '/v1/integrations/leadconduit/status', { key: apiKey });
    expect(status.status).toBe(200);
    expect(status.body.api).toMatchObject({ created: 1 });
    expect(status.body.inbox).toMatchObject({ created: 0, duplicate: 1, invalid: 0, last_key: key });
  });
});
