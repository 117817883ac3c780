import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadConduitPullPorts } from '../../shared/adapters/container.js';
import { LeadConduitApiClient } from '../../shared/adapters/leadconduit-api-client.js';
import { LeadConduitRefusedError } from '../../shared/domain/errors.js';
import { eventIdFor } from '../../shared/domain/ids.js';
import { leadConduitIdTimeMs, PULL_OVERLAP_MS, pullLeadConduit, pullScheduledOrgs, type PullOptions } from '../../shared/domain/leadconduit/pull.js';
import type { LeadConduitApi } from '../../shared/domain/ports.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { generateLeadConduitEvents, leadIdOf, objectIdAt, startLeadConduitApi, type LeadConduitStandIn } from '../support/leadconduit-api.js';

let api: TestApi;
let lc: LeadConduitStandIn;

beforeAll(async () => {
  api = await startTestApi();
  lc = await startLeadConduitApi();
});
afterAll(async () => {
  await lc?.close();
  await api?.close();
  expect(lc.drift).toEqual([]);
});

const client = (options: Partial<ConstructorParameters<typeof LeadConduitApiClient>[0]> = {}) =>
  new LeadConduitApiClient({ baseUrl: lc.url, apiKey: lc.apiKey, retries: 0, backoffMs: 1, ...options });
const ports = (leadconduit: LeadConduitApi = client()) => ({ ...leadConduitPullPorts(api.deps), api: leadconduit });
const pull = (orgId: string, options: Partial<PullOptions> = {}, leadconduit?: LeadConduitApi) =>
  pullLeadConduit(ports(leadconduit), { orgId, owner: randomUUID(), leaseMs: 60_000, pageLimit: 40, ...options });

/** Each org reads only its own LeadConduit events: a stand-in per test would do too, but ids are unique across tests. */
async function orgWith(count: number, startMs: number): Promise<{ orgId: string; key: string; events: Record<string, unknown>[]; lc: LeadConduitStandIn }> {
  const { orgId, key } = await api.newOrg(['events:read', 'pii:read']);
  const own = await startLeadConduitApi();
  const events = generateLeadConduitEvents(count, { startMs, writers: 3 });
  own.publish(events);
  return { orgId, key, events, lc: own };
}

const stored = async (orgId: string, lcId: string) => api.deps.events.get(orgId, eventIdFor(orgId, 'leadconduit', lcId), Date.now());
const maxId = (events: Record<string, unknown>[]) => events.map((e) => e.id as string).sort().at(-1)!;

