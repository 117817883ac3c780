import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { signTypeform } from '../../infra/local/webhook-samples.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { createFanoutDependencies } from '../../shared/adapters/container.js';
import { loadConfig } from '../../shared/config.js';
import { plantedTree } from '../fuzz/leak.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { captureLogs } from '../support/logs.js';

/**
 * The leak property end to end: PII planted (fixed seed) in events posted to the API and in a signed Typeform
 * delivery is absent from masked reads, bus entries, windowed-alert lines, the Parquet archive read back through
 * DuckDB, and every log line the handlers write (Powertools at DEBUG).
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
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-leak-'));
    const archive = new LocalArchive({ dir });
    await archive.start();
    // Every entry this org puts on the bus, alert lines included (the local bus prints and files exactly these).
    // Not printed here: the stream holds every test file's orgs, whose numbers could match a planted digit run.
    const bus = new LocalBus({ rules: [{ id: 'all', description: 'every entry', pattern: { source: ['leadlog'] } }] });
    const delivered: RuleDelivery[] = [];
    bus.onDelivery((d) => d.event.detail.org_id === orgId && delivered.push(d));
    const fanout = createFanoutHandler(createFanoutDependencies(loadConfig(), { bus, archive }));
    await new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: fanout, batchSize: 1000 }).drain();
    await archive.stop();
    const { rows } = await runArchiveSql(dir, 'SELECT * FROM events WHERE org_id = ?', [orgId]);
    expect(rows.length).toBe(samples.length + batch.length + 1);
    expect(delivered.length).toBeGreaterThanOrEqual(samples.length + batch.length + 1);
    const alerts = delivered.filter((d) => d['event']['detail-type'] === 'Alert Raised');
    expect(alerts.map((a) => a.event.detail.rule_id)).toContain('rejection_rate'); // the alert path ran, top_reasons included

    const outputs = { reads: reads.join('\n'), bus: JSON.stringify(delivered), archive: JSON.stringify(rows), logs: logs.lines.join('') };
    for (const [where, text] of Object.entries(outputs)) for (const secret of secrets) expect(text, `${secret} in ${where}`).not.toContain(secret);
    expect(outputs.logs.length).toBeGreaterThan(0);
  }, 120_000);
});
