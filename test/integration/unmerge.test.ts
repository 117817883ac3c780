import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { ErasureRunner } from '../../infra/local/job-runner.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { createDependencies, createErasureDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { parseExportRequest, runExport, type ExportJob } from '../../shared/domain/exports.js';
import { loadConfig } from '../../shared/config.js';
import { leadFamily, liveLead, mergedSubtree } from '../../shared/domain/identity.js';
import { maskId } from '../../shared/domain/masking.js';
import { erasedRowsPredicate } from '../../shared/definitions/archive.js';
import { recordMergeRefused } from '../../shared/domain/ingest.js';
import { unmergeLead } from '../../shared/domain/identity.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signStripe, stripeCheckoutCompleted } from '../../infra/local/webhook-samples.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { apiEvent, timeline, unique } from '../support/leads.js';
import { drainStream } from '../support/stream.js';
import { controlItemsOf } from '../support/control-table.js';

/**
 * Unmerge (contract section 8 v1.2; issue #21 point 4), end to end against DynamoDB Local: a wrong merge split by
 * POST /v1/leads/{lead_id}/unmerge, race-free and idempotent; timelines, lookups and erasure follow the new families;
 * `lead.unmerged` on both; a delivery never ties the two again.
 */
let api: TestApi;
const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-unmerge-'));
const archive = new LocalArchive({ dir: archiveDir });
const drainArchive = () => drainStream(archive, archiveDir);
/** The archive's erase statements as the erasure sends them: how many ids each names. */
const eraseCalls: { leads: number; events: number; predicateBytes: number }[] = [];
const recordingArchive = Object.assign(Object.create(archive) as LocalArchive, {
  eraseLeads(orgId: string, leadIds: readonly string[], erasureId: string, eventIds: readonly string[] = []) {
    eraseCalls.push({ leads: leadIds.length, events: eventIds.length, predicateBytes: Buffer.byteLength(erasedRowsPredicate(orgId, leadIds, eventIds).leads) });
    return archive.eraseLeads(orgId, leadIds, erasureId, eventIds);
  },
});

beforeAll(async () => {
  api = await startTestApi();
  await archive.start();
});
afterAll(async () => {
  await archive.stop();
  await api.close();
});


async function post(key: string, body: unknown): Promise<void> {
  const res = await api.request('POST', '/v1/events', { key, body });
  expect(res.status, res.text).toBe(201);
}


/** DELETE /v1/leads/{lead} (202), then the erasure run to its end as npm start runs it: its final answer. */
async function erase(key: string, lead: string, between?: () => Promise<void>): Promise<Record<string, any>> {
  const res = await api.request('DELETE', `/v1/leads/${encodeURIComponent(lead)}`, { key });
  expect(res.status, res.text).toBe(202);
  await between?.();
  const runner = new ErasureRunner(createErasureDependencies(loadConfig(), {
    bus: new LocalBus({ rules: [] }), archive: recordingArchive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox: new FileInboxObjects(join(archiveDir, 'inbox')),
  }), { only: api.ownOrg });
  const deadline = Date.now() + 30_000;
  let job: { body: Record<string, any> };
  do {
    await runner.tick();
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = await api.request('GET', `/v1/erasures/${res.body.erasure_id}`, { key });
  } while (job.body.status !== 'completed' && Date.now() < deadline);
  return job!.body;
}

/** Alice (lead a: her e-mail) and Bob (lead b: his e-mail and phone), wrongly merged by an event on a naming Bob's e-mail. */
async function wrongMerge(key: string) {
  const tag = unique();
  const a = `lead_alice_${tag}`;
  const b = `lead_bob_${tag}`;
  const alice = { email: `alice.${tag}@example.com` };
  const bob = { email: `bob.${tag}@example.com`, phone: `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` };
  await post(key, apiEvent(a, alice, { event_type: 'custom.alice' }));
  await post(key, apiEvent(b, bob, { event_type: 'custom.bob' }));
  await post(key, apiEvent(a, { email: bob.email }, { event_type: 'custom.typo', external_event_id: `typo_${tag}` }));
  expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBe(a);
  return { a, b, alice, bob };
}

