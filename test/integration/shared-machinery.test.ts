import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDependencies, createFanoutDependencies } from '../../shared/adapters/container.js';
import { loadConfig } from '../../shared/config.js';
import { ALERT_DETAIL_TYPE } from '../../shared/definitions/event-rules.js';
import { buildEvent, type EventInput } from '../../shared/domain/event.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive, redeliverLocalErrors, type QuarantinedRow } from '../../infra/local/local-archive.js';
import { LocalBus, type RuleDelivery } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { ensureTables, freePort } from '../../infra/local/dynamo.js';
import { alive, LOCAL_TABLE_PREFIX } from '../../infra/local/runtime.js';
import { localEnvironment } from '../../infra/local/settings.js';
import { startRuntime, stopRuntime } from '../support/runtime.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

/**
 * Tenant isolation of the shared machinery (contract sections 3 and 6, issue #20): hostile events written straight
 * into the table for org A (as old data would be, past today's API validation) never stop org B's rows reaching the
 * archive or B's alerts, and what cannot be archived is quarantined on its own, with its reason, and re-fed.
 */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

/** Stores an event as the table would hold it had the API once accepted it: no validation, only the server stamps. */
async function storeDirectly(orgId: string, input: Record<string, unknown>, env?: Record<string, string>): Promise<string> {
  const built = buildEvent(sampleEvent(input) as unknown as EventInput, { orgId, now: Date.now() });
  await createDependencies(env ? loadConfig(undefined, { ...process.env, ...env }) : loadConfig()).events.put(built, Date.now());
  return built.event.id;
}

