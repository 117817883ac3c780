import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { signTypeform } from '../../infra/local/webhook-samples.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { createFanoutDependencies, leadConduitInboxPorts } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { parseExportRequest, runExport, type ExportJob } from '../../shared/domain/exports.js';
import { processInboxObject } from '../../shared/domain/leadconduit/inbox.js';
import { loadConfig } from '../../shared/config.js';
import { leadconduitFixtures } from '../fixtures/leadconduit/validator.js';
import { assertNoLeadConduitLeak, leadConduitLead, plantedTree } from '../fuzz/leak.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { captureLogs } from '../support/logs.js';

/**
 * The leak property end to end: PII planted (fixed seed) in events posted to the API and in a signed Typeform
 * delivery is absent from masked reads, bus entries, windowed-alert lines, the Parquet archive read back through
 * DuckDB, and every log line the handlers write (Powertools at DEBUG). Then LeadConduit-shaped leads (issue #23)
 * through POST /v1/integrations/leadconduit/events and the Event Streaming inbox: absent from reads without pii:read,
 * the status route, the bus, the archive, both export formats and the logs.
 */
let logs: ReturnType<typeof captureLogs>;
let api: TestApi;

beforeAll(async () => {
  logs = captureLogs();
  api = await startTestApi();
});
afterAll(async () => {
  logs.restore();
  await api.close();
});

/**
 * The stream so far through the real fan-out into a local bus (every entry, through a catch-all rule) and a local
 * archive: this org's bus entries (alert lines included: the local bus prints and files exactly these; not printed
 * here, since the stream holds every test file's orgs, whose numbers could match a planted digit run) and its rows.
 */
async function fanOutToBusAndArchive(orgId: string, dirPrefix: string) {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const archive = new LocalArchive({ dir });
  await archive.start();
  const bus = new LocalBus({ rules: [{ id: 'all', description: 'every entry', pattern: { source: ['leadlog'] } }] });
  const delivered: RuleDelivery[] = [];
  bus.onDelivery((d) => d.event.detail.org_id === orgId && delivered.push(d));
  const fanout = createFanoutHandler(createFanoutDependencies(loadConfig(), { bus, archive }));
  await new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: fanout, batchSize: 1000 }).drain();
  await archive.stop();
  const { rows } = await runArchiveSql(dir, 'SELECT * FROM events WHERE org_id = ?', [orgId]);
  return { dir, rows, delivered };
}

