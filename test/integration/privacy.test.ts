import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { ErasureRunner } from '../../infra/local/job-runner.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { createErasureDependencies, createFanoutDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { maskId } from '../../shared/domain/masking.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

const MISSING_EVENT_ID = '00000000-0000-4000-8000-000000000000';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe('privacy settings (section 9)', () => {
  it("masks an org's own key names as names from then on: in reads without pii:read and on the bus", async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const body = sampleEvent({ lead_id: `lead_priv_${Date.now()}`, event_type: 'custom.profile', payload: { nickName: 'Aninha', apelido: 'Nina', note: 'mail ana@example.com' } });
    const posted = await api.request('POST', '/v1/events', { key, body });
    const read = () => api.request('GET', `/v1/events/${posted.body.event.id}`, { key: reader });
    expect((await read()).body.payload).toEqual({ nickName: 'Aninha', apelido: 'Nina', note: 'mail a***@example.com' });

    const put = await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['nickname', 'nick-name', 'Apelido'] } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.pii_keys).toEqual(['apelido', 'nick_name', 'nickname']);
    expect((await api.request('GET', '/v1/settings/privacy', { key })).body.pii_keys).toEqual(['apelido', 'nick_name', 'nickname']);
    expect((await read()).body.payload).toEqual({ nickName: 'A***', apelido: 'N***', note: 'mail a***@example.com' });

    const bus = new LocalBus({ rules: [{ id: 'all', description: 'every event', pattern: { source: ['leadlog'] } }] });
    const seen: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === orgId && seen.push(d));
    const deps = createFanoutDependencies(loadConfig(), { bus });
    await new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus, maskOptions: deps.maskOptions }), batchSize: 1000 }).drain();
    expect(seen.map((d) => d.event.detail.payload)).toContainEqual({ nickName: 'A***', apelido: 'N***', note: 'mail a***@example.com' });
  });

  it('refuses what is not a key-name list, and keys without the admin scope', async () => {
    const { orgId, key } = await api.newOrg();
    const bad = await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['ok', '', 42, 'a/b'], other: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['other', 'pii_keys[1]', 'pii_keys[2]', 'pii_keys[3]']);
    const writer = await api.keyFor(orgId, ['events:write', 'events:read', 'pii:read']);
    expect((await api.request('GET', '/v1/settings/privacy', { key: writer })).status).toBe(403);
  });
});

describe('the audit trail (section 9)', () => {
  it('records every answer that carried unmasked PII, settings changes and remaps; none for masked reads; newest first, paged', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const piiReader = await api.keyFor(orgId, ['events:read', 'pii:read']);
    const posted = await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: 'lead_audit', payload: { product_id: 'p', product_name: 'n', category: 'c', email: 'ana@example.com' } }) });
    const id = posted.body.event.id;
    expect((await api.request('GET', `/v1/events/${id}`, { key: reader })).status).toBe(200); // masked: not audited
    expect((await api.request('GET', `/v1/events/${id}`, { key: piiReader })).status).toBe(200);
    expect((await api.request('GET', '/v1/leads/lead_audit/events', { key: piiReader })).status).toBe(200);
    expect((await api.request('GET', `/v1/events/${MISSING_EVENT_ID}`, { key: piiReader })).status).toBe(404); // no answer, no record
    expect((await api.request('PUT', '/v1/settings/privacy', { key, body: { pii_keys: ['apelido'] } })).status).toBe(200);
    expect((await api.request('POST', '/v1/webhooks/remap', { key, body: {} })).status).toBe(200);

    const audit = await api.request('GET', '/v1/audit?limit=2', { key });
    expect(audit.status, audit.text).toBe(200);
    const all = [...audit.body.items];
    let cursor = audit.body.next_cursor;
    while (cursor) {
      const page = await api.request('GET', `/v1/audit?limit=2&cursor=${cursor}`, { key });
      all.push(...page.body.items);
      cursor = page.body.next_cursor;
    }
    expect(all.map((e: { action: string }) => e.action)).toEqual(['webhooks.remap', 'settings.update', 'pii.read', 'pii.read']);
    expect(all.map((e: { resource: string }) => e.resource)).toEqual(['/v1/webhooks/remap', '/v1/settings/privacy', '/v1/leads/lead_audit/events', `/v1/events/${id}`]);
    for (const entry of all) expect(Object.keys(entry).sort()).toEqual(['action', 'at', 'key_id', 'request_id', 'resource']);
    expect(JSON.stringify(all)).not.toContain('ana@example.com');
    expect((await api.request('GET', '/v1/audit', { key: piiReader })).status).toBe(403);
    expect((await api.request('GET', '/v1/audit?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', { key })).status).toBe(400); // over 400 days
  });
});

/** The stream drained once through the real fan-out (bus, archive, alerts) into these stand-ins. */
async function drainInto(bus: LocalBus, archive: LocalArchive | undefined, checkpointDir: string): Promise<void> {
  await new StreamPoller({
    endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, batchSize: 1000, checkpointFile: join(checkpointDir, 'checkpoint.json'),
    handler: createFanoutHandler(archive ? createFanoutDependencies(loadConfig(), { bus, archive }) : withoutArchive(bus)),
  }).drain();
}