describe('the stand-in answers as LeadConduit does (OpenAPI paths./events and the live API the tap met)', () => {
  it('refuses a request without Accept: application/json (403), a wrong key (401 NotAuthorized); a bare JSON array otherwise', async () => {
    lc.publish(generateLeadConduitEvents(3, { startMs: Date.now() - 60_000 }));
    const basic = (key: string) => `Basic ${Buffer.from(`API:${key}`).toString('base64')}`;
    const noAccept = await fetch(`${lc.url}/events?sort=asc`, { headers: { authorization: basic(lc.apiKey) } });
    expect(noAccept.status).toBe(403);
    expect(await noAccept.json()).toEqual({ error: 'misconfigured csrf: check Accept header is set properly' });
    const htmlAccept = await fetch(`${lc.url}/events`, { headers: { authorization: basic(lc.apiKey), accept: 'text/html' } });
    expect(htmlAccept.status).toBe(403);
    const wrongKey = await fetch(`${lc.url}/events`, { headers: { authorization: basic('not-the-key'), accept: 'application/json' } });
    expect(wrongKey.status).toBe(401);
    expect(await wrongKey.json()).toEqual({ error: 'not authorized' });
    const ok = await fetch(`${lc.url}/events?sort=asc&limit=2`, { headers: { authorization: basic(lc.apiKey), accept: 'application/json' } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { id: string }[];
    expect(body).toHaveLength(2);
    expect(body[0]!.id < body[1]!.id).toBe(true);
    for (const [query, status] of [['limit=0', 400], ['limit=1001', 400], ['sort=up', 400], ['after_id=xyz', 400], ['start=yesterday', 400]] as const) {
      expect((await fetch(`${lc.url}/events?${query}`, { headers: { authorization: basic(lc.apiKey), accept: 'application/json' } })).status, query).toBe(status);
    }
  });

  it('the client always sends Accept: application/json and Basic auth with user API; a refused key is LeadConduitRefusedError at once', async () => {
    const before = lc.requests.length;
    await client().page({ limit: 5, sort: 'asc' });
    await expect(client({ apiKey: 'wrong', retries: 3 }).page({ limit: 5, sort: 'asc' })).rejects.toBeInstanceOf(LeadConduitRefusedError);
    const made = lc.requests.slice(before);
    expect(made.map((r) => r.status)).toEqual([200, 401]); // no retry of a refusal
    expect(made.every((r) => r.accept === 'application/json')).toBe(true);
  });

  it('retries a 500 and a dropped connection, honours Retry-After on a 429, and gives up with a 503-class error', async () => {
    const waits: number[] = [];
    const patient = client({ retries: 3, sleep: async (ms) => void waits.push(ms) });
    lc.failRequest(1, 500);
    lc.failRequest(2, 'drop');
    lc.failRequest(3, { status: 429, retryAfter: '7' });
    const page = await patient.page({ limit: 2, sort: 'asc' });
    expect(page).toHaveLength(2);
    expect(waits).toHaveLength(3);
    expect(waits[2]).toBe(7000);
    for (let n = 1; n <= 2; n++) lc.failRequest(n, 500);
    await expect(client({ retries: 1 }).page({ limit: 2, sort: 'asc' })).rejects.toThrow(/stayed unavailable after 2 attempts/);
  });
});

describe('npm run leadconduit -- pull', () => {
  it('pulls every event, in pages, into the lead timelines (types mapped, timeline order), position at the newest id', async () => {
    const own = await orgWith(130, Date.now() - 3 * 3600_000);
    const outcome = await pull(own.orgId, {}, new LeadConduitApiClient({ baseUrl: own.lc.url, apiKey: own.lc.apiKey }));
    expect(outcome).toMatchObject({ status: 'done', created: 130, duplicate: 0, invalid: 0, pages: 4, afterId: maxId(own.events) });
    for (const event of own.events) expect(await stored(own.orgId, event.id as string), event.id as string).toBeDefined();
    // One lead's timeline: its events in LeadConduit's time order, each mapped by section 12's table.
    const lead = leadIdOf(own.events[0]!)!;
    const ofLead = own.events.filter((e) => leadIdOf(e) === lead).sort((a, b) => (a.start_timestamp as number) - (b.start_timestamp as number) || ((a.id as string) < (b.id as string) ? -1 : 1));
    const timeline = await api.request('GET', `/v1/leads/${lead}/events?order=asc&limit=1000`, { key: own.key });
    expect(timeline.status).toBe(200);
    const items = (timeline.body.items as { external_event_id: string; event_type: string; source: string }[]).filter((e) => e.source === 'leadconduit');
    expect(items.map((e) => e.external_event_id)).toEqual(ofLead.map((e) => e.id));
    const typeOf = new Map(items.map((e) => [e.external_event_id, e.event_type]));
    const expected: Record<string, string> = { 'source:success': 'source.accepted', 'filter:continue': 'filter.passed', 'recipient:success': 'recipient.delivered', 'recipient:skip': 'recipient.skipped', 'retry:success': 'retry.attempted', 'feedback-received:success': 'feedback.received' };
    let checked = 0;
    for (const event of ofLead) {
      const want = expected[`${event.type as string}:${event.outcome as string}`];
      if (!want) continue;
      expect(typeOf.get(event.id as string)).toBe(want);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
    const status = await api.deps.leadconduitStatus.status(own.orgId);
    expect(status.pull).toMatchObject({ created: 130, after_id: maxId(own.events) });
    expect(status.pull.last_error).toBeUndefined();
    // A re-run reads only the overlap window again: every one a duplicate, nothing new, the position kept.
    const windowStart = Math.floor((leadConduitIdTimeMs(maxId(own.events)) - PULL_OVERLAP_MS) / 1000) * 1000;
    const inWindow = own.events.filter((e) => leadConduitIdTimeMs(e.id as string) >= windowStart).length;
    expect(inWindow).toBeGreaterThan(0);
    const again = await pull(own.orgId, {}, new LeadConduitApiClient({ baseUrl: own.lc.url, apiKey: own.lc.apiKey }));
    expect(again).toMatchObject({ status: 'done', created: 0, duplicate: inWindow, invalid: 0, afterId: maxId(own.events) });
    await own.lc.close();
  });

  it('an interruption mid-pull keeps the position of the last stored page; a re-run completes without loss or second copies', async () => {
    const own = await orgWith(100, Date.now() - 3600_000);
    const leadconduit = new LeadConduitApiClient({ baseUrl: own.lc.url, apiKey: own.lc.apiKey, retries: 0 });
    own.lc.failRequest(3, 'drop');
    const first = await pull(own.orgId, {}, leadconduit);
    expect(first.status).toBe('failed');
    expect(first.created).toBe(80);
    const sorted = own.events.map((e) => e.id as string).sort();
    expect(first.afterId).toBe(sorted[79]);
    expect((await api.deps.leadconduitPulls.get(own.orgId))?.afterId).toBe(sorted[79]);
    expect((await api.deps.leadconduitStatus.status(own.orgId)).pull.last_error).toMatch(/unavailable/);
    // Aborted by the user while a page is being read: nothing of it is stored, the position stays.
    const aborted = new AbortController();
    aborted.abort(new Error('interrupted'));
    expect(await pull(own.orgId, { signal: aborted.signal }, leadconduit)).toMatchObject({ status: 'failed', created: 0, afterId: sorted[79] });
    const second = await pull(own.orgId, {}, leadconduit);
    expect(second.status).toBe('done');
    expect(first.created + second.created).toBe(100);
    for (const event of own.events) expect(await stored(own.orgId, event.id as string)).toBeDefined();
    expect((await api.deps.leadconduitStatus.status(own.orgId)).pull).toMatchObject({ created: 100, after_id: maxId(own.events) });
    expect((await api.deps.leadconduitStatus.status(own.orgId)).pull.last_error).toBeUndefined();
    await own.lc.close();
  });

  it('the overlap window catches an event that appeared late with an earlier id', async () => {
    const start = Date.now() - 30 * 60_000;
    const own = await orgWith(20, start);
    const leadconduit = new LeadConduitApiClient({ baseUrl: own.lc.url, apiKey: own.lc.apiKey });
    expect(await pull(own.orgId, {}, leadconduit)).toMatchObject({ status: 'done', created: 20 });
    // Written by a slower LeadConduit process: created 5 s after the first event, visible only now, its id before the position.
    const [late] = generateLeadConduitEvents(1, { startMs: start + 5_000 });
    late!.id = objectIdAt(start + 5_000, 4);
    expect((late!.id as string) < maxId(own.events)).toBe(true);
    own.lc.publish([late!]);
    const again = await pull(own.orgId, {}, leadconduit);
    expect(again).toMatchObject({ status: 'done', created: 1, afterId: maxId(own.events) });
    expect(await stored(own.orgId, late!.id as string)).toBeDefined();
    await own.lc.close();
  });

  it('--since and --after-id override the kept position; one pull per org at a time', async () => {
    const start = Date.now() - 2 * 3600_000;
    const own = await orgWith(30, start);
    const leadconduit = new LeadConduitApiClient({ baseUrl: own.lc.url, apiKey: own.lc.apiKey });
    const sorted = own.events.map((e) => e.id as string).sort();
    expect(await pull(own.orgId, { afterId: sorted[19]! }, leadconduit)).toMatchObject({ status: 'done', created: 10, afterId: sorted[29] });
    expect(await pull(own.orgId, { sinceMs: start - 1000 }, leadconduit)).toMatchObject({ status: 'done', created: 20, duplicate: 10, afterId: sorted[29] });
    const owner = randomUUID();
    expect(await api.deps.leadconduitPulls.lease(own.orgId, owner, Date.now() + 60_000, Date.now())).toBe(true);
    expect(await pull(own.orgId, {}, leadconduit)).toMatchObject({ status: 'busy', pages: 0 });
    await api.deps.leadconduitPulls.release(own.orgId, owner, new Date().toISOString());
    expect((await pull(own.orgId, {}, leadconduit)).status).toBe('done');
    await own.lc.close();
  });

  it('the scheduled run pulls each scheduled org; a refused key is that org\'s last_error and never stops the others', async () => {
    const good = await orgWith(12, Date.now() - 600_000);
    const refused = await orgWith(5, Date.now() - 600_000);
    const unscheduled = await orgWith(5, Date.now() - 600_000);
    for (const org of [good, refused]) await api.deps.leadconduitPulls.schedule(org.orgId, new Date().toISOString());
    const results = await pullScheduledOrgs({
      ...leadConduitPullPorts(api.deps),
      apiFor: async (orgId) => new LeadConduitApiClient({ baseUrl: (orgId === good.orgId ? good : refused).lc.url, apiKey: orgId === good.orgId ? good.lc.apiKey : 'revoked' }),
    }, { owner: randomUUID(), leaseMs: 60_000, stopAtMs: Date.now() + 60_000, concurrency: 2 });
    const of = (orgId: string) => results.find((r) => r.orgId === orgId);
    expect(of(good.orgId)).toMatchObject({ status: 'done', created: 12 });
    expect(of(refused.orgId)).toMatchObject({ status: 'failed' });
    expect(of(unscheduled.orgId)).toBeUndefined();
    expect((await api.deps.leadconduitStatus.status(refused.orgId)).pull.last_error).toMatch(/refused the API key/);
    // Past its budget a run starts no org.
    const late = await pullScheduledOrgs({ ...leadConduitPullPorts(api.deps), apiFor: async () => client() }, { owner: randomUUID(), leaseMs: 60_000, stopAtMs: Date.now() - 1, concurrency: 2 });
    expect(late.filter((r) => r.orgId === good.orgId || r.orgId === refused.orgId).map((r) => r.status)).toEqual(['skipped', 'skipped']);
    for (const org of [good, refused, unscheduled]) await org.lc.close();
  });
});

/** The CLI as a user runs it (tsx), against this run's tables (DYNAMODB_ENDPOINT and the table names are in the environment). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/leadconduit.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI', () => {
  it('npm run keys -- leadconduit --api-key: a malformed key is refused (exit 1), and the key is kept in AWS only', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/keys-cli.ts', ...args], { env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    const blank = await run(['leadconduit', '--org', 'org_lc_keys', '--api-key', 'has space', '--aws']);
    expect(blank.code).toBe(1);
    expect(blank.stderr).toMatch(/--api-key must be .*nothing stored/);
    const local = await run(['leadconduit', '--org', 'org_lc_keys', '--api-key', '1f1b96c9150d8050e858c043d543bb4eadae0e6f']);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/kept in AWS only \(add --aws\)/);
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await cli(['--help'], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: npm run leadconduit -- pull --org <id> \[--since <ISO date-time> \| --after-id/);
  });

  it('a refused key: one line on stderr, exit 1, nothing stored; the right key pulls everything', async () => {
    const own = await orgWith(7, Date.now() - 600_000);
    const refused = await cli(['pull', '--org', own.orgId], { LEADCONDUIT_URL: own.lc.url, LEADCONDUIT_API_KEY: 'not-the-key' });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^leadconduit: LeadConduit refused the API key \(HTTP 401/);
    expect(await stored(own.orgId, own.events[0]!.id as string)).toBeUndefined();
    const ok = await cli(['pull', '--org', own.orgId], { LEADCONDUIT_URL: own.lc.url, LEADCONDUIT_API_KEY: own.lc.apiKey });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/pulled, 1 page\(s\): 7 created, 0 duplicate, 0 invalid/);
    for (const event of own.events) expect(await stored(own.orgId, event.id as string)).toBeDefined();
    await own.lc.close();
  });

  it('an unavailable LeadConduit: exit 1 saying where it stopped and that re-running resumes; a missing key is one line', async () => {
    const own = await orgWith(3, Date.now() - 600_000);
    for (let n = 1; n <= 5; n++) own.lc.failRequest(n, 500);
    const down = await cli(['pull', '--org', own.orgId], { LEADCONDUIT_URL: own.lc.url, LEADCONDUIT_API_KEY: own.lc.apiKey });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/stopped after 0 page\(s\).*before the first page: .*stayed unavailable.*Run the same command again to resume/s);
    const { LEADCONDUIT_API_KEY: _, ...withoutKey } = process.env;
    const missing = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/leadconduit.ts', 'pull', '--org', own.orgId], { env: { ...withoutKey, LEADCONDUIT_URL: own.lc.url }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual(["leadconduit: LEADCONDUIT_API_KEY is not set (the org's LeadConduit API key)"]);
    await own.lc.close();
  }, 60_000);
});