describe('no PII leaves unmasked, end to end (fixed seed)', () => {
  it('not in masked reads, bus entries, alert lines, archive rows or logs', async () => {
    const { orgId, key } = await api.newOrg(['events:write', 'admin']);
    const reader = await api.keyFor(orgId, ['events:read']);
    const samples = fc.sample(plantedTree, { numRuns: 20, seed: 20261126 });
    const secrets = new Set<string>();
    const fields = ['payload', 'raw_payload', 'lead_snapshot', 'appended'] as const;
    for (const [i, { tree, secrets: planted, reason }] of samples.entries()) {
      planted.forEach((s) => secrets.add(s));
      const res = await api.request('POST', '/v1/events', { key, body: sampleEvent({ lead_id: `lead_leak_${i}`, event_type: 'custom.leak', [fields[i % 4]!]: tree, reason, outcome: 'failure', payload: fields[i % 4] === 'payload' ? tree : {} }) });
      expect(res.status, res.text).toBe(201);
    }
    // Enough rejections with a PII-bearing reason to raise the rejection-rate alert, whose top_reasons quote reasons.
    const { reason } = samples[0]!;
    const batch = [...Array.from({ length: 25 }, (_, i) => sampleEvent({ lead_id: `lead_rate_${i}`, event_type: 'source.submitted', payload: {} })),
      ...Array.from({ length: 20 }, (_, i) => sampleEvent({ lead_id: `lead_rate_${i}`, event_type: 'source.rejected', outcome: 'failure', reason, payload: {} }))];
    expect((await api.request('POST', '/v1/events/batch', { key, body: { events: batch } })).status).toBe(200);
    // A signed Typeform delivery whose answers carry the PII.
    const typeformSecret = 'typeform_leak_secret';
    await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider: 'typeform', secret: typeformSecret, nowIso: new Date().toISOString() });
    const [first] = [...secrets];
    const email = first!.includes('@') ? first! : 'planted@leak.example';
    secrets.add(email);
    const body = JSON.stringify({ event_id: 'e', event_type: 'form_response', form_response: { token: `tok_${Date.now()}`, definition: { title: 'F' }, answers: [
      { type: 'email', email, field: { ref: 'contactEmail' } }, { type: 'text', text: `ping ${email}`, field: { ref: 'notes' } },
    ] } });
    expect((await api.request('POST', `/v1/webhooks/typeform/${orgId}`, { rawBody: body, headers: signTypeform(body, typeformSecret) })).status).toBe(200);

    // Masked reads: every event, every timeline, the org list.
    const reads: string[] = [(await api.request('GET', '/v1/events?limit=1000', { key: reader })).text];
    for (let i = 0; i < samples.length; i++) reads.push((await api.request('GET', `/v1/leads/lead_leak_${i}/events?include=lead_snapshot,raw_payload`, { key: reader })).text);

    // The bus (every entry, through a catch-all rule) and the archive, fed by the real stream and fan-out.
    const { rows, delivered } = await fanOutToBusAndArchive(orgId, 'leadlog-leak-');
    expect(rows.length).toBe(samples.length + batch.length + 1);
    expect(delivered.length).toBeGreaterThanOrEqual(samples.length + batch.length + 1);
    const alerts = delivered.filter((d) => d['event']['detail-type'] === 'Alert Raised');
    expect(alerts.map((a) => a.event.detail.rule_id)).toContain('rejection_rate'); // the alert path ran, top_reasons included

    const outputs = { reads: reads.join('\n'), bus: JSON.stringify(delivered), archive: JSON.stringify(rows), logs: logs.lines.join('') };
    for (const [where, text] of Object.entries(outputs)) for (const secret of secrets) expect(text, `${secret} in ${where}`).not.toContain(secret);
    expect(outputs.logs.length).toBeGreaterThan(0);
  }, 120_000);
});

