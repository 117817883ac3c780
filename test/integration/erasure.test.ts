import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { ErasureRunner, ExportRunner } from '../../infra/local/job-runner.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { signStripe, stripeCheckoutCompleted } from '../../infra/local/webhook-samples.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { createErasureDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { legacyMaskId, maskId } from '../../shared/domain/masking.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { drainStream } from '../support/stream.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { controlItemsOf } from '../support/control-table.js';

/**
 * Erasure end to end (section 9): a family of three merged leads with webhook deliveries (one raw body in the blob
 * store), API events, identities and provider objects, archived to Parquet through the real stream and fan-out;
 * DELETE one of them; the local runner (the Step Functions workflow's stand-in) runs the job; then nothing of the
 * family is left in DynamoDB, the blob folder or the archive, every read answers 404, lookups find nothing, the bus
 * carries Lead Erased, the audit has the erasure with its counts; other leads and other orgs are untouched.
 */
let api: TestApi;
const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-erasure-'));
const archive = new LocalArchive({ dir: archiveDir });
const inbox = new FileInboxObjects(join(archiveDir, 'inbox'));
const bus = new LocalBus({ rules: [{ id: 'all', description: 'every entry', pattern: { source: ['leadlog'] } }] });
const delivered: RuleDelivery[] = [];
bus.onDelivery((d) => delivered.push(d));

beforeAll(async () => {
  api = await startTestApi();
  await archive.start();
});
afterAll(async () => {
  await archive.stop();
  await api.close();
});

const drainArchive = () => drainStream(archive, archiveDir, bus);

const unique = () => randomUUID().slice(0, 8);
const event = (lead: string, extra: Record<string, unknown> = {}) => ({
  lead_id: lead, source_type: 'direct', source: 'web', event_type: 'custom.seen', payload: { note: 'hello' }, occurred_at: new Date(Date.now() - 3_600_000).toISOString(), ...extra,
});

describe('erasing a lead (section 9)', () => {
  it('removes the lead, its merged leads and their identities from every store, and says so on the bus and in the audit', async () => {
    const { orgId, key } = await api.newOrg();
    const other = await api.newOrg();
    const email = `erase.${unique()}@example.com`;
    const phone = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const [x, w, z] = ['x', 'w', 'z'].map((name) => `lead_${name}_${unique()}`) as [string, string, string];
    const secret = `whsec_${unique()}${unique()}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'stripe', secret, nowIso: new Date().toISOString() });
    const deliver = async (body: object) => {
      const raw = JSON.stringify(body);
      const res = await api.request('POST', `/v1/webhooks/stripe/${orgId}`, { rawBody: raw, headers: signStripe(raw, secret) });
      expect(res.status, res.text).toBe(200);
      return res.body as { event_id: string; lead_id: string };
    };

    // x: e-mail only (API). y: phone only (a Stripe checkout naming its session and customer). w: both → one family.
    expect((await api.request('POST', '/v1/events', { key, body: event(x, { identity: { email } }) })).status).toBe(201);
    const phoneOnly = stripeCheckoutCompleted({ email, phone });
    const details = phoneOnly.data.object.customer_details as Record<string, unknown>;
    delete details.email;
    const y = (await deliver(phoneOnly)).lead_id;
    expect(y).not.toBe(x);
    expect((await api.request('POST', '/v1/events', { key, body: event(w, { identity: { email, phone } }) })).status).toBe(201);
    expect((await api.request('GET', `/v1/leads/${y}`, { key })).body.merged_into).toBe(x);
    // A big delivery for the same person: its raw body goes to the blob store.
    const big = stripeCheckoutCompleted({ email, phone });
    (big.data.object.metadata as Record<string, unknown>).notes = 'n'.repeat(70 * 1024);
    const bigEvent = (await deliver(big)).event_id;
    const blobDir = join(loadConfig().blobDir!, 'raw', orgId);
    expect(readdirSync(blobDir, { recursive: true }).some((name) => String(name).endsWith('.body'))).toBe(true);
    // Untouched: another lead of the org, and the same e-mail in another org.
    expect((await api.request('POST', '/v1/events', { key, body: event(z, { identity: { email: `keep.${unique()}@example.com` } }) })).status).toBe(201);
    expect((await api.request('POST', '/v1/events', { key: other.key, body: event(x, { identity: { email } }) })).status).toBe(201);

    const family = [x, y, w];
    const timeline = (await api.request('GET', `/v1/leads/${y}/events?limit=1000`, { key })).body.items as { id: string; lead_id: string }[];
    expect(new Set(timeline.map((e) => e.lead_id))).toEqual(new Set(family));
    const eventIds = timeline.map((e) => e.id);
    await drainArchive();
    await archive.flush();
    const archivedBefore = await runArchiveSql(archiveDir, `SELECT lead_id FROM events WHERE org_id = '${orgId}'`);
    expect(archivedBefore.rows.filter((r) => family.includes(r.lead_id as string)).length).toBe(eventIds.length);

    // Exports made before the erasure (section 10): one holding the family's rows, one of another lead only.
    const exporter = new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! });
    const window = { from: new Date(Date.now() - 2 * 3_600_000).toISOString(), to: new Date().toISOString() };
    const familyExport = (await api.request('POST', '/v1/exports', { key, body: { format: 'csv', filter: window } })).body.id as string;
    const otherExport = (await api.request('POST', '/v1/exports', { key, body: { format: 'jsonl', filter: { ...window, lead_id: z } } })).body.id as string;
    const exportRunner = new ExportRunner({ store: api.deps.exports.store, engine: exporter });
    const exported = async (id: string) => (await api.request('GET', `/v1/exports/${id}`, { key })).body as { status: string; url?: string };
    for (let i = 0; i < 50 && ((await exported(familyExport)).status !== 'succeeded' || (await exported(otherExport)).status !== 'succeeded'); i++) {
      await exportRunner.tick();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const familyUrl = (await exported(familyExport)).url!;
    const familyFile = await fetch(familyUrl);
    expect(familyFile.status).toBe(200);
    expect(await familyFile.text()).toContain(x);
    expect((await exported(otherExport)).status).toBe('succeeded');

    // DELETE: admin only; 202 with the erasure id; again (or for another member) the same erasure.
    const reader = await api.keyFor(orgId, ['events:read', 'pii:read']);
    const forbidden = await api.request('DELETE', `/v1/leads/${y}`, { key: reader });
    expect(forbidden.status, forbidden.text).toBe(403);
    expect((await api.request('DELETE', `/v1/leads/lead_never_${unique()}`, { key })).status).toBe(404);
    const erased = await api.request('DELETE', `/v1/leads/${y}`, { key });
    expect(erased.status, erased.text).toBe(202);
    const erasureId = erased.body.erasure_id as string;
    expect(erased.body.status).toBe('running');
    expect(erased.headers.get('location')).toBe(`/v1/erasures/${erasureId}`);
    expect((await api.request('DELETE', `/v1/leads/${x}`, { key })).body.erasure_id).toBe(erasureId);
    expect((await api.request('GET', `/v1/erasures/${erasureId}`, { key: other.key })).status).toBe(404); // another org's erasure
    expect((await api.request('GET', `/v1/erasures/${erasureId}`, { key })).body).toMatchObject({ erasure_id: erasureId, status: 'running', lead_id: y });

    const runner = new ErasureRunner(createErasureDependencies(loadConfig(), { bus, archive, exports: exporter, inbox }), { only: api.ownOrg });
    const deadline = Date.now() + 30_000;
    let status: { status: string; counts: Record<string, number>; leads: string[] } | undefined;
    do {
      await runner.tick();
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await api.request('GET', `/v1/erasures/${erasureId}`, { key })).body;
    } while (status!.status !== 'completed' && Date.now() < deadline);
    expect(status!.status).toBe('completed');
    expect(new Set(status!.leads)).toEqual(new Set(family));
    expect(status!.counts).toMatchObject({ leads: 3, events: eventIds.length, raw_blobs: 1, profiles: 3, archive_rows: eventIds.length, export_files: 1 });
    expect(status!.counts.audit_entries).toBeGreaterThanOrEqual(1); // the reads of the members' pages before the erasure

    // Export files (v1.2): the family's file is deleted, its job answers `erased` without a url, and the link given
    // before no longer downloads anything; the other lead's export is untouched.
    const gone = await exported(familyExport);
    expect(gone.status).toBe('erased');
    expect(gone).not.toHaveProperty('url');
    expect(gone).not.toHaveProperty('url_expires_at');
    expect((await fetch(familyUrl)).status).toBe(404);
    expect(existsSync(join(loadConfig().exportDir!, 'exports', orgId, `${familyExport}.csv`))).toBe(false);
    const kept = await exported(otherExport);
    expect(kept.status).toBe('succeeded');
    expect((await fetch(kept.url!)).status).toBe(200);
    expect(status!.counts.identities).toBeGreaterThanOrEqual(4); // e-mail, phone, the Stripe customer, session objects
    await drainArchive(); // the deletions' stream records change nothing downstream

    // Every read of every member answers 404; lookups find nothing; every event is gone, raw bytes too.
    for (const lead of family) {
      expect((await api.request('GET', `/v1/leads/${lead}`, { key })).status, lead).toBe(404);
      expect((await api.request('GET', `/v1/leads/${lead}/events`, { key })).status, lead).toBe(404);
    }
    for (const id of eventIds) {
      expect((await api.request('GET', `/v1/events/${id}`, { key })).status).toBe(404);
      expect((await api.request('GET', `/v1/events/${id}/raw`, { key })).status).toBe(404);
    }
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(email)}`, { key })).body).toEqual({ items: [] });
    expect((await api.request('GET', `/v1/leads?phone=${encodeURIComponent(phone)}`, { key })).body).toEqual({ items: [] });
    expect((await api.request('GET', `/v1/leads?ref=${encodeURIComponent(`stripe:${phoneOnly.data.object.id}`)}`, { key })).body).toEqual({ items: [] });
    expect((await api.request('GET', `/v1/events?limit=1000`, { key })).body.items.map((e: { lead_id: string }) => e.lead_id)).toEqual([z]);
    expect(existsSync(blobDir) ? readdirSync(blobDir, { recursive: true }).filter((name) => String(name).includes(bigEvent)) : []).toEqual([]);
    // The control table keeps only the erasure's own records (lead ids and counts, no PII).
    const leftovers = (await controlItemsOf(orgId)).filter((item) => family.includes(item.lead_id as string) || (item.members as string[] | undefined)?.some((m) => family.includes(m)));
    expect(leftovers.map((item) => String(item.pk).split('#')[0])).toEqual(leftovers.map(() => 'ERASURE'));
    expect(JSON.stringify(leftovers)).not.toContain(email);
    expect(JSON.stringify(leftovers)).not.toContain(phone.slice(3));
    // The archive: the family's rows rewritten away, the rest kept.
    await archive.flush();
    const archivedAfter = await runArchiveSql(archiveDir, `SELECT lead_id FROM events WHERE org_id = '${orgId}'`);
    expect(archivedAfter.rows.map((r) => r.lead_id)).toEqual([z]);

    // The bus: Lead Erased, once; the audit: the request and the completed erasure with its counts.
    const announced = delivered.filter((d) => d.event['detail-type'] === 'Lead Erased' && d.event.detail.org_id === orgId);
    expect(announced.map((d) => d.event.detail)).toEqual([{ org_id: orgId, lead_id: y, erasure_id: erasureId, leads: status!.leads }]);
    const audit = (await api.request('GET', '/v1/audit', { key })).body.items as { action: string; resource: string; detail?: Record<string, number> }[];
    // v1.2: no entry names a member any more (the erasure id stands where a member's id was), the DELETEs included.
    expect(audit.filter((entry) => entry.action === 'lead.erase').map((entry) => entry.resource)).toEqual([`erasure/${erasureId}`, `erasure/${erasureId}`]);
    const segments = (resource: string) => resource.split(/[/?&=]/).map((part) => decodeURIComponent(part));
    expect(audit.filter((entry) => segments(entry.resource).some((part) => family.includes(part)))).toEqual([]);
    expect(audit.filter((entry) => entry.action === 'pii.read' && segments(entry.resource).includes(erasureId)).length).toBe(status!.counts.audit_entries);
    expect(audit.find((entry) => entry.action === 'lead.erased')).toMatchObject({ resource: `erasure/${erasureId}`, detail: status!.counts });

    // Idempotent: DELETE again answers the completed erasure. Other orgs are untouched.
    const again = await api.request('DELETE', `/v1/leads/${y}`, { key });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ erasure_id: erasureId, status: 'completed' });
    const afterAgain = (await api.request('GET', '/v1/audit', { key })).body.items as { resource: string }[];
    expect(afterAgain.filter((entry) => segments(entry.resource).some((part) => family.includes(part)))).toEqual([]);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(email)}`, { key: other.key })).body.items.map((l: { lead_id: string }) => l.lead_id)).toEqual([x]);
    // The person coming back is a new person: a new lead, not the erased one.
    const back = await deliver(stripeCheckoutCompleted({ email, phone }));
    expect(family).not.toContain(back.lead_id);
  }, 60_000);

  it('keeps no plain erased id anywhere once completed: markers keyed by a digest, the job, its answer, the 404 and the bus hold pseudonyms (red-team finding 6)', async () => {
    const { orgId, key } = await api.newOrg();
    const lead = `erase.me.${unique()}@example.com`;
    expect((await api.request('POST', '/v1/events', { key, body: event(lead) })).status).toBe(201);
    await drainArchive();
    const erased = await api.request('DELETE', `/v1/leads/${encodeURIComponent(lead)}`, { key });
    expect(erased.status, erased.text).toBe(202);
    const erasureId = erased.body.erasure_id as string;
    const runner = new ErasureRunner(createErasureDependencies(loadConfig(), { bus, archive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox }), { only: api.ownOrg });
    const deadline = Date.now() + 30_000;
    let answer: { text: string; body: Record<string, unknown> };
    do {
      await runner.tick();
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await api.request('GET', `/v1/erasures/${erasureId}`, { key });
    } while (answer.body.status !== 'completed' && Date.now() < deadline);
    expect(answer!.body).toMatchObject({ status: 'completed', lead_id: maskId(lead), leads: [maskId(lead)] });
    const plain = [lead, encodeURIComponent(lead)];
    const holdsPlain = (text: string) => plain.some((form) => text.includes(form));
    expect(holdsPlain(answer!.text)).toBe(false);

    // The whole control table (every item, whatever its org attribute) names the lead nowhere.
    const client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
    const naming: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: inject('tableNames').control!, ExclusiveStartKey: start }));
      naming.push(...(page.Items ?? []).filter((item) => holdsPlain(JSON.stringify(item))));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(naming).toEqual([]);

    // The bus: the pseudonym, the form every other entry of this lead carried, so a subscriber can match it.
    const announced = delivered.filter((d) => d.event['detail-type'] === 'Lead Erased' && d.event.detail.org_id === orgId).map((d) => d.event.detail);
    expect(announced).toEqual([{ org_id: orgId, lead_id: maskId(lead), erasure_id: erasureId, leads: [maskId(lead)] }]);
    const published = delivered.filter((d) => d.event['detail-type'] !== 'Lead Erased' && d.event.detail.org_id === orgId).map((d) => d.event.detail.lead_id);
    expect(published).toContain(maskId(lead));

    // A read answers 404 naming the erasure, not the id; DELETE again still finds the erasure (by the digest).
    const read = await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}/events`, { key });
    expect(read.status).toBe(404);
    expect(holdsPlain(read.text)).toBe(false);
    expect(read.text).toContain(erasureId);
    const again = await api.request('DELETE', `/v1/leads/${encodeURIComponent(lead)}`, { key });
    expect(again.body).toEqual({ erasure_id: erasureId, status: 'completed' });
  }, 60_000);

  it('erases archive rows written before pseudonyms were keyed (legacyMaskId) as well as keyed ones (red-team finding 2)', async () => {
    const { orgId, key } = await api.newOrg();
    const lead = `legacy.${unique()}@example.com`;
    expect((await api.request('POST', '/v1/events', { key, body: event(lead) })).status).toBe(201);
    await drainArchive(); // archived with the keyed pseudonym
    // A row archived before the key: its lead id is the unkeyed pseudonym.
    await archive.putRows([{ ...toArchiveRow({ ...(event(lead) as object), id: randomUUID(), org_id: orgId, received_at: new Date().toISOString(), expires_at: new Date(Date.now() + 86_400_000).toISOString(), schema_version: '1' } as never), lead_id: legacyMaskId(lead) }]);
    await archive.flush();
    const rowsOf = async () => (await runArchiveSql(archiveDir, 'SELECT lead_id FROM events_raw WHERE org_id = ?', [orgId])).rows.map((r) => r.lead_id);
    expect((await rowsOf()).sort()).toEqual([legacyMaskId(lead), maskId(lead)].sort());

    const erased = await api.request('DELETE', `/v1/leads/${encodeURIComponent(lead)}`, { key });
    expect(erased.status, erased.text).toBe(202);
    const runner = new ErasureRunner(createErasureDependencies(loadConfig(), { bus, archive, exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox }), { only: api.ownOrg });
    const deadline = Date.now() + 30_000;
    let status: unknown;
    do {
      await runner.tick();
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await api.request('GET', `/v1/erasures/${erased.body.erasure_id}`, { key })).body.status;
    } while (status !== 'completed' && Date.now() < deadline);
    expect(status).toBe('completed');
    expect(await rowsOf()).toEqual([]);
  }, 60_000);

  it("renames the audit entries naming erased leads once, whatever their age within the retention, and counts them exactly after a rerun", async () => {
    const { orgId } = await api.newOrg();
    const log = api.deps.audit;
    const lead = `ana.${unique()}@example.com`;
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const entry = (resource: string, daysAgo: number) => log.record(orgId, { at: at(daysAgo), key_id: 'k1', action: 'pii.read', resource, request_id: unique() });
    await entry(`/v1/leads/${encodeURIComponent(lead)}`, 0);
    await entry(`/v1/leads/${lead}/events`, 399); // at the far end of the 400-day retention
    await entry(`/v1/flows/f1/events?lead_id=${encodeURIComponent(lead)}`, 30);
    await entry('/v1/leads/lead_other', 1);
    await entry(`/v1/leads/${encodeURIComponent(`x${lead}`)}`, 2); // another id that merely contains it
    const range = { fromMs: Date.now() - 402 * 86_400_000, toMs: Date.now() + 86_400_000, names: [lead], replacement: 'er_test' };
    expect(await log.renameResource(orgId, range)).toBe(3);
    expect(await log.renameResource(orgId, range)).toBe(3); // a resumed run: nothing renamed twice, the count the same
    const { items } = await log.list(orgId, { days: Array.from({ length: 401 }, (_, i) => at(i).slice(0, 10)), fromMs: range.fromMs, toMs: range.toMs, limit: 100 });
    expect(items.map((item) => item.resource).sort()).toEqual(
      ['/v1/flows/f1/events?lead_id=er_test', '/v1/leads/er_test', '/v1/leads/er_test/events', '/v1/leads/lead_other', `/v1/leads/${encodeURIComponent(`x${lead}`)}`].sort(),
    );
  });
});