describe('POST /v1/leads/{lead_id}/unmerge (section 8, v1.2)', () => {
  it('splits a wrong merge: the lead is live again with its identities and events, both get lead.unmerged, and asking again changes nothing', async () => {
    const { key } = await api.newOrg();
    const { a, b, alice, bob } = await wrongMerge(key);
    expect((await timeline(api, key, a)).map((e) => e.event_type).sort()).toEqual(['custom.alice', 'custom.bob', 'custom.typo', 'lead.merged']);

    const res = await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ changed: true, from_lead_id: a, lead: { lead_id: b, merged_from: [] } });
    expect(res.body.lead.merged_into).toBeUndefined();
    expect(res.body.lead.identities.map((i: { value: string }) => i.value).sort()).toEqual([bob.phone, bob.email].sort());

    // Lookups and lead reads follow the new families.
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(bob.email)}`, { key })).body.items[0].lead_id).toBe(b);
    expect((await api.request('GET', `/v1/leads?phone=${encodeURIComponent(bob.phone)}`, { key })).body.items[0].lead_id).toBe(b);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(alice.email)}`, { key })).body.items[0].lead_id).toBe(a);
    const aView = (await api.request('GET', `/v1/leads/${a}`, { key })).body;
    expect(aView.merged_from).toEqual([]);
    expect(aView.identities.map((i: { value: string }) => i.value)).toEqual([alice.email]);

    // Timelines: each family its own events (stored events keep their lead_id), lead.unmerged on both.
    const unmerged = { from_lead_id: b, into_lead_id: a, identity: { email: bob.email } };
    const aEvents = await timeline(api, key, a);
    expect(aEvents.map((e) => e.event_type).sort()).toEqual(['custom.alice', 'custom.typo', 'lead.merged', 'lead.unmerged']);
    expect(aEvents.find((e) => e.event_type === 'lead.unmerged')!.payload).toEqual(unmerged);
    const bEvents = await timeline(api, key, b);
    expect(bEvents.map((e) => e.event_type).sort()).toEqual(['custom.bob', 'lead.unmerged']);
    expect(bEvents.find((e) => e.event_type === 'lead.unmerged')).toMatchObject({ lead_id: b, payload: unmerged });

    // Asked again, from either lead of the old family: 200, nothing changes, nothing recorded twice.
    const again = await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ changed: false, from_lead_id: a, lead: { lead_id: b } });
    expect((await timeline(api, key, a)).filter((e) => e.event_type === 'lead.unmerged')).toHaveLength(1);
    expect((await timeline(api, key, b)).filter((e) => e.event_type === 'lead.unmerged')).toHaveLength(1);
  });

  it('a delivery never ties the two again: the tie is refused (reason unmerged), each stays live', async () => {
    const { key } = await api.newOrg();
    const { a, b, bob } = await wrongMerge(key);
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    await post(key, apiEvent(a, { email: bob.email }, { event_type: 'custom.typo', external_event_id: 'typo_again' }));
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBeUndefined();
    expect((await api.request('GET', `/v1/leads/${a}`, { key })).body.merged_from).toEqual([]);
    const refused = (await timeline(api, key, a)).filter((e) => e.event_type === 'lead.merge_refused');
    expect(refused.map((e) => e.payload)).toEqual([{ identity: { email: bob.email }, reason: 'unmerged', other_lead_id: b }]);
  });

  it('answers 403 without admin, 404 for an unknown lead, 409 for a lead not merged into this one, 400 for a bad body', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read', 'events:write', 'pii:read']);
    const { a, b } = await wrongMerge(key);
    const other = `lead_other_${unique()}`;
    await post(key, apiEvent(other, { email: `other.${unique()}@example.com` }));
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key: reader, body: { lead_id: b } })).status).toBe(403);
    const unknown = await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: 'lead_nobody' } });
    expect([unknown.status, unknown.headers.get('content-type')]).toEqual([404, 'application/problem+json']);
    expect((await api.request('POST', '/v1/leads/lead_nobody/unmerge', { key, body: { lead_id: b } })).status).toBe(404);
    const notMerged = await api.request('POST', `/v1/leads/${other}/unmerge`, { key, body: { lead_id: b } });
    expect(notMerged.status, notMerged.text).toBe(409);
    expect(notMerged.body.type).toMatch(/not-merged$/);
    expect((await api.request('POST', `/v1/leads/${b}/unmerge`, { key, body: { lead_id: a } })).status).toBe(409); // a is the live one
    const bad = await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: 'x\u0001y', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'lead_id']);
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: {} })).status).toBe(400);
    // Another org's leads are not found.
    const stranger = await api.newOrg();
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key: stranger.key, body: { lead_id: b } })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBe(a);
  });

  it('is race-free: ten calls at once split once, one says changed, lead.unmerged is recorded once on each', async () => {
    const { orgId, key } = await api.newOrg();
    const { a, b } = await wrongMerge(key);
    const calls = await Promise.all(Array.from({ length: 10 }, () => api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })));
    expect(calls.map((c) => c.status)).toEqual(calls.map(() => 200));
    expect(calls.filter((c) => c.body.changed)).toHaveLength(1);
    expect((await timeline(api, key, a)).filter((e) => e.event_type === 'lead.unmerged')).toHaveLength(1);
    expect((await timeline(api, key, b)).filter((e) => e.event_type === 'lead.unmerged')).toHaveLength(1);
    const profile = await api.deps.identities.profile(orgId, a);
    expect(profile?.counts).toEqual({ email: 1, phone: 0, ref: 0 });
  });

  it('takes the leads merged into it along, through a chain, and gives the counts back to every lead of the chain', async () => {
    const { orgId, key } = await api.newOrg();
    const tag = unique();
    const [x, y, z] = [`lead_x_${tag}`, `lead_y_${tag}`, `lead_z_${tag}`];
    const [ex, ey, ez] = [`x.${tag}@example.com`, `y.${tag}@example.com`, `z.${tag}@example.com`];
    await post(key, apiEvent(x, { email: ex }));
    await post(key, apiEvent(y, { email: ey }));
    await post(key, apiEvent(z, { email: ez }));
    await post(key, apiEvent(z, { email: ey }, { external_event_id: 'zy' })); // z merged into y (y seen first)
    await post(key, apiEvent(y, { email: ex }, { external_event_id: 'yx' })); // y (and z) merged into x
    expect(await liveLead(api.deps.identities, orgId, z)).toBe(x);
    expect((await api.deps.identities.profile(orgId, x))?.counts.email).toBe(3);
    // Asked on the live lead for y, which was merged into x directly.
    const res = await api.request('POST', `/v1/leads/${x}/unmerge`, { key, body: { lead_id: y } });
    expect(res.status, res.text).toBe(200);
    expect((await leadFamily(api.deps.identities, orgId, z)).members.sort()).toEqual([y, z].sort());
    expect((await leadFamily(api.deps.identities, orgId, x)).members).toEqual([x]);
    expect((await api.deps.identities.profile(orgId, x))?.counts.email).toBe(1);
    expect((await api.deps.identities.profile(orgId, y))?.counts.email).toBe(2);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(ez)}`, { key })).body.items[0].lead_id).toBe(y);
    // z was merged into y, not into x: x cannot unmerge it any more, y can.
    expect((await api.request('POST', `/v1/leads/${x}/unmerge`, { key, body: { lead_id: z } })).status).toBe(409);
    expect((await api.request('POST', `/v1/leads/${y}/unmerge`, { key, body: { lead_id: z } })).status).toBe(200);
    expect((await mergedSubtree(api.deps.identities, orgId, y)).size).toBe(1);
  });

  it('unmerge then erase one side: the other side is intact (events, identities, lookups)', async () => {
    const { orgId, key } = await api.newOrg();
    const { a, b, alice, bob } = await wrongMerge(key);
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    await drainArchive();
    await archive.flush();
    const archivedTypes = async () => (await runArchiveSql(archiveDir, 'SELECT event_type FROM events_raw WHERE org_id = ?', [orgId])).rows.map((r) => r.event_type).sort();
    expect(await archivedTypes()).toEqual(['custom.alice', 'custom.bob', 'custom.typo', 'lead.merged', 'lead.unmerged', 'lead.unmerged']);
    // An export of Alice's lead made before: it holds leadlog's records naming Bob (red team, second pass).
    const exportsStore = createDependencies().exports.store;
    const exporter = new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! });
    const { filter } = parseExportRequest({ format: 'jsonl', filter: { lead_id: a, from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() } });
    const aliceExport: ExportJob = {
      orgId, id: `ex_alice_${unique()}`, format: 'jsonl', filter, status: 'queued',
      requestedAt: new Date().toISOString(), settleUntil: new Date().toISOString(), daysDone: 0, rows: 0, bytes: 0,
    };
    await exportsStore.save(aliceExport);
    for (;;) if ('done' in (await runExport({ store: exportsStore, engine: exporter, nowMs: () => Date.now() }, orgId, aliceExport.id))) break;
    expect((await exportsStore.get(orgId, aliceExport.id))?.status).toBe('succeeded');
    const job = await erase(key, b);
    expect((await exportsStore.get(orgId, aliceExport.id))).toMatchObject({ status: 'erased', erasureId: job.erasure_id });
    expect(job).toMatchObject({ status: 'completed', leads: [maskId(b)] });
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(bob.email)}`, { key })).body.items).toEqual([]);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(alice.email)}`, { key })).body.items[0].lead_id).toBe(a);
    // What leadlog wrote on Alice's family naming Bob (the merge, the unmerge) went with him; Alice's own events stay.
    const left = await timeline(api, key, a);
    expect(left.map((e) => e.event_type).sort()).toEqual(['custom.alice', 'custom.typo']);
    expect(JSON.stringify(left)).not.toContain(b);
    expect((await api.deps.identities.lead(orgId, a)).identities).toEqual([`email:${alice.email}`]);
    // No plain id of Bob's is left on Alice's items (a split or mention item names him by digest only).
    const aliceItems = (await controlItemsOf(orgId)).filter((item) => String(item.pk).endsWith(`#${a}`));
    expect(aliceItems.length).toBeGreaterThan(1);
    expect(JSON.stringify(aliceItems)).not.toContain(b);
    expect(JSON.stringify(aliceItems)).not.toContain(bob.email);
    expect(job.counts).toMatchObject({ leads: 1, events: 4, archive_rows: 4 }); // custom.bob, Bob's lead.unmerged, and Alice's lead.merged + lead.unmerged naming him
    expect(await archivedTypes()).toEqual(['custom.alice', 'custom.typo']);

  });
  it('never ties the families again, whatever they became: a side merged into an older lead, a chain split link by link (red team)', async () => {
    const { key } = await api.newOrg();
    const tag = unique();
    const [a, b, c] = [`lead_a_${tag}`, `lead_b_${tag}`, `lead_c_${tag}`];
    const [ea, eb, ec] = [`a.${tag}@acme.io`, `b.${tag}@acme.io`, `c.${tag}@acme.io`];
    await post(key, apiEvent(c, { email: ec })); // Bob's older lead
    await post(key, apiEvent(a, { email: ea })); // Alice
    await post(key, apiEvent(b, { email: eb })); // Bob
    await post(key, apiEvent(a, { email: eb }, { external_event_id: 'typo1' })); // wrong: b into a
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    await post(key, apiEvent(b, { email: ec }, { external_event_id: 'right' })); // right: b into c
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBe(c);
    await post(key, apiEvent(a, { email: eb }, { external_event_id: 'typo2' })); // the same typo again
    expect((await api.request('GET', `/v1/leads/${a}`, { key })).body.merged_into).toBeUndefined();
    expect((await api.request('GET', `/v1/leads/${c}`, { key })).body.merged_from).toEqual([b]);
    expect((await timeline(api, key, a)).filter((e) => e.event_type === 'lead.merge_refused').map((e) => e.payload.reason)).toEqual(['unmerged']);

    // A chain: z into y, y into x; z split from y, then y from x; the tie z–y that was undone stays undone.
    const [x, y, z] = [`lead_x_${tag}`, `lead_y_${tag}`, `lead_z_${tag}`];
    const [ex, ey, ez] = [`x.${tag}@acme.io`, `y.${tag}@acme.io`, `z.${tag}@acme.io`];
    for (const [lead, email] of [[x, ex], [y, ey], [z, ez]] as const) await post(key, apiEvent(lead, { email }));
    await post(key, apiEvent(z, { email: ey }, { external_event_id: 'zy' }));
    await post(key, apiEvent(y, { email: ex }, { external_event_id: 'yx' }));
    const first = await api.request('POST', `/v1/leads/${x}/unmerge`, { key, body: { lead_id: z } });
    expect([first.status, first.body.from_lead_id]).toEqual([200, y]);
    expect((await api.request('POST', `/v1/leads/${x}/unmerge`, { key, body: { lead_id: y } })).status).toBe(200);
    await post(key, apiEvent(z, { email: ey }, { external_event_id: 'zy2' }));
    expect((await api.request('GET', `/v1/leads/${z}`, { key })).body.merged_into).toBeUndefined();
    // Families never split stay free to merge: x and a new lead tie as usual.
    await post(key, apiEvent(`lead_w_${tag}`, { email: ex }));
    expect((await api.request('GET', `/v1/leads/lead_w_${tag}`, { key })).body.merged_into).toBe(x);
  });

  it("erasing the side split from keeps no trace of it on the other: no e-mail, no lead id in the other's items or leadlog's events (red team)", async () => {
    const { orgId, key } = await api.newOrg();
    const tag = unique();
    const [a, b] = [`lead_alice_${tag}`, `lead_bob_${tag}`];
    const alice = `alice.${tag}@acme.io`;
    await post(key, apiEvent(a, { email: alice }));
    await post(key, apiEvent(b, { email: `bob.${tag}@acme.io` }));
    await post(key, apiEvent(b, { email: alice }, { external_event_id: 'tie' })); // b merged into a, tied by Alice's e-mail
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    expect((await erase(key, a)).status).toBe('completed');
    const internal = (await timeline(api, key, b)).filter((e) => e.event_type.startsWith('lead.'));
    expect(JSON.stringify(internal)).not.toContain(alice);
    expect(JSON.stringify(internal)).not.toContain(a);
    const items = (await controlItemsOf(orgId)).filter((item) => !String(item.pk).startsWith('ERASURE'));
    expect(JSON.stringify(items)).not.toContain(alice);
    expect(JSON.stringify(items)).not.toContain(a);
    // Asked again after Alice is gone: nothing to split from, Bob is live.
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(404);
  }, 60_000);

  it('is refused (409 erasure-running) while an erasure of the family runs: the erasure would undo it (red team)', async () => {
    const { key } = await api.newOrg();
    const { a, b } = await wrongMerge(key);
    expect((await api.request('DELETE', `/v1/leads/${a}`, { key })).status).toBe(202);
    const refused = await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.type).toMatch(/erasure-running$/);
    expect((await erase(key, a)).status).toBe('completed');
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).status).toBe(404);
  }, 60_000);
  it("a webhooks function's identity cache follows an unmerge at once: Bob's next purchase is Bob's (red team)", async () => {
    const { orgId, key } = await api.newOrg();
    const secret = `stripe_secret_${unique()}${unique()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    const { a, b, bob } = await wrongMerge(key);
    const buy = async () => {
      const body = JSON.stringify(stripeCheckoutCompleted(bob));
      const res = await api.request('POST', `/v1/webhooks/stripe/${orgId}`, { rawBody: body, headers: signStripe(body, secret) });
      expect(res.status, res.text).toBe(200);
      return res.body.lead_id as string;
    };
    expect(await buy()).toBe(a); // merged: Bob's purchase reads as the family's live lead, and the function remembers it
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    expect(await buy()).toBe(b);
  });
  it('an unmerge that wins the race with an erasure request keeps its lead: the erasure leaves the split member out (red team, second pass)', async () => {
    const { orgId, key } = await api.newOrg();
    const { a, b } = await wrongMerge(key);
    // DELETE a lists a and b; the unmerge lands before the erasure's first step (past the handler's check, as in a race).
    const job = await erase(key, a, async () => {
      expect((await unmergeLead(api.deps.identities, orgId, a, b, new Date().toISOString())).changed).toBe(true);
    });
    expect(job).toMatchObject({ status: 'completed', leads: [maskId(a)] });
    expect((await api.request('GET', `/v1/leads/${a}`, { key })).status).toBe(404);
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).status).toBe(200);
  }, 60_000);

  it('a lead named by hundreds of refusals is erased with every one of them, the archive asked in statements Athena accepts (red team, second pass)', async () => {
    const { orgId, key } = await api.newOrg();
    const bob = `lead_bob_${unique()}`;
    await post(key, apiEvent(bob, { email: `bob.${unique()}@example.com` }));
    const NAMED = 450;
    for (let start = 0; start < NAMED; start += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => recordMergeRefused(api.deps.events, api.deps.identities, orgId, {
        lead: `lead_v${start + j}_${unique()}`, identity: `email:v${start + j}@example.com`, reason: 'hint', otherLeadId: bob,
      }, Date.now())));
    }
    expect((await api.deps.identities.lead(orgId, bob)).mentions).toHaveLength(NAMED);
    eraseCalls.length = 0;
    const job = await erase(key, bob);
    expect(job).toMatchObject({ status: 'completed', counts: { leads: 1, events: NAMED + 1 } });
    expect(eraseCalls.length).toBeGreaterThan(1);
    for (const call of eraseCalls) expect(call.predicateBytes).toBeLessThan(200 * 1024);
  }, 120_000);

  it('a lead unmerged and later merged elsewhere gets its own lead.merged (red team, second pass)', async () => {
    const { key } = await api.newOrg();
    const [c, cEmail] = [`lead_c_${unique()}`, `c.${unique()}@example.com`];
    await post(key, apiEvent(c, { email: cEmail })); // Bob's older lead
    const { a, b } = await wrongMerge(key);
    expect((await api.request('POST', `/v1/leads/${a}/unmerge`, { key, body: { lead_id: b } })).status).toBe(200);
    await post(key, apiEvent(b, { email: cEmail }, { external_event_id: 'b_names_c' })); // right: b into c
    expect((await api.request('GET', `/v1/leads/${b}`, { key })).body.merged_into).toBe(c);
    const onC = (await timeline(api, key, c)).filter((e) => e.event_type === 'lead.merged' && e.lead_id === c);
    expect(onC.map((e) => e.payload.from_lead_id)).toEqual([b]);
    expect((await timeline(api, key, a)).filter((e) => e.event_type === 'lead.merged').map((e) => e.payload.into_lead_id)).toEqual([a]);
  });
});