describe('no PII of LeadConduit-shaped leads leaves unmasked, end to end (fixed seed, issue #23 point 5)', () => {
  it('posted to POST /v1/integrations/leadconduit/events or written to the inbox: not in reads without pii:read, the status, the bus, the archive, exports or logs', async () => {
    const { orgId, key } = await api.newOrg(['events:write']);
    const reader = await api.keyFor(orgId, ['events:read']);
    const samples = fc.sample(leadConduitLead(Object.values(leadconduitFixtures())), { numRuns: 24, seed: 20261207 });
    const secrets = new Set<string>();
    // Each its own LeadConduit event and lead (the fixtures share ids): 24-hex, as LeadConduit writes them; happened
    // a minute ago (the fixtures' December 2025 is outside the list's default range).
    const startedMs = Date.now() - 60_000;
    const events = samples.map(({ event, secrets: planted }, i) => {
      planted.forEach((secret) => secrets.add(secret));
      const leadId = randomBytes(12).toString('hex');
      const span = (event.end_timestamp as number) - (event.start_timestamp as number);
      return {
        ...event, id: randomBytes(12).toString('hex'), start_timestamp: startedMs + i, end_timestamp: startedMs + i + span,
        vars: { ...(event.vars as object), lead: { ...((event.vars as { lead: object }).lead), id: leadId } },
      };
    });
    const leadIds = events.map((event) => event.vars.lead.id);

    // Half through the API route, as one array; what it refuses (a lone surrogate) must not quote the person either.
    const viaApi = events.slice(0, 12);
    const posted = await api.request('POST', '/v1/integrations/leadconduit/events', { key, body: viaApi });
    expect(posted.status, posted.text).toBe(200);
    const apiResults = posted.body.results as { status: string }[];
    expect(apiResults.filter((r) => r.status === 'created').length).toBeGreaterThanOrEqual(6);
    expect(apiResults.every((r) => r.status === 'created' || r.status === 'invalid'), posted.text.slice(0, 2000)).toBe(true);

    // Half through the Event Streaming inbox: files under leadconduit/<org>/<lead id>/<event id>.json, one object each.
    const root = mkdtempSync(join(tmpdir(), 'leadlog-leak-inbox-'));
    const ports = leadConduitInboxPorts(api.deps, new FileInboxObjects(root));
    let inboxCreated = 0;
    for (const event of events.slice(12)) {
      const objectKey = `leadconduit/${orgId}/${event.vars.lead.id}/${event.id}.json`;
      await mkdir(join(root, 'leadconduit', orgId, event.vars.lead.id), { recursive: true });
      await writeFile(join(root, objectKey), JSON.stringify(event));
      const outcome = await processInboxObject(ports, objectKey, Date.now());
      expect(['created', 'rejected']).toContain(outcome.outcome);
      if (outcome.outcome === 'created') inboxCreated++;
    }
    expect(inboxCreated).toBeGreaterThanOrEqual(6);

    // Reads with events:read only: the org's list, every lead's timeline with its snapshots and raw objects, the status.
    const reads: string[] = [posted.text, (await api.request('GET', '/v1/events?limit=1000', { key: reader })).text];
    for (const leadId of leadIds) reads.push((await api.request('GET', `/v1/leads/${leadId}/events?include=lead_snapshot,raw_payload`, { key: reader })).text);
    const listed = (await api.request('GET', '/v1/events?limit=1000', { key: reader })).body.items as { id: string; source: string }[];
    expect(listed.filter((e) => e.source === 'leadconduit').length).toBe(apiResults.filter((r) => r.status === 'created').length + inboxCreated);
    for (const { id } of listed.slice(0, 3)) {
      reads.push((await api.request('GET', `/v1/events/${id}`, { key: reader })).text);
      expect((await api.request('GET', `/v1/events/${id}/raw`, { key: reader })).status).toBe(403);
    }
    reads.push((await api.request('GET', '/v1/integrations/leadconduit/status', { key: reader })).text);

    // The bus and the archive, fed by the real stream and fan-out; then exports of the archive, both formats.
    const { dir, rows, delivered } = await fanOutToBusAndArchive(orgId, 'leadlog-leak-lc-');
    expect(rows.length).toBe(listed.length);
    expect(delivered.length).toBeGreaterThanOrEqual(listed.length);
    const exporter = new LocalExporter({ archiveDir: dir, exportDir: mkdtempSync(join(tmpdir(), 'leadlog-leak-exports-')) });
    const exported: string[] = [];
    for (const format of ['csv', 'jsonl'] as const) {
      const { filter } = parseExportRequest({ format, filter: { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() } });
      const job: ExportJob = {
        orgId, id: `ex_leak_${format}`, format, filter, status: 'queued', requestedAt: new Date().toISOString(), settleUntil: new Date().toISOString(), daysDone: 0, rows: 0, bytes: 0,
      };
      await api.deps.exports.store.save(job);
      let done: ExportJob | undefined;
      while (!done) {
        const step = await runExport({ store: api.deps.exports.store, engine: exporter, nowMs: () => Date.now() }, orgId, job.id);
        if ('done' in step) done = step.done;
      }
      expect(done).toMatchObject({ status: 'succeeded', rows: listed.length });
      exported.push(readFileSync(exporter.fileOf(done), 'utf8'));
    }

    const outputs = { reads: reads.join('\n'), bus: JSON.stringify(delivered), archive: JSON.stringify(rows), exports: exported.join('\n'), logs: logs.lines.join('') };
    assertNoLeadConduitLeak(outputs, [...secrets]);
    // The outputs carry the leads at all (masked): a check that read nothing could not fail.
    expect(outputs.reads).toContain('@leak.example');
    expect(outputs.exports).toContain('@leak.example');
  }, 180_000);
});