/** The fan-out's ports without the archive (the bus and the alert counters only). */
function withoutArchive(bus: LocalBus) {
  const deps = createFanoutDependencies(loadConfig(), { bus });
  return { bus, alerts: deps.alerts, maskOptions: deps.maskOptions, clock: deps.clock };
}

const unique = () => randomUUID().slice(0, 8);

describe('ids and object keys are masked like any string (section 9, v1.2)', () => {
  it('masks e-mails and phones in lead_id, flow_id, step_id, entity_id and keys: in reads without pii:read, on the bus, in the archive; erasure still finds the archived rows', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const lead = `ana.${unique()}@example.com`;
    const ids = { flow_id: `flow of bob.${unique()}@example.com`, step_id: 'step +14155550100', entity_id: `buyer carl.${unique()}@example.com` };
    const posted = await api.request('POST', '/v1/events', {
      key, body: { lead_id: lead, ...ids, source_type: 'direct', source: 'web', event_type: 'custom.seen', occurred_at: new Date(Date.now() - 60_000).toISOString(), payload: { [`dave.${unique()}@example.com`]: 1 } },
    });
    expect(posted.status, posted.text).toBe(201);
    const keep = `lead_keep_${unique()}`; // another lead of the org: its row stays archived
    expect((await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: keep }) })).status).toBe(201);
    const planted = [lead, ids.flow_id.slice(8), ids.entity_id.slice(6), '4155550100', Object.keys(posted.body.event.payload)[0]!];
    const leaks = (text: string) => planted.filter((value) => text.includes(value));

    // Reads without pii:read: the ids as pseudonyms; the lead is still read by the real id it was given.
    const read = await api.request('GET', `/v1/events/${posted.body.event.id}`, { key: reader });
    expect(read.body).toMatchObject({ lead_id: maskId(lead), flow_id: maskId(ids.flow_id), step_id: maskId(ids.step_id), entity_id: maskId(ids.entity_id) });
    expect(leaks(read.text)).toEqual([]);
    const timeline = await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}/events`, { key: reader });
    expect(timeline.status, timeline.text).toBe(200);
    expect(timeline.body.items.map((e: { lead_id: string }) => e.lead_id)).toEqual([maskId(lead)]);
    expect(leaks(timeline.text)).toEqual([]);
    expect((await api.request('GET', `/v1/events/${posted.body.event.id}`, { key })).body.lead_id).toBe(lead); // pii:read sees it

    // The bus and the archive.
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-privacy-'));
    const archive = new LocalArchive({ dir });
    await archive.start();
    try {
      const bus = new LocalBus({ rules: [{ id: 'all', description: 'every event', pattern: { source: ['leadlog'] } }] });
      const seen: RuleDelivery[] = [];
      bus.onDelivery((d) => d.event.detail.org_id === orgId && seen.push(d));
      await drainInto(bus, archive, dir);
      await archive.flush();
      expect(seen.map((d) => d.event.detail.lead_id).sort()).toEqual([maskId(lead), keep].sort());
      expect(leaks(JSON.stringify(seen))).toEqual([]);
      const rows = (await runArchiveSql(dir, `SELECT * FROM events WHERE org_id = '${orgId}'`)).rows;
      expect(rows.map((r) => r.lead_id).sort()).toEqual([maskId(lead), keep].sort());
      expect(leaks(JSON.stringify(rows))).toEqual([]);

      // Erasure by the real id removes the row archived under its pseudonym.
      const erasure = await api.request('DELETE', `/v1/leads/${encodeURIComponent(lead)}`, { key });
      expect(erasure.status, erasure.text).toBe(202);
      const exports = new LocalExporter({ archiveDir: dir, exportDir: loadConfig().exportDir! });
      const runner = new ErasureRunner(createErasureDependencies(loadConfig(), { bus, archive, exports, inbox: new FileInboxObjects(join(dir, 'inbox')) }), { only: api.ownOrg });
      const deadline = Date.now() + 30_000;
      let status: { status: string; counts: Record<string, number> } | undefined;
      do {
        await runner.tick();
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = (await api.request('GET', `/v1/erasures/${erasure.body.erasure_id}`, { key })).body;
      } while (status!.status !== 'completed' && Date.now() < deadline);
      expect(status, JSON.stringify(status)).toMatchObject({ status: 'completed', counts: { archive_rows: 1 } });
      await archive.flush();
      expect((await runArchiveSql(dir, `SELECT lead_id FROM events WHERE org_id = '${orgId}'`)).rows).toEqual([{ lead_id: keep }]);
    } finally {
      await archive.stop();
    }
  }, 90_000);
});

describe('lead reads mask the ids of other leads (section 9, v1.2)', () => {
  it('echoes the id asked for (the console navigates by it) and masks merged and looked-up lead ids without pii:read', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const u = unique();
    const [x, y] = [`x.${u}@example.com`, `y.${u}@example.com`];
    const identity = { email: `person.${u}@example.com`, phone: '+14155552671' }; // not 555-01XX: junk, never linked (v1.2)
    for (const lead of [x, y]) expect((await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: lead, identity }) })).status).toBe(201);
    const merged = (await api.request('GET', `/v1/leads/${encodeURIComponent(y)}`, { key })).body;
    const [live, other] = merged.merged_into === x ? [x, y] : [y, x];

    const liveView = await api.request('GET', `/v1/leads/${encodeURIComponent(live)}`, { key: reader });
    expect(liveView.body).toMatchObject({ lead_id: live, merged_from: [maskId(other)] });
    const otherView = await api.request('GET', `/v1/leads/${encodeURIComponent(other)}`, { key: reader });
    expect(otherView.body).toMatchObject({ lead_id: other, merged_into: maskId(live) });
    const found = await api.request('GET', `/v1/leads?phone=${encodeURIComponent(identity.phone)}`, { key: reader });
    expect(found.body.items.map((l: { lead_id: string }) => l.lead_id)).toEqual([maskId(live)]);
    for (const text of [found.text, liveView.text.replace(live, ''), otherView.text.replace(other, '')]) {
      expect(text).not.toContain(`x.${u}@`);
      expect(text).not.toContain(`y.${u}@`);
    }
    expect((await api.request('GET', `/v1/leads?phone=${encodeURIComponent(identity.phone)}`, { key })).body.items[0].lead_id).toBe(live);
  });
});

describe("an alert's dimension is masked wherever the alert goes (section 5, v1.2)", () => {
  it('on the bus and in GET /v1/alerts, while the counters keep two buyers that mask alike apart', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const tag = unique();
    const [ana, alex] = [`buyer ana.${tag}@example.com`, `buyer alex.${tag}@example.com`]; // both mask to `buyer a***@example.com`
    const step = (buyer: string, delivered: boolean) => ({
      lead_id: `lead_${unique()}`, source_type: 'internal', source: 'leadconduit', entity_id: buyer, occurred_at: new Date(Date.now() - 60_000).toISOString(),
      event_type: delivered ? 'recipient.delivered' : 'recipient.failed', outcome: delivered ? 'success' : 'failure', ...(delivered ? {} : { reason: 'Rejected' }), payload: {},
    });
    const post = async (events: object[]) => {
      const res = await api.request('POST', '/v1/events/batch', { key, body: { events } });
      expect(res.body.results.map((r: { status: string }) => r.status), res.text).toEqual(events.map(() => 'created'));
    };
    const bus = new LocalBus({ rules: [{ id: 'alerts', description: 'alerts', pattern: { source: ['leadlog'], 'detail-type': ['Alert Raised'] } }] });
    const alerts: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === orgId && alerts.push(d));
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-privacy-'));

    // ana: 14 of 20 accepted (0.7, not under it); alex: 6 refused (too few samples). One counter for both would be 14 of 26.
    await post([...Array.from({ length: 14 }, () => step(ana, true)), ...Array.from({ length: 6 }, () => step(ana, false)), ...Array.from({ length: 6 }, () => step(alex, false))]);
    await drainInto(bus, undefined, dir);
    expect(alerts).toEqual([]);
    await post(Array.from({ length: 14 }, () => step(alex, false)));
    await drainInto(bus, undefined, dir);
    expect(alerts.map((a) => a.event.detail.dimension)).toEqual([maskId(alex)]);
    expect(maskId(alex)).toMatch(/^buyer a\*\*\*@example\.com~/);
    expect(JSON.stringify(alerts)).not.toContain(`alex.${tag}`);

    const listed = await api.request('GET', '/v1/alerts', { key: reader });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((a: { dimension: string }) => a.dimension)).toEqual([maskId(alex)]);
    expect(listed.text).not.toContain(`alex.${tag}`);
  });
});

describe('lookups by e-mail or phone are audited whatever the key (section 9, v1.2)', () => {
  it('records each lookup, naming its kind and never the value, for keys with and without pii:read', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const piiReader = await api.keyFor(orgId, ['events:read', 'pii:read']);
    const email = `look.${unique()}@example.com`;
    expect((await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: `lead_${unique()}`, identity: { email } }) })).status).toBe(201);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(email)}`, { key: reader })).status).toBe(200);
    expect((await api.request('GET', '/v1/leads?phone=%2B14155550100', { key: reader })).status).toBe(200);
    expect((await api.request('GET', `/v1/leads?email=${encodeURIComponent(email)}`, { key: piiReader })).status).toBe(200);
    const audit = await api.request('GET', '/v1/audit', { key });
    expect(audit.body.items.map((e: { action: string; resource: string }) => [e.action, e.resource]))
      .toEqual([['lead.lookup', '/v1/leads?email'], ['lead.lookup', '/v1/leads?phone'], ['lead.lookup', '/v1/leads?email']]);
    expect(audit.text).not.toContain(email);
    expect(audit.text).not.toContain('4155550100');
  });
});
