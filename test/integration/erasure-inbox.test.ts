import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { createErasureDependencies, leadConduitInboxPorts } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { INBOX_KEYS_PER_PAGE, runErasure, type ErasurePorts } from '../../shared/domain/erasure.js';
import { INCOMPLETE_GRACE_MS, processInboxObject } from '../../shared/domain/leadconduit/inbox.js';
import type { ErasureJob } from '../../shared/domain/ports.js';
import { controlItemsOf } from '../support/control-table.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * Erasure reaches LeadConduit's Event Streaming inbox (section 9 over section 12; red-team #23 finding 3): events
 * ingested through the local inbox (the file adapter and processInboxObject, what the watcher runs), set-aside copies
 * with their reasons and files not taken yet, for an erased lead and for another; the erasure deletes the erased
 * family's, wherever they are, and nothing else; a crash in the middle of the inbox phase and a rerun finish it with
 * an exact count.
 */
let api: TestApi;
const root = mkdtempSync(join(tmpdir(), 'leadlog-erasure-inbox-'));
const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-erasure-inbox-archive-'));
const archive = new LocalArchive({ dir: archiveDir });
const files = new FileInboxObjects(root);

beforeAll(async () => {
  api = await startTestApi();
  await archive.start();
});
afterAll(async () => {
  await archive.stop();
  await api.close();
});

const fixture = JSON.parse(readFileSync(new URL('../fixtures/leadconduit/source-success.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const hex24 = () => randomBytes(12).toString('hex');
/** A LeadConduit event of this lead (LeadConduit's own 24-hex lead id), as Event Streaming writes it. */
const eventOf = (leadId: string) => {
  const event = structuredClone(fixture) as { id: string; vars: { lead: Record<string, unknown> } };
  event.id = hex24();
  event.vars.lead.id = leadId;
  // No e-mail or phone: each lead stays its own family (the fixture's would merge every lead made from it).
  for (const identity of ['email', 'phone_1', 'phone_2', 'phone_3']) delete event.vars.lead[identity];
  return event;
};

/** Drops a file into the org's inbox folder as LeadConduit writes it (`<prefix>/<lead id>/<event id>.json`). */
async function drop(orgId: string, leadId: string, body: string, name = `${hex24()}.json`): Promise<string> {
  const key = `leadconduit/${orgId}/${leadId}/${name}`;
  await mkdir(join(root, 'leadconduit', orgId, leadId), { recursive: true });
  await writeFile(join(root, key), body);
  return key;
}

/** Every file under the org's inbox folder, relative to it. */
async function filesOf(orgId: string): Promise<string[]> {
  const dir = join(root, 'leadconduit', orgId);
  return existsSync(dir) ? ((await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort()) : [];
}

const portsWith = (inbox: ErasurePorts['inbox']): ErasurePorts => ({
  ...createErasureDependencies(loadConfig(), {
    bus: new LocalBus({ rules: [] }), archive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox: files,
  }),
  inbox,
});

/** Runs the erasure until it completes (waiting out its settle phase), or until a step throws. */
async function runToEnd(ports: ErasurePorts, orgId: string, erasureId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const outcome = await runErasure(ports, orgId, erasureId);
    if ('status' in outcome) return;
    if (Date.now() > deadline) throw new Error('the erasure did not complete in 30 s');
    await new Promise((resolve) => setTimeout(resolve, Math.min(outcome.waitMs, 500)));
  }
}

async function requestErasure(orgId: string, key: string, leadId: string): Promise<string> {
  const erased = await api.request('DELETE', `/v1/leads/${leadId}`, { key });
  expect(erased.status, erased.text).toBe(202);
  return erased.body.erasure_id as string;
}

describe('erasure and the LeadConduit inbox', () => {
  it("deletes the erased lead's inbox files (ingested, set aside with their reasons, not yet taken) and keeps every other lead's and org's", async () => {
    const { orgId, key } = await api.newOrg();
    const other = await api.newOrg();
    const inboxPorts = leadConduitInboxPorts(api.deps, files);
    const [erased, kept] = [hex24(), hex24()];
    const ingest = async (orgOf: string, leadId: string) => {
      const objectKey = await drop(orgOf, leadId, JSON.stringify(eventOf(leadId)));
      expect(await processInboxObject(inboxPorts, objectKey, Date.now())).toMatchObject({ outcome: 'created' });
    };
    // The erased lead: two events ingested, one object set aside (not an event) with its reason, one not taken yet.
    await ingest(orgId, erased);
    await ingest(orgId, erased);
    const notAnEvent = await drop(orgId, erased, '{"id": "5f0c1a2b3c4d5e6f7a8b9c0d"}');
    expect(await processInboxObject(inboxPorts, notAnEvent, Date.now())).toMatchObject({ outcome: 'rejected' });
    await drop(orgId, erased, JSON.stringify(eventOf(erased)));
    // Another lead of the org, alike; the same LeadConduit lead id in another org.
    await ingest(orgId, kept);
    const keptAside = await drop(orgId, kept, 'not json');
    // A local file that does not parse is judged once quiet for the grace (it may still be being written).
    expect(await processInboxObject(inboxPorts, keptAside, Date.now() + INCOMPLETE_GRACE_MS + 1)).toMatchObject({ outcome: 'rejected' });
    await ingest(other.orgId, erased);
    const before = await filesOf(orgId);
    expect(before.filter((file) => file.includes(erased))).toHaveLength(5); // 2 in _ingested, copy + reason in _rejected, 1 waiting
    const keptFiles = before.filter((file) => !file.includes(erased));
    expect(keptFiles).toHaveLength(3);
    const otherFiles = await filesOf(other.orgId);

    const erasureId = await requestErasure(orgId, key, erased);
    await runToEnd(portsWith(files), orgId, erasureId);

    const status = (await api.request('GET', `/v1/erasures/${erasureId}`, { key })).body;
    expect(status).toMatchObject({ status: 'completed', counts: { events: 2, inbox_objects: 5 } });
    expect(await filesOf(orgId)).toEqual(keptFiles);
    expect(await filesOf(other.orgId)).toEqual(otherFiles);
    // No folder named by the erased lead is left either (a lead id is a folder name locally).
    const folders = (await readdir(join(root, 'leadconduit', orgId), { recursive: true })).map(String);
    expect(folders.filter((path) => path.includes(erased))).toEqual([]);
    // The other lead still reads; the erased one is gone.
    expect((await api.request('GET', `/v1/leads/${erased}`, { key })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/${kept}/events`, { key })).body.items).toHaveLength(1);

    // Idempotent: the phase run again (a retried step) finds nothing more and counts nothing more.
    await runToEnd(portsWith(files), orgId, erasureId);
    expect((await api.request('GET', `/v1/erasures/${erasureId}`, { key })).body.counts.inbox_objects).toBe(5);
  }, 60_000);

  it('finishes after a crash in the middle of a page: every file of the lead gone, counted once, the position not kept', async () => {
    const { orgId, key } = await api.newOrg();
    const inboxPorts = leadConduitInboxPorts(api.deps, files);
    const [erased, kept] = [hex24(), hex24()];
    const first = await drop(orgId, erased, JSON.stringify(eventOf(erased)));
    expect(await processInboxObject(inboxPorts, first, Date.now())).toMatchObject({ outcome: 'created' });
    // More than two pages of files, the lead's and another's, in every place a file can be.
    const many = async (leadId: string, n: number) => {
      for (const place of ['_ingested', '_rejected', '']) await mkdir(join(root, 'leadconduit', orgId, place, leadId), { recursive: true });
      await Promise.all(Array.from({ length: n }, (_, i) => {
        const place = ['_ingested', '_rejected', ''][i % 3]!;
        return writeFile(join(root, 'leadconduit', orgId, place, leadId, `${hex24()}.json${place === '_rejected' && i % 2 ? '.error.json' : ''}`), '{}');
      }));
    };
    await many(erased, 1_300);
    await many(kept, 1_250);
    const keptFiles = (await filesOf(orgId)).filter((file) => file.includes(kept));
    expect(keptFiles).toHaveLength(1_250);
    expect(1_301 + 1_250).toBeGreaterThan(2 * INBOX_KEYS_PER_PAGE);

    const erasureId = await requestErasure(orgId, key, erased);
    // The crash: the second delete removes half its page, then the process dies (the step throws).
    let removes = 0;
    const crashing: ErasurePorts['inbox'] = {
      listOrg: (...args) => files.listOrg(...args),
      remove: async (keys) => {
        removes += 1;
        if (removes !== 2) return files.remove(keys);
        await files.remove(keys.slice(0, Math.floor(keys.length / 2)));
        throw new Error('killed mid-delete');
      },
    };
    await expect(runToEnd(portsWith(crashing), orgId, erasureId)).rejects.toThrow('killed mid-delete');
    const stored = (await controlItemsOf(orgId)).find((item) => item.erasure_id === erasureId && item.phase !== undefined)!;
    expect(stored.phase).toBe('inbox');
    expect((stored.inbox as NonNullable<ErasureJob['inbox']>).to).toBeDefined(); // the page under way, counted already
    expect((await filesOf(orgId)).filter((file) => file.includes(erased)).length).toBeGreaterThan(0);

    // The rerun (a new process: a new store instance) finishes it.
    await runToEnd(portsWith(files), orgId, erasureId);
    const status = (await api.request('GET', `/v1/erasures/${erasureId}`, { key })).body;
    expect(status).toMatchObject({ status: 'completed', counts: { events: 1, inbox_objects: 1_301 } });
    expect(await filesOf(orgId)).toEqual(keptFiles);
    // The completed job keeps no inbox position (a key names a lead).
    const job = (await controlItemsOf(orgId)).find((item) => item.erasure_id === erasureId && item.phase !== undefined)!;
    expect(job.phase).toBe('completed');
    expect(job).not.toHaveProperty('inbox');
  }, 60_000);
});