describe('one tenant never blocks the shared loops', () => {
  it("quarantines only org A's unencodable rows, archives everything else, raises B's alert once through a replayed stream, and re-feeds the quarantine", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-isolation-'));
    const a = await api.newOrg();
    const b = await api.newOrg();
    const step = { event_type: 'enhancement.success', outcome: 'success', flow_id: 'f1', timing: { duration_ms: 3000 }, payload: {} };

    // Org A: lone surrogates in ids and free text, control characters, a 5,000-character step id, absurd durations.
    // Every row with a lone surrogate in a flat column cannot be encoded (DuckDB refuses it): those are quarantined.
    const bad = [
      await storeDirectly(a.orgId, { lead_id: 'lead_\ud800', event_type: 'custom.odd', payload: {} }),
      await storeDirectly(a.orgId, { lead_id: 'lead_a', event_type: 'source.rejected', outcome: 'failure', reason: 'bad \udc00 lead', payload: {} }),
    ];
    for (let i = 0; i < 10; i++) bad.push(await storeDirectly(a.orgId, { ...step, lead_id: `a${i}`, step_id: '\udc00step' }));
    for (let i = 0; i < 25; i++) bad.push(await storeDirectly(a.orgId, { event_type: 'recipient.failed', outcome: 'failure', reason: `no\u0000 ${'x'.repeat(199)}😀`, lead_id: `a${i}`, entity_id: 'buyer_\ud83d', payload: {} }));
    for (let i = 0; i < 10; i++) await storeDirectly(a.orgId, { ...step, lead_id: `a${i}`, step_id: `${'s'.repeat(5000)}\u0000\u0007` });
    await storeDirectly(a.orgId, { ...step, lead_id: 'a_huge', step_id: 'huge', timing: { duration_ms: 1e300 } });
    // Org B: ordinary events through the API, enough for one step_duration alert.
    for (let i = 0; i < 10; i++) {
      expect((await api.request('POST', '/v1/events', { key: b.key, body: sampleEvent({ ...step, lead_id: `b${i}`, step_id: 'enrich' }) })).status).toBe(201);
    }

    const quarantined: QuarantinedRow[] = [];
    const alerts: RuleDelivery[] = [];
    const bus = new LocalBus();
    bus.onDelivery((d) => d.event['detail-type'] === ALERT_DETAIL_TYPE && alerts.push(d));
    const run = async (checkpointFile?: string) => {
      const archive = new LocalArchive({ dir, maxRows: 1_000, onQuarantine: (row) => quarantined.push(row) });
      await archive.start();
      const handler = createFanoutHandler(createFanoutDependencies(loadConfig(), { bus, archive }));
      const poller = new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler, ...(checkpointFile ? { checkpointFile } : {}) });
      await poller.drain();
      await archive.stop();
    };
    await run(join(dir, 'checkpoint.json'));

    // B's rows are archived, and so is every row of A that can be encoded; only the two bad rows are quarantined.
    const count = async (orgId: string) => (await runArchiveSql(dir, 'SELECT count(*) AS n FROM events WHERE org_id = ?', [orgId])).rows[0];
    expect(await count(b.orgId)).toEqual({ n: '10' });
    expect(await count(a.orgId)).toEqual({ n: '11' });
    expect(quarantined.map((q) => q.id).sort()).toEqual([...bad].sort());
    expect(quarantined.every((q) => q.orgId === a.orgId && /surrogate/.test(q.reason) && q.object.includes(join('errors', 'format-conversion-failed', 'dt=')))).toBe(true);

    // Alerts: B's fires once; A's odd dimensions are counted under safe ones (no throw), never mixing with B's.
    const raised = (orgId: string) => alerts.filter((d) => d.event.detail.org_id === orgId).map((d) => `${String(d.event.detail.rule_id)}:${String(d.event.detail.dimension)}`);
    expect(raised(b.orgId)).toEqual(['step_duration:enrich']);
    expect(raised(a.orgId)).toHaveLength(3);
    expect(raised(a.orgId).every((name) => name.isWellFormed() && name.length < 300)).toBe(true);

    // The whole stream again (a retried batch, a lost checkpoint): no alert is raised a second time.
    await run();
    expect(raised(b.orgId)).toEqual(['step_duration:enrich']);
    expect(raised(a.orgId)).toHaveLength(3);

    // The quarantine is re-fed by the documented command's code (--local --repair): both rows archived, none left.
    const errors = join(dir, 'errors');
    const before = quarantined.length;
    expect(await redeliverLocalErrors(dir, { repair: true })).toMatchObject({ records: before });
    const archive = new LocalArchive({ dir, onQuarantine: (row) => quarantined.push(row) });
    await archive.start();
    await archive.stop();
    expect(quarantined).toHaveLength(before);
    expect(readdirSync(errors, { recursive: true }).filter((name) => String(name).endsWith('.jsonl'))).toEqual([]);
    const repaired = await runArchiveSql(dir, 'SELECT lead_id, reason FROM events WHERE org_id = ? AND id IN (?, ?) ORDER BY lead_id', [a.orgId, bad[0]!, bad[1]!]);
    expect(repaired.rows).toEqual([{ lead_id: 'lead_a', reason: 'bad \ufffd lead' }, { lead_id: 'lead_\ufffd', reason: null }]);
    expect(await count(a.orgId)).toEqual({ n: String(11 + bad.length) });
  }, 120_000);

  it('a failed flush never poisons later ones, start and stop never throw for a bad buffer, and readers skip a row still buffered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-isolation-buffer-'));
    const row = (n: number, extra: Record<string, unknown> = {}) => ({
      id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`, org_id: 'org_b', dt: '2026-11-23', occurred_at: '2026-11-23T10:00:00.000Z',
      received_at: '2026-11-23T10:00:01.000Z', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x', ...extra,
    });
    const first = new LocalArchive({ dir, maxRows: 1_000, maxAgeMs: 3_600_000 });
    await first.start();
    await first.putRows([row(1), row(2, { org_id: 'org_a', lead_id: '\ud800' }), row(3), row(4, { org_id: 'org_a', occurred_at: '+010000-01-01T00:00:00.000Z' })]);
    // Exports and `npm run athena` read buffered rows too: the bad ones are left out, never an error for everyone.
    expect((await runArchiveSql(dir, 'SELECT id FROM events ORDER BY id', [], { includeBuffered: true })).rows.map((r) => r.id)).toEqual([row(1).id, row(3).id]);
    // A crash before the flush: the next start finishes it without refusing to start.
    const next = new LocalArchive({ dir, maxRows: 1_000, maxAgeMs: 3_600_000 });
    await next.start();
    await next.putRows([row(5)]);
    await next.stop();
    expect((await runArchiveSql(dir, 'SELECT id FROM events ORDER BY id')).rows.map((r) => r.id)).toEqual([row(1).id, row(3).id, row(5).id]);
    expect(next.quarantined).toBe(2);
    expect(readdirSync(dir).filter((name) => name.startsWith('_flushing-') || name === '_buffer.jsonl')).toEqual([]);
    const objects = readdirSync(join(dir, 'errors'), { recursive: true }).map(String).filter((name) => name.endsWith('.jsonl'));
    const records = objects.flatMap((name) => readFileSync(join(dir, 'errors', name), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { ErrorMessage: string; rawData: string }));
    expect(records.map((r) => JSON.parse(Buffer.from(r.rawData, 'base64').toString('utf8')).id).sort()).toEqual([row(2).id, row(4).id]);
    expect(records.every((r) => r.ErrorMessage.length > 0 && !r.ErrorMessage.includes(dir))).toBe(true);
    expect(existsSync(join(dir, '_tmp')) ? readdirSync(join(dir, '_tmp')) : []).toEqual([]);
  });

  it('npm start starts over a bad buffer left behind, quarantines a hostile row with an alarm, keeps archiving, stops on Ctrl-C without orphaning Java and restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-isolation-runtime-'));
    const port = await freePort();
    const archiveDir = join(dataDir, 'archive');
    // What the old runtime left after a crash mid-flush of a buffer holding a lone surrogate: it refused to start.
    mkdirSync(archiveDir, { recursive: true });
    const left = { id: '00000000-0000-0000-0000-0000000000aa', org_id: 'org_hostile', dt: '2026-11-23', occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:01.000Z', lead_id: '\ud800', source_type: 'direct', source: 'web', event_type: 'custom.x' };
    writeFileSync(join(archiveDir, '_flushing-1-1.jsonl'), `${JSON.stringify(left)}\n`);

    const first = startRuntime(dataDir, port);
    await first.ready;
    const javaPid = Number(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8'));
    const endpoint = (JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { dynamoEndpoint: string }).dynamoEndpoint;
    const env = localEnvironment(endpoint, await ensureTables(endpoint, LOCAL_TABLE_PREFIX), dataDir);
    const hostile = await storeDirectly('org_hostile', { lead_id: 'lead_\udbff', reason: 'x', event_type: 'custom.odd', payload: {} }, env);
    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    const posted = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(sampleEvent({ lead_id: 'lead_b' })),
    });
    expect(posted.status).toBe(201);
    const { event } = (await posted.json()) as { event: { id: string } };

    expect(await stopRuntime(first.child)).toBe(0);
    expect(alive(javaPid)).toBe(false);
    expect(first.output()).toMatch(new RegExp(`ALARM archive quarantined event ${hostile} of org org_hostile \\(\\d+ since start\\)`));
    expect((await runArchiveSql(archiveDir, 'SELECT id FROM events WHERE org_id = ?', ['org_runtime_test'])).rows).toEqual([{ id: event.id }]);
    const quarantinedIds = readdirSync(join(archiveDir, 'errors'), { recursive: true }).map(String).filter((name) => name.endsWith('.jsonl'))
      .flatMap((name) => readFileSync(join(archiveDir, 'errors', name), 'utf8').trim().split('\n'))
      .map((line) => (JSON.parse(Buffer.from((JSON.parse(line) as { rawData: string }).rawData, 'base64').toString('utf8')) as { id: string }).id);
    expect(quarantinedIds.sort()).toEqual([left.id, hostile].sort());

    const second = startRuntime(dataDir, port);
    await second.ready;
    expect(await stopRuntime(second.child)).toBe(0);
  }, 120_000);

  it('a stream record that keeps failing goes to the dead-letter file after the retries, and the records behind it flow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-isolation-dlq-'));
    const orgId = `org_dlq_${Date.now()}`;
    const ids = [await storeDirectly(orgId, { lead_id: 'l1' }), await storeDirectly(orgId, { lead_id: 'l2' }), await storeDirectly(orgId, { lead_id: 'l3' })];
    const seen: string[] = [];
    let poisoned = 0;
    const poller = new StreamPoller({
      endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, retryAttempts: 2, deadLetterFile: join(dir, 'dead-letters.jsonl'),
      handler: async (event) => {
        for (const record of event.Records) {
          const id = record.dynamodb?.NewImage?.id?.S;
          if (id === ids[1]) {
            poisoned++;
            return { batchItemFailures: [{ itemIdentifier: record.dynamodb!.SequenceNumber! }] };
          }
          if (id && ids.includes(id)) seen.push(id);
        }
        return { batchItemFailures: [] };
      },
    });
    // The stream is the whole table's: other test files' records flow through it too, so poll until ours are past
    // (bounded), rather than a fixed number of passes.
    for (let pass = 0; pass < 500 && !(seen.includes(ids[2]!) && existsSync(join(dir, 'dead-letters.jsonl'))); pass++) await poller.pollOnce();
    for (let pass = 0; pass < 3; pass++) await poller.pollOnce(); // a retry after the dead letter would show here
    expect(poisoned).toBe(3); // the first try and two retries
    expect(seen).toEqual([ids[0], ids[2]]);
    const letters = readFileSync(join(dir, 'dead-letters.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { requestContext: { condition: string } });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.requestContext.condition).toBe('RetryAttemptsExhausted');
  });
});
